"""The on-device detectors on real inputs: log lines in real formats, utmp records, /proc."""

from __future__ import annotations

import os
import shutil
import socket
import struct
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hedgerow.agent.detect.flood import OutboundFlood
from hedgerow.agent.detect.listeners import NewListeners
from hedgerow.agent.detect.logins import FailedLogins, parse_failure
from hedgerow.agent.detect.network import OutboundScan
from hedgerow.agent.detect.processes import SuspiciousExecutables
from hedgerow.agent.integrity import IntegrityMonitor
from hedgerow.agent.observe import Snapshot, take_snapshot

SSHD_LINES = [
    "Nov 25 02:41:07 cam sshd[901]: Failed password for root from 203.0.113.7 port 4022 ssh2",
    "Nov 25 02:41:08 cam sshd[902]: Invalid user admin from 203.0.113.7 port 4023",
    "Nov 25 02:41:08 cam sshd[902]: Failed password for invalid user admin from 203.0.113.7 "
    "port 4023 ssh2",
    "Nov 25 02:41:09 cam sshd[903]: pam_unix(sshd:auth): authentication failure; logname= uid=0 "
    "euid=0 tty=ssh ruser= rhost=203.0.113.7  user=root",
    "Nov 25 02:41:10 cam dropbear[77]: Bad password attempt for 'root' from 198.51.100.3:51234",
    "Nov 25 02:41:11 cam sshd[904]: Accepted publickey for alice from 192.168.1.5 port 50000",
    "Nov 25 02:41:12 cam sshd[905]: Failed password for root from <garbled> port",
]


def test_parse_failure_formats() -> None:
    hits = [parse_failure(line) for line in SSHD_LINES]
    assert hits[:5] == [("203.0.113.7", "root"), ("203.0.113.7", "admin"),
                        ("203.0.113.7", "admin"), ("203.0.113.7", "root"),
                        ("198.51.100.3", "root")]
    assert hits[5] is None and hits[6] is None


def _utmp(user: str, host: str, t: int) -> bytes:
    fmt = struct.Struct("<hi32s4s32s256shhiii4i20s")
    return fmt.pack(6, 100, b"ssh:notty", b"", user.encode(), host.encode(), 0, 0, 0, t, 0,
                    0, 0, 0, 0, b"")


def test_failed_logins_tail_rotation_and_btmp(tmp_path: Path) -> None:
    log = tmp_path / "auth.log"
    btmp = tmp_path / "btmp"
    log.write_text("Nov 25 00:00:00 cam sshd[1]: Failed password for root from 192.0.2.99 "
                   "port 1 ssh2\n" * 50)  # history before the agent started: not re-alerted
    btmp.write_bytes(b"")
    det = FailedLogins("cam", [log], btmp, threshold=5, window_s=60)
    assert det.observe(Snapshot(t=0.0), None) == []
    with open(log, "a") as fh:
        fh.write("\n".join(SSHD_LINES) + "\n")
    alerts = det.observe(Snapshot(t=1.0), None)
    assert [a.peers for a in alerts] == []  # 4 from 203.0.113.7, 1 from 198.51.100.3
    assert det.malformed == 1
    # Rotation: the file is replaced by a new, shorter one; it is read from the start.
    log.unlink()
    log.write_text(SSHD_LINES[0] + "\n")
    btmp.write_bytes(_utmp("root", "198.51.100.3", 100) * 4)
    alerts = det.observe(Snapshot(t=2.0), None)
    assert sorted(a.peers[0] for a in alerts) == ["198.51.100.3", "203.0.113.7"]
    # The same source does not re-alert within the window; events age out after it.
    with open(log, "a") as fh:
        fh.write(SSHD_LINES[0] + "\n")
    assert det.observe(Snapshot(t=3.0), None) == []
    assert det.observe(Snapshot(t=200.0), None) == []


