"""Indicator sets: IP addresses, networks and domains with a category and a source.

Lookups are exact for addresses, longest-prefix for networks (per prefix length, one set
each) and by label suffix for domains (``evil.example`` also matches ``a.evil.example``).

Example:
    >>> s = IndicatorSet()
    >>> s.add("203.0.113.0/24", category="c2", source="demo")
    >>> s.add("pool.example", category="mining", source="demo")
    >>> s.lookup_ip("203.0.113.9").value, s.lookup_domain("eu.pool.example").category
    ('203.0.113.0/24', 'mining')
"""

from __future__ import annotations

import contextlib
import ipaddress
from dataclasses import dataclass, field

CATEGORIES = ("c2", "mining", "malware", "scanner", "phishing", "intel")


@dataclass(frozen=True)
class Indicator:
    """One indicator: its value as written, what kind of bad it means, where it came from."""

    value: str
    category: str = "intel"
    source: str = ""
    description: str = ""


@dataclass
class IndicatorSet:
    """Addresses, networks and domains, searchable in O(prefix lengths)."""

    _ips: dict[str, Indicator] = field(default_factory=dict)
    _nets: dict[tuple[int, int], dict[int, Indicator]] = field(default_factory=dict)
    _domains: dict[str, Indicator] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self._ips) + sum(len(v) for v in self._nets.values()) + len(self._domains)

    @property
    def has_addresses(self) -> bool:
        return bool(self._ips or self._nets)

    @property
    def has_domains(self) -> bool:
        return bool(self._domains)

    def add(
        self, value: str, *, category: str = "intel", source: str = "", description: str = ""
    ) -> None:
        """Add an IP, a CIDR or a domain; raises ``ValueError`` for anything else."""
        text = value.strip().lower().rstrip(".")
        ind = Indicator(
            value=value.strip(),
            category=category if category in CATEGORIES else "intel",
            source=source,
            description=description,
        )
        if "/" in text:
            net = ipaddress.ip_network(text, strict=False)
            if net.num_addresses == 1:
                self._ips[str(net.network_address)] = ind
                return
            bucket = self._nets.setdefault((net.version, net.prefixlen), {})
            bucket[int(net.network_address)] = ind
            return
        with contextlib.suppress(ValueError):
            self._ips[str(ipaddress.ip_address(text))] = ind
            return
        if _is_domain(text):
            self._domains[text] = ind
            return
        raise ValueError(f"not an IP address, network or domain: {value!r}")

    def update(self, other: IndicatorSet) -> None:
        """Merge another set into this one (later wins on duplicates)."""
        self._ips.update(other._ips)
        for key, bucket in other._nets.items():
            self._nets.setdefault(key, {}).update(bucket)
        self._domains.update(other._domains)

    def lookup_ip(self, address: str) -> Indicator | None:
        """The indicator covering ``address`` (exact first, then longest prefix)."""
        hit = self._ips.get(address)
        if hit is not None or not self._nets:
            return hit
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return None
        value, bits = int(ip), ip.max_prefixlen
        for version, plen in sorted(self._nets, key=lambda k: -k[1]):
            if version != ip.version:
                continue
            shift = bits - plen
            found = self._nets[(version, plen)].get((value >> shift) << shift)
            if found is not None:
                return found
        return None

    def lookup_domain(self, name: str) -> Indicator | None:
        """The indicator for ``name`` or its nearest listed parent domain."""
        labels = name.strip().lower().rstrip(".").split(".")
        for i in range(len(labels) - 1):
            hit = self._domains.get(".".join(labels[i:]))
            if hit is not None:
                return hit
        return None


def _is_domain(text: str) -> bool:
    if "." not in text or len(text) > 253:
        return False
    allowed = set("abcdefghijklmnopqrstuvwxyz0123456789-._")
    return all(ch in allowed for ch in text) and not text.startswith(".")
