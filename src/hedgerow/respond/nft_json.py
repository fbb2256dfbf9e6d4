"""Builders for the nftables JSON documents of Hedgerow's own table (``nft -j`` schema v1).

Pure functions, no I/O: :mod:`hedgerow.respond.nftables` sends what they build. The table is
static (sets, chains and rules are created once); every block, rate limit, quarantine and the
lockdown switch are elements added to or removed from sets, so each action is one small atomic
transaction and reverting it never touches the rules. Management addresses are accepted by the
first rules of every chain, before anything can drop them.

Example:
    >>> doc = add_elements("hedgerow", "block4", ["203.0.113.7"], timeout_s=600, comment="ssh")
    >>> doc["add"]["element"]["elem"][0]["elem"]
    {'val': '203.0.113.7', 'timeout': 600, 'comment': 'ssh'}
"""

from __future__ import annotations

import ipaddress
from typing import Any

FAMILY = "inet"

# Set name -> (nft type, flags). "4"/"6" suffixes hold IPv4/IPv6 addresses.
SETS: dict[str, tuple[str, tuple[str, ...]]] = {
    "mgmt4": ("ipv4_addr", ("interval",)),
    "mgmt6": ("ipv6_addr", ("interval",)),
    "mgmt_ports": ("inet_service", ()),
    "block4": ("ipv4_addr", ("timeout",)),
    "block6": ("ipv6_addr", ("timeout",)),
    "ratelimit4": ("ipv4_addr", ("timeout",)),
    "ratelimit6": ("ipv6_addr", ("timeout",)),
    "quarantine4": ("ipv4_addr", ("timeout",)),
    "quarantine6": ("ipv6_addr", ("timeout",)),
    "quarantine_mac": ("ether_addr", ("timeout",)),
    "allow4": ("ipv4_addr", ("interval",)),
    "allow6": ("ipv6_addr", ("interval",)),
    "lockdown": ("inet_proto", ()),
    "login_ports": ("inet_service", ()),
}
# Sets whose elements are enforcement state (listed and revoked); the others are configuration.
STATE_SETS = ("block4", "block6", "ratelimit4", "ratelimit6", "quarantine4", "quarantine6",
              "quarantine_mac", "lockdown")
# Lockdown is on while these protocols are elements of @lockdown (tcp, udp, icmp, icmpv6).
LOCKDOWN_PROTOCOLS = (6, 17, 1, 58)

ACCEPT: dict[str, Any] = {"accept": None}
DROP: dict[str, Any] = {"drop": None}


def _payload(proto: str, field: str) -> dict[str, Any]:
    return {"payload": {"protocol": proto, "field": field}}


def _match(left: dict[str, Any], right: Any, op: str = "==") -> dict[str, Any]:
    return {"match": {"op": op, "left": left, "right": right}}


def _meta(key: str) -> dict[str, Any]:
    return {"meta": {"key": key}}


def _in(proto: str, field: str, set_name: str) -> dict[str, Any]:
    return _match(_payload(proto, field), f"@{set_name}")


def _ports(proto: str, field: str, ports: tuple[int, ...]) -> dict[str, Any]:
    return _match(_payload(proto, field), {"set": list(ports)})


_LOCKED = _match(_meta("l4proto"), "@lockdown")
_NEW = _match({"ct": {"key": "state"}}, "new", op="in")


def _count_login(ip: str) -> list[dict[str, Any]]:
    """Count new connections to the login ports per source (a counter on each set element)."""
    v = "4" if ip == "ip" else "6"
    family = "ipv4" if ip == "ip" else "ipv6"
    return [_match(_meta("nfproto"), family), _in("tcp", "dport", "login_ports"), _NEW,
            {"set": {"op": "update", "elem": _payload(ip, "saddr"), "set": f"@logins{v}"}}]
_REPLY = _match({"ct": {"key": "direction"}}, "reply")


def _rate(ip: str, rate_per_s: int, burst: int) -> list[dict[str, Any]]:
    v = "4" if ip == "ip" else "6"
    meter = {"set": {"op": "update", "elem": _payload(ip, "saddr"), "set": f"@ratemeter{v}",
                     "stmt": [{"limit": {"rate": rate_per_s, "burst": burst, "per": "second",
                                         "inv": True}}]}}
    return [_in(ip, "saddr", f"ratelimit{v}"), meter, DROP]


