"""The decision log: every decision applied, refused or revoked, one JSON line each.

The log is the record of what enforcement did and the state ``hedgerow decisions list`` shows:
a decision is *active* while it has been applied, not revoked, and not past its expiry (nftables
removes expired entries by itself; the log only mirrors that). Several processes (the running
sensor and the ``decisions`` command) share the file: lines are appended with ``O_APPEND`` and
every reader re-reads the file when it changed.

Example:
    >>> import tempfile, os
    >>> from hedgerow.model import Decision, DecisionAction
    >>> store = DecisionStore(os.path.join(tempfile.mkdtemp(), "decisions.jsonl"))
    >>> d = Decision(DecisionAction.BLOCK, "ip", "203.0.113.7", 600, "bruteforce inbound",
    ...              "a1", created=1000.0)
    >>> entry = store.record(d, status="applied", rule="block-inbound-attacker")
    >>> [e.decision.value for e in store.active(now=1100.0)]
    ['203.0.113.7']
    >>> store.record(d, status="revoked", rule="block-inbound-attacker", id=entry.id).status
    'revoked'
    >>> store.active(now=1100.0)
    []
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hedgerow.model import Decision, DecisionAction

STATUSES = ("applied", "dry-run", "revoked", "failed", "refused", "notified")
"""``applied``: enforced; ``dry-run``: would have been enforced; ``revoked``: undone;
``failed``: the enforcer reported an error; ``refused``: the target is protected;
``notified``: a ``notify`` decision (nothing enforced)."""


def default_store_path() -> Path:
    """``$HEDGEROW_STATE_DIR/decisions.jsonl``, else ``/var/lib/hedgerow`` as root, else
    ``~/.local/state/hedgerow``."""
    state = os.environ.get("HEDGEROW_STATE_DIR")
    if state:
        return Path(state) / "decisions.jsonl"
    if os.geteuid() == 0:
        return Path("/var/lib/hedgerow/decisions.jsonl")
    return Path.home() / ".local" / "state" / "hedgerow" / "decisions.jsonl"


def decision_id(decision: Decision) -> str:
    """Short stable id of a decision (action, scope, value, creation time)."""
    text = f"{decision.action.value}|{decision.scope}|{decision.value}|{decision.created:.6f}"
    return hashlib.sha256(text.encode()).hexdigest()[:12]


@dataclass(frozen=True)
class LogEntry:
    """One line of the decision log."""

    id: str
    status: str
    decision: Decision
    rule: str
    at: float
    detail: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "status": self.status, "at": self.at, "rule": self.rule,
                "detail": self.detail, **self.decision.to_dict()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LogEntry:
        decision = Decision(action=DecisionAction(data["action"]), scope=str(data["scope"]),
                            value=str(data["value"]), duration_s=float(data["duration_s"]),
                            reason=str(data["reason"]), alert_id=str(data["alert_id"]),
                            created=float(data["created"]))
        return cls(id=str(data["id"]), status=str(data["status"]), decision=decision,
                   rule=str(data.get("rule", "")), at=float(data["at"]),
                   detail=str(data.get("detail", "")))


class DecisionStore:
    """Append-only JSONL decision log shared by the sensor and the ``decisions`` command."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._stamp: tuple[int, int] | None = None
        self._entries: list[LogEntry] = []
        self.skipped_lines = 0

    def record(self, decision: Decision, status: str, rule: str, detail: str = "",
               id: str | None = None) -> LogEntry:
        """Append one entry; ``id`` links a revocation to the decision it undoes."""
        if status not in STATUSES:
            raise ValueError(f"unknown decision status {status!r}")
        entry = LogEntry(id=id or decision_id(decision), status=status, decision=decision,
                         rule=rule, at=time.time(), detail=detail)
        line = json.dumps(entry.to_dict(), sort_keys=True) + "\n"
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
            try:
                os.write(fd, line.encode())
            finally:
                os.close(fd)
        return entry

    def entries(self) -> list[LogEntry]:
        """Every entry in file order (re-read when the file changed; bad lines are skipped)."""
        with self._lock:
            try:
                st = self.path.stat()
            except FileNotFoundError:
                self._entries, self._stamp = [], None
                return []
            stamp = (st.st_size, st.st_mtime_ns)
            if stamp != self._stamp:
                self._entries, self.skipped_lines = _read(self.path)
                self._stamp = stamp
            return list(self._entries)

    def active(self, now: float | None = None) -> list[LogEntry]:
        """Decisions enforced (or dry-run) and neither revoked nor expired, oldest first."""
        moment = time.time() if now is None else now
        state: dict[str, LogEntry] = {}
        for entry in self.entries():
            if entry.status in ("applied", "dry-run"):
                state[entry.id] = entry
            elif entry.status == "revoked":
                state.pop(entry.id, None)
        return [e for e in state.values() if e.decision.expires > moment]

    def find(self, id: str, now: float | None = None) -> LogEntry | None:
        """The active decision with this id (or a unique id prefix), else ``None``."""
        hits = [e for e in self.active(now) if e.id.startswith(id)]
        return hits[0] if len(hits) == 1 else None


def _read(path: Path) -> tuple[list[LogEntry], int]:
    entries: list[LogEntry] = []
    skipped = 0
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            if not line.strip():
                continue
            try:
                entries.append(LogEntry.from_dict(json.loads(line)))
            except (ValueError, KeyError, TypeError):
                skipped += 1
    return entries, skipped
