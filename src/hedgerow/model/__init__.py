"""The shared vocabulary: alerts, findings, decisions, devices and directions.

These are plain dataclasses with no heavy dependencies, so the device agent, the gateway
sensor and the hub all speak the same types.
"""

from hedgerow.model.alert import Alert, AlertKind, Severity
from hedgerow.model.decision import Decision, DecisionAction
from hedgerow.model.device import Device
from hedgerow.model.finding import Finding
from hedgerow.model.networks import Direction, LocalNetworks

__all__ = [
    "Alert",
    "AlertKind",
    "Decision",
    "DecisionAction",
    "Device",
    "Direction",
    "Finding",
    "LocalNetworks",
    "Severity",
]
