"""Counters of the live sensor, shared by the capture and analysis threads.

Example:
    >>> stats = SenseStats()
    >>> stats.add(packets=10, bytes=1500)
    >>> stats.count_alert("scan", "high")
    >>> snap = stats.snapshot()
    >>> snap.packets, snap.alerts
    (10, 1)
    >>> snap.rate(SenseStats().snapshot()) >= 0
    True
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Snapshot:
    """A consistent copy of the counters at one moment (``at`` is the monotonic clock)."""

    at: float
    packets: int
    bytes: int
    kernel_drops: int
    our_drops: int
    batches: int
    flows: int
    alerts: int
    alerts_by: dict[tuple[str, str], int]
    decisions_by: dict[tuple[str, str], int]
    queue: int
    last_batch_s: float
    lag_s: float
    enforcing: bool

    def rate(self, before: Snapshot) -> float:
        """Packets per second since an earlier snapshot."""
        dt = self.at - before.at
        return (self.packets - before.packets) / dt if dt > 0 else 0.0

    @property
    def loss(self) -> float:
        """Fraction of the packets that reached the interface and were not analysed."""
        seen = self.packets + self.kernel_drops + self.our_drops
        return (self.kernel_drops + self.our_drops) / seen if seen else 0.0


@dataclass
class SenseStats:
    """Thread-safe counters; :meth:`snapshot` reads them all at once."""

    packets: int = 0
    bytes: int = 0
    kernel_drops: int = 0
    our_drops: int = 0
    batches: int = 0
    flows: int = 0
    queue: int = 0
    last_batch_s: float = 0.0
    lag_s: float = 0.0
    enforcing: bool = False
    alerts_by: Counter[tuple[str, str]] = field(default_factory=Counter)
    decisions_by: Counter[tuple[str, str]] = field(default_factory=Counter)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, **deltas: int) -> None:
        """Add to integer counters by name (``packets=…, our_drops=…``)."""
        with self._lock:
            for name, value in deltas.items():
                setattr(self, name, getattr(self, name) + value)

    def set(self, **values: float | int | bool) -> None:
        """Set gauges by name (``queue=…, last_batch_s=…, kernel_drops=…``)."""
        with self._lock:
            for name, value in values.items():
                setattr(self, name, value)

    def count_alert(self, kind: str, severity: str) -> None:
        with self._lock:
            self.alerts_by[(kind, severity)] += 1

    def count_decision(self, action: str, status: str) -> None:
        with self._lock:
            self.decisions_by[(action, status)] += 1

    def snapshot(self) -> Snapshot:
        with self._lock:
            return Snapshot(
                at=time.monotonic(), packets=self.packets, bytes=self.bytes,
                kernel_drops=self.kernel_drops, our_drops=self.our_drops, batches=self.batches,
                flows=self.flows, alerts=sum(self.alerts_by.values()),
                alerts_by=dict(self.alerts_by), decisions_by=dict(self.decisions_by),
                queue=self.queue, last_batch_s=self.last_batch_s, lag_s=self.lag_s,
                enforcing=self.enforcing)
