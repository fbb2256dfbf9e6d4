"""Flow-extraction benchmark: ``hedgerow flows`` against nfstream, tshark and a dpkt loop.

Builds (or reuses) a >= 1,000,000-packet capture of real corpus traffic under ``.bench/`` with
``build_capture.py``, then runs every tool in its own child process under ``/usr/bin/time`` and
reports, over the whole process (interpreter start, imports, output writing):
packets per second of wall time, packets per second of CPU time (user + system; the fair figure
on a shared machine), and peak resident memory. Ratios are ours / peer's.

- ``hedgerow``: ``hedgerow flows BIG -o .bench/flows.log`` (full flow extraction: Zeek
  conn_state/history, payload prefixes, service guess, Zeek TSV conn.log output).
- ``hedgerow-pq``: the same with Parquet output (``-o .bench/flows.parquet``: the FlowBatch
  path, polars and Arrow loaded), for reference; ratios are against ``hedgerow``.
- ``nfstream``: ``NFStreamer(source=BIG, n_meters=1)`` iterated (one metering process, so one
  core like ours; its default starts one per core).
- ``tshark``: ``tshark -n -q -r BIG -z conv,tcp -z conv,udp``.
- ``dpkt``: ``dpkt.pcap.Reader`` + Ethernet/IP/TCP/UDP parsing per packet (no flow table).

Usage:
    .venv/bin/python benchmarks/bench_flows.py [--packets 1000000] [--repeat 3] [--skip nfstream]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from build_capture import BENCH_DIR, build_capture

REPO = Path(__file__).resolve().parents[1]
PYTHON = sys.executable

NFSTREAM = """
import sys
from nfstream import NFStreamer
flows = packets = 0
for flow in NFStreamer(source=sys.argv[1], n_meters=1, statistical_analysis=False):
    flows += 1
    packets += flow.bidirectional_packets
print(flows, packets)
"""

DPKT = """
import sys
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
print(n)
"""


@dataclass
class Run:
    name: str
    wall_s: float
    cpu_s: float
    peak_mb: float


def measure(name: str, argv: list[str]) -> Run:
    """Run ``argv`` under /usr/bin/time; wall, user+system CPU and peak RSS of the child."""
    with tempfile.NamedTemporaryFile("r", suffix=".time") as report:
        cmd = ["/usr/bin/time", "-o", report.name, "-f", "%e %U %S %M", *argv]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=3600)
        if done.returncode != 0:
            raise SystemExit(f"{name} failed ({done.returncode}): {done.stderr.strip()[-500:]}")
        wall, user, system, peak_kb = report.read().split()[-4:]
    return Run(name, float(wall), float(user) + float(system), int(peak_kb) / 1024)


def best_of(name: str, argv: list[str], repeat: int) -> Run:
    runs = [measure(name, argv) for _ in range(repeat)]
    return Run(
        name,
        min(r.wall_s for r in runs),
        min(r.cpu_s for r in runs),
        max(r.peak_mb for r in runs),
    )


def build_tiny() -> Path:
    """A 4-packet real trace (Zeek's q-in-q test trace from the corpus)."""
    from build_capture import corpus_root

    return corpus_root() / "zeek-conn" / "core.q-in-q" / "q-in-q.pcap"


def count_packets(path: Path) -> int:
    from hedgerow.capture import open_capture

    with open_capture(path) as reader:
        return sum(len(batch) for batch in reader)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--packets", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--skip", action="append", default=[], help="tool to leave out")
    args = parser.parse_args()

    capture = build_capture(min_packets=args.packets)
    packets = count_packets(capture)
    out = BENCH_DIR / "flows.log"
    pq_out = str(BENCH_DIR / "flows.parquet")
    hedgerow = shutil.which("hedgerow", path=os.path.dirname(PYTHON)) or "hedgerow"
    tools = {
        "hedgerow": [hedgerow, "flows", str(capture), "-o", str(out), "-q"],
        "hedgerow-pq": [hedgerow, "flows", str(capture), "-o", pq_out, "-q"],
        "nfstream": [PYTHON, "-c", NFSTREAM, str(capture)],
        "tshark": ["tshark", "-n", "-q", "-r", str(capture), "-z", "conv,tcp", "-z", "conv,udp"],
        "dpkt": [PYTHON, "-c", DPKT, str(capture)],
    }
    # Fixed cost of a run (interpreter, imports) on a 4-packet corpus trace,
    # to separate start-up from the per-packet rate.
    tiny = build_tiny()
    startup = best_of("startup", [hedgerow, "flows", str(tiny), "-o", str(out), "-q"], args.repeat)
    runs = {}
    for name, argv in tools.items():
        if name in args.skip or shutil.which(argv[0]) is None:
            continue
        runs[name] = best_of(name, argv, args.repeat)
        r = runs[name]
        print(f"measured {name}: {r.wall_s:.2f} s wall, {r.cpu_s:.2f} s CPU", file=sys.stderr)

    print(f"\n{capture.name}: {packets:,} packets (best of {args.repeat} runs, whole process)")
    print(
        f"{'tool':<12}{'pkts/s wall':>14}{'pkts/s CPU':>14}{'peak MB':>10}"
        f"{'ours/x wall':>13}{'ours/x CPU':>12}"
    )
    ours = runs.get("hedgerow")
    for name, r in runs.items():
        ratio_wall = ratio_cpu = ""
        if ours is not None and name != "hedgerow":
            ratio_wall = f"{r.wall_s / ours.wall_s:.1f}x"
            ratio_cpu = f"{r.cpu_s / ours.cpu_s:.1f}x"
        print(
            f"{name:<12}{packets / r.wall_s:>14,.0f}{packets / r.cpu_s:>14,.0f}"
            f"{r.peak_mb:>10.0f}{ratio_wall:>13}{ratio_cpu:>12}"
        )
    if ours is not None:
        marginal = packets / max(ours.cpu_s - startup.cpu_s, 1e-9)
        print(
            f"\nhedgerow start-up (4-packet trace): {startup.wall_s:.2f} s wall, "
            f"{startup.cpu_s:.2f} s CPU, {startup.peak_mb:.0f} MB; "
            f"rate beyond start-up: {marginal:,.0f} pkts/s CPU"
        )
        nfstream = runs.get("nfstream")
        versus = "not run"
        if nfstream is not None:
            times = nfstream.cpu_s / ours.cpu_s
            versus = f"{'met' if times >= 6 else 'NOT met'}: {times:.1f}x on CPU time"
        print(
            f"\ntargets: >= 1,000,000 pkts/s whole process "
            f"({'met' if packets / ours.wall_s >= 1e6 else 'NOT met'} on wall time, "
            f"{'met' if packets / ours.cpu_s >= 1e6 else 'NOT met'} on CPU time); "
            f">= 6x nfstream ({versus}); peak <= 300 MB "
            f"({'met' if ours.peak_mb <= 300 else 'NOT met'}: {ours.peak_mb:.0f} MB)"
        )


if __name__ == "__main__":
    main()
