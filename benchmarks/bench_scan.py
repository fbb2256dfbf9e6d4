"""Detection benchmark: ``hedgerow scan`` against ``hedgerow flows`` and nfstream, same capture.

Builds (or reuses) the >= 1,000,000-packet capture of real corpus traffic under ``.bench/``
(``build_capture.py``) and runs, each in its own child process under ``/usr/bin/time`` (whole
process: interpreter start, imports, numba cache load, output writing):

- ``flows``: ``hedgerow flows BIG -o .bench/flows.parquet -q`` (flow extraction into the same
  columnar FlowBatch frames the detectors read, written as Parquet);
- ``flows-log``: ``hedgerow flows BIG -o .bench/flows.log -q`` (flow extraction as Zeek TSV,
  formatted straight from the meter's flow table: the engine's headline figure, no frames);
- ``scan``: ``hedgerow scan BIG -o .bench/scan`` (flow extraction + every built-in rule and
  intel list + alerts.jsonl/report.json + the terminal report, printed to /dev/null);
- ``scan-bare``: the same with ``--no-builtin-rules`` (every detector off: flows, the DNS
  resolution record, the device inventory, the host tally and the reports), so the cost of
  detection itself shows as the throughput the detectors keep;
- ``nfstream``: ``NFStreamer(source=BIG, n_meters=1)`` iterated (flow extraction, one meter).

It prints packets/s of wall and of CPU time (user + system, the fair figure on a shared
machine; median of ``--repeat`` runs, since the machine is shared and noisy), peak memory,
scan throughput as a fraction of each flow extraction (target >= 70%) and of the scan with
its detectors off, and scan against nfstream.

Usage:
    .venv/bin/python benchmarks/bench_scan.py [--packets 1000000] [--repeat 3] [--skip nfstream]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys

from bench_flows import NFSTREAM, PYTHON, Run, count_packets, measure
from build_capture import BENCH_DIR, build_capture

TARGET = 0.70


def median_of(name: str, argv: list[str], repeat: int) -> Run:
    """Median wall and CPU seconds over ``repeat`` runs; the highest peak memory."""
    runs = [measure(name, argv) for _ in range(repeat)]
    return Run(
        name,
        statistics.median(r.wall_s for r in runs),
        statistics.median(r.cpu_s for r in runs),
        max(r.peak_mb for r in runs),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--packets", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--skip", action="append", default=[], help="tool to leave out")
    args = parser.parse_args()

    capture = build_capture(min_packets=args.packets)
    packets = count_packets(capture)
    hedgerow = shutil.which("hedgerow", path=os.path.dirname(PYTHON)) or "hedgerow"
    sh = shutil.which("sh") or "/bin/sh"
    scan_cmd = f"'{hedgerow}' scan '{capture}' -o '{BENCH_DIR / 'scan'}' > /dev/null"
    bare_cmd = (f"'{hedgerow}' scan '{capture}' --no-builtin-rules -o '{BENCH_DIR / 'bare'}'"
                " > /dev/null")
    tools = {
        "flows": [hedgerow, "flows", str(capture), "-o", str(BENCH_DIR / "flows.parquet"), "-q"],
        "flows-log": [hedgerow, "flows", str(capture), "-o", str(BENCH_DIR / "flows.log"), "-q"],
        "scan": [sh, "-c", scan_cmd],
        "scan-bare": [sh, "-c", bare_cmd],
        "nfstream": [PYTHON, "-c", NFSTREAM, str(capture)],
    }
    runs: dict[str, Run] = {}
    for name, argv in tools.items():
        if name in args.skip:
            continue
        runs[name] = median_of(name, argv, args.repeat)
        r = runs[name]
        print(f"measured {name}: {r.wall_s:.2f} s wall, {r.cpu_s:.2f} s CPU", file=sys.stderr)

    print(f"\n{capture.name}: {packets:,} packets (median of {args.repeat} runs, whole process)")
    print(f"{'tool':<11}{'pkts/s wall':>14}{'pkts/s CPU':>14}{'peak MB':>10}")
    for name, r in runs.items():
        print(f"{name:<11}{packets / r.wall_s:>14,.0f}{packets / r.cpu_s:>14,.0f}"
              f"{r.peak_mb:>10.0f}")
    scan, nfs = runs.get("scan"), runs.get("nfstream")
    print()
    for name in ("flows", "flows-log", "scan-bare"):
        flows = runs.get(name)
        if scan is None or flows is None:
            continue
        cpu = flows.cpu_s / scan.cpu_s
        wall = flows.wall_s / scan.wall_s
        verdict = "met" if cpu >= TARGET else "NOT met"
        print(f"scan throughput / {name}: {cpu:.0%} on CPU time, {wall:.0%} on wall "
              f"time (>= {TARGET:.0%}: {verdict} on CPU time)")
    if scan is not None and nfs is not None:
        print(f"scan vs nfstream flow extraction: {nfs.cpu_s / scan.cpu_s:.1f}x on CPU time, "
              f"{nfs.wall_s / scan.wall_s:.1f}x on wall time")


if __name__ == "__main__":
    main()
