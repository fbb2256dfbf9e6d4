"""What one ``hedgerow scan`` found: the inputs, the hosts seen, the alerts.

Example:
    >>> r = ScanResult(inputs=[InputOutcome("a.pcap", "ok", flows=10)], alerts=[], hosts=[],
    ...     home_networks=["192.168.0.0/16"])
    >>> r.attack_ratio()
    {'outbound': 0, 'inbound': 0, 'internal': 0, 'ratio': None}
"""

from __future__ import annotations

from dataclasses import dataclass, field

from hedgerow.model import Alert
from hedgerow.report.hosts import SeenHost

ATTACK_KINDS = (
    "scan", "bruteforce", "dos", "exploit", "malware", "c2", "mining", "intel", "spoofing",
)


@dataclass(frozen=True)
class InputOutcome:
    """One input path and how reading it went (``ok``, ``partial`` or ``error``)."""

    path: str
    status: str
    flows: int = 0
    message: str = ""


@dataclass
class ScanResult:
    """Everything a report renders."""

    inputs: list[InputOutcome]
    alerts: list[Alert]
    hosts: list[SeenHost]
    home_networks: list[str]
    rules: int = 0
    first_ts: float | None = None
    last_ts: float | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def flows(self) -> int:
        return sum(i.flows for i in self.inputs)

    def attack_ratio(self) -> dict[str, int | float | None]:
        """Outbound vs inbound attack alerts (devices attacking others vs being attacked)."""
        counts = {d: 0 for d in ("outbound", "inbound", "internal")}
        for alert in self.alerts:
            if alert.kind.value in ATTACK_KINDS and alert.direction in counts:
                counts[alert.direction] += 1
        ratio = round(counts["outbound"] / counts["inbound"], 2) if counts["inbound"] else None
        return {**counts, "ratio": ratio}

    def alerts_by_device(self) -> dict[str, list[Alert]]:
        out: dict[str, list[Alert]] = {}
        for alert in sorted(self.alerts, key=lambda a: (-a.severity.rank, a.start, a.dedup_key)):
            out.setdefault(alert.device, []).append(alert)
        return out
