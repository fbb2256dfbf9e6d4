"""The decision engine: alert → policy rule → decisions → enforcer, logged and deduplicated.

For each alert the first matching policy rule decides the action and the target: ``peer``
targets are the alert's peer addresses (at most ``max_peers_per_alert``; networks and
hostnames are never blocked), ``device`` is the alert's local device (an IP, or a MAC for
quarantine). A target the :class:`~hedgerow.respond.guard.Guard` protects (the gateway itself,
management hosts, loopback, multicast) is refused, never enforced. A target that already has an
active decision of the same action is left alone, so a repeating alert does not hammer nftables,
and an alert that was already decided about (say, early, then revoked by hand) is not decided
about again when it is raised once more (say, final: its ``evidence["early_id"]`` names the
early alert).
Every outcome goes to the :class:`~hedgerow.respond.store.DecisionStore`.

Example:
    >>> import tempfile, os
    >>> from hedgerow.model import Alert, AlertKind, Severity
    >>> from hedgerow.respond.guard import Guard
    >>> from hedgerow.respond.policy import load_policy
    >>> store = DecisionStore(os.path.join(tempfile.mkdtemp(), "d.jsonl"))
    >>> engine = DecisionEngine(load_policy(), store, Guard.from_entries([], own=False),
    ...                         enforcer=None, clock=lambda: 1000.0)
    >>> alert = Alert(kind=AlertKind.SCAN, detector="scan.horizontal", detector_version="1",
    ...     direction="outbound", device="192.168.2.16", peers=("203.0.113.9",),
    ...     severity=Severity.HIGH, confidence=0.9, start=1.0, end=2.0, summary="telnet scan")
    >>> [(o.status, o.decision.action.value, o.decision.value) for o in engine.handle(alert)]
    [('dry-run', 'quarantine', '192.168.2.16')]
    >>> [o.status for o in engine.handle(alert)]
    []
"""

from __future__ import annotations

import ipaddress
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from hedgerow.model import Alert, Decision, DecisionAction
from hedgerow.respond.guard import Guard
from hedgerow.respond.policy import Policy, Rule
from hedgerow.respond.store import DecisionStore, LogEntry

_MAC = re.compile(r"^[0-9a-f]{2}(:[0-9a-f]{2}){5}$")


class EnforcementError(RuntimeError):
    """An enforcer could not apply or revoke a decision; the message says why in one line."""


class Enforcer(Protocol):
    """Carries decisions out (nftables on the gateway)."""

    def apply(self, decision: Decision) -> None:
        """Enforce ``decision`` for ``decision.duration_s`` seconds; raise EnforcementError."""

    def revoke(self, decision: Decision) -> None:
        """Undo ``decision``; raise EnforcementError."""


@dataclass(frozen=True)
class Outcome:
    """What happened to one decision."""

    status: str
    decision: Decision
    rule: str
    id: str
    detail: str = ""


def scope_of(value: str) -> str | None:
    """``ip`` for an IP address, ``mac`` for a MAC address, else ``None``.

    >>> scope_of("10.0.0.1"), scope_of("00:11:22:33:44:55"), scope_of("10.0.0.0/8")
    ('ip', 'mac', None)
    """
    if _MAC.match(value.lower()):
        return "mac"
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return None
    return "ip"


