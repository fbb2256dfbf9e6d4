"""The household assessment: inventory, network findings and risk scores for a set of inputs.

Captures are read once as packet batches (inventory, telnet logins, services, TLS) by a
:class:`HouseholdCollector`: here, or as a packet observer of ``hedgerow scan``'s own read; Zeek
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
from hedgerow.capture.batch import PacketBatch
from hedgerow.flows.schema import FlowBatch
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


class HouseholdCollector:
    """What the assessment needs from the inputs, gathered while they are read.

    :meth:`observe` takes every PacketBatch of a capture (it is a packet observer of
    :class:`hedgerow.flows.source.FlowSource`, so ``hedgerow scan`` builds the inventory from
    the same read as its flows), :meth:`add_flows` the FlowBatches of a Zeek conn.log, and
    :meth:`end_input` closes one input. :meth:`assess` joins alerts and returns the assessment.

    Example:
        >>> from hedgerow.capture import open_capture
        >>> collector = HouseholdCollector()
        >>> with open_capture("/work/shared/corpus/zeek-conn/core.q-in-q/q-in-q.pcap") as cap:
        ...     for batch in cap:
        ...         collector.observe(batch)
        >>> collector.end_input("q-in-q.pcap", "capture")
        >>> [(i.status, i.packets) for i in collector.assess().inputs]
        [('ok', 5)]
    """

    def __init__(self, local_networks: LocalNetworks | None = None) -> None:
        self.local_networks = local_networks
        self.builder = InventoryBuilder(local_networks)
        self.telnet = TelnetSessions()
        self.inputs: list[InputStatus] = []
        self._count = 0
        self._done: tuple[Inventory, list[LoginAttempt]] | None = None

    def observe(self, batch: PacketBatch) -> None:
        """Fold one batch of a capture's packets (inventory and telnet logins)."""
        self.builder.add_batch(batch)
        self.telnet.add_batch(batch)
        self._count += len(batch)

    def add_flows(self, batch: FlowBatch) -> None:
        """Fold one batch of a conn.log's flows (services and peers by IP)."""
        self.builder.add_flows(batch)
        self._count += batch.height

    def end_input(self, path: str, kind: str, warnings: Sequence[str] = ()) -> None:
        """Close one input read whole: ``kind`` is ``"capture"`` or ``"conn.log"``;
        ``warnings`` are the capture reader's (truncated records...)."""
        if kind == "capture":
            warn = "; ".join(warnings[:2])
            status = InputStatus(path, "partial" if warn else "ok", self._count, warn)
        else:
            status = InputStatus(path, "ok", self._count, "conn.log: services and peers by IP only")
        self.inputs.append(status)
        self._count = 0

    def fail_input(self, path: str, message: str) -> None:
        """Record an input that could not be read."""
        self.inputs.append(InputStatus(path, "error", 0, message))
        self._count = 0

    def assess(
        self,
        alerts: Sequence[Alert] = (),
        extra_findings: Sequence[Finding] = (),
        probe_rate: float | None = None,
    ) -> HouseholdAssessment:
        """Inventory (made once), findings and risk, joined with the detectors' alerts."""
        if self._done is None:
            self._done = (self.builder.finish(), self.telnet.attempts())
        inventory, logins = self._done
        findings = assess_network(inventory, logins) + list(extra_findings)
        if probe_rate is not None:
            from hedgerow.assess.probe import probe_inventory

            findings += probe_inventory(inventory, self.local_networks or LocalNetworks.default(),
                                        rate=probe_rate)
        findings.sort(key=lambda f: (-f.severity.rank, f.device, f.check_id))
        names = {d.key: display_name(d) for d in inventory.devices}
        device_risk = score_devices(names, findings, alerts, inventory.key_of_ip())
        household = score_household(device_risk, {**names, **{k: k for k in device_risk
                                                              if k not in names}})
        return HouseholdAssessment(inventory, findings, list(alerts), device_risk, household,
                                   logins, list(self.inputs))


def _read_capture(path: str, collector: HouseholdCollector) -> None:
    with open_capture(path) as reader:
        for batch in reader:
            collector.observe(batch)
        collector.end_input(path, "capture", [str(w) for w in reader.warnings])


def _read_conn_log(path: str, collector: HouseholdCollector) -> None:
    from hedgerow.flows.zeek_log import read_conn_log

    for batch in read_conn_log(path):
        collector.add_flows(batch)
    collector.end_input(path, "conn.log")


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
    collector = HouseholdCollector(local_networks)
    for raw in paths:
        path = os.fspath(raw)
        try:
            _read_capture(path, collector)
        except CaptureError as exc:
            try:
                _read_conn_log(path, collector)
            except (OSError, ValueError):
                first = str(exc).splitlines()[0]
                collector.fail_input(path, f"{first}; not a Zeek conn.log either")
    return collector.assess(alerts, extra_findings, probe_rate)


def display_name(device: Any) -> str:
    """A short human name: "D-Link camera (DCS-930LB)" or the address when nothing is known."""
    what = " ".join(p for p in (device.vendor, device.kind) if p)
    label = device.name or device.model
    if what and label:
        return f"{what} ({label})"
    return what or label or device.key
