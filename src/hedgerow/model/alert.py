"""Alerts: what a detector concluded about an attack, with its evidence.

Example:
    >>> alert = Alert(
    ...     kind=AlertKind.SCAN, detector="scan.horizontal", detector_version="1",
    ...     direction="outbound", device="192.168.2.16", peers=("203.0.113.0/24",),
    ...     severity=Severity.HIGH, confidence=0.9, start=100.0, end=160.0,
    ...     summary="192.168.2.16 scanned 81 hosts on telnet (23/tcp)",
    ...     evidence={"flows": 81, "uids": ["C1"], "ports": [23]}, mitre=("T1046",))
    >>> alert.dedup_key
    'scan.horizontal|192.168.2.16|203.0.113.0/24|100'
    >>> Alert.from_dict(alert.to_dict()) == alert
    True
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from hedgerow.model.plain import fields_dict


class AlertKind(StrEnum):
    SCAN = "scan"
    BRUTEFORCE = "bruteforce"
    DOS = "dos"
    C2 = "c2"
    MINING = "mining"
    EXPLOIT = "exploit"
    MALWARE = "malware"
    ANOMALY = "anomaly"
    INTEL = "intel"
    SPOOFING = "spoofing"
    POLICY = "policy"


class Severity(StrEnum):
    INFO = "info"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        return _SEVERITY_RANK[self]


_SEVERITY_RANK = {
    Severity.INFO: 0,
    Severity.LOW: 1,
    Severity.MEDIUM: 2,
    Severity.HIGH: 3,
    Severity.CRITICAL: 4,
}

EVIDENCE_UID_LIMIT = 50


@dataclass(frozen=True)
class Alert:
    """One conclusion of one detector about one actor/target pair in one time window.

    ``device`` is the local device the alert is about (the victim for inbound attacks, the
    attacker for outbound ones); ``peers`` are the other side(s). ``start``/``end`` are event
    time (capture timestamps, epoch seconds), never the wall clock.
    """

    kind: AlertKind
    detector: str
    detector_version: str
    direction: str
    device: str
    peers: tuple[str, ...]
    severity: Severity
    confidence: float
    start: float
    end: float
    summary: str
    evidence: dict[str, Any] = field(default_factory=dict)
    mitre: tuple[str, ...] = ()
    window_key: int | None = None

    @property
    def dedup_key(self) -> str:
        """Stable key: one alert per (detector, actor, target, window)."""
        window = self.window_key if self.window_key is not None else int(self.start)
        return f"{self.detector}|{self.device}|{','.join(self.peers[:3])}|{window}"

    @property
    def id(self) -> str:
        """Stable identifier derived from the dedup key (idempotent hub ingest)."""
        return hashlib.sha256(self.dedup_key.encode()).hexdigest()[:24]

    def to_dict(self) -> dict[str, Any]:
        out = fields_dict(self)
        out["kind"] = self.kind.value
        out["severity"] = self.severity.value
        out["peers"] = list(self.peers)
        out["mitre"] = list(self.mitre)
        out["id"] = self.id
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Alert:
        fields = {k: v for k, v in data.items() if k != "id"}
        fields["kind"] = AlertKind(fields["kind"])
        fields["severity"] = Severity(fields["severity"])
        fields["peers"] = tuple(fields.get("peers", ()))
        fields["mitre"] = tuple(fields.get("mitre", ()))
        return cls(**fields)