def test_flood_listeners_integrity(tmp_path: Path) -> None:
    flood = OutboundFlood("cam", packets_per_s=1000)
    quiet = Snapshot(t=0.0, snmp={"Udp.OutDatagrams": 100}, tx_packets=100)
    busy = Snapshot(t=2.0, snmp={"Udp.OutDatagrams": 100 + 8000}, tx_packets=8100)
    assert flood.observe(quiet, None) == []
    (alert,) = flood.observe(busy, quiet)
    assert alert.evidence["rates_per_s"]["udp"] == 4000.0

    real = take_snapshot("/proc", now=10.0)
    listeners = NewListeners("cam")
    assert listeners.observe(real, None) == []
    with socket.socket() as srv:
        srv.bind(("127.0.0.1", 0))
        srv.listen(1)
        port = srv.getsockname()[1]
        alerts = listeners.observe(take_snapshot("/proc", now=11.0), real)
    assert [(a.evidence["port"], a.evidence["pid"]) for a in alerts] == [(port, os.getpid())]

    root = tmp_path / "root"
    (root / "etc").mkdir(parents=True)
    (root / "etc/passwd").write_text("root:x:0:0::/root:/bin/sh\n")
    mon = IntegrityMonitor(str(root), ["/etc/passwd", "/etc/shadow"], tmp_path / "base.json")
    assert mon.load_or_record() is False
    assert mon.observe(Snapshot(t=1.0), None) == []
    (root / "etc/shadow").write_text("root::1::::::\n")
    (root / "etc/passwd").write_text("root:x:0:0::/root:/bin/sh\nx:x:0:0::/:/bin/sh\n")
    changes = {a.evidence["path"]: a.evidence["change"] for a in mon.observe(Snapshot(t=2.0),
                                                                              None)}
    assert changes == {"/etc/passwd": "modified", "/etc/shadow": "created"}
    assert mon.observe(Snapshot(t=3.0), None) == []  # reported once
    again = IntegrityMonitor(str(root), ["/etc/passwd"], tmp_path / "base.json")
    assert again.load_or_record() is True and again.changes()


def test_deleted_executable_in_tmp_is_seen(tmp_path: Path) -> None:
    exe = tmp_path / "kworkerd"
    shutil.copy(shutil.which("sleep") or "/bin/sleep", exe)
    proc = subprocess.Popen([str(exe), "30"])
    try:
        time.sleep(0.2)
        exe.unlink()
        det = SuspiciousExecutables("cam", ["/tmp"], max_seen=16)
        snap = take_snapshot("/proc", now=1.0)
        mine = [a for a in det.observe(snap, None) if a.evidence["pid"] == proc.pid]
        assert len(mine) == 1
        assert mine[0].evidence["deleted"] and mine[0].evidence["exe"] == str(exe)
        again = det.observe(take_snapshot("/proc", now=2.0), snap)
        assert all(a.evidence["pid"] != proc.pid for a in again)  # one alert per process
    finally:
        proc.kill()
        proc.wait()


RAW_SOCKET_HOLDER = """
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_TCP)
print("ready", flush=True)
time.sleep(float(sys.argv[1]))
"""


def test_raw_tcp_socket_holder_is_a_scanner() -> None:
    """A real process holding a raw TCP socket (how Mirai sends its SYN scan)."""
    if os.geteuid() != 0:
        pytest.skip("raw sockets need root")
    proc = subprocess.Popen([sys.executable, "-c", RAW_SOCKET_HOLDER, "20"],
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        det = OutboundScan("cam", ports=[23, 2323])
        snap = take_snapshot("/proc", now=1.0)
        mine = [a for a in det.observe(snap, None) if a.evidence.get("pid") == proc.pid]
        assert len(mine) == 1 and mine[0].evidence["raw_tcp_socket"]
        assert not any(a.evidence.get("pid") == proc.pid for a in det.observe(snap, None))
        assert all(not s.listening for s in snap.sockets.sockets if s.proto.startswith("raw"))
    finally:
        proc.kill()
        proc.wait()
