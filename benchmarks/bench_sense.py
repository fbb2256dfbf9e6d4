"""Live-sensor benchmark: highest loss-free replay rate, and attack-to-alert/-rule latency.

Everything happens in a network namespace made here (``hr-gw-bench-*``, removed at the end)
with a veth pair: ``tcpreplay`` sends the engine's benchmark capture (real corpus traffic,
``build_capture.py``) into ``tx0`` at rising rates (``--pps``) and a consumer listens on ``rx0``:

- ``hedgerow``: ``hedgerow sense --iface rx0 --dry-run`` (TPACKET_V3 ring, decode, flow meter,
  every detector, early-alert checks; the whole process on the whole stream);
- ``tcpdump``: ``tcpdump -i rx0 -w /dev/null`` with the same snap length and kernel buffer, the
  peer: it only copies packets out of the kernel.

Loss = 1 - analysed / sent (sent: tcpreplay's successful packets; the frames ``rx0`` counted
as received are printed beside it, and the sensor's own line names kernel drops, read with
``PACKET_STATISTICS``, and its own). The highest rate with loss
below 0.1% is reported for both, and their ratio; so is each consumer's CPU time during the
replay, as packets per CPU-second (what one core would sustain), because on a small machine
the sender itself cannot go much faster than the consumer.

Latency: the sensor runs with enforcement (nftables inside the namespace) under background
load, and the Hide and Seek capture (telnet scanning, addresses moved to 192.168.213.0/24 with
``tcprewrite`` so the background's copy of it does not count) is replayed into it. Reported:
first attack packet (the kernel timestamp that opens the alert's window) → alert written, and →
quarantine in nftables (decision logged after ``nft`` returned).

Usage (root; tcpreplay, tcprewrite, tcpdump, nft):
    .venv/bin/python benchmarks/bench_sense.py [--rates 50000,100000,200000,300000]
        [--seconds 5] [--background 5000,50000]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from build_capture import build_capture, corpus_root

HEDGEROW = str(Path(sys.executable).with_name("hedgerow"))
SNAPLEN = 256
RING_MB = 64
LOSS_OK = 0.001
ATTACK = "slips/dataset/test7-malicious.pcap"
ATTACKER = "192.168.213.16"


@dataclass
class Run:
    tool: str
    target_pps: int
    sent: int
    sent_pps: float
    analysed: int
    note: str = ""
    cpu_s: float = 0.0
    veth_rx: int = 0

    @property
    def per_core_pps(self) -> float:
        """Packets analysed per CPU-second of the consumer during the replay (one core's worth)."""
        return self.analysed / self.cpu_s if self.cpu_s > 0 else 0.0

    @property
    def loss(self) -> float:
        return max(0.0, 1.0 - self.analysed / self.sent) if self.sent else 1.0


class Namespace:
    """A namespace with a veth pair ``tx0`` → ``rx0`` (IPv6 off, so only replayed frames)."""

    def __init__(self) -> None:
        self.name = f"hr-gw-bench-{secrets.token_hex(2)}"

    def __enter__(self) -> Namespace:
        subprocess.run(["ip", "netns", "add", self.name], check=True)
        for cmd in (["ip", "link", "add", "tx0", "mtu", "9000", "type", "veth", "peer", "name",
                     "rx0", "mtu", "9000"], ["sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1"],
                    ["ip", "link", "set", "lo", "up"], ["ip", "link", "set", "tx0", "up"],
                    ["ip", "link", "set", "rx0", "up"]):
            self.run(cmd)
        return self

    def __exit__(self, *exc: object) -> None:
        for pid in subprocess.run(["ip", "netns", "pids", self.name], capture_output=True,
                                  text=True, check=False).stdout.split():
            try:
                os.kill(int(pid), signal.SIGKILL)
            except ProcessLookupError:
                continue
        subprocess.run(["ip", "netns", "del", self.name], capture_output=True, check=False)

    def argv(self, cmd: list[str]) -> list[str]:
        return ["ip", "netns", "exec", self.name, *cmd]

    def run(self, cmd: list[str], timeout: float = 600) -> subprocess.CompletedProcess[str]:
        return subprocess.run(self.argv(cmd), capture_output=True, text=True, check=True,
                              timeout=timeout)


def find(pattern: str, text: str) -> str:
    """The first group of ``pattern`` in a tool's output (or a clear error)."""
    found = re.search(pattern, text)
    if found is None:
        raise RuntimeError(f"no {pattern!r} in output: {text[-400:]}")
    return found.group(1)


def replay(ns: Namespace, capture: Path, pps: int, limit: int) -> tuple[int, float]:
    """tcpreplay at ``pps``; returns (packets sent, achieved packets/s)."""
    out = ns.run(["tcpreplay", "-K", f"--pps={pps}", f"--limit={limit}", "-i",
                  "tx0", str(capture)]).stdout
    sent = int(find(r"Successful packets:\s+(\d+)", out))
    return sent, float(find(r"Rated:.*?([\d.]+) pps", out))


def veth_rx(ns: Namespace) -> int:
    """Frames ``rx0`` has received so far (the kernel's count of what really arrived)."""
    return int(ns.run(["cat", "/sys/class/net/rx0/statistics/rx_packets"]).stdout)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wait_text(path: Path, text: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and text in path.read_text(errors="replace"):
            return
        time.sleep(0.1)
    raise RuntimeError(f"consumer did not start: {path.read_text(errors='replace')[-500:]}")


def sense_argv(workdir: Path, dry_run: bool, extra: list[str] | None = None) -> list[str]:
    argv = [HEDGEROW, "sense", "--iface", "rx0", "--metrics-port", "0", "--ring-mb",
            str(RING_MB), "--decisions", str(workdir / "decisions.jsonl"), "--alerts",
            str(workdir / "alerts.jsonl"), "--stats-every", "3600"]
    return argv + (["--dry-run"] if dry_run else []) + (extra or [])


def measure(ns: Namespace, tool: str, capture: Path, pps: int, limit: int, workdir: Path) -> Run:
    log = workdir / f"{tool}-{pps}.log"
    if tool == "hedgerow":
        argv, ready = sense_argv(workdir, dry_run=True), "watching rx0"
    else:
        argv = ["tcpdump", "-n", "-i", "rx0", "-s", str(SNAPLEN), "-B", str(RING_MB * 1024),
                "-w", "/dev/null"]
        ready = "listening on rx0"
    with log.open("wb") as sink:
        proc = subprocess.Popen(ns.argv(argv), stdout=sink, stderr=subprocess.STDOUT)
    try:
        wait_text(log, ready, 120)
        time.sleep(2.0)
        cpu_before, rx_before = cpu_seconds(proc.pid), veth_rx(ns)
        sent, rate = replay(ns, capture, pps, limit)
        time.sleep(3.0)
        cpu = cpu_seconds(proc.pid) - cpu_before
        arrived = veth_rx(ns) - rx_before
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(120)
    text = log.read_text(errors="replace")
    if tool == "hedgerow":
        stats = [line for line in text.splitlines() if line.startswith("stats:")]
        if not stats:
            raise RuntimeError(f"hedgerow sense failed at {pps} pps: {text[-1500:]}")
        last = stats[-1]
        analysed = int(find(r" ([\d,]+) packets", last).replace(",", ""))
        note = "drops " + find(r"drops (kernel [\d,]+ ours [\d,]+)", last)
    else:
        analysed = int(find(r"(\d+) packets captured", text))
        note = "dropped by kernel " + find(r"(\d+) packets dropped by kernel", text)
    return Run(tool, pps, sent, rate, analysed, note, cpu, arrived)


def latency(ns: Namespace, capture: Path, background_pps: int,
            workdir: Path) -> dict[str, float | str]:
    workdir.mkdir()
    attack = workdir / "attack.pcap"
    subprocess.run(["tcprewrite", "--pnat=192.168.2.0/24:192.168.213.0/24", "-i",
                    str(corpus_root() / ATTACK), "-o", str(attack)], check=True)
    log = workdir / "latency.log"
    lat_dir = workdir
    with log.open("wb") as sink:
        proc = subprocess.Popen(ns.argv(sense_argv(lat_dir, dry_run=False)), stdout=sink,
                                stderr=subprocess.STDOUT)
    background = None
    try:
        wait_text(log, "watching rx0", 120)
        if "enforcing with nftables" not in log.read_text():
            raise RuntimeError(f"enforcement is off: {log.read_text()[-500:]}")
        if background_pps:
            background = subprocess.Popen(ns.argv(
                ["tcpreplay", "-K", f"--pps={background_pps}", "--limit",
                 str(background_pps * 12), "-i", "tx0", str(capture)]),
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(4.0)
        replay(ns, attack, 500, 1_000_000)
        time.sleep(3.0)
    finally:
        if background is not None:
            background.wait(60)
        proc.send_signal(signal.SIGINT)
        proc.wait(120)
        subprocess.run(ns.argv(["nft", "delete", "table", "inet", "hedgerow"]),
                       capture_output=True, check=False)
    alerts = [json.loads(line) for line in (lat_dir / "alerts.jsonl").read_text().splitlines()]
    first = min((a for a in alerts if a["device"] == ATTACKER and a["kind"] == "scan"),
                key=lambda a: a["raised_at"])
    decisions = [json.loads(line) for line in
                 (lat_dir / "decisions.jsonl").read_text().splitlines()]
    rule = min((d for d in decisions if d["value"] == ATTACKER and d["status"] == "applied"),
               key=lambda d: d["at"])
    return {"alert_s": first["raised_at"] - first["start"], "rule_s": rule["at"] - first["start"],
            "stage": first["stage"], "background_pps": background_pps}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rates", default="50000,100000,200000,300000")
    parser.add_argument("--seconds", type=float, default=5.0, help="replay length per rate")
    parser.add_argument("--background", default="0,5000,50000",
                        help="background loads (pkts/s) of the latency runs")
    parser.add_argument("--repeat", type=int, default=3, help="latency runs per load")
    args = parser.parse_args()
    if os.geteuid() != 0:
        sys.exit("bench_sense: needs root (network namespace, AF_PACKET, nftables)")
    capture = build_capture(min_packets=1_000_000)
    rates = [int(r) for r in args.rates.split(",")]
    runs: list[Run] = []
    with Namespace() as ns, tempfile.TemporaryDirectory(prefix="hr-gw-bench-") as tmp:
        workdir = Path(tmp)
        for pps in rates:
            for tool in ("hedgerow", "tcpdump"):
                try:
                    run = measure(ns, tool, capture, pps, int(pps * args.seconds), workdir)
                except (RuntimeError, subprocess.SubprocessError) as exc:
                    run = Run(tool, pps, 1, 0.0, 0, f"failed: {str(exc)[-300:]}")
                runs.append(run)
                print(f"measured {tool} at {pps:,} pps: sent {run.sent:,} ({run.sent_pps:,.0f}"
                      f" pps achieved), analysed {run.analysed:,}, loss {run.loss:.3%}, "
                      f"{run.note}, veth rx {run.veth_rx:,}, {run.cpu_s:.2f} CPU-s",
                      file=sys.stderr)
        lats: dict[int, list[dict[str, float | str]]] = {}
        for bg in (int(b) for b in args.background.split(",")):
            for i in range(args.repeat):
                trial = latency(ns, capture, bg, workdir / f"bg{bg}-{i}")
                lats.setdefault(bg, []).append(trial)
                print(f"latency with {bg:,} pkts/s of background: alert {trial['alert_s']:.2f} s"
                      f" ({trial['stage']}), quarantine {trial['rule_s']:.2f} s", file=sys.stderr)
    print(f"\nlive capture of {capture.name} replayed with tcpreplay into a veth pair "
          f"(snaplen {SNAPLEN}, {RING_MB} MiB kernel buffer for both)")
    print(f"{'target pps':>11}{'sent pps':>11}{'hedgerow loss':>15}{'tcpdump loss':>14}"
          f"{'hedgerow pkts/CPU-s':>21}{'tcpdump pkts/CPU-s':>20}")
    for pps in rates:
        ours = next(r for r in runs if r.tool == "hedgerow" and r.target_pps == pps)
        peer = next(r for r in runs if r.tool == "tcpdump" and r.target_pps == pps)
        print(f"{pps:>11,}{ours.sent_pps:>11,.0f}{ours.loss:>15.3%}{peer.loss:>14.3%}"
              f"{ours.per_core_pps:>21,.0f}{peer.per_core_pps:>20,.0f}")
    best = {tool: max([r.sent_pps for r in runs if r.tool == tool and r.loss < LOSS_OK],
                      default=0.0) for tool in ("hedgerow", "tcpdump")}
    ratio = best["hedgerow"] / best["tcpdump"] if best["tcpdump"] else float("nan")
    print(f"highest rate with < 0.1% loss: hedgerow {best['hedgerow']:,.0f} pkts/s "
          f"(target >= 200,000), tcpdump -w /dev/null {best['tcpdump']:,.0f} pkts/s, "
          f"ratio {ratio:.2f}x (the sender, tcpreplay, shares the CPU)")
    lossless = [r for r in runs if r.loss < LOSS_OK and r.cpu_s > 0]
    core = {tool: max([r.per_core_pps for r in lossless if r.tool == tool], default=0.0)
            for tool in ("hedgerow", "tcpdump")}
    print(f"packets per CPU-second of the consumer (one core's capacity): hedgerow "
          f"{core['hedgerow']:,.0f}, tcpdump {core['tcpdump']:,.0f}, ratio "
          f"{core['hedgerow'] / core['tcpdump'] if core['tcpdump'] else float('nan'):.2f}x")
    for bg, trials in lats.items():
        alert = sorted(float(t["alert_s"]) for t in trials)
        rule = sorted(float(t["rule_s"]) for t in trials)
        stages = ",".join(sorted({str(t["stage"]) for t in trials}))
        print(f"background {bg:,} pkts/s, {len(trials)} runs: first attack packet -> alert "
              f"({stages}) median {alert[len(alert) // 2]:.2f} s, max {alert[-1]:.2f} s "
              f"(target <= 1 s); -> nftables quarantine median {rule[len(rule) // 2]:.2f} s, "
              f"max {rule[-1]:.2f} s (target <= 2 s)")


if __name__ == "__main__":
    main()
