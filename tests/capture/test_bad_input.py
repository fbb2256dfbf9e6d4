"""Bad input: wrong magic, truncation at every offset, absurd lengths, corrupt blocks, fuzzing.

The reader must keep every packet before the damage, name the file and the byte offset, and
never raise anything but :class:`CaptureError` nor loop forever.
"""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from capture.containers import Record, block, epb, idb, pcap_bytes, records, shb
from hedgerow.capture import CaptureError, CaptureReader, PacketBatch, open_capture

SMALL_PCAP = "zeek-traces/testing/btest/Traces/mqtt.pcap"  # 19 packets
SMALL_PCAPNG = "ndpi/pcap/mqtt.pcap"  # pcapng, 9 packets


def read(path: Path, batch_size: int = 7) -> tuple[CaptureReader, list[PacketBatch]]:
    reader = open_capture(path, batch_size=batch_size)
    batches = list(reader)
    return reader, batches


def check_invariants(batches: list[PacketBatch]) -> None:
    for batch in batches:
        assert (batch.payload_cap <= batch.payload_len).all()
        end = batch.pkt_off + batch.cap_len
        assert (batch.payload_off + batch.payload_cap <= end).all()
        assert (batch.payload_off >= batch.pkt_off).all()
        assert (end <= len(batch.data)).all()
        assert (batch.status <= 3).all()


