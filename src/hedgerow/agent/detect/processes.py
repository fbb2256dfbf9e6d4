"""Processes running from deleted files, from memory (memfd) or from writable temp dirs.

That is how Mirai and most IoT malware run: dropped into /tmp, /dev/shm or /var/run, started,
then deleted. One alert per process (pid and start time). Executables matching ``allow``
(fnmatch patterns, e.g. runc's own ``/memfd:runc_cloned*`` re-exec) are never reported.

Example:
    >>> from hedgerow.agent.observe import ProcInfo, Snapshot
    >>> p = ProcInfo(42, "x", "/tmp/.x", True, "/tmp/.x", 0, 7, 0)
    >>> d = SuspiciousExecutables(device="cam", dirs=["/tmp"])
    >>> [a.summary for a in d.observe(Snapshot(t=5.0, processes={42: p}), None)]
    ['pid 42 (x) runs /tmp/.x, deleted from disk, from a writable temp dir']
    >>> runc = ProcInfo(43, "runc", "/memfd:runc_cloned:/proc/self/exe", True, "", 0, 8, 0)
    >>> SuspiciousExecutables("cam", ["/tmp"], allow=["/memfd:runc_cloned*"]).reasons(runc)
    []
"""

from __future__ import annotations

import fnmatch

from hedgerow.agent.observe import ProcInfo, Snapshot
from hedgerow.model import Alert, AlertKind, Severity


class SuspiciousExecutables:
    name = "agent.suspicious-exe"
    version = "1"

    def __init__(self, device: str, dirs: list[str], root: str = "/",
                 max_seen: int = 65536, allow: list[str] | None = None) -> None:
        self.device = device
        self.dirs = dirs
        self.root = root
        self.allow = list(allow or [])
        self.max_seen = max_seen
        self._seen: set[tuple[int, int]] = set()

    def device_path(self, exe: str) -> str:
        """``exe`` as the device sees it: a process chrooted into the agent's root tree runs
        ``<root>/bin/x``, which on the device is ``/bin/x``."""
        root = self.root.rstrip("/")
        if root and exe.startswith(root + "/"):
            return exe[len(root):]
        return exe

    def reasons(self, p: ProcInfo) -> list[str]:
        out: list[str] = []
        exe = self.device_path(p.exe)
        if any(fnmatch.fnmatchcase(exe, pattern) for pattern in self.allow):
            return out
        if p.exe.startswith("/memfd:"):
            out.append("runs from memory (memfd), no file on disk")
        elif p.deleted:
            out.append("deleted from disk")
        if any(exe == d or exe.startswith(d.rstrip("/") + "/") for d in self.dirs):
            out.append("from a writable temp dir")
        return out

    def observe(self, snap: Snapshot, prev: Snapshot | None) -> list[Alert]:
        alerts: list[Alert] = []
        for p in snap.processes.values():
            if not p.exe:
                continue
            key = (p.pid, p.start_ticks)
            if key in self._seen:
                continue
            why = self.reasons(p)
            if not why:
                continue
            if len(self._seen) >= self.max_seen:
                self._seen.clear()
            self._seen.add(key)
            alerts.append(Alert(
                kind=AlertKind.MALWARE, detector=self.name, detector_version=self.version,
                direction="internal", device=self.device, peers=(), severity=Severity.HIGH,
                confidence=0.8 if len(why) > 1 else 0.6, start=snap.t, end=snap.t,
                summary=f"pid {p.pid} ({p.name}) runs {p.exe}, {', '.join(why)}",
                evidence={"pid": p.pid, "exe": p.exe, "device_exe": self.device_path(p.exe),
                          "deleted": p.deleted,
                          "cmdline": p.cmdline[:300], "uid": p.uid, "reasons": why,
                          "start_ticks": p.start_ticks},
                mitre=("T1070.004", "T1036") if p.deleted else ("T1036",),
                window_key=p.start_ticks))
        return alerts
