"""A durable local queue of events and findings waiting to be sent to the hub.

The spool is one SQLite file in WAL mode with ``synchronous=FULL``: every ``put`` is committed
before it returns, so queued items survive restarts, power loss and ``kill -9``. Items are keyed
by ``event_id``; putting the same id twice keeps the first copy (idempotent producers), and the
hub client acknowledges what it delivered with ``ack``.

Example:
    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "spool.db")
    >>> spool = Spool(path)
    >>> spool.put("alert", {"summary": "telnet brute force"}, event_id="a1")
    True
    >>> spool.put("alert", {"summary": "telnet brute force"}, event_id="a1")
    False
    >>> [(item.kind, item.event_id) for item in spool.peek(10)]
    [('alert', 'a1')]
    >>> spool.ack(["a1"]), len(spool)
    (1, 0)
    >>> spool.close()
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_SCHEMA = """
CREATE TABLE IF NOT EXISTS spool (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    payload TEXT NOT NULL,
    created REAL NOT NULL
)
"""


class SpoolError(RuntimeError):
    """The spool file cannot be opened or written (message names the file)."""


@dataclass(frozen=True)
class SpoolItem:
    """One queued record: ``seq`` orders items oldest first; ``created`` is when it was queued."""

    seq: int
    event_id: str
    kind: str
    payload: dict[str, Any]
    created: float


class Spool:
    """SQLite-backed FIFO with idempotent ``put`` and explicit ``ack``; safe across processes.

    ``max_items`` bounds the file on a small device: when full, the oldest items are dropped
    (and counted in :attr:`dropped`) so the newest evidence is kept.
    """

    def __init__(self, path: str | os.PathLike[str], max_items: int = 100_000) -> None:
        self.path = Path(path)
        self.max_items = max_items
        self.dropped = 0
        self._lock = threading.Lock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(str(self.path), timeout=30.0, check_same_thread=False,
                                       isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.execute(_SCHEMA)
        except (OSError, sqlite3.Error) as exc:
            raise SpoolError(f"{self.path}: cannot open spool: {exc}") from None

    def put(self, kind: str, payload: dict[str, Any], event_id: str) -> bool:
        """Queue one item; returns False when ``event_id`` was already queued (nothing changes)."""
        text = json.dumps(payload, sort_keys=True, default=str)
        with self._lock:
            try:
                cur = self._db.execute(
                    "INSERT OR IGNORE INTO spool (event_id, kind, payload, created)"
                    " VALUES (?, ?, ?, ?)",
                    (event_id, kind, text, time.time()),
                )
                added = cur.rowcount == 1
                if added and self.max_items > 0:
                    self._trim()
            except sqlite3.Error as exc:
                raise SpoolError(f"{self.path}: cannot queue {event_id!r}: {exc}") from None
        return added

    def _trim(self) -> None:
        # MAX-MIN is two index lookups and bounds COUNT from above; count only when it may be over.
        (span,) = self._db.execute("SELECT MAX(seq) - MIN(seq) + 1 FROM spool").fetchone()
        if span is None or span <= self.max_items:
            return
        (count,) = self._db.execute("SELECT COUNT(*) FROM spool").fetchone()
        excess = count - self.max_items
        if excess > 0:
            self._db.execute(
                "DELETE FROM spool WHERE seq IN (SELECT seq FROM spool ORDER BY seq LIMIT ?)",
                (excess,),
            )
            self.dropped += excess

    def peek(self, limit: int = 100) -> list[SpoolItem]:
        """Up to ``limit`` items, oldest first, without removing them."""
        with self._lock:
            rows = self._db.execute(
                "SELECT seq, event_id, kind, payload, created FROM spool ORDER BY seq LIMIT ?",
                (max(0, int(limit)),),
            ).fetchall()
        return [SpoolItem(seq, eid, kind, json.loads(payload), created)
                for seq, eid, kind, payload, created in rows]

    def ack(self, event_ids: Iterable[str]) -> int:
        """Remove delivered items; returns how many were removed (unknown ids are ignored)."""
        ids = list(event_ids)
        removed = 0
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                for start in range(0, len(ids), 500):
                    chunk = ids[start:start + 500]
                    marks = ",".join("?" * len(chunk))
                    cur = self._db.execute(
                        f"DELETE FROM spool WHERE event_id IN ({marks})", chunk)
                    removed += cur.rowcount
                self._db.execute("COMMIT")
            except sqlite3.Error as exc:
                self._db.execute("ROLLBACK")
                raise SpoolError(f"{self.path}: cannot acknowledge: {exc}") from None
        return removed

    def __len__(self) -> int:
        with self._lock:
            (count,) = self._db.execute("SELECT COUNT(*) FROM spool").fetchone()
        return int(count)

    def close(self) -> None:
        """Close the connection (the file stays; a new ``Spool`` on it sees every item)."""
        with self._lock:
            self._db.close()

    def __enter__(self) -> Spool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