class DecisionEngine:
    """Turns alerts into logged, deduplicated, guarded decisions; enforces them unless dry-run.

    ``enforcer=None`` means dry-run: decisions are logged as ``dry-run`` and nothing is touched.
    ``device_kind`` maps a device address to its kind (``camera``, ``plug``...) for policies that
    match on it; ``clock`` gives the wall-clock time decisions are created at (nftables timeouts
    run on the wall clock).
    """

    def __init__(
        self,
        policy: Policy,
        store: DecisionStore,
        guard: Guard,
        enforcer: Enforcer | None,
        device_kind: Callable[[str], str | None] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.policy = policy
        self.store = store
        self.guard = guard
        self.enforcer = enforcer
        self.device_kind = device_kind
        self.clock = clock

    @property
    def dry_run(self) -> bool:
        return self.enforcer is None

    def handle(self, alert: Alert) -> list[Outcome]:
        """Decide about one alert; returns the new outcomes (empty when nothing new to do)."""
        kind = self.device_kind(alert.device) if self.device_kind is not None else None
        rule = self.policy.rule_for(alert.kind.value, alert.severity.value, alert.direction, kind)
        if rule is None:
            return []
        now = self.clock()
        active = {(e.decision.action, e.decision.value) for e in self.store.active(now)}
        same = {alert.id, str(alert.evidence.get("early_id", alert.id))}
        decided = {(e.decision.action, e.decision.value) for e in self.store.entries()
                   if e.decision.alert_id in same and e.status != "failed"}
        todo: list[Decision] = []
        for target in self._targets(alert, rule):
            if (rule.action, target) in active or (rule.action, target) in decided:
                continue
            todo.append(Decision(action=rule.action, scope=scope_of(target) or "ip",
                                 value=target, duration_s=rule.duration_s,
                                 reason=_reason(alert, rule), alert_id=alert.id, created=now))
            active.add((rule.action, target))
        return self._carry_out(todo, rule.name)

    def decide(self, decisions: list[Decision], rule: str) -> list[Outcome]:
        """Carry out decisions made outside the policy (e.g. the hub's community blocklist).

        They are guarded (management addresses refused), logged under ``rule`` and enforced
        unless dry-run, like the policy's own; one already active for its target is skipped.
        """
        active = {(e.decision.action, e.decision.value) for e in self.store.active(self.clock())}
        todo = [d for d in decisions if (d.action, d.value) not in active]
        return self._carry_out(todo, rule)

    def revoke(self, entry: LogEntry) -> Outcome:
        """Undo an active decision (nftables first, then the log)."""
        if self.enforcer is not None and entry.status == "applied":
            self.enforcer.revoke(entry.decision)
        self.store.record(entry.decision, "revoked", entry.rule, id=entry.id)
        return Outcome("revoked", entry.decision, entry.rule, entry.id)

    def _targets(self, alert: Alert, rule: Rule) -> list[str]:
        if rule.action is DecisionAction.NOTIFY or rule.target == "device":
            return [alert.device]
        peers = [p for p in alert.peers if scope_of(p) == "ip"]
        return peers[: self.policy.max_peers_per_alert]

    def _carry_out(self, decisions: list[Decision], rule: str) -> list[Outcome]:
        """Check each decision, enforce the valid ones in one go, log every outcome."""
        verdicts: list[tuple[Decision, str, str]] = []
        for decision in decisions:
            status, detail = "applied", ""
            if decision.action is DecisionAction.NOTIFY:
                status = "notified"
            elif decision.scope == "ip" and self.guard.protects(decision.value):
                status, detail = "refused", "protected address (gateway or management host)"
            elif scope_of(decision.value) is None or (
                decision.scope == "mac" and decision.action is not DecisionAction.QUARANTINE
            ):
                status, detail = "refused", f"cannot enforce on {decision.value!r}"
            elif self.enforcer is None:
                status = "dry-run"
            verdicts.append((decision, status, detail))
        enforce = [d for d, status, _ in verdicts if status == "applied"]
        error = ""
        if enforce and self.enforcer is not None:
            try:
                _apply_all(self.enforcer, enforce)
            except EnforcementError as exc:
                error = str(exc)
        outcomes = []
        for decision, status, detail in verdicts:
            if status == "applied" and error:
                status, detail = "failed", error
            entry = self.store.record(decision, status, rule, detail)
            outcomes.append(Outcome(status, decision, rule, entry.id, detail))
        return outcomes


def _apply_all(enforcer: Enforcer, decisions: list[Decision]) -> None:
    """One transaction when the enforcer can (``apply_all``), else one call per decision."""
    apply_all = getattr(enforcer, "apply_all", None)
    if callable(apply_all):
        apply_all(decisions)
        return
    for decision in decisions:
        enforcer.apply(decision)


def _reason(alert: Alert, rule: Rule) -> str:
    return f"{rule.name}: {alert.kind.value} {alert.direction} ({alert.severity.value}) " \
           f"{alert.summary}"[:240]
