"""The household assessment: inventory, network findings and risk scores for a set of inputs.

Captures are read once as packet batches (inventory, telnet logins, services, TLS); Zeek
conn.logs add services and peers by IP. A file that cannot be read is reported and the others
are still assessed. Alerts from the detectors (``hedgerow scan``) join the risk scores.

Example:
    >>> result = assess_inputs([])
    >>> result.household.score, result.to_dict()["risk"]["household"]["band"]
    (0, 'low')
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from hedgerow.assess.network import TelnetSessions, assess_network
from hedgerow.assess.network.telnet import LoginAttempt
from hedgerow.assess.risk import RiskScore, score_devices, score_household
from hedgerow.capture import CaptureError, open_capture
from hedgerow.inventory import Inventory, InventoryBuilder
from hedgerow.model import Alert, Finding, LocalNetworks


@dataclass
class InputStatus:
    path: str
    status: str
    packets: int = 0
    message: str = ""


@dataclass
class HouseholdAssessment:
    """Everything the household report shows."""

    inventory: Inventory
    findings: list[Finding]
    alerts: list[Alert]
    device_risk: dict[str, RiskScore]
    household: RiskScore
    logins: list[LoginAttempt] = field(default_factory=list)
    inputs: list[InputStatus] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """The ``devices``, ``findings`` and ``risk`` sections of ``report.json``."""
        devices = []
        for d in sorted(self.inventory.devices,
                        key=lambda d: -self.device_risk[d.key].score if d.key in self.device_risk
                        else 0):
            entry = d.to_dict()
            entry["key"] = d.key
            risk = self.device_risk.get(d.key)
            entry["risk"] = risk.to_dict() if risk else None
            devices.append(entry)
        return {
            "devices": devices,
            "findings": [f.to_dict() for f in self.findings],
            "risk": {"household": self.household.to_dict(),
                     "devices": {k: v.to_dict() for k, v in self.device_risk.items()}},
            "inventory_stats": self.inventory.stats.to_dict(),
            "assessed_inputs": [vars(i) for i in self.inputs],
        }


def _read_capture(path: str, builder: InventoryBuilder, telnet: TelnetSessions) -> InputStatus:
    packets = 0
    with open_capture(path) as reader:
        for batch in reader:
            builder.add_batch(batch)
            telnet.add_batch(batch)
            packets += len(batch)
        warn = "; ".join(str(w) for w in reader.warnings[:2])
    return InputStatus(path, "partial" if warn else "ok", packets, warn)


def _read_conn_log(path: str, builder: InventoryBuilder) -> InputStatus:
    from hedgerow.flows.zeek_log import read_conn_log

    flows = 0
    for batch in read_conn_log(path):
        builder.add_flows(batch)
        flows += batch.height
    return InputStatus(path, "ok", flows, "conn.log: services and peers by IP only")


def assess_inputs(
    paths: Iterable[str | os.PathLike[str]],
    local_networks: LocalNetworks | None = None,
    alerts: Sequence[Alert] = (),
    extra_findings: Sequence[Finding] = (),
    probe_rate: float | None = None,
) -> HouseholdAssessment:
    """Inventory, findings and risk for captures / conn.logs, joined with detector alerts.

    With ``probe_rate`` (attempts per second) the inventoried devices inside the home networks
    are also probed actively (:mod:`hedgerow.assess.probe`; opt-in).
    """
    builder = InventoryBuilder(local_networks)
    telnet = TelnetSessions()
    statuses: list[InputStatus] = []
    for raw in paths:
        path = os.fspath(raw)
        try:
            statuses.append(_read_capture(path, builder, telnet))
        except CaptureError as exc:
            try:
                statuses.append(_read_conn_log(path, builder))
            except (OSError, ValueError):
                first = str(exc).splitlines()[0]
                statuses.append(InputStatus(path, "error", 0,
                                            f"{first}; not a Zeek conn.log either"))
    inventory = builder.finish()
    logins = telnet.attempts()
    findings = assess_network(inventory, logins) + list(extra_findings)
    if probe_rate is not None:
        from hedgerow.assess.probe import probe_inventory

        findings += probe_inventory(inventory, local_networks or LocalNetworks.default(),
                                    rate=probe_rate)
    findings.sort(key=lambda f: (-f.severity.rank, f.device, f.check_id))
    names = {d.key: display_name(d) for d in inventory.devices}
    device_of = inventory.key_of_ip()
    device_risk = score_devices(names, findings, alerts, device_of)
    household = score_household(device_risk, {**names, **{k: k for k in device_risk
                                                          if k not in names}})
    return HouseholdAssessment(inventory, findings, list(alerts), device_risk, household,
                               logins, statuses)


def display_name(device: Any) -> str:
    """A short human name: "D-Link camera (DCS-930LB)" or the address when nothing is known."""
    what = " ".join(p for p in (device.vendor, device.kind) if p)
    label = device.name or device.model
    if what and label:
        return f"{what} ({label})"
    return what or label or device.key
