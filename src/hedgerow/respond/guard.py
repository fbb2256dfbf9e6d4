"""Addresses that enforcement must never touch: the gateway itself and its management hosts.

Example:
    >>> guard = Guard.from_entries(["192.168.1.0/30", "10.9.9.9"], own=False)
    >>> guard.protects("192.168.1.2"), guard.protects("10.9.9.9"), guard.protects("203.0.113.7")
    (True, True, False)
    >>> guard.protects("224.0.0.251"), guard.protects("255.255.255.255")
    (True, True)
"""

from __future__ import annotations

import ipaddress
import json
import shutil
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass

from hedgerow.model.networks import IPNetwork


def own_addresses() -> list[str]:
    """Every address configured on this host's interfaces (from ``ip -j addr``).

    Returns an empty list when iproute2 is missing or fails (the caller says so).
    """
    ip = shutil.which("ip")
    if ip is None:
        return []
    try:
        out = subprocess.run([ip, "-j", "addr", "show"], capture_output=True, text=True,
                             timeout=5, check=True).stdout
        links = json.loads(out)
    except (OSError, subprocess.SubprocessError, ValueError):
        return []
    return [str(info["local"]) for link in links for info in link.get("addr_info", ())
            if "local" in info]


@dataclass(frozen=True)
class Guard:
    """A set of networks that are never blocked, quarantined or rate-limited."""

    networks: tuple[IPNetwork, ...]

    @classmethod
    def from_entries(cls, entries: Iterable[str], own: bool = True) -> Guard:
        """Management entries (IPs/CIDRs), plus this host's own addresses when ``own``."""
        items = list(entries)
        if own:
            items.extend(own_addresses())
        return cls(tuple(ipaddress.ip_network(item, strict=False) for item in items))

    def protects(self, address: str) -> bool:
        """True for guarded, loopback, multicast, reserved, unspecified or unparsable addresses."""
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return True
        if ip.is_loopback or ip.is_multicast or ip.is_unspecified or ip.is_reserved:
            return True
        return any(ip.version == net.version and ip in net for net in self.networks)
