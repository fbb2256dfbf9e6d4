"""The compiled kernels: no out-of-bounds access on hostile input.

The walkers, the header decoder and the ring walk are compiled with Cython's bounds checking on
(see their ``.pyx`` headers), so an out-of-range read raises ``IndexError`` instead of reading
stray memory. These tests check that the checks are compiled in (inconsistent inputs raise),
then feed the readers random frames of every link type and corpus files cut and mutated at
random, in a child process: any out-of-bounds access (or a crash) fails it.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from hedgerow.capture import kernels
from hedgerow.capture.batch import PacketBatch
from hedgerow.sense.ring import drain_blocks

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


def _decode(batch: PacketBatch, data: np.ndarray) -> None:
    kernels.decode_packets(
        data, len(batch), batch.pkt_off, batch.cap_len, batch.wire_len, batch.link_type,
        batch.eth_src, batch.eth_dst, batch.vlan, batch.l3, batch.src_hi, batch.src_lo,
        batch.dst_hi, batch.dst_lo, batch.proto, batch.ttl, batch.ip_len, batch.ip_id,
        batch.frag, batch.sport, batch.dport, batch.tcp_flags, batch.seq, batch.ack,
        batch.window, batch.payload_len, batch.payload_off, batch.payload_cap, batch.status,
    )  # fmt: skip


def test_decoder_bounds_checks_are_compiled_in() -> None:
    """A record that claims more bytes than the buffer holds raises instead of reading on."""
    frame = bytes.fromhex("ffffffffffff 001122334455 0800 45000028")
    data = np.frombuffer(frame, np.uint8)
    batch = PacketBatch.empty(1)
    batch.link_type[:] = 1
    batch.cap_len[:] = 60  # the IPv4 header would run 42 bytes past the buffer
    batch.wire_len[:] = 60
    with pytest.raises(IndexError):
        _decode(batch, data)
    batch = PacketBatch.empty(1)
    batch.link_type[:] = 1
    batch.cap_len[:] = len(frame)
    batch.wire_len[:] = 60
    _decode(batch, data)  # consistent: decoded (as a truncated IPv4 header), no error
    assert batch.status[0] == 1 and batch.eth_dst[0] == 0xFFFFFFFFFFFF


def test_walker_bounds_checks_are_compiled_in() -> None:
    """A chunk end past the buffer raises instead of reading on."""
    buf = np.zeros(20, np.uint8)
    out = [np.zeros(4, np.int64) for _ in range(4)]
    with pytest.raises(IndexError):
        kernels.walk_pcap(buf, 0, 64, False, False, 65535, 4, *out)
    table = np.zeros((1, 7), np.int64)
    with pytest.raises(IndexError):
        kernels.walk_pcapng(buf, 16, 64, False, table, 1, 0, 4, *out, np.zeros(4, np.int64))


def test_ring_walk_bounds_checks_are_compiled_in() -> None:
    """A ring block whose frame points past the ring raises instead of copying stray memory."""
    ring = np.zeros(256, np.uint8)
    ring[8] = 1  # TP_STATUS_USER: the block is ours
    ring[12] = 1  # one packet
    ring[16] = 48  # first frame at offset 48
    ring[48 + 12] = 200  # snaplen 200: the frame's bytes run past the 256-byte ring
    ring[48 + 24] = 64  # MAC header at frame + 64
    out = np.zeros(4096, np.uint8)
    cols = [np.zeros(8, t) for t in (np.int64, np.uint32, np.uint32, np.int64, np.uint16)]
    with pytest.raises(IndexError):
        drain_blocks(ring, 256, 1, 0, 256, out, 0, 0, 8, *cols)
    ring[48 + 12] = 20  # 20 bytes at 48 + 64 fit: copied, block handed back to the kernel
    assert drain_blocks(ring, 256, 1, 0, 256, out, 0, 0, 8, *cols)[:4] == (1, 20, 0, 1)
    assert ring[8] == 0


@pytest.mark.slow
def test_kernels_stay_in_bounds(corpus: Path) -> None:
    sources = [
        corpus / "zeek-traces/testing/btest/Traces/mqtt.pcap",
        corpus / "ndpi/pcap/mqtt.pcap",  # pcapng
        corpus / "ndpi/pcap/dns2tcp_tunnel.pcap",  # Linux cooked
        corpus / "zeek-conn/core.q-in-q/q-in-q.pcap",
        corpus / "zeek-conn/scripts.base.protocols.ftp.ftp-ipv6/ipv6.pcap",
    ]
    result = subprocess.run(
        [sys.executable, "-c", HOSTILE, *map(str, sources)],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    assert int(result.stdout) > 4000
