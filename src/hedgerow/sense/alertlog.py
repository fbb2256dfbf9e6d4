"""JSONL alert log: one alert per line, flushed as it is written (``tail -f`` friendly).

Example:
    >>> import io
    >>> from hedgerow.model import Alert, AlertKind, Severity
    >>> out = io.StringIO()
    >>> log = AlertLog(out)
    >>> log.write(Alert(kind=AlertKind.SCAN, detector="scan.x", detector_version="1",
    ...     direction="outbound", device="192.168.1.5", peers=("198.51.100.1",),
    ...     severity=Severity.HIGH, confidence=0.9, start=1.0, end=2.0, summary="scan"),
    ...     stage="early")
    >>> '"stage": "early"' in out.getvalue()
    True
"""

from __future__ import annotations

import json
from typing import IO, Any

from hedgerow.model import Alert


class AlertLog:
    """Appends alerts (with when they were raised and at which stage) to a text stream."""

    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream

    def write(self, alert: Alert, stage: str, extra: dict[str, Any] | None = None) -> None:
        """``stage`` is ``early`` (raised while the attack is still going) or ``final``."""
        record = {**alert.to_dict(), "stage": stage, **(extra or {})}
        self.stream.write(json.dumps(record, sort_keys=True, default=str) + "\n")
        self.stream.flush()
