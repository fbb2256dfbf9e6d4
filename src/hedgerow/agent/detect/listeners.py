"""New listening ports since the agent started (a backdoor or a bind shell opening up).

Example:
    >>> from hedgerow.agent.observe import Snapshot
    >>> from hedgerow.agent.procnet import Sock, SocketTable
    >>> d = NewListeners("cam")
    >>> d.observe(Snapshot(t=0.0), None)
    []
    >>> s = Sock("tcp", "0.0.0.0", 4444, "0.0.0.0", 0, "LISTEN", 9)
    >>> [a.evidence["port"] for a in d.observe(Snapshot(t=5.0, sockets=SocketTable([s])), None)]
    [4444]
"""

from __future__ import annotations

from hedgerow.agent.observe import Snapshot
from hedgerow.model import Alert, AlertKind, Severity


class NewListeners:
    name = "agent.new-listener"
    version = "1"

    def __init__(self, device: str) -> None:
        self.device = device
        self._known: set[tuple[str, int]] | None = None

    def observe(self, snap: Snapshot, prev: Snapshot | None) -> list[Alert]:
        now = {(s.proto.rstrip("6"), s.local_port): s for s in snap.sockets.listeners()}
        if self._known is None:
            self._known = set(now)
            return []
        alerts: list[Alert] = []
        for key in sorted(set(now) - self._known):
            s = now[key]
            pid = snap.owners.get(s.inode)
            p = snap.processes.get(pid) if pid is not None else None
            alerts.append(Alert(
                kind=AlertKind.ANOMALY, detector=self.name, detector_version=self.version,
                direction="internal", device=self.device, peers=(),
                severity=Severity.LOW if s.loopback else Severity.MEDIUM, confidence=0.5,
                start=snap.t, end=snap.t,
                summary=f"new {key[0]} listener on {s.local_ip}:{s.local_port}"
                        f" by {p.name if p else 'unknown process'}",
                evidence={"proto": key[0], "address": s.local_ip, "port": s.local_port,
                          "pid": pid, "exe": p.exe if p else None},
                mitre=(), window_key=s.local_port))
        self._known |= set(now)
        return alerts
