"""Which addresses are local, and which way a conversation points.

Example:
    >>> nets = LocalNetworks.default()
    >>> nets.is_local("192.168.1.20"), nets.is_local("8.8.8.8")
    (True, False)
    >>> nets.direction("192.168.1.20", "203.0.113.5").value
    'outbound'
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum

DEFAULT_LOCAL_NETWORKS: tuple[str, ...] = (
    "10.0.0.0/8",
    "172.16.0.0/12",
    "192.168.0.0/16",
    "100.64.0.0/10",
    "169.254.0.0/16",
    "fc00::/7",
    "fe80::/10",
)


class Direction(StrEnum):
    """Which way an attack or conversation points, seen from the local networks."""

    INBOUND = "inbound"
    OUTBOUND = "outbound"
    INTERNAL = "internal"
    EXTERNAL = "external"


IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class LocalNetworks:
    """The configured local (home) networks; RFC 1918, CGNAT, ULA and link-local by default."""

    networks: tuple[IPNetwork, ...] = field(default_factory=tuple)
    _answers: dict[str, bool] = field(
        default_factory=dict, init=False, repr=False, compare=False, hash=False
    )

    @classmethod
    def default(cls) -> LocalNetworks:
        return cls.parse(DEFAULT_LOCAL_NETWORKS)

    @classmethod
    def parse(cls, cidrs: Iterable[str]) -> LocalNetworks:
        """Build from CIDR strings; raises ``ValueError`` naming the bad entry."""
        nets: list[IPNetwork] = []
        for text in cidrs:
            try:
                nets.append(ipaddress.ip_network(text.strip(), strict=False))
            except ValueError as exc:
                raise ValueError(f"home network {text!r}: {exc}") from None
        return cls(tuple(nets))

    def is_local(self, address: str) -> bool:
        """Whether ``address`` is inside one of the networks (answers kept per instance: the
        same hosts are asked about again and again)."""
        hit = self._answers.get(address)
        if hit is None:
            if len(self._answers) >= _ANSWERS:
                self._answers.clear()
            hit = self._answers[address] = _is_local(self.networks, address)
        return hit

    def direction(self, orig: str, resp: str) -> Direction:
        """Direction of a conversation opened by ``orig`` towards ``resp``."""
        orig_local, resp_local = self.is_local(orig), self.is_local(resp)
        if orig_local and resp_local:
            return Direction.INTERNAL
        if orig_local:
            return Direction.OUTBOUND
        if resp_local:
            return Direction.INBOUND
        return Direction.EXTERNAL


_ANSWERS = 262_144


def _is_local(networks: tuple[IPNetwork, ...], address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return any(ip.version == net.version and ip in net for net in networks)
