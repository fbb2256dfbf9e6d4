"""Bursts of new connections to the login ports per source, from the kernel's own counters.

Busybox ``login`` (the usual telnet login on IoT devices) logs failures without the peer's
address, so log parsing cannot say who is guessing. The agent's nftables table counts every new
TCP connection to the login ports (22, 23, 2323 by default) per source address in a timed set
with a counter on each element; this detector reads those counters once per cycle and alerts
when one source opened ``threshold`` connections within ``window_s``. The management addresses
are accepted before the counting rule, so they are never counted.

Example:
    >>> counts = iter([{}, {"203.0.113.7": 6}, {"203.0.113.7": 14}])
    >>> det = LoginConnections("cam", lambda: next(counts), threshold=10, window_s=60)
    >>> from hedgerow.agent.observe import Snapshot
    >>> [len(det.observe(Snapshot(t=float(t)), None)) for t in range(3)]
    [0, 0, 1]
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Callable

from hedgerow.agent.observe import Snapshot
from hedgerow.model import Alert, AlertKind, Severity
from hedgerow.respond.nftables import NftError


class LoginConnections:
    name = "agent.login-connections"
    version = "1"

    def __init__(self, device: str, counts: Callable[[], dict[str, int]], threshold: int = 10,
                 window_s: float = 120.0, ports: tuple[int, ...] = (22, 23, 2323)) -> None:
        self.device = device
        self.counts = counts
        self.threshold = threshold
        self.window_s = window_s
        self.ports = ports
        self.errors = 0
        self.last_error = ""
        self._last: dict[str, int] | None = None
        self._events: dict[str, deque[tuple[float, int]]] = defaultdict(deque)
        self._alerted: dict[str, float] = {}

    def observe(self, snap: Snapshot, prev: Snapshot | None) -> list[Alert]:
        try:
            now = self.counts()
        except NftError as exc:
            self.errors += 1
            self.last_error = str(exc)
            return []
        last, self._last = self._last, now
        if last is None:
            return []
        for ip, count in now.items():
            delta = count - last.get(ip, 0)
            if delta < 0:  # the element expired and came back
                delta = count
            if delta > 0:
                self._events[ip].append((snap.t, delta))
        alerts: list[Alert] = []
        for ip in list(self._events):
            q = self._events[ip]
            while q and q[0][0] <= snap.t - self.window_s:
                q.popleft()
            if not q:
                del self._events[ip]
                continue
            total = sum(n for _, n in q)
            if total < self.threshold or snap.t - self._alerted.get(ip, -1e18) < self.window_s:
                continue
            self._alerted[ip] = snap.t
            alerts.append(Alert(
                kind=AlertKind.BRUTEFORCE, detector=self.name, detector_version=self.version,
                direction="inbound", device=self.device, peers=(ip,), severity=Severity.HIGH,
                confidence=0.75, start=q[0][0], end=snap.t,
                summary=f"{ip} opened {total} connections to the login ports "
                        f"{', '.join(map(str, self.ports))} within {self.window_s:.0f}s",
                evidence={"connections": total, "source": ip, "ports": list(self.ports)},
                mitre=("T1110.001",), window_key=int(snap.t // self.window_s)))
        return alerts
