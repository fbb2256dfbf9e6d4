"""Enforcement in a Hedgerow-owned nftables table: block, rate-limit, quarantine, lockdown.

Everything goes through ``nft -j -f -`` (the JSON API of nftables) in a subprocess, optionally
inside a network namespace, so it works from any Python without the ``nftables`` bindings. The
table (``inet <name>``) is created once by :meth:`NftTable.ensure`; actions add timed elements
to its sets and revoking deletes them, so nothing outside Hedgerow's own table is touched.
Configured management addresses are accepted by the first rule of every chain and can never be
blocked, rate-limited or quarantined; in lockdown the management ports stay reachable.

In dry-run, nothing changes: each JSON document is recorded in :attr:`NftTable.sent` (and
printed by the CLI) instead of being applied; reading the current table (``list``, ``exists``)
still happens, so a dry-run ``revoke`` shows exactly the deletes it would make.

Example:
    >>> t = NftTable("hedgerow", management=["192.168.1.10"], dry_run=True)
    >>> t.block("203.0.113.7", 600, reason="ssh brute force").set_name
    'block4'
    >>> t.sent[-1]["nftables"][0]["add"]["element"]["elem"][0]["elem"]["val"]
    '203.0.113.7'
    >>> try:
    ...     t.block("192.168.1.10", 600, reason="oops")
    ... except NftError as exc:
    ...     print(exc)
    192.168.1.10 is a management address; refusing to block it
"""

from __future__ import annotations

import builtins
import ipaddress
import json
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from hedgerow.respond import nft_json as nj


class NftError(RuntimeError):
    """An nft command failed or an action was refused (one line, no traceback)."""


@dataclass(frozen=True)
class Enforcement:
    """One element of a state set: what is enforced, on what, and for how long."""

    set_name: str
    value: str
    timeout_s: int | None = None
    expires_s: int | None = None
    comment: str = ""

    @property
    def action(self) -> str:
        """``block``, ``rate_limit``, ``quarantine`` or ``lockdown``."""
        return _ACTION_OF_SET[self.set_name]

    def to_dict(self) -> dict[str, Any]:
        return {"action": self.action, "set": self.set_name, "value": self.value,
                "timeout_s": self.timeout_s, "expires_s": self.expires_s,
                "comment": self.comment}


SENT_KEPT = 1000

_ACTION_OF_SET = {
    "block4": "block", "block6": "block", "ratelimit4": "rate_limit", "ratelimit6": "rate_limit",
    "quarantine4": "quarantine", "quarantine6": "quarantine", "quarantine_mac": "quarantine",
    "lockdown": "lockdown",
}