def chain_rules(rate_per_s: int, rate_burst: int,
                telnet_ports: tuple[int, ...]) -> dict[str, list[list[dict[str, Any]]]]:
    """The rules of the three base chains, in order (management first)."""
    fams = (("ip", "4"), ("ip6", "6"))
    lo_in = [_match(_meta("iifname"), "lo"), ACCEPT]
    lo_out = [_match(_meta("oifname"), "lo"), ACCEPT]
    inp: list[list[dict[str, Any]]] = [lo_in]
    out: list[list[dict[str, Any]]] = [lo_out]
    fwd: list[list[dict[str, Any]]] = []
    for ip, v in fams:
        inp.append([_in(ip, "saddr", f"mgmt{v}"), ACCEPT])
        out.append([_in(ip, "daddr", f"mgmt{v}"), ACCEPT])
        fwd.append([_in(ip, "saddr", f"mgmt{v}"), ACCEPT])
        fwd.append([_in(ip, "daddr", f"mgmt{v}"), ACCEPT])
    for ip, v in fams:
        inp.append([_in(ip, "saddr", f"block{v}"), DROP])
        out.append([_in(ip, "daddr", f"block{v}"), DROP])
        fwd.append([_in(ip, "saddr", f"block{v}"), DROP])
        fwd.append([_in(ip, "daddr", f"block{v}"), DROP])
        inp.append(_rate(ip, rate_per_s, rate_burst))
        fwd.append(_rate(ip, rate_per_s, rate_burst))
        inp.append(_count_login(ip))
    # Quarantine: a quarantined device may still reach the gateway itself for DNS and DHCP;
    # everything else it sends or is sent is dropped.
    sources = [("ether", "saddr", "quarantine_mac"), ("ip", "saddr", "quarantine4"),
               ("ip6", "saddr", "quarantine6")]
    for proto, field, set_name in sources:
        inp.append([_in(proto, field, set_name), _ports("udp", "dport", (53, 67, 547)), ACCEPT])
        inp.append([_in(proto, field, set_name), _ports("tcp", "dport", (53,)), ACCEPT])
        inp.append([_in(proto, field, set_name), DROP])
        fwd.append([_in(proto, field, set_name), DROP])
    fwd.append([_in("ip", "daddr", "quarantine4"), DROP])
    fwd.append([_in("ip6", "daddr", "quarantine6"), DROP])
    # Lockdown: telnet closed; outbound only replies, the management service and the allow-list.
    if telnet_ports:
        inp.append([_LOCKED, _ports("tcp", "dport", telnet_ports), DROP])
    out.append([_LOCKED, _REPLY, ACCEPT])
    out.append([_LOCKED, _in("tcp", "sport", "mgmt_ports"), ACCEPT])
    for ip, v in fams:
        out.append([_LOCKED, _in(ip, "daddr", f"allow{v}"), ACCEPT])
    out.append([_LOCKED, DROP])
    return {"input": inp, "output": out, "forward": fwd}


def table_doc(table: str, management: list[str], management_ports: list[int],
              allow: list[str], priority: int = -10, rate_per_s: int = 50,
              rate_burst: int = 100, telnet_ports: tuple[int, ...] = (23, 2323),
              login_ports: tuple[int, ...] = (22, 23, 2323), login_window_s: int = 600,
              ) -> list[dict[str, Any]]:
    """The commands that create the whole table (sets, chains, rules) in one transaction."""
    cmds: list[dict[str, Any]] = [{"add": {"table": {"family": FAMILY, "name": table}}}]
    for name, (kind, flags) in SETS.items():
        spec: dict[str, Any] = {"family": FAMILY, "table": table, "name": name, "type": kind}
        if flags:
            spec["flags"] = list(flags)
        cmds.append({"add": {"set": spec}})
    for v, kind in (("4", "ipv4_addr"), ("6", "ipv6_addr")):
        cmds.append({"add": {"set": {"family": FAMILY, "table": table, "name": f"ratemeter{v}",
                                     "type": kind, "size": 65535,
                                     "flags": ["timeout"], "timeout": 60}}})
        cmds.append({"add": {"set": {"family": FAMILY, "table": table, "name": f"logins{v}",
                                     "type": kind, "size": 65535, "timeout": login_window_s,
                                     "stmt": [{"counter": None}]}}})
    for hook in ("input", "output", "forward"):
        cmds.append({"add": {"chain": {"family": FAMILY, "table": table, "name": hook,
                                       "type": "filter", "hook": hook, "prio": priority,
                                       "policy": "accept"}}})
    for prefix, values in (("mgmt", management), ("allow", allow)):
        v4, v6 = split_addresses(values)
        if v4:
            cmds.append(add_elements(table, f"{prefix}4", v4))
        if v6:
            cmds.append(add_elements(table, f"{prefix}6", v6))
    if management_ports:
        cmds.append(add_elements(table, "mgmt_ports", [int(p) for p in management_ports]))
    if login_ports:
        cmds.append(add_elements(table, "login_ports", [int(p) for p in login_ports]))
    closed = tuple(p for p in telnet_ports if p not in set(management_ports))
    for chain, rules in chain_rules(rate_per_s, rate_burst, closed).items():
        for expr in rules:
            cmds.append({"add": {"rule": {"family": FAMILY, "table": table, "chain": chain,
                                          "expr": expr}}})
    return cmds


def split_addresses(values: list[str]) -> tuple[list[Any], list[Any]]:
    """Addresses/CIDRs as nft JSON values, split by family; raises ValueError naming a bad one."""
    v4: list[Any] = []
    v6: list[Any] = []
    for text in values:
        try:
            net = ipaddress.ip_network(text.strip(), strict=False)
        except ValueError as exc:
            raise ValueError(f"address {text!r}: {exc}") from None
        value: Any = (str(net.network_address) if net.prefixlen == net.max_prefixlen else
                      {"prefix": {"addr": str(net.network_address), "len": net.prefixlen}})
        (v4 if net.version == 4 else v6).append(value)
    return v4, v6


def add_elements(table: str, set_name: str, values: list[Any], timeout_s: int | None = None,
                 comment: str | None = None) -> dict[str, Any]:
    """``add element`` with an optional per-element timeout (seconds) and comment."""
    elems: list[Any] = []
    for value in values:
        if timeout_s is None and comment is None:
            elems.append(value)
            continue
        elem: dict[str, Any] = {"val": value}
        if timeout_s is not None:
            elem["timeout"] = int(timeout_s)
        if comment:
            elem["comment"] = comment[:120]
        elems.append({"elem": elem})
    return {"add": {"element": {"family": FAMILY, "table": table, "name": set_name,
                                "elem": elems}}}


def delete_elements(table: str, set_name: str, values: list[Any]) -> dict[str, Any]:
    """``delete element`` (fails if an element is absent; callers delete only listed ones)."""
    return {"delete": {"element": {"family": FAMILY, "table": table, "name": set_name,
                                   "elem": values}}}
