"""Sockets and their owning processes, read from ``/proc`` (no ``ss``/``netstat`` needed).

``read_sockets(proc)`` parses ``net/tcp``, ``tcp6``, ``udp``, ``udp6``, ``raw``, ``raw6`` (where
the "local port" is the IP protocol number) of the given proc root
(the network namespace of whoever reads it); ``socket_owners(proc)`` maps socket inodes to pids
by reading ``/proc/<pid>/fd`` links, bounded by ``max_processes``. Lines that do not parse are
skipped and counted in :attr:`SocketTable.malformed`.

Example:
    >>> line = "0: 00000000:0017 00000000:0000 0A 00000000:00000000 00:00000000 00000000 0 0 4242"
    >>> s = parse_line(line, "tcp")
    >>> (s.local_ip, s.local_port, s.state, s.inode, s.listening)
    ('0.0.0.0', 23, 'LISTEN', 4242, True)
"""

from __future__ import annotations

import ipaddress
import os
import socket
import struct
from dataclasses import dataclass, field
from pathlib import Path

TCP_STATES = {
    "01": "ESTABLISHED", "02": "SYN_SENT", "03": "SYN_RECV", "04": "FIN_WAIT1",
    "05": "FIN_WAIT2", "06": "TIME_WAIT", "07": "CLOSE", "08": "CLOSE_WAIT", "09": "LAST_ACK",
    "0A": "LISTEN", "0B": "CLOSING", "0C": "NEW_SYN_RECV",
}


@dataclass(frozen=True)
class Sock:
    """One socket: protocol (``tcp``/``tcp6``/``udp``/``udp6``), endpoints, state, inode."""

    proto: str
    local_ip: str
    local_port: int
    remote_ip: str
    remote_port: int
    state: str
    inode: int
    uid: int = 0

    @property
    def listening(self) -> bool:
        if self.proto.startswith("raw"):
            return False
        if self.proto.startswith("tcp"):
            return self.state == "LISTEN"
        return self.remote_port == 0 and self.state == "CLOSE"

    @property
    def all_interfaces(self) -> bool:
        return self.local_ip in ("0.0.0.0", "::")

    @property
    def loopback(self) -> bool:
        try:
            ip = ipaddress.ip_address(self.local_ip)
        except ValueError:
            return False
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        return ip.is_loopback


@dataclass
class SocketTable:
    sockets: list[Sock] = field(default_factory=list)
    malformed: int = 0

    def listeners(self) -> list[Sock]:
        return [s for s in self.sockets if s.listening]


def _addr(text: str) -> tuple[str, int]:
    host, port = text.split(":")
    raw = bytes.fromhex(host)
    if len(raw) == 4:
        ip = socket.inet_ntop(socket.AF_INET, struct.pack("<I", struct.unpack(">I", raw)[0]))
    elif len(raw) == 16:
        words = struct.unpack(">4I", raw)
        ip = socket.inet_ntop(socket.AF_INET6, struct.pack("<4I", *words))
        mapped = ipaddress.IPv6Address(ip).ipv4_mapped
        if mapped is not None:
            ip = str(mapped)
    else:
        raise ValueError(f"bad address {text!r}")
    return ip, int(port, 16)


def parse_line(line: str, proto: str) -> Sock:
    """One data line of ``/proc/net/{tcp,udp}[6]``; raises ValueError when malformed."""
    parts = line.split()
    if len(parts) < 10:
        raise ValueError("short line")
    local_ip, local_port = _addr(parts[1])
    remote_ip, remote_port = _addr(parts[2])
    state = TCP_STATES.get(parts[3].upper(), parts[3])
    return Sock(proto, local_ip, local_port, remote_ip, remote_port, state, int(parts[9]),
                int(parts[7]))


def read_sockets(proc: str | Path = "/proc") -> SocketTable:
    """All TCP/UDP sockets of the proc root's network namespace."""
    table = SocketTable()
    for proto in ("tcp", "tcp6", "udp", "udp6", "raw", "raw6"):
        try:
            with open(Path(proc) / "net" / proto, encoding="ascii", errors="replace") as fh:
                next(fh, None)
                for line in fh:
                    try:
                        table.sockets.append(parse_line(line, proto))
                    except (ValueError, IndexError, OSError):
                        table.malformed += 1
        except OSError:
            continue
    return table


def socket_owners(proc: str | Path = "/proc", max_processes: int = 4096) -> dict[int, int]:
    """Socket inode -> pid, from the ``fd`` links of up to ``max_processes`` processes."""
    owners: dict[int, int] = {}
    root = Path(proc)
    seen = 0
    try:
        entries = os.listdir(root)
    except OSError:
        return owners
    for name in entries:
        if not name.isdigit():
            continue
        seen += 1
        if seen > max_processes:
            break
        fd_dir = root / name / "fd"
        try:
            fds = os.listdir(fd_dir)
        except OSError:
            continue
        for fd in fds:
            try:
                target = os.readlink(fd_dir / fd)
            except OSError:
                continue
            if target.startswith("socket:["):
                owners[int(target[8:-1])] = int(name)
    return owners