class NftTable:
    """Hedgerow's own nftables table; every method is one atomic ``nft -j`` transaction."""

    def __init__(self, table: str = "hedgerow", management: Sequence[str] = (),
                 management_ports: Sequence[int] = (), lockdown_allow: Sequence[str] = (),
                 dry_run: bool = False, netns: str | None = None, nft: str = "nft",
                 rate_per_s: int = 50, rate_burst: int = 100, timeout_s: float = 10.0,
                 login_ports: Sequence[int] = (22, 23, 2323)) -> None:
        self.table = table
        self.management = list(management)
        self.management_ports = [int(p) for p in management_ports]
        self.lockdown_allow = list(lockdown_allow)
        self.dry_run = dry_run
        self.netns = netns
        self.nft = nft
        self.rate_per_s = rate_per_s
        self.rate_burst = rate_burst
        self.timeout_s = timeout_s
        self.login_ports = tuple(int(p) for p in login_ports)
        # The documents applied (or, in dry-run, not applied), newest last; the oldest are
        # dropped beyond SENT_KEPT so a long-running daemon does not grow.
        self.sent: list[dict[str, Any]] = []
        try:
            self._mgmt_nets = [ipaddress.ip_network(m, strict=False) for m in self.management]
        except ValueError as exc:
            raise NftError(f"management address: {exc}") from None

    # -- plumbing -------------------------------------------------------------------------
    def _argv(self, *args: str) -> list[str]:
        prefix = ["ip", "netns", "exec", self.netns] if self.netns else []
        return [*prefix, self.nft, *args]

    def _run(self, args: list[str], stdin: str | None = None) -> str:
        if shutil.which(self.nft) is None:
            raise NftError(f"`{self.nft}` not found (install the Debian package nftables)")
        try:
            proc = subprocess.run(self._argv(*args), input=stdin, capture_output=True, text=True,
                                  timeout=self.timeout_s, check=False)
        except subprocess.TimeoutExpired:
            raise NftError(f"nft {' '.join(args)}: timed out after {self.timeout_s}s") from None
        if proc.returncode != 0:
            first = (proc.stderr.strip().splitlines() or ["(no message)"])[0]
            raise NftError(f"nft {' '.join(args)}: {first}")
        return proc.stdout

    def apply(self, commands: list[dict[str, Any]]) -> None:
        """Send commands as one transaction (or record them in dry-run)."""
        doc = {"nftables": commands}
        self.sent.append(doc)
        if len(self.sent) > SENT_KEPT:
            del self.sent[: len(self.sent) - SENT_KEPT]
        if not self.dry_run:
            self._run(["-j", "-f", "-"], stdin=json.dumps(doc))

    def exists(self) -> bool:
        """Whether the table is present (read-only, also in dry-run)."""
        try:
            self._run(["-j", "list", "table", nj.FAMILY, self.table])
        except NftError:
            return False
        return True

    def ensure(self) -> bool:
        """Create the table unless present; returns True when it was created (or would be)."""
        if self.exists():
            return False
        self.apply(nj.table_doc(self.table, self.management, self.management_ports,
                                self.lockdown_allow, rate_per_s=self.rate_per_s,
                                rate_burst=self.rate_burst, login_ports=self.login_ports))
        return True

    def destroy(self) -> None:
        """Delete the whole table (every block, quarantine and lockdown goes with it)."""
        if self.exists():
            self.apply([{"delete": {"table": {"family": nj.FAMILY, "name": self.table}}}])

    # -- actions --------------------------------------------------------------------------
    def is_management(self, address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip.version == n.version and ip in n for n in self._mgmt_nets)

    def _address_set(self, prefix: str, address: str, verb: str) -> tuple[str, str]:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            raise NftError(f"{address!r} is not an IP address") from None
        if self.is_management(address):
            raise NftError(f"{address} is a management address; refusing to {verb} it")
        return f"{prefix}{ip.version}", str(ip)

    def _add(self, set_name: str, value: Any, duration_s: float, reason: str) -> Enforcement:
        timeout = max(1, int(duration_s))
        self.apply([nj.add_elements(self.table, set_name, [value], timeout_s=timeout,
                                    comment=reason or None)])
        return Enforcement(set_name, str(value), timeout, timeout, reason)

    def block(self, address: str, duration_s: float, reason: str = "") -> Enforcement:
        """Drop all traffic from and to ``address`` for ``duration_s`` seconds."""
        set_name, value = self._address_set("block", address, "block")
        return self._add(set_name, value, duration_s, reason)

    def rate_limit(self, address: str, duration_s: float, reason: str = "") -> Enforcement:
        """Limit packets from ``address`` to the table's rate (packets/s, burst)."""
        set_name, value = self._address_set("ratelimit", address, "rate-limit")
        return self._add(set_name, value, duration_s, reason)

    def quarantine(self, duration_s: float, mac: str | None = None, ip: str | None = None,
                   reason: str = "") -> list[Enforcement]:
        """Cut a device off (by MAC and/or IP) except DNS/DHCP to this host."""
        if not mac and not ip:
            raise NftError("quarantine needs a MAC or an IP address")
        done: list[Enforcement] = []
        if mac:
            value = mac.lower()
            if len(value.split(":")) != 6:
                raise NftError(f"{mac!r} is not a MAC address")
            done.append(self._add("quarantine_mac", value, duration_s, reason))
        if ip:
            set_name, value = self._address_set("quarantine", ip, "quarantine")
            done.append(self._add(set_name, value, duration_s, reason))
        return done

    def lockdown(self, allow: Sequence[str] = ()) -> None:
        """Outbound only to the allow-list (and the management path); telnet closed."""
        cmds: list[dict[str, Any]] = []
        v4, v6 = nj.split_addresses(list(allow))
        if v4:
            cmds.append(nj.add_elements(self.table, "allow4", v4))
        if v6:
            cmds.append(nj.add_elements(self.table, "allow6", v6))
        cmds.append(nj.add_elements(self.table, "lockdown", list(nj.LOCKDOWN_PROTOCOLS)))
        self.apply(cmds)

    def lift_lockdown(self) -> bool:
        """Leave lockdown; returns False when it was not on."""
        if not any(e.set_name == "lockdown" for e in self.list()):
            return False
        self.apply([nj.delete_elements(self.table, "lockdown", list(nj.LOCKDOWN_PROTOCOLS))])
        return True

    def list(self) -> builtins.list[Enforcement]:
        """Every active element of the state sets (empty without the table)."""
        if not self.exists():
            return []
        doc = json.loads(self._run(["-j", "list", "table", nj.FAMILY, self.table]))
        out: builtins.list[Enforcement] = []
        for item in doc.get("nftables", []):
            spec = item.get("set")
            if not spec or spec.get("name") not in nj.STATE_SETS:
                continue
            for elem in spec.get("elem", []):
                if spec["name"] == "lockdown":
                    out.append(Enforcement("lockdown", str(elem)))
                    continue
                if isinstance(elem, dict) and "elem" in elem:
                    e = elem["elem"]
                    out.append(Enforcement(spec["name"], str(e["val"]), e.get("timeout"),
                                           e.get("expires"), e.get("comment", "")))
                else:
                    out.append(Enforcement(spec["name"], str(elem)))
        return out

    def login_counts(self) -> dict[str, int]:
        """Source address -> new connections to the login ports it opened (kernel counters).

        Elements expire ``login_window_s`` after a source's last new connection, so a count that
        goes down means the element was re-created. Empty in dry-run.
        """
        if self.dry_run:
            return {}
        counts: dict[str, int] = {}
        for v in ("4", "6"):
            doc = json.loads(self._run(["-j", "list", "set", nj.FAMILY, self.table,
                                        f"logins{v}"]))
            for item in doc.get("nftables", []):
                for elem in (item.get("set") or {}).get("elem", []):
                    e = elem.get("elem", {}) if isinstance(elem, dict) else {}
                    counter = e.get("counter", {})
                    if "val" in e:
                        counts[str(e["val"])] = int(counter.get("packets", 0))
        return counts

    def revoke(self, value: str) -> builtins.list[Enforcement]:
        """Remove every block/rate-limit/quarantine of ``value`` (an IP or MAC, or "lockdown")."""
        if value == "lockdown":
            return [Enforcement("lockdown", "on")] if self.lift_lockdown() else []
        wanted = value.lower()
        found: builtins.list[Enforcement] = [
            e for e in self.list() if e.set_name != "lockdown" and e.value.lower() == wanted]
        if found:
            self.apply([nj.delete_elements(self.table, e.set_name, [e.value]) for e in found])
        return found
