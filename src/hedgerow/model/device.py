"""Devices: things on the local network, as the inventory knows them.

Example:
    >>> d = Device(mac="00:17:88:01:02:03", ips=("192.168.1.5",), vendor="Signify",
    ...     kind="bulb", first_seen=1.0, last_seen=9.0)
    >>> d.key
    '00:17:88:01:02:03'
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hedgerow.model.plain import fields_dict


@dataclass(frozen=True)
class Device:
    """One device: identified by MAC where seen, else by its IP address."""

    mac: str | None
    ips: tuple[str, ...]
    vendor: str | None = None
    name: str | None = None
    kind: str | None = None
    kind_confidence: float = 0.0
    model: str | None = None
    first_seen: float = 0.0
    last_seen: float = 0.0
    services: tuple[str, ...] = ()
    peers: tuple[str, ...] = ()
    evidence: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return self.mac or (self.ips[0] if self.ips else "unknown")

    def to_dict(self) -> dict[str, Any]:
        out = fields_dict(self)
        out["ips"] = list(self.ips)
        out["services"] = list(self.services)
        out["peers"] = list(self.peers)
        return out
