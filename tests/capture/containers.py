"""Write capture containers and link-layer variants around real packet bytes (test helpers).

The corpus has no capture for some container or link variants (swapped byte order, pcapng with
power-of-two timestamps, simple packet blocks, SLL2, null/loopback, ...). These helpers take real
frames from corpus captures and re-wrap them, so the packets stay real while the container
varies.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hedgerow.capture import PacketBatch, open_capture


@dataclass(frozen=True)
class Record:
    ts_ns: int
    frame: bytes
    wire_len: int


def records(path: Path, limit: int | None = None) -> list[Record]:
    """The frames of a capture (as read by our reader, which the tshark tests check)."""
    out: list[Record] = []
    with open_capture(path) as reader:
        for batch in reader:
            for row in range(len(batch)):
                start = int(batch.pkt_off[row])
                frame = batch.data[start : start + int(batch.cap_len[row])].tobytes()
                out.append(Record(int(batch.ts_ns[row]), frame, int(batch.wire_len[row])))
    return out[:limit]


def read_all(path: Path, batch_size: int = 1000) -> dict[str, np.ndarray]:
    """All columns of a capture, concatenated over its batches."""
    with open_capture(path, batch_size=batch_size) as reader:
        batches = list(reader)
    return {
        name: np.concatenate([getattr(b, name) for b in batches])
        for name in PacketBatch.column_names()
    }


def pcap_bytes(
    recs: list[Record], link: int, *, nano: bool = False, big: bool = False, snaplen: int = 262144
) -> bytes:
    """A classic pcap file (micro- or nanosecond, either byte order)."""
    order = ">" if big else "<"
    magic = 0xA1B23C4D if nano else 0xA1B2C3D4
    parts = [struct.pack(order + "IHHiIII", magic, 2, 4, 0, 0, snaplen, link)]
    for rec in recs:
        sec, frac = divmod(rec.ts_ns, 1_000_000_000)
        if not nano:
            frac //= 1000
        parts.append(struct.pack(order + "IIII", sec, frac, len(rec.frame), rec.wire_len))
        parts.append(rec.frame)
    return b"".join(parts)


def _pad(data: bytes) -> bytes:
    return data + b"\0" * (-len(data) % 4)


def block(order: str, btype: int, body: bytes) -> bytes:
    """A pcapng block: type, total length, body (padded), total length."""
    body = _pad(body)
    length = 12 + len(body)
    return struct.pack(order + "II", btype, length) + body + struct.pack(order + "I", length)


def option(order: str, code: int, value: bytes) -> bytes:
    return struct.pack(order + "HH", code, len(value)) + _pad(value)


def shb(order: str) -> bytes:
    return block(order, 0x0A0D0D0A, struct.pack(order + "IHHq", 0x1A2B3C4D, 1, 0, -1))


def idb(
    order: str, link: int, snaplen: int = 0, tsresol: int | None = None, tsoffset: int = 0
) -> bytes:
    body = struct.pack(order + "HHI", link, 0, snaplen)
    if tsresol is not None:
        body += option(order, 9, bytes([tsresol]))
    if tsoffset:
        body += option(order, 14, struct.pack(order + "q", tsoffset))
    if tsresol is not None or tsoffset:
        body += option(order, 0, b"")
    return block(order, 1, body)


def ticks(ts_ns: int, tsresol: int | None) -> int:
    """A timestamp in the units of an ``if_tsresol`` value (default microseconds)."""
    resol = 6 if tsresol is None else tsresol
    if resol & 0x80:
        return ts_ns * (1 << (resol & 0x7F)) // 1_000_000_000
    return ts_ns * 10**resol // 1_000_000_000


def epb(order: str, iface: int, rec: Record, tsresol: int | None = None) -> bytes:
    t = ticks(rec.ts_ns, tsresol)
    head = struct.pack(
        order + "IIIII", iface, t >> 32, t & 0xFFFFFFFF, len(rec.frame), rec.wire_len
    )
    return block(order, 6, head + _pad(rec.frame))


def opb(order: str, iface: int, rec: Record, tsresol: int | None = None) -> bytes:
    t = ticks(rec.ts_ns, tsresol)
    head = struct.pack(
        order + "HHIIII", iface, 0, t >> 32, t & 0xFFFFFFFF, len(rec.frame), rec.wire_len
    )
    return block(order, 2, head + _pad(rec.frame))


def spb(order: str, rec: Record) -> bytes:
    return block(order, 3, struct.pack(order + "I", rec.wire_len) + rec.frame)


# ---- link-layer variants of Ethernet frames


def ethertype(frame: bytes) -> int:
    return int.from_bytes(frame[12:14], "big")


def to_sll(frame: bytes, with_address: bool = True) -> bytes:
    """Linux cooked v1: packet type, ARPHRD_ETHER, address length 6, source MAC, protocol."""
    if not with_address:
        return struct.pack(">HHH", 0, 1, 0) + bytes(8) + frame[12:14] + frame[14:]
    return struct.pack(">HHH", 0, 1, 6) + frame[6:12] + b"\0\0" + frame[12:14] + frame[14:]


def to_sll2(frame: bytes) -> bytes:
    """Linux cooked v2: protocol, reserved, ifindex, ARPHRD_ETHER, type, addr len, address."""
    head = frame[12:14] + b"\0\0" + struct.pack(">IHBB", 2, 1, 0, 6) + frame[6:12] + b"\0\0"
    return head + frame[14:]


def to_null(frame: bytes, order: str, v6_family: int = 30) -> bytes:
    """BSD null/loopback: the address family as a 4-byte word in ``order``."""
    family = 2 if ethertype(frame) == 0x0800 else v6_family
    return struct.pack(order + "I", family) + frame[14:]


def to_raw(frame: bytes) -> bytes:
    return frame[14:]


def with_vlans(frame: bytes, tags: list[tuple[int, int]]) -> bytes:
    """Insert (TPID, VLAN id) tags after the MAC addresses, outermost first."""
    inserted = b"".join(struct.pack(">HH", tpid, vid) for tpid, vid in tags)
    return frame[:12] + inserted + frame[12:]


def with_pppoe(frame: bytes) -> bytes:
    """A PPPoE session frame (as on DSL links) carrying the IP packet of ``frame``."""
    ppp = 0x0021 if ethertype(frame) == 0x0800 else 0x0057
    payload = frame[14:]
    head = struct.pack(">BBHHH", 0x11, 0, 0x1234, len(payload) + 2, ppp)
    return frame[:12] + b"\x88\x64" + head + payload


def with_mpls(frame: bytes, labels: list[int]) -> bytes:
    """An MPLS frame: a label stack (last entry bottom-of-stack) before the IP packet."""
    stack = b"".join(
        struct.pack(">I", (label << 12) | (int(i == len(labels) - 1) << 8) | 64)
        for i, label in enumerate(labels)
    )
    return frame[:12] + b"\x88\x47" + stack + frame[14:]
