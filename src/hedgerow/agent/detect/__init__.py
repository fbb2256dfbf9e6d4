"""On-device threat detectors: each looks at the current and previous :class:`Snapshot`.

A detector has ``name``, ``version`` and ``observe(snap, prev) -> list[Alert]``; it keeps its
own bounded state and never reads the clock (the snapshot's time is the event time).
"""

from __future__ import annotations

from typing import Protocol

from hedgerow.agent.observe import Snapshot
from hedgerow.model import Alert


class Detector(Protocol):
    name: str
    version: str

    def observe(self, snap: Snapshot, prev: Snapshot | None) -> list[Alert]: ...


__all__ = ["Detector"]
