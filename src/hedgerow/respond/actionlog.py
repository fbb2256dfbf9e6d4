"""An append-only JSONL log of every enforcement action and its undo.

Each line is one JSON object with ``ts`` (epoch seconds), ``action``, ``target`` and whatever
the enforcer needs to reverse it; ``fsync`` after each line so the log survives a crash.

Example:
    >>> import tempfile, os
    >>> log = ActionLog(os.path.join(tempfile.mkdtemp(), "actions.jsonl"))
    >>> log.write("block", "203.0.113.7", ts=1.0, duration_s=600, dry_run=False)["action"]
    'block'
    >>> [r["target"] for r in log.read()]
    ['203.0.113.7']
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any


class ActionLog:
    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)

    def write(self, action: str, target: str, ts: float | None = None,
              **details: Any) -> dict[str, Any]:
        record = {"ts": time.time() if ts is None else ts, "action": action, "target": target,
                  **details}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        line = json.dumps(record, sort_keys=True, default=str) + "\n"
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            os.write(fd, line.encode())
            os.fsync(fd)
        finally:
            os.close(fd)
        return record

    def read(self) -> list[dict[str, Any]]:
        """All records; a torn last line (crash mid-write) is skipped."""
        try:
            text = self.path.read_text(encoding="utf-8")
        except OSError:
            return []
        out: list[dict[str, Any]] = []
        for line in text.splitlines():
            try:
                out.append(json.loads(line))
            except ValueError:
                continue
        return out
