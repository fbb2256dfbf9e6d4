"""The numba kernels: no out-of-bounds access on hostile input, and a cache that works installed.

numba does not check array bounds by default, so a decoder bug would read stray memory instead
of raising. These tests recompile the kernels with ``NUMBA_BOUNDSCHECK=1`` (in a fresh cache
directory) and feed them random frames of every link type and corpus files cut and mutated at
random; any out-of-bounds access raises ``IndexError`` and fails the child process.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

HOSTILE = r"""
import struct, sys, tempfile
from pathlib import Path
import numpy as np
from hedgerow.capture import CaptureError, open_capture

rng = np.random.default_rng(2026)
tmp = Path(tempfile.mkdtemp())
links = [0, 1, 12, 14, 101, 108, 113, 228, 229, 276]
ETHERTYPES = [b"\x08\x00", b"\x86\xdd", b"\x81\x00", b"\x08\x06", b"\x88\x64", b"\x88\x47"]
sources = [Path(p).read_bytes() for p in sys.argv[1:]]
checked = 0

def read(data: bytes) -> None:
    global checked
    path = tmp / "x.cap"
    path.write_bytes(data)
    try:
        for batch in open_capture(path, batch_size=64):
            end = batch.pkt_off + batch.cap_len
            assert (batch.payload_off + batch.payload_cap <= end).all()
            checked += len(batch)
    except CaptureError:
        pass

for link in links:
    records = []
    for _ in range(400):
        size = int(rng.integers(0, 90))
        frame = rng.integers(0, 256, size, dtype=np.uint8).tobytes()
        if size > 14 and link == 1:
            frame = frame[:12] + ETHERTYPES[int(rng.integers(0, len(ETHERTYPES)))] + frame[14:]
        if size > 0 and link in (12, 14, 101, 228, 229):
            frame = bytes([rng.choice([0x45, 0x4F, 0x60])]) + frame[1:]
        wire = size + int(rng.integers(0, 40))
        records.append(struct.pack("<IIII", 1, 0, size, wire) + frame)
    read(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, link) + b"".join(records))

for raw in sources:
    for _ in range(60):
        data = bytearray(raw[: int(rng.integers(24, len(raw) + 1))])
        for _ in range(int(rng.integers(0, 6))):
            data[int(rng.integers(24, max(25, len(data))) % len(data))] = int(rng.integers(0, 256))
        read(bytes(data))
print(checked)
"""


@pytest.mark.slow
def test_kernels_stay_in_bounds(tmp_path: Path, corpus: Path) -> None:
    sources = [
        corpus / "zeek-traces/testing/btest/Traces/mqtt.pcap",
        corpus / "ndpi/pcap/mqtt.pcap",  # pcapng
        corpus / "ndpi/pcap/dns2tcp_tunnel.pcap",  # Linux cooked
        corpus / "zeek-conn/core.q-in-q/q-in-q.pcap",
        corpus / "zeek-conn/scripts.base.protocols.ftp.ftp-ipv6/ipv6.pcap",
    ]
    env = dict(os.environ, NUMBA_BOUNDSCHECK="1", NUMBA_CACHE_DIR=str(tmp_path / "numba"))
    result = subprocess.run(
        [sys.executable, "-c", HOSTILE, *map(str, sources)],
        capture_output=True, text=True, env=env, timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    assert int(result.stdout) > 4000


CACHED = r"""
import sys
from hedgerow.capture import kernels, open_capture
assert kernels.__file__.startswith(sys.argv[2]), kernels.__file__
n = sum(len(b) for b in open_capture(sys.argv[1]))
hits = sum(kernels.walk_pcap.stats.cache_hits.values())
hits += sum(kernels.decode_packets.stats.cache_hits.values())
print(n, hits)
"""


@pytest.mark.slow
def test_numba_cache_works_from_an_installed_copy(tmp_path: Path, corpus: Path) -> None:
    """A copy of the package outside the source tree writes its cache once, then reuses it."""
    site = tmp_path / "site"
    shutil.copytree(
        REPO / "src" / "hedgerow", site / "hedgerow", ignore=shutil.ignore_patterns("__pycache__")
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("NUMBA_")}
    env["PYTHONPATH"] = str(site)
    capture = corpus / "ndpi/pcap/synscan.pcap"
    runs = []
    for _ in range(2):
        out = subprocess.run(
            [sys.executable, "-c", CACHED, str(capture), str(site)],
            capture_output=True, text=True, env=env, timeout=600, check=True,
        ).stdout.split()  # fmt: skip
        runs.append((int(out[0]), int(out[1])))
    assert runs[0] == (2011, 0)  # compiled, then written to the cache
    assert runs[1] == (2011, 2)  # both kernels loaded from the cache
    assert list((site / "hedgerow" / "capture" / "__pycache__").glob("kernels.*.nbi"))
