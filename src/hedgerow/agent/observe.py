"""One bounded look at the device per monitoring cycle: processes, sockets, kernel counters.

Everything comes from the configured proc root (``/proc``): ``<pid>/stat``, ``<pid>/exe``,
``<pid>/cmdline``, ``net/{tcp,udp}[6]``, ``net/snmp`` and ``net/dev``. The cycle's observation
time is passed in by the caller and is the event time of every alert raised from it; detectors
never read the clock themselves.

Example:
    >>> snap = take_snapshot("/proc", now=100.0, max_processes=64)
    >>> snap.t, len(snap.processes) <= 64
    (100.0, True)
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from hedgerow.agent.procnet import SocketTable, read_sockets, socket_owners

CLK_TCK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


@dataclass(frozen=True)
class ProcInfo:
    pid: int
    name: str
    exe: str
    deleted: bool
    cmdline: str
    cpu_ticks: int
    start_ticks: int
    uid: int


@dataclass
class Snapshot:
    t: float
    processes: dict[int, ProcInfo] = field(default_factory=dict)
    sockets: SocketTable = field(default_factory=SocketTable)
    owners: dict[int, int] = field(default_factory=dict)
    snmp: dict[str, int] = field(default_factory=dict)
    tx_packets: int = 0

    def sockets_of(self, pid: int) -> list[int]:
        return [inode for inode, owner in self.owners.items() if owner == pid]


def read_process(proc: Path, pid: int) -> ProcInfo | None:
    base = proc / str(pid)
    try:
        with open(base / "stat", encoding="utf-8", errors="replace") as fh:
            stat = fh.read()
        name = stat[stat.index("(") + 1: stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2:].split()
        cpu = int(fields[11]) + int(fields[12])
        start = int(fields[19])
        uid = (base.stat()).st_uid
    except (OSError, ValueError, IndexError):
        return None
    try:
        exe = os.readlink(base / "exe")
    except OSError:
        exe = ""  # kernel thread or no permission
    deleted = exe.endswith(" (deleted)")
    if deleted:
        exe = exe[: -len(" (deleted)")]
    try:
        with open(base / "cmdline", "rb") as fh:
            cmdline = fh.read(4096).replace(b"\0", b" ").decode("utf-8", "replace").strip()
    except OSError:
        cmdline = ""
    return ProcInfo(pid, name, exe, deleted, cmdline, cpu, start, uid)


def read_snmp(proc: Path) -> dict[str, int]:
    """``Proto.Field`` -> counter from ``net/snmp`` (header line, then value line per proto)."""
    out: dict[str, int] = {}
    try:
        lines = (proc / "net" / "snmp").read_text().splitlines()
    except OSError:
        return out
    for header, values in zip(lines[0::2], lines[1::2], strict=False):
        keys = header.split()
        vals = values.split()
        if not keys or keys[0] != vals[0]:
            continue
        proto = keys[0].rstrip(":")
        for k, v in zip(keys[1:], vals[1:], strict=False):
            try:
                out[f"{proto}.{k}"] = int(v)
            except ValueError:
                continue
    return out


def read_tx_packets(proc: Path) -> int:
    """Packets sent on every interface except loopback (``net/dev``)."""
    total = 0
    try:
        lines = (proc / "net" / "dev").read_text().splitlines()[2:]
    except OSError:
        return 0
    for line in lines:
        name, _, rest = line.partition(":")
        if name.strip() == "lo":
            continue
        cols = rest.split()
        if len(cols) >= 10:
            total += int(cols[9])
    return total


def take_snapshot(proc: str | Path, now: float, max_processes: int = 4096) -> Snapshot:
    root = Path(proc)
    snap = Snapshot(t=now)
    try:
        pids = sorted(int(n) for n in os.listdir(root) if n.isdigit())[:max_processes]
    except OSError:
        pids = []
    own = os.getpid()
    for pid in pids:
        if pid == own:
            continue
        info = read_process(root, pid)
        if info is not None:
            snap.processes[pid] = info
    snap.sockets = read_sockets(root)
    snap.owners = socket_owners(root, max_processes)
    snap.snmp = read_snmp(root)
    snap.tx_packets = read_tx_packets(root)
    return snap
