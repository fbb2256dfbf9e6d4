"""Telemetry: events and findings queued on the device, ready to be sent to the hub."""
