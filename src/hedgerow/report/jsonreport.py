"""``report.json``: a stable, documented document (see ``docs/report-schema.md``).

Top-level keys are fixed by ``SCHEMA_VERSION``; further sections (device inventory, risk
findings...) are added by *section providers*: functions registered with
:func:`register_section` that take the :class:`ScanResult` and return a JSON-able value, or
``None`` to leave their section out. Providers never change the core keys.

Example:
    >>> from hedgerow.report.result import ScanResult
    >>> doc = build_report(ScanResult(inputs=[], alerts=[], hosts=[], home_networks=[]))
    >>> doc["schema_version"], sorted(doc)[:3]
    ('1.0', ['alerts', 'alerts_by_device', 'attack_ratio'])
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hedgerow import __version__
from hedgerow.report.meaning import explain
from hedgerow.report.result import ScanResult

SCHEMA_VERSION = "1.0"

SectionProvider = Callable[[ScanResult], Any]
_SECTIONS: dict[str, SectionProvider] = {}
CORE_KEYS = frozenset(
    {
        "schema_version",
        "generator",
        "inputs",
        "home_networks",
        "time_span",
        "summary",
        "attack_ratio",
        "devices_seen",
        "alerts_by_device",
        "alerts",
    }
)


def register_section(name: str, provider: SectionProvider) -> None:
    """Add a report section (e.g. ``devices``, ``findings``) computed from the scan result."""
    if name in CORE_KEYS:
        raise ValueError(f"report section {name!r} is a core key")
    _SECTIONS[name] = provider


def build_report(result: ScanResult) -> dict[str, Any]:
    """The full report document."""
    by_device = result.alerts_by_device()
    doc: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "generator": {"name": "hedgerow", "version": __version__},
        "inputs": [
            {"path": i.path, "status": i.status, "flows": i.flows, "message": i.message}
            for i in result.inputs
        ],
        "home_networks": list(result.home_networks),
        "time_span": {"first": result.first_ts, "last": result.last_ts},
        "summary": {
            "flows": result.flows,
            "rules": result.rules,
            "alerts": len(result.alerts),
            "devices_seen": len(result.hosts),
            "devices_with_alerts": len(by_device),
            "inputs_failed": sum(i.status == "error" for i in result.inputs),
        },
        "attack_ratio": result.attack_ratio(),
        "devices_seen": [
            {
                "address": h.address,
                "mac": h.mac,
                "flows": h.flows,
                "first_seen": h.first_seen,
                "last_seen": h.last_seen,
            }
            for h in result.hosts
        ],
        "alerts_by_device": [
            {
                "device": device,
                "alerts": [a.id for a in alerts],
                "worst_severity": alerts[0].severity.value,
                "directions": sorted({a.direction for a in alerts}),
                "meaning": sorted({explain(a.kind.value, a.direction) for a in alerts}),
            }
            for device, alerts in by_device.items()
        ],
        "alerts": [a.to_dict() for a in result.alerts],
    }
    for name, provider in sorted(_SECTIONS.items()):
        value = provider(result)
        if value is not None:
            doc[name] = value
    return doc
