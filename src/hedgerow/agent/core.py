"""The agent: assess the device, watch it in a bounded loop, protect it by policy.

Example:
    >>> import tempfile
    >>> from hedgerow.agent.config import AgentConfig
    >>> cfg = AgentConfig.from_dict({"device": "cam-1", "state_dir": tempfile.mkdtemp(),
    ...     "root": tempfile.mkdtemp(), "protect": {"enabled": False}})
    >>> agent = Agent(cfg)
    >>> agent.add_check("maker.debug-port", lambda c: [])
    >>> seen = []
    >>> agent.on_alert(seen.append)
    >>> summary = agent.run(cycles=2, interval_s=0.01, assess_first=False)
    >>> summary.cycles
    2
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from hedgerow.agent.checks import BUILTIN_CHECKS, Check
from hedgerow.agent.config import AgentConfig
from hedgerow.agent.detect import Detector
from hedgerow.agent.detect.flood import OutboundFlood
from hedgerow.agent.detect.listeners import NewListeners
from hedgerow.agent.detect.loginconn import LoginConnections
from hedgerow.agent.detect.logins import FailedLogins, JournalSource
from hedgerow.agent.detect.network import Miner, OutboundScan
from hedgerow.agent.detect.processes import SuspiciousExecutables
from hedgerow.agent.integrity import IntegrityMonitor
from hedgerow.agent.observe import Snapshot, take_snapshot
from hedgerow.agent.protect import Protector
from hedgerow.assess.standards import make_finding
from hedgerow.model import Alert, Finding
from hedgerow.telemetry.spool import Spool


@dataclass
class RunSummary:
    """What a :meth:`Agent.run` did: cycles, alerts raised, actions taken, time per cycle."""

    cycles: int = 0
    alerts: list[Alert] = field(default_factory=list)
    actions: list[dict[str, Any]] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    max_cycle_s: float = 0.0


def event_id(prefix: str, payload: dict[str, Any]) -> str:
    """Stable id of a payload (idempotent spooling of repeated findings/actions)."""
    text = json.dumps(payload, sort_keys=True, default=str)
    return f"{prefix}-{hashlib.sha256(text.encode()).hexdigest()[:24]}"


class Agent:
    """The device agent. ``clock`` and ``sleep`` are injectable so tests control time."""

    def __init__(self, config: AgentConfig | None = None,
                 clock: Callable[[], float] = time.time,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.config = config or AgentConfig()
        self.clock = clock
        self.sleep = sleep
        self.checks: dict[str, Check] = dict(BUILTIN_CHECKS)
        self.errors: list[str] = []
        self._alert_hooks: list[Callable[[Alert], None]] = []
        self._finding_hooks: list[Callable[[Finding], None]] = []
        self._action_hooks: list[Callable[[dict[str, Any]], None]] = []
        self._cycle_hooks: list[Callable[[], None]] = []
        self._stop = False
        self._spool: Spool | None = None
        self._protector: Protector | None = None
        self._detectors: list[Detector] | None = None
        self._prev: Snapshot | None = None

    # -- hooks for makers -------------------------------------------------------------------
    def add_check(self, name: str, check: Check) -> None:
        """Add a maker's own check: ``check(config) -> list[Finding]``."""
        self.checks[name] = check

    def add_detector(self, detector: Detector) -> None:
        """Add a maker's own detector (``observe(snapshot, previous) -> list[Alert]``)."""
        self.detectors.append(detector)

    def on_alert(self, hook: Callable[[Alert], None]) -> None:
        self._alert_hooks.append(hook)

    def on_finding(self, hook: Callable[[Finding], None]) -> None:
        self._finding_hooks.append(hook)

    def on_action(self, hook: Callable[[dict[str, Any]], None]) -> None:
        """Called with each action-log record (block, kill, lockdown...) the policy produced."""
        self._action_hooks.append(hook)

    def on_cycle(self, hook: Callable[[], None]) -> None:
        """Called after each monitoring cycle (the hub link drains and pulls from here)."""
        self._cycle_hooks.append(hook)

    def record_action(self, record: dict[str, Any]) -> None:
        """Spool an action taken outside :meth:`cycle` and pass it to the action hooks."""
        self.spool.put("action", record, event_id("action", record))
        for hook in self._action_hooks:
            hook(record)

    def stop(self) -> None:
        """Ask :meth:`run` to return after the current cycle (safe from a signal handler)."""
        self._stop = True

    # -- parts, built lazily ------------------------------------------------------------------
    @property
    def spool(self) -> Spool:
        if self._spool is None:
            self._spool = Spool(self.config.state / "spool.db")
        return self._spool

    @property
    def protector(self) -> Protector:
        if self._protector is None:
            self._protector = Protector(self.config)
        return self._protector

    def integrity_monitor(self) -> IntegrityMonitor:
        c = self.config
        return IntegrityMonitor(c.root, c.detect.integrity_files,
                                c.state / "integrity.json", device=c.device)

    @property
    def detectors(self) -> list[Detector]:
        if self._detectors is None:
            c, d = self.config, self.config.detect
            integrity = self.integrity_monitor()
            integrity.load_or_record()
            self._detectors = [
                SuspiciousExecutables(c.device, d.suspicious_dirs, c.root,
                                      allow=d.process_allow),
                OutboundScan(c.device, d.scan_ports, d.scan_port_connections,
                             d.scan_distinct_hosts),
                Miner(c.device, d.mining_ports, d.mining_cpu_percent, d.mining_cycles),
                OutboundFlood(c.device, d.flood_packets_per_s),
                FailedLogins(c.device, [c.path(p) for p in d.auth_logs],
                             c.path(d.btmp) if d.btmp else None, d.login_failures,
                             d.login_window_s,
                             journal=JournalSource() if d.journald else None),
                NewListeners(c.device),
                integrity,
            ]
            if c.protect.enabled and not c.protect.dry_run:
                error = self.protector.prepare()
                if error:
                    self.errors.append(f"nftables: {error}")
                else:
                    self._detectors.append(LoginConnections(
                        c.device, self.protector.nft.login_counts, d.login_connections,
                        d.login_window_s, tuple(d.login_ports)))
        return self._detectors

    # -- assessment ---------------------------------------------------------------------------
    def assess(self) -> list[Finding]:
        """Run every enabled check; spool the findings and call the finding hooks."""
        findings: list[Finding] = []
        for name, check in self.checks.items():
            if name in self.config.assess.disabled:
                continue
            try:
                findings.extend(check(self.config))
            except Exception as exc:  # a maker's check must not stop the others
                self.errors.append(f"check {name}: {type(exc).__name__}: {exc}")
        if "integrity" not in self.config.assess.disabled:
            monitor = self.integrity_monitor()
            if monitor.load_or_record():
                changed = monitor.changes()
                if changed:
                    findings.append(make_finding("integrity.baseline-changed",
                                                 self.config.device, {"files": changed}))
        for f in findings:
            self.spool.put("finding", f.to_dict(), event_id("finding", f.to_dict()))
            for hook in self._finding_hooks:
                hook(f)
        return findings

    # -- monitoring ---------------------------------------------------------------------------
    def cycle(self, summary: RunSummary | None = None) -> list[Alert]:
        """One monitoring cycle: snapshot, detectors, hooks, spool, protection."""
        snap = take_snapshot(self.config.proc, self.clock(), self.config.detect.max_processes)
        alerts: list[Alert] = []
        for det in self.detectors:
            alerts.extend(det.observe(snap, self._prev))
        self._prev = snap
        for alert in alerts:
            self.spool.put("alert", alert.to_dict(), alert.id)
            for hook in self._alert_hooks:
                hook(alert)
            actions = self.protector.handle(alert)
            for record in actions:
                self.spool.put("action", record, event_id("action", record))
                for action_hook in self._action_hooks:
                    action_hook(record)
            if summary is not None:
                summary.actions.extend(actions)
        return alerts

    def run(self, cycles: int | None = None, interval_s: float | None = None,
            assess_first: bool = True) -> RunSummary:
        """Monitor every ``interval_s`` for ``cycles`` cycles (None: until :meth:`stop`).

        The assessment runs first (unless ``assess_first`` is False) and again every
        ``assess_interval_s`` (0: never again); new findings are spooled, repeats are not.
        """
        interval = self.config.interval_s if interval_s is None else interval_s
        summary = RunSummary()
        self._stop = False
        every = self.config.assess_interval_s
        last_assess = self.clock() if not assess_first else None
        while not self._stop and (cycles is None or summary.cycles < cycles):
            if every > 0 and (last_assess is None or self.clock() - last_assess >= every):
                last_assess = self.clock()
                summary.findings.extend(self.assess())
            started = time.monotonic()
            summary.alerts.extend(self.cycle(summary))
            summary.cycles += 1
            spent = time.monotonic() - started
            summary.max_cycle_s = max(summary.max_cycle_s, spent)
            self._write_status(summary, spent)
            for cycle_hook in self._cycle_hooks:
                cycle_hook()
            if cycles is not None and summary.cycles >= cycles:
                break
            self.sleep(max(0.0, interval - spent))
        return summary

    def _write_status(self, summary: RunSummary, spent: float) -> None:
        status = {"device": self.config.device, "pid": os.getpid(), "time": self.clock(),
                  "cycles": summary.cycles, "alerts": len(summary.alerts),
                  "actions": len(summary.actions), "last_cycle_s": round(spent, 4),
                  "spool_pending": len(self.spool), "errors": self.errors[-5:]}
        path = self.config.state / "status.json"
        tmp = path.with_suffix(".tmp")
        try:
            tmp.write_text(json.dumps(status, indent=1))
            os.replace(tmp, path)
        except OSError as exc:
            self.errors.append(f"status: {exc}")
