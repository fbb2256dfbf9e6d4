"""``alerts.jsonl``: one JSON object per alert (``Alert.to_dict``), in event order.

Example:
    >>> import io
    >>> buf = io.StringIO()
    >>> write_alerts_jsonl([], buf)
    0
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import TextIO

from hedgerow.model import Alert


def write_alerts_jsonl(alerts: Iterable[Alert], out: TextIO) -> int:
    """Write alerts as JSON lines; returns how many."""
    n = 0
    for alert in alerts:
        out.write(json.dumps(alert.to_dict(), sort_keys=True) + "\n")
        n += 1
    return n


def read_alerts_jsonl(path: Path) -> list[Alert]:
    """Read an ``alerts.jsonl`` back (for ``hedgerow eval``)."""
    alerts = []
    with path.open(encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                alerts.append(Alert.from_dict(json.loads(line)))
            except (ValueError, KeyError, TypeError) as exc:
                raise ValueError(f"{path}:{lineno}: not an alert: {exc}") from None
    return alerts
