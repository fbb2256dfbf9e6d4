"""Protection by policy: block attackers, stop or kill malicious processes, lock down.

The policy is the ``[protect]`` configuration table: which alert kinds block their (inbound)
peers, which stop the offending process, which switch lockdown on. Every action, and every
refusal, goes to the JSONL action log; blocks are timed nftables set elements in the agent's
own table, processes are only ever signalled (SIGSTOP, which ``unblock --pid`` reverses with
SIGCONT, or SIGKILL), and an executable is moved to the quarantine directory only when it lives
in a temp directory (a deleted one is copied out of ``/proc/<pid>/exe`` as evidence). System
binaries are never moved, and the agent never touches pid 1, itself or its parent.

Example:
    >>> from hedgerow.agent.config import AgentConfig
    >>> import tempfile
    >>> cfg = AgentConfig.from_dict({"state_dir": tempfile.mkdtemp(),
    ...     "protect": {"dry_run": True, "management": ["10.0.0.1"]}})
    >>> from hedgerow.model import Alert, AlertKind, Severity
    >>> a = Alert(kind=AlertKind.BRUTEFORCE, detector="d", detector_version="1",
    ...     direction="inbound", device="cam", peers=("203.0.113.9",), severity=Severity.HIGH,
    ...     confidence=0.9, start=1.0, end=2.0, summary="s")
    >>> [(r["action"], r["target"], r["ok"]) for r in Protector(cfg).handle(a)]
    [('block', '203.0.113.9', True)]
"""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
from pathlib import Path
from typing import Any

from hedgerow.agent.config import AgentConfig
from hedgerow.model import Alert
from hedgerow.respond.actionlog import ActionLog
from hedgerow.respond.nftables import NftError, NftTable