def test_wrong_magic_is_one_line_error(tmp_path: Path, corpus: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_bytes(b"GET / HTTP/1.1\r\n")
    with pytest.raises(CaptureError) as err:
        open_capture(path)
    assert str(err.value) == f"{path}: not a pcap/pcapng capture (magic 0x47455420) at offset 0"
    with pytest.raises(CaptureError, match="not a pcap/pcapng capture"):
        open_capture(corpus / "ndpi/result/synscan.pcap.out")  # a real non-capture file


def test_empty_missing_and_short_files(tmp_path: Path) -> None:
    empty = tmp_path / "empty.pcap"
    empty.write_bytes(b"")
    with pytest.raises(CaptureError, match="empty file"):
        open_capture(empty)
    with pytest.raises(CaptureError, match="cannot open"):
        open_capture(tmp_path / "missing.pcap")
    short = tmp_path / "short.pcap"
    short.write_bytes(b"\xd4\xc3\xb2\xa1\x02\x00")
    with pytest.raises(CaptureError, match="truncated pcap file header at offset 0"):
        open_capture(short)
    with pytest.raises(CaptureError, match="cannot open"):
        open_capture(tmp_path)


def test_pcap_truncated_at_every_offset(tmp_path: Path, corpus: Path) -> None:
    raw = (corpus / SMALL_PCAP).read_bytes()
    ends = [24]  # record boundaries
    while ends[-1] < len(raw):
        (incl,) = struct.unpack("<I", raw[ends[-1] + 8 : ends[-1] + 12])
        ends.append(ends[-1] + 16 + incl)
    assert ends[-1] == len(raw) and len(ends) == 20
    path = tmp_path / "cut.pcap"
    for cut in range(24, len(raw)):
        path.write_bytes(raw[:cut])
        reader, batches = read(path)
        complete = sum(1 for e in ends[1:] if e <= cut)
        assert sum(len(b) for b in batches) == complete == reader.stats.packets
        check_invariants(batches)
        if cut in ends:
            assert reader.warnings == []
        else:
            (warning,) = reader.warnings
            assert warning.path == str(path)
            assert warning.offset == ends[complete]
            assert str(warning).startswith(f"{path}: truncated record")


def test_pcapng_truncated_at_every_offset(tmp_path: Path, corpus: Path) -> None:
    raw = (corpus / SMALL_PCAPNG).read_bytes()
    full = sum(len(b) for b in read(corpus / SMALL_PCAPNG)[1])
    path = tmp_path / "cut.pcapng"
    counts = []
    for cut in range(4, len(raw) + 1):
        path.write_bytes(raw[:cut])
        reader, batches = read(path)
        counts.append(sum(len(b) for b in batches))
        check_invariants(batches)
        assert len(reader.warnings) <= 1
    assert counts == sorted(counts) and counts[-1] == full


def test_absurd_record_length_stops_with_offset(tmp_path: Path, corpus: Path) -> None:
    recs = records(corpus / SMALL_PCAP)
    raw = bytearray(pcap_bytes(recs, 1, snaplen=65535))
    third = 24 + sum(16 + len(r.frame) for r in recs[:2])
    raw[third + 8 : third + 12] = struct.pack("<I", 300_000)
    path = tmp_path / "absurd.pcap"
    path.write_bytes(raw)
    reader, batches = read(path)
    assert sum(len(b) for b in batches) == 2
    (warning,) = reader.warnings
    assert warning.offset == third
    assert "absurd record length 300000" in warning.message

    raw = bytearray(pcap_bytes(recs, 1, snaplen=200))  # over 2 x snaplen
    raw[third + 8 : third + 12] = struct.pack("<I", 401)
    path.write_bytes(raw)
    reader, batches = read(path)
    assert sum(len(b) for b in batches) == 2
    assert "limit 400" in reader.warnings[0].message


def pcapng_file(recs: list[Record]) -> bytes:
    return shb("<") + idb("<", 1) + b"".join(epb("<", 0, r) for r in recs)


def test_pcapng_block_inconsistencies(tmp_path: Path, corpus: Path) -> None:
    recs = records(corpus / SMALL_PCAP)
    good = pcapng_file(recs)
    third = len(shb("<") + idb("<", 1)) + sum(len(epb("<", 0, r)) for r in recs[:2])
    path = tmp_path / "bad.pcapng"
    cases = {
        "trailer": lambda raw: (
            raw[: third + 4]
            + struct.pack("<I", struct.unpack("<I", raw[third + 4 : third + 8])[0] + 4)
            + raw[third + 8 :]
        ),
        "odd length": lambda raw: raw[: third + 4] + struct.pack("<I", 33) + raw[third + 8 :],
        "interface": lambda raw: raw[: third + 8] + struct.pack("<I", 5) + raw[third + 12 :],
        "caplen": lambda raw: raw[: third + 20] + struct.pack("<I", 10_000) + raw[third + 24 :],
    }
    for name, corrupt in cases.items():
        path.write_bytes(corrupt(good))
        reader, batches = read(path)
        assert sum(len(b) for b in batches) == 2, name
        (warning,) = reader.warnings
        assert warning.offset == third, name
        assert "reading stopped" in warning.message


def test_pcapng_bad_byte_order_magic(tmp_path: Path, corpus: Path) -> None:
    recs = records(corpus / SMALL_PCAP)
    raw = pcapng_file(recs[:3]) + block("<", 0x0A0D0D0A, b"\x01\x02\x03\x04" + bytes(12))
    path = tmp_path / "bom.pcapng"
    path.write_bytes(raw)
    reader, batches = read(path)
    assert sum(len(b) for b in batches) == 3
    assert "byte-order magic" in reader.warnings[0].message


def test_stream_never_grows_with_capture_length(tmp_path: Path, corpus: Path) -> None:
    """Batches view their chunk; the reader holds at most one chunk and the current batch."""
    reader = CaptureReader(corpus / "stopddos/pkt.TCP.synflood.spoofed.pcap", 4096, 1 << 16)
    sizes = {len(b.data) for b in reader}
    assert max(sizes) <= 1 << 16
    assert reader.stats.packets == 37841


# ---- fuzzing


def fuzz_one(path: Path, data: bytes) -> None:
    path.write_bytes(data)
    try:
        reader, batches = read(path)
    except CaptureError:
        return
    check_invariants(batches)
    assert reader.stats.packets == sum(len(b) for b in batches)


FUZZ = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@FUZZ
@given(body=st.binary(max_size=600), head=st.sampled_from([b"", b"pcap", b"be", b"ns", b"ng"]))
def test_fuzz_random_bytes(tmp_path: Path, body: bytes, head: bytes) -> None:
    prefix = {
        b"": b"",
        b"pcap": struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1),
        b"be": struct.pack(">IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 0, 113),
        b"ns": struct.pack("<IHHiIII", 0xA1B23C4D, 2, 4, 0, 0, 65535, 101),
        b"ng": shb("<"),
    }[head]
    fuzz_one(tmp_path / "fuzz.bin", prefix + body)


@pytest.fixture(scope="module")
def small_files(corpus: Path) -> list[bytes]:
    return [(corpus / SMALL_PCAP).read_bytes(), (corpus / SMALL_PCAPNG).read_bytes()]


@FUZZ
@given(
    which=st.integers(0, 1),
    edits=st.lists(st.tuples(st.integers(0, 4000), st.integers(0, 255)), min_size=1, max_size=8),
    cut=st.integers(0, 4000),
)
def test_fuzz_mutated_real_files(
    tmp_path: Path, small_files: list[bytes], which: int, edits: list[tuple[int, int]], cut: int
) -> None:
    raw = bytearray(small_files[which])
    for at, value in edits:
        raw[at % len(raw)] = value
    fuzz_one(tmp_path / "mutated.bin", bytes(raw[: max(cut, 24)]))


@FUZZ
@given(
    frame=st.binary(min_size=0, max_size=200),
    link=st.sampled_from([0, 1, 12, 14, 101, 108, 113, 228, 229, 276, 147]),
)
def test_fuzz_decoder_on_random_frames(tmp_path: Path, frame: bytes, link: int) -> None:
    wire = len(frame) + (frame[0] if frame else 0)
    data = pcap_bytes([Record(1, frame, wire)], link)
    path = tmp_path / "frame.pcap"
    path.write_bytes(data)
    reader, batches = read(path)
    check_invariants(batches)
    assert reader.stats.packets == 1
    assert np.all(batches[0].link_type == link)
