"""Per-credential token buckets: each request costs one token per event (at least one).

Buckets live in the process; with several workers each enforces the limit on the requests it
serves, so a credential's effective ceiling is ``workers x rate``.

Example:
    >>> clock = iter([0.0, 0.0, 2.0]).__next__
    >>> limiter = RateLimiter(rate=10.0, burst=20.0, clock=clock)
    >>> limiter.take(1, 15), limiter.take(1, 15)
    (0.0, 1.0)
    >>> limiter.take(1, 15)
    0.0
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class RateLimiter:
    """``take`` returns 0 when allowed, else the seconds to wait before retrying."""

    def __init__(self, rate: float, burst: float,
                 clock: Callable[[], float] = time.monotonic, max_keys: int = 100_000) -> None:
        self.rate = rate
        self.burst = burst
        self.clock = clock
        self.max_keys = max_keys
        self._buckets: dict[int, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def take(self, key: int, cost: float) -> float:
        cost = max(1.0, min(cost, self.burst))
        with self._lock:
            now = self.clock()
            level, last = self._buckets.get(key, (self.burst, now))
            level = min(self.burst, level + (now - last) * self.rate)
            if level >= cost:
                if len(self._buckets) >= self.max_keys and key not in self._buckets:
                    self._buckets.clear()
                self._buckets[key] = (level - cost, now)
                return 0.0
            self._buckets[key] = (level, now)
            return (cost - level) / self.rate