class Protector:
    def __init__(self, cfg: AgentConfig, nft: NftTable | None = None) -> None:
        self.cfg = cfg
        p = cfg.protect
        self.nft = nft or NftTable(p.nft_table, management=p.management,
                                   management_ports=p.management_ports,
                                   lockdown_allow=p.lockdown_allow, dry_run=p.dry_run,
                                   login_ports=cfg.detect.login_ports)
        self.log = ActionLog(cfg.state / "actions.jsonl")
        self.quarantine_dir = cfg.state / "quarantine"
        self._table_ready = False
        self._locked = False

    def _record(self, action: str, target: str, alert: Alert, ok: bool,
                **details: Any) -> dict[str, Any]:
        return self.log.write(action, target, ts=alert.end, ok=ok, alert_id=alert.id,
                              alert_kind=alert.kind.value, dry_run=self.cfg.protect.dry_run,
                              **details)

    def _table(self) -> None:
        """Create the agent's table once (it also counts connections to the login ports)."""
        if not self._table_ready:
            self.nft.ensure()
            self._table_ready = True

    def prepare(self) -> str | None:
        """Create the table up front (so login counting starts); returns an error or None."""
        if not self.cfg.protect.enabled or self.cfg.protect.dry_run:
            return None
        try:
            self._table()
        except NftError as exc:
            return str(exc)
        return None

    def handle(self, alert: Alert) -> list[dict[str, Any]]:
        """Apply the policy to one alert; returns the action-log records written."""
        p = self.cfg.protect
        if not p.enabled:
            return []
        done: list[dict[str, Any]] = []
        kind = alert.kind.value
        if kind in p.block_kinds and alert.direction == "inbound":
            for peer in alert.peers:
                done.append(self.block(peer, alert))
        pid = alert.evidence.get("pid")
        if kind in p.process_kinds and isinstance(pid, int) and p.process_action != "none":
            done.append(self.stop_process(pid, alert))
        if kind in p.lockdown_kinds and not self._locked:
            done.append(self.lockdown(alert))
        return done

    def block(self, address: str, alert: Alert) -> dict[str, Any]:
        duration = self.cfg.protect.block_duration_s
        try:
            self._table()
            entry = self.nft.block(address, duration, reason=f"{alert.kind.value} {alert.id}")
        except NftError as exc:
            return self._record("block", address, alert, False, error=str(exc))
        return self._record("block", address, alert, True, set=entry.set_name,
                            duration_s=duration, table=self.nft.table)

    def lockdown(self, alert: Alert) -> dict[str, Any]:
        try:
            self._table()
            self.nft.lockdown(self.cfg.protect.lockdown_allow)
        except NftError as exc:
            return self._record("lockdown", "device", alert, False, error=str(exc))
        self._locked = True
        return self._record("lockdown", "device", alert, True,
                            allow=self.cfg.protect.lockdown_allow)

    def _untouchable(self, pid: int) -> str | None:
        if pid <= 1:
            return "pid 1 / kernel"
        if pid in (os.getpid(), os.getppid()):
            return "the agent itself"
        return None

    def stop_process(self, pid: int, alert: Alert) -> dict[str, Any]:
        action = "kill" if self.cfg.protect.process_action == "kill" else "stop"
        target = f"pid {pid}"
        why_not = self._untouchable(pid)
        if why_not:
            return self._record(action, target, alert, False, error=f"refused: {why_not}")
        exe = str(alert.evidence.get("exe") or "")
        details: dict[str, Any] = {"pid": pid, "exe": exe}
        if not self.cfg.protect.dry_run and exe:
            try:
                current = os.readlink(Path(self.cfg.proc) / str(pid) / "exe")
            except OSError as exc:
                return self._record(action, target, alert, False, error=str(exc), **details)
            if current.removesuffix(" (deleted)") != exe:
                return self._record(action, target, alert, False,
                                    error="process changed since the alert (pid reused)",
                                    **details)
        if self.cfg.protect.quarantine_executables and exe:
            device_exe = str(alert.evidence.get("device_exe") or exe)
            details.update(self._quarantine_exe(pid, exe, device_exe,
                                                bool(alert.evidence.get("deleted"))))
        if self.cfg.protect.dry_run:
            return self._record(action, target, alert, True, **details)
        try:
            os.kill(pid, signal.SIGSTOP if action == "stop" else signal.SIGKILL)
        except OSError as exc:
            return self._record(action, target, alert, False, error=str(exc), **details)
        return self._record(action, target, alert, True, **details)

    def _in_temp_dir(self, exe: str) -> bool:
        return any(exe.startswith(d.rstrip("/") + "/") for d in self.cfg.detect.suspicious_dirs)

    def _quarantine_exe(self, pid: int, exe: str, device_exe: str,
                        deleted: bool) -> dict[str, Any]:
        """Copy a deleted executable out of /proc, or move one from a temp dir, to quarantine.

        ``exe`` is the path as this process sees it, ``device_exe`` the same file as the
        device sees it (they differ when the agent's root is a tree, not ``/``).
        """
        from_proc = deleted or exe.startswith("/memfd:")
        if not (from_proc or self._in_temp_dir(device_exe)):
            return {"quarantine": "skipped: not in a temp dir (system files are never moved)"}
        self.quarantine_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        source = Path(self.cfg.proc) / str(pid) / "exe" if from_proc else Path(exe)
        try:
            digest = hashlib.sha256(source.read_bytes()).hexdigest()
        except OSError as exc:
            return {"quarantine": f"failed: {exc.strerror}"}
        dest = self.quarantine_dir / f"{digest[:16]}-{Path(exe).name or 'exe'}"
        if self.cfg.protect.dry_run:
            return {"quarantine": str(dest), "sha256": digest, "moved_from": None}
        try:
            if from_proc:
                shutil.copyfile(source, dest)
                moved_from = None
            else:
                shutil.move(str(source), dest)
                moved_from = device_exe
            os.chmod(dest, 0o400)
        except OSError as exc:
            return {"quarantine": f"failed: {exc.strerror}", "sha256": digest}
        return {"quarantine": str(dest), "sha256": digest, "moved_from": moved_from}
