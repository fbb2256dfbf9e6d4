"""Device-agent cost: steady-state RSS and CPU with a 5 s cycle, and full assessment time.

Runs ``python -m hedgerow.agent run`` (protection off, so nothing is enforced on this machine)
for ``--seconds`` and samples its resident memory and CPU time with psutil; beside it, in the
same run, a peer that does the same kind of polling with the usual tools: a shell loop running
``ps`` and ``ss`` every 5 seconds (osquery, the usual reference, has no Debian or PyPI
package here). Also prints a bare Python interpreter's RSS, the floor any Python agent pays,
and the time of a full assessment of this machine (in-process, cold and warm).

    .venv/bin/python benchmarks/bench_agent.py --seconds 60
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parents[1]
BENCH = REPO / ".bench" / "agent"

PEER_LOOP = ("while :; do ps -eo pid,ppid,stat,etimes,pcpu,args >/dev/null; "
             "ss -tunap >/dev/null; sleep {interval}; done")


def measure(argv: list[str], seconds: float, warmup: float) -> dict[str, float]:
    """RSS (median/max, MB) and CPU (% of one core, children included) after ``warmup``."""
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            cwd=REPO)
    ps = psutil.Process(proc.pid)
    try:
        time.sleep(warmup)
        t0 = time.monotonic()
        c0 = ps.cpu_times()
        rss: list[float] = []
        child_rss: list[float] = []
        while time.monotonic() - t0 < seconds:
            rss.append(ps.memory_info().rss / 2**20)
            kids = ps.children(recursive=True)
            total = 0.0
            for k in kids:
                try:
                    total += k.memory_info().rss / 2**20
                except psutil.Error:
                    continue
            child_rss.append(total)
            time.sleep(0.25)
        c1 = ps.cpu_times()
        wall = time.monotonic() - t0
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    cpu = (c1.user + c1.system + c1.children_user + c1.children_system
           - c0.user - c0.system - c0.children_user - c0.children_system)
    return {"rss_median_mb": statistics.median(rss), "rss_max_mb": max(rss),
            "children_rss_max_mb": max(child_rss), "cpu_percent": 100.0 * cpu / wall,
            "seconds": wall}


def bare_python_rss() -> float:
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(3)"])
    time.sleep(1.5)
    rss = psutil.Process(proc.pid).memory_info().rss / 2**20
    proc.wait()
    return rss


def assessment_times(state: Path) -> dict[str, float]:
    code = f"""
import json, time
from hedgerow.agent import Agent, AgentConfig
cfg = AgentConfig.from_dict({{"state_dir": {str(state)!r}, "protect": {{"enabled": False}}}})
times = []
for _ in range(3):
    t = time.perf_counter(); findings = Agent(cfg).assess(); times.append(time.perf_counter() - t)
print(json.dumps({{"cold_s": times[0], "warm_s": min(times[1:]), "findings": len(findings)}}))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=REPO).stdout
    return json.loads(out.splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--interval", type=float, default=5.0)
    args = ap.parse_args()
    BENCH.mkdir(parents=True, exist_ok=True)
    state = BENCH / "state"
    config = BENCH / "agent.toml"
    config.write_text(f'state_dir = "{state}"\ninterval_s = {args.interval}\n'
                      "[protect]\nenabled = false\n")
    agent_argv = [sys.executable, "-m", "hedgerow.agent", "run", "-c", str(config),
                  "--no-assess"]
    peer_argv = ["/bin/sh", "-c", PEER_LOOP.format(interval=args.interval)]
    warmup = args.interval + 1.0

    print(f"steady state, {args.interval:g} s cycle, {args.seconds:g} s measured "
          f"after {warmup:g} s warm-up, {os.cpu_count()} cores")
    ours = measure(agent_argv, args.seconds, warmup)
    peer = measure(peer_argv, args.seconds, warmup)
    status = json.loads((state / "status.json").read_text())
    floor = bare_python_rss()
    print(f"{'':28}{'hedgerow agent':>16}{'ps+ss loop':>14}{'ratio':>9}")
    print(f"{'RSS median (MB)':28}{ours['rss_median_mb']:16.1f}{peer['rss_median_mb']:14.1f}"
          f"{ours['rss_median_mb'] / max(peer['rss_median_mb'], 1e-9):9.1f}")
    print(f"{'RSS max incl. children (MB)':28}"
          f"{ours['rss_max_mb'] + ours['children_rss_max_mb']:16.1f}"
          f"{peer['rss_max_mb'] + peer['children_rss_max_mb']:14.1f}")
    print(f"{'CPU (% of one core)':28}{ours['cpu_percent']:16.2f}{peer['cpu_percent']:14.2f}"
          f"{ours['cpu_percent'] / max(peer['cpu_percent'], 1e-9):9.2f}")
    print(f"agent: {status['cycles']} cycles, last cycle {status['last_cycle_s'] * 1000:.1f} ms "
          f"(processes, sockets, counters, logs, integrity)")
    print(f"bare python3 interpreter RSS: {floor:.1f} MB (the floor for any Python agent)")
    print("targets: RSS <= 30 MB, CPU <= 2% of one core")
    times = assessment_times(BENCH / "assess-state")
    print(f"full assessment of this machine: cold {times['cold_s']:.2f} s, warm "
          f"{times['warm_s']:.2f} s, {times['findings']} findings (target <= 2 s)")


if __name__ == "__main__":
    main()
