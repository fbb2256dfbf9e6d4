"""Outbound scanning and mining, attributed to the process that owns the sockets.

Scanning: a process with many connections (established or being opened) to the telnet ports,
or to many distinct addresses, within one cycle; or a process holding a raw TCP socket, which
is how Mirai's scanner sends its SYNs without any connection showing in ``net/tcp``.

Mining: a process using sustained CPU for ``cycles`` consecutive cycles while connected to a
mining-pool port or started with a ``stratum+tcp://`` URL.

Example:
    >>> from hedgerow.agent.observe import ProcInfo, Snapshot
    >>> from hedgerow.agent.procnet import Sock, SocketTable
    >>> socks = [Sock("tcp", "10.0.0.5", 40000 + i, f"198.51.100.{i}", 23, "SYN_SENT", 100 + i)
    ...          for i in range(8)]
    >>> snap = Snapshot(t=1.0, processes={7: ProcInfo(7, "x", "/tmp/x", True, "", 0, 1, 0)},
    ...                 sockets=SocketTable(socks), owners={100 + i: 7 for i in range(8)})
    >>> [a.kind.value for a in OutboundScan("cam", ports=[23, 2323]).observe(snap, None)]
    ['scan']
"""

from __future__ import annotations

from collections import defaultdict

from hedgerow.agent.observe import CLK_TCK, Snapshot
from hedgerow.agent.procnet import Sock
from hedgerow.model import Alert, AlertKind, Severity

ACTIVE = ("ESTABLISHED", "SYN_SENT")


def _by_pid(snap: Snapshot) -> dict[int, list[Sock]]:
    out: dict[int, list[Sock]] = defaultdict(list)
    for s in snap.sockets.sockets:
        if s.proto.startswith("tcp") and s.state in ACTIVE and not s.loopback:
            pid = snap.owners.get(s.inode)
            if pid is not None:
                out[pid].append(s)
    return out


RAW_TCP = 6  # the protocol number a raw socket shows as its "local port"


class OutboundScan:
    name = "agent.outbound-scan"
    version = "2"

    def __init__(self, device: str, ports: list[int], port_connections: int = 5,
                 distinct_hosts: int = 30) -> None:
        self.device = device
        self.ports = ports
        self.port_connections = port_connections
        self.distinct_hosts = distinct_hosts
        self._raw_seen: set[tuple[int, int]] = set()

    def _raw_tcp(self, snap: Snapshot) -> list[Alert]:
        alerts: list[Alert] = []
        for s in snap.sockets.sockets:
            if not s.proto.startswith("raw") or s.local_port != RAW_TCP:
                continue
            pid = snap.owners.get(s.inode)
            p = snap.processes.get(pid) if pid is not None else None
            key = (pid or 0, p.start_ticks if p else 0)
            if key in self._raw_seen:
                continue
            self._raw_seen.add(key)
            alerts.append(Alert(
                kind=AlertKind.SCAN, detector=self.name, detector_version=self.version,
                direction="outbound", device=self.device, peers=(), severity=Severity.HIGH,
                confidence=0.7, start=snap.t, end=snap.t,
                summary=f"pid {pid} ({p.name if p else '?'}) holds a raw TCP socket "
                        "(crafted SYNs, the Mirai scanner's way)",
                evidence={"pid": pid, "exe": p.exe if p else "", "raw_tcp_socket": True,
                          "inode": s.inode},
                mitre=("T1046",), window_key=key[1]))
        return alerts

    def observe(self, snap: Snapshot, prev: Snapshot | None) -> list[Alert]:
        alerts: list[Alert] = self._raw_tcp(snap)
        served = _local_ports(snap)
        for pid, socks in _by_pid(snap).items():
            outbound = [s for s in socks if s.local_port not in served]
            to_ports = [s for s in outbound if s.remote_port in self.ports]
            hosts = sorted({s.remote_ip for s in outbound})
            if len(to_ports) < self.port_connections and len(hosts) < self.distinct_hosts:
                continue
            p = snap.processes.get(pid)
            name = p.name if p else "?"
            targets = sorted({s.remote_ip for s in to_ports}) or hosts
            alerts.append(Alert(
                kind=AlertKind.SCAN, detector=self.name, detector_version=self.version,
                direction="outbound", device=self.device, peers=tuple(targets[:20]),
                severity=Severity.HIGH, confidence=0.8, start=snap.t, end=snap.t,
                summary=f"pid {pid} ({name}) has {len(to_ports)} connections to ports "
                        f"{sorted({s.remote_port for s in to_ports})} and {len(hosts)} hosts",
                evidence={"pid": pid, "exe": p.exe if p else "", "port_connections":
                          len(to_ports), "distinct_hosts": len(hosts),
                          "syn_sent": sum(s.state == "SYN_SENT" for s in outbound)},
                mitre=("T1046", "T1110.001"), window_key=int(snap.t)))
        return alerts


def _local_ports(snap: Snapshot) -> set[int]:
    """Ports this device listens on: connections *to* them are inbound, not scanning."""
    return {s.local_port for s in snap.sockets.sockets if s.listening}


class Miner:
    name = "agent.miner"
    version = "1"

    def __init__(self, device: str, ports: list[int], cpu_percent: float = 40.0,
                 cycles: int = 2) -> None:
        self.device = device
        self.ports = ports
        self.cpu_percent = cpu_percent
        self.cycles = cycles
        self._streak: dict[tuple[int, int], int] = {}
        self._alerted: set[tuple[int, int]] = set()

    def observe(self, snap: Snapshot, prev: Snapshot | None) -> list[Alert]:
        if prev is None or snap.t <= prev.t:
            return []
        dt = snap.t - prev.t
        by_pid = _by_pid(snap)
        streak: dict[tuple[int, int], int] = {}
        alerts: list[Alert] = []
        for pid, p in snap.processes.items():
            before = prev.processes.get(pid)
            if before is None or before.start_ticks != p.start_ticks:
                continue
            cpu = 100.0 * (p.cpu_ticks - before.cpu_ticks) / CLK_TCK / dt
            pool = [s for s in by_pid.get(pid, []) if s.remote_port in self.ports]
            stratum_url = "stratum+" in p.cmdline
            if cpu < self.cpu_percent or not (pool or stratum_url):
                continue
            key = (pid, p.start_ticks)
            streak[key] = self._streak.get(key, 0) + 1
            if streak[key] < self.cycles or key in self._alerted:
                continue
            self._alerted.add(key)
            peers = tuple(sorted({f"{s.remote_ip}:{s.remote_port}" for s in pool}))
            alerts.append(Alert(
                kind=AlertKind.MINING, detector=self.name, detector_version=self.version,
                direction="outbound", device=self.device, peers=peers,
                severity=Severity.HIGH, confidence=0.85 if pool and stratum_url else 0.7,
                start=snap.t - dt * streak[key], end=snap.t,
                summary=f"pid {pid} ({p.name}) uses {cpu:.0f}% CPU for {streak[key]} cycles "
                        f"with a mining-pool connection {', '.join(peers) or '(stratum URL)'}",
                evidence={"pid": pid, "exe": p.exe, "cpu_percent": round(cpu, 1),
                          "cycles": streak[key], "pool": list(peers),
                          "stratum_url": stratum_url, "cmdline": p.cmdline[:300]},
                mitre=("T1496",), window_key=p.start_ticks))
        self._streak = streak
        return alerts
