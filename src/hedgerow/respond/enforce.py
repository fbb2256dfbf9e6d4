"""Carry decisions out with Hedgerow's own nftables table (``respond.nftables.NftTable``).

``block`` adds the peer to the block set (dropped in input, output and forward),
``quarantine`` adds the device (IP or MAC) to the quarantine set (its forwarded traffic is
dropped; only DNS/DHCP to the gateway pass), ``rate_limit`` adds it to the rate-limit set.
Entries carry the decision's duration as an nftables timeout, so the kernel lifts them on
time even when the sensor is gone; revoking deletes exactly the entry of that action.

Example:
    >>> from hedgerow.model import Decision, DecisionAction
    >>> from hedgerow.respond.nftables import NftTable
    >>> table = NftTable("hedgerow", dry_run=True)
    >>> enforcer = NftEnforcer(table)
    >>> enforcer.apply(Decision(DecisionAction.QUARANTINE, "ip", "192.168.1.30", 3600,
    ...                         "telnet scan", "a1", 0.0))
    >>> table.sent[-1]["nftables"][0]["add"]["element"]["name"]
    'quarantine4'
"""

from __future__ import annotations

import ipaddress
from typing import Any

from hedgerow.model import Decision, DecisionAction
from hedgerow.respond import nft_json
from hedgerow.respond.decisions import EnforcementError
from hedgerow.respond.nftables import NftError, NftTable

_SET_PREFIX = {DecisionAction.BLOCK: "block", DecisionAction.RATE_LIMIT: "ratelimit",
               DecisionAction.QUARANTINE: "quarantine"}


class NftEnforcer:
    """The :class:`~hedgerow.respond.decisions.Enforcer` of the gateway."""

    def __init__(self, table: NftTable) -> None:
        self.table = table

    def prepare(self) -> None:
        """Create the table (sets, chains, rules) unless it is there; raise EnforcementError."""
        try:
            self.table.ensure()
        except (NftError, ValueError) as exc:
            raise EnforcementError(str(exc)) from None

    def apply(self, decision: Decision) -> None:
        self.apply_all([decision])

    def apply_all(self, decisions: list[Decision]) -> None:
        """Enforce several decisions in one nftables transaction (all or none)."""
        try:
            self.table.apply([self._command(d) for d in decisions])
        except NftError as exc:
            raise EnforcementError(str(exc)) from None

    def _command(self, decision: Decision) -> dict[str, Any]:
        value = decision.value.lower()
        if decision.scope == "mac":
            if decision.action is not DecisionAction.QUARANTINE:
                raise EnforcementError(f"only quarantine works on a MAC address ({value})")
            set_name = "quarantine_mac"
        else:
            try:
                version = ipaddress.ip_address(value).version
            except ValueError:
                raise EnforcementError(f"{value!r} is not an IP address") from None
            if self.table.is_management(value):
                raise EnforcementError(f"{value} is a management address; refusing to "
                                       f"{decision.action.value} it")
            prefix = _SET_PREFIX.get(decision.action)
            if prefix is None:
                raise EnforcementError(f"nothing to enforce for {decision.action.value}")
            set_name = f"{prefix}{version}"
        return nft_json.add_elements(self.table.table, set_name, [value],
                                     timeout_s=max(1, int(decision.duration_s)),
                                     comment=decision.reason[:100] or None)

    def revoke(self, decision: Decision) -> None:
        """Delete the entry of this decision's action (nothing to do when it already expired)."""
        wanted = decision.value.lower()
        try:
            present = [e for e in self.table.list()
                       if e.set_name != "lockdown" and e.value.lower() == wanted
                       and e.action == decision.action.value]
            if present:
                self.table.apply([nft_json.delete_elements(self.table.table, e.set_name,
                                                           [e.value]) for e in present])
        except NftError as exc:
            raise EnforcementError(str(exc)) from None
