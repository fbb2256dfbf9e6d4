"""What the live sensor's device kinds cost: its analysis path with and without the inventory.

Reads the >= 1,000,000-packet capture of real corpus traffic built under ``.bench/`` (see
``build_capture.py``) into memory once, then runs the live analysis path in-process
(``StreamAnalyzer.feed`` batch by batch, then ``finish``), as ``hedgerow sense`` does after
decoding, twice per repeat: plain, and with a :class:`DeviceKinds` fed every batch. It prints
the CPU time of both, the packets per CPU-second, the share the inventory adds, and the cost of
one on-demand classification (``kind_of`` on every local address, cache cold).

Usage:
    .venv/bin/python benchmarks/bench_sense_devices.py [--packets 1000000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import statistics
import time

from build_capture import build_capture
from hedgerow.capture import open_capture
from hedgerow.capture.batch import PacketBatch
from hedgerow.sense.analyze import StreamAnalyzer
from hedgerow.sense.devices import DeviceKinds


def _run(batches: list[PacketBatch], devices: DeviceKinds | None) -> float:
    analyzer = StreamAnalyzer.from_rules(devices=devices)
    started = time.process_time()
    for batch in batches:
        analyzer.feed(batch)
    analyzer.finish()
    return time.process_time() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--packets", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    path = build_capture(min_packets=args.packets)
    with open_capture(str(path), batch_size=65536) as cap:
        batches = list(cap)
    packets = sum(len(b) for b in batches)
    _run(batches[:2], DeviceKinds())  # compile and warm caches once
    plain, with_kinds, share = [], [], []
    kinds = DeviceKinds()
    for _ in range(args.repeat):
        plain.append(_run(batches, None))
        kinds = DeviceKinds()
        with_kinds.append(_run(batches, kinds))
        share.append(kinds.cpu_s)
    ips = [ip for device in kinds.builder.finish().devices for ip in device.ips]
    started = time.process_time()
    for ip in ips:
        kinds.kind_of(ip)
    lookup = (time.process_time() - started) / max(len(ips), 1)
    print("runs (CPU-s) without: " + ", ".join(f"{x:.2f}" for x in plain) +
          "; with: " + ", ".join(f"{x:.2f}" for x in with_kinds))
    p, w, s = (statistics.median(x) for x in (plain, with_kinds, share))
    print(f"capture: {path} ({packets:,} packets, {len(batches)} batches), median of "
          f"{args.repeat}")
    print(f"analysis without device kinds: {p:.2f} CPU-s, {packets / p:,.0f} pkts per CPU-s")
    print(f"analysis with device kinds:    {w:.2f} CPU-s, {packets / w:,.0f} pkts per CPU-s")
    print(f"ratio with/without: {w / p:.3f}; inventory's own CPU: {s:.2f} s "
          f"({s / p:.1%} of the plain path, {s / len(batches) * 1000:.1f} ms per batch)")
    print(f"kind_of (cache cold): {lookup * 1e3:.2f} ms per device over {len(ips)} addresses")


if __name__ == "__main__":
    main()
