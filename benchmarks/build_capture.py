"""Build a large benchmark capture from the real corpus captures (under ``.bench/``).

Every Ethernet capture of the corpus (pcap and pcapng) is read with Hedgerow's reader and its
frames are concatenated, one file after the other, into a base sequence of real mixed traffic
(pauses longer than 10 minutes inside a file, where traces were merged, are shortened to 10
minutes; packets out of time order get their predecessor's time).
The base is then repeated, each copy shifted in time past the previous one (plus an idle gap, so
flows of one copy time out before the next starts), until the output holds at least
``min_packets`` packets. The output is a classic little-endian microsecond pcap.

Usage:
    .venv/bin/python benchmarks/build_capture.py [--packets 1000000] [--out .bench/mixed.pcap]

Example:
    >>> from benchmarks.build_capture import build_capture  # doctest: +SKIP
    >>> path = build_capture(min_packets=1_000_000)  # doctest: +SKIP
"""

from __future__ import annotations

import argparse
import os
import struct
import sys
from pathlib import Path

import numpy as np
import numpy.typing as npt

from hedgerow.capture import CaptureError, open_capture

REPO = Path(__file__).resolve().parents[1]
BENCH_DIR = REPO / ".bench"
GAP_S = 3600  # idle gap between copies, longer than any flow timeout
MAX_STEP_US = 600_000_000  # longer pauses inside a corpus capture (merged traces) are shortened
_HEADER = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, 1)


def corpus_root() -> Path:
    """``$HEDGEROW_CORPUS``, else ``../shared/corpus`` beside the repository."""
    return Path(os.environ.get("HEDGEROW_CORPUS", REPO.parent / "shared" / "corpus"))


def corpus_captures(root: Path) -> list[Path]:
    """All pcap/pcapng captures of the corpus that may hold Ethernet frames, in a stable order."""
    found = []
    for path in sorted(root.rglob("*")):
        if not path.is_file() or path.suffix not in (".pcap", ".pcapng", ".cap"):
            continue
        try:
            with open_capture(path) as reader:
                if 1 in reader.link_types or reader.format == "pcapng":
                    found.append(path)
        except CaptureError:
            continue
    return found


def _base_sequence(paths: list[Path]) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.int64], int]:
    """Records of all ``paths`` as one pcap body; the record offsets; the span in seconds."""
    chunks: list[bytes] = []
    offsets: list[int] = []
    at = 0
    clock_us = 0
    for path in paths:
        with open_capture(path) as reader:
            batches = [b for b in reader]
        ethernet = [b.take(b.link_type == 1) for b in batches]
        ethernet = [b for b in ethernet if len(b)]
        if not ethernet:
            continue
        ts_us = np.concatenate([b.ts_ns for b in ethernet]) // 1000
        steps = np.clip(np.diff(ts_us, prepend=ts_us[0]), 0, MAX_STEP_US)
        rel_us = clock_us + np.cumsum(steps)
        row_all = 0
        for batch in ethernet:
            for row in range(len(batch)):
                t = int(rel_us[row_all])
                row_all += 1
                start = int(batch.pkt_off[row])
                frame = batch.data[start : start + int(batch.cap_len[row])].tobytes()
                head = struct.pack(
                    "<IIII", t // 1_000_000, t % 1_000_000, len(frame), int(batch.wire_len[row])
                )
                chunks.append(head + frame)
                offsets.append(at)
                at += 16 + len(frame)
        clock_us = int(rel_us[-1]) + 1_000_000
    body = np.frombuffer(b"".join(chunks), dtype=np.uint8)
    return body, np.asarray(offsets, dtype=np.int64), clock_us // 1_000_000 + 1


def build_capture(
    out: Path | None = None, min_packets: int = 1_000_000, corpus: Path | None = None
) -> Path:
    """Write (or reuse) a capture of at least ``min_packets`` real packets; return its path."""
    out = out or BENCH_DIR / f"mixed-{min_packets}.pcap"
    root = corpus or corpus_root()
    paths = corpus_captures(root)
    if not paths:
        raise SystemExit(f"no corpus captures under {root} (set HEDGEROW_CORPUS)")
    body, offsets, span_s = _base_sequence(paths)
    per_copy = len(offsets)
    copies = -(-min_packets // per_copy)
    expected = len(_HEADER) + copies * len(body)
    if out.exists() and out.stat().st_size == expected:
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    fields = offsets[:, None] + np.arange(4)
    weights = np.uint32(1) << np.arange(0, 32, 8, dtype=np.uint32)
    base_sec = body[fields].astype(np.uint32) @ weights
    start = 1_600_000_000
    tmp = out.with_suffix(".tmp")
    with open(tmp, "wb") as fh:
        fh.write(_HEADER)
        for copy in range(copies):
            shifted = (base_sec + np.uint32(start + copy * (span_s + GAP_S))).astype("<u4")
            block = body.copy()
            for byte in range(4):
                block[offsets + byte] = (shifted >> np.uint32(8 * byte)).astype(np.uint8)
            fh.write(block.tobytes())
    tmp.replace(out)
    print(
        f"built {out}: {copies * per_copy:,} packets ({copies} copies of {per_copy:,} frames "
        f"from {len(paths)} corpus captures), {out.stat().st_size / 1e6:.0f} MB",
        file=sys.stderr,
    )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--packets", type=int, default=1_000_000)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    print(build_capture(args.out, args.packets))


if __name__ == "__main__":
    main()
