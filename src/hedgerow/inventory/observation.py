"""What was seen of one device: the raw material of its inventory record and its checks.

Every collection is bounded (``LIMIT`` distinct values per field), so a chatty device or a
hostile one cannot grow the inventory without end.

Example:
    >>> obs = DeviceObservation(key="00:17:88:24:76:ff", mac="00:17:88:24:76:ff")
    >>> obs.add("hostname", "Philips-hue")
    >>> obs.seen_ip("10.10.10.6", 5.0, 7.0)
    >>> obs.values["hostname"], obs.ips["10.10.10.6"]
    (['Philips-hue'], [5.0, 7.0])
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

LIMIT = 64


@dataclass
class DeviceObservation:
    """Evidence and behaviour of one device (keyed by MAC, or by IP without Ethernet)."""

    key: str
    mac: str | None = None
    ips: dict[str, list[float]] = field(default_factory=dict)
    first_seen: float = float("inf")
    last_seen: float = float("-inf")
    packets: int = 0
    values: dict[str, list[str]] = field(default_factory=dict)
    dns_names: Counter[str] = field(default_factory=Counter)
    peers: Counter[str] = field(default_factory=Counter)
    services: dict[str, dict[str, Any]] = field(default_factory=dict)
    tls: list[dict[str, Any]] = field(default_factory=list)
    http_services: dict[int, dict[str, Any]] = field(default_factory=dict)
    ssdp_announces: int = 0
    connections: dict[str, dict[str, Any]] = field(default_factory=dict)

    def add(self, name: str, value: str | None) -> None:
        """Record one evidence value (deduplicated, bounded)."""
        if not value:
            return
        bucket = self.values.setdefault(name, [])
        if value not in bucket and len(bucket) < LIMIT:
            bucket.append(value)

    def seen(self, first: float, last: float, packets: int = 0) -> None:
        self.first_seen = min(self.first_seen, first)
        self.last_seen = max(self.last_seen, last)
        self.packets += packets

    def seen_ip(self, ip: str, first: float, last: float) -> None:
        span = self.ips.get(ip)
        if span is None:
            if len(self.ips) < LIMIT:
                self.ips[ip] = [first, last]
        else:
            span[0], span[1] = min(span[0], first), max(span[1], last)
        self.seen(first, last)

    def add_service(self, name: str, ts: float, outside_peer: str | None, count: int = 1) -> None:
        """A service the device answered on (``tcp/23``), and whether outsiders reached it."""
        entry = self.services.get(name)
        if entry is None:
            if len(self.services) >= LIMIT:
                return
            entry = self.services[name] = {"first": ts, "connections": 0, "outside_peers": []}
        entry["connections"] += count
        entry["first"] = min(entry["first"], ts)
        peers = entry["outside_peers"]
        if outside_peer and outside_peer not in peers and len(peers) < 10:
            peers.append(outside_peer)

    def add_connection(self, name: str, peer: str, outside: bool, count: int = 1) -> None:
        """A connection the device opened to ``name`` (``tcp/1883``) on ``peer``."""
        entry = self.connections.get(name)
        if entry is None:
            if len(self.connections) >= LIMIT:
                return
            entry = self.connections[name] = {"count": 0, "peers": [], "outside": False}
        entry["count"] += count
        entry["outside"] = entry["outside"] or outside
        if peer not in entry["peers"] and len(entry["peers"]) < 10:
            entry["peers"].append(peer)

    def add_tls(self, role: str, version: int, peer: str, sni: str | None) -> None:
        """A TLS hello: ``role`` is ``client-offer``, ``negotiated`` or ``server``."""
        record = {"role": role, "version": version, "peer": peer, "sni": sni}
        if record not in self.tls and len(self.tls) < LIMIT:
            self.tls.append(record)

    def merge(self, other: DeviceObservation) -> None:
        """Fold another observation of the same device (e.g. seen by IP) into this one."""
        for ip, (first, last) in other.ips.items():
            self.seen_ip(ip, first, last)
        self.seen(other.first_seen, other.last_seen, other.packets)
        for name, vals in other.values.items():
            for v in vals:
                self.add(name, v)
        self.dns_names.update(other.dns_names)
        self.peers.update(other.peers)
        for name, svc in other.services.items():
            for peer in svc["outside_peers"] or [None]:
                self.add_service(name, svc["first"], peer, 0)
            self.services[name]["connections"] += svc["connections"]
        for name, conn in other.connections.items():
            for peer in conn["peers"]:
                self.add_connection(name, peer, conn["outside"], 0)
            self.connections[name]["count"] += conn["count"]
        for rec in other.tls:
            self.add_tls(rec["role"], rec["version"], rec["peer"], rec["sni"])
        for port, info in other.http_services.items():
            self.http_services.setdefault(port, info)
        self.ssdp_announces += other.ssdp_announces
