"""Streaming capture reader: pcap / pcapng (optionally gzip-compressed) -> PacketBatch.

The file is read in large chunks; compiled kernels (:mod:`hedgerow.capture.kernels`) walk the
records of a chunk and decode their headers into the columns of a :class:`PacketBatch`.
Memory is bounded by the chunk size and the batch size, whatever the capture length.

Example:
    >>> reader = open_capture("tests/data/example.pcap")  # doctest: +SKIP
    >>> for batch in reader:  # doctest: +SKIP
    ...     print(len(batch), batch.src_lo[:3])
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterator
from dataclasses import dataclass, field
from types import TracebackType

import numpy as np
import numpy.typing as npt

from hedgerow.capture import kernels as k
from hedgerow.capture.batch import DecodeStatus, PacketBatch
from hedgerow.capture.errors import CaptureError, CaptureWarning
from hedgerow.capture.source import ChunkSource, open_stream

PCAP_MAGICS: dict[bytes, tuple[bool, bool]] = {  # file bytes -> (swapped, nanosecond)
    b"\xd4\xc3\xb2\xa1": (False, False),
    b"\xa1\xb2\xc3\xd4": (True, False),
    b"\x4d\x3c\xb2\xa1": (False, True),
    b"\xa1\xb2\x3c\x4d": (True, True),
}
PCAPNG_MAGIC = b"\x0a\x0d\x0d\x0a"
_BOM_LE = b"\x4d\x3c\x2b\x1a"
_BOM_BE = b"\x1a\x2b\x3c\x4d"
_STOP_MESSAGES = {
    k.STOP_BADLEN: "absurd captured length in a packet block (type 0x{btype:x}, block length "
    "{length}, limit {limit}); reading stopped",
    k.STOP_BADBLOCK: "inconsistent pcapng block (type 0x{btype:x}, length {length}); "
    "reading stopped",
    k.STOP_BADIFACE: "packet block names an undescribed interface; reading stopped",
}


@dataclass
class ReaderStats:
    """Running totals of a reader: packets, wire bytes, captured bytes, per-status counts."""

    packets: int = 0
    bytes: int = 0
    captured_bytes: int = 0
    status: dict[str, int] = field(default_factory=lambda: {s.name: 0 for s in DecodeStatus})


class CaptureReader:
    """An open capture: iterate it for :class:`PacketBatch` es (once; streaming).

    Attributes:
        path: the file name as given.
        format: ``"pcap"`` or ``"pcapng"``.
        compressed: the file was gzip-compressed.
        link_types: link types declared by the file, in order of appearance.
        warnings: problems met so far (each names file and byte offset; offsets of compressed
            files count decompressed bytes).
        stats: packets, bytes and decode-status counts read so far.
    """

    def __init__(
        self, path: str | os.PathLike[str], batch_size: int = 65536, chunk_size: int = 8 << 20
    ) -> None:
        self.path = os.fspath(path)
        if batch_size < 1:
            raise ValueError("batch_size must be positive")
        self.batch_size = batch_size
        self.link_types: list[int] = []
        self.warnings: list[CaptureWarning] = []
        self.stats = ReaderStats()
        self._unsupported_warned: set[int] = set()
        try:
            stream, self.compressed = open_stream(self.path)
        except OSError as exc:
            raise CaptureError(self.path, 0, f"cannot open ({exc.strerror or exc})") from None
        self._src = ChunkSource(stream, self.path, chunk_size)
        self._src.refill(0)
        head = self._src.buf[: min(self._src.valid, 4)].tobytes()
        if self._src.error is not None and self._src.valid < 24:
            self._src.close()
            raise CaptureError(self.path, 0, f"unreadable compressed data ({self._src.error})")
        if head in PCAP_MAGICS:
            self.format = "pcap"
            self._swapped, self._nano = PCAP_MAGICS[head]
            if self._src.valid < 24:
                self._src.close()
                raise CaptureError(self.path, 0, "truncated pcap file header")
            order = ">" if self._swapped else "<"
            snaplen, linktype = struct.unpack(order + "II", self._src.buf[16:24].tobytes())
            self._snaplen = snaplen
            self.link_types.append(linktype & 0xFFFF)
        elif head == PCAPNG_MAGIC:
            self.format = "pcapng"
        else:
            self._src.close()
            if not head:
                raise CaptureError(self.path, 0, "empty file, not a pcap/pcapng capture")
            magic = int.from_bytes(head.ljust(4, b"\0"), "big")
            raise CaptureError(self.path, 0, f"not a pcap/pcapng capture (magic 0x{magic:08x})")
        n = batch_size
        self._scratch = [np.zeros(n, dtype=np.int64) for _ in range(5)]
        self._iterated = False

    # ---- public API

    @property
    def bytes_read(self) -> int:
        """Bytes of the file read so far (compressed bytes for a gzip file), for progress."""
        return self._src.file_bytes

    @property
    def file_size(self) -> int:
        """Size of the file on disk (compressed size for a gzip file)."""
        return os.stat(self.path).st_size

    def __iter__(self) -> Iterator[PacketBatch]:
        if self._iterated:
            raise RuntimeError(f"{self.path}: a CaptureReader can be iterated only once")
        self._iterated = True
        try:
            if self.format == "pcap":
                yield from self._read_pcap()
            else:
                yield from self._read_pcapng()
        finally:
            self.close()

    def close(self) -> None:
        """Close the underlying file (iteration closes it at the end too)."""
        self._src.close()

    def __enter__(self) -> CaptureReader:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # ---- helpers

    def _warn(self, offset: int, message: str) -> None:
        self.warnings.append(CaptureWarning(self.path, offset, message))

    def _end_of_stream(self, pos: int) -> None:
        src = self._src
        if src.error is not None:
            problem = "compressed stream ends early" if self.compressed else "read error"
            self._warn(src.base + src.valid, f"{problem} ({src.error})")
        elif pos < src.valid:
            self._warn(
                src.base + pos,
                f"truncated record ({src.valid - pos} bytes left at end of file)",
            )

    def _batch(self, n: int, link: npt.NDArray[np.uint16]) -> PacketBatch:
        rec_off, ts, cap, wire, iface = self._scratch
        buf = self._src.buf
        first = int(rec_off[0])
        last = int(rec_off[n - 1] + cap[n - 1])
        batch = PacketBatch.empty(n, data=buf[first:last])
        batch.ts_ns[:] = ts[:n]
        batch.cap_len[:] = cap[:n]
        batch.wire_len[:] = wire[:n]
        batch.iface[:] = iface[:n]
        batch.link_type[:] = link
        np.subtract(rec_off[:n], first, out=batch.pkt_off)
        k.decode_packets(
            batch.data,
            n,
            batch.pkt_off,
            batch.cap_len,
            batch.wire_len,
            batch.link_type,
            batch.eth_src,
            batch.eth_dst,
            batch.vlan,
            batch.l3,
            batch.src_hi,
            batch.src_lo,
            batch.dst_hi,
            batch.dst_lo,
            batch.proto,
            batch.ttl,
            batch.ip_len,
            batch.ip_id,
            batch.frag,
            batch.sport,
            batch.dport,
            batch.tcp_flags,
            batch.seq,
            batch.ack,
            batch.window,
            batch.payload_len,
            batch.payload_off,
            batch.payload_cap,
            batch.status,
        )
        self._account(batch, first)
        return batch

    def _account(self, batch: PacketBatch, first: int) -> None:
        stats = self.stats
        stats.packets += len(batch)
        stats.bytes += int(batch.wire_len.sum(dtype=np.int64))
        stats.captured_bytes += int(batch.cap_len.sum(dtype=np.int64))
        counts = np.bincount(batch.status, minlength=len(DecodeStatus))
        for status in DecodeStatus:
            stats.status[status.name] += int(counts[status])
        if counts[DecodeStatus.UNSUPPORTED_LINK]:
            unsupported = batch.status == DecodeStatus.UNSUPPORTED_LINK
            for link in np.unique(batch.link_type[unsupported]).tolist():
                if link in self._unsupported_warned:
                    continue
                self._unsupported_warned.add(link)
                row = int(np.argmax(unsupported & (batch.link_type == link)))
                offset = self._src.base + first + int(batch.pkt_off[row])
                self._warn(offset, f"unsupported link type {link}; packets kept undecoded")

    # ---- pcap

    def _read_pcap(self) -> Iterator[PacketBatch]:
        src = self._src
        limit = k.MAX_CAPLEN if self._snaplen == 0 else min(k.MAX_CAPLEN, 2 * self._snaplen)
        link = np.full(self.batch_size, self.link_types[0], dtype=np.uint16)
        rec_off, ts, cap, wire, _ = self._scratch
        pos = 24
        while True:
            n, pos, code = k.walk_pcap(
                src.buf, pos, src.valid, self._swapped, self._nano, limit, self.batch_size,
                rec_off, ts, cap, wire,
            )  # fmt: skip
            if n:
                yield self._batch(n, link[:n])
            if code == k.STOP_FULL:
                continue
            if code == k.STOP_BADLEN:
                order = ">" if self._swapped else "<"
                (length,) = struct.unpack(order + "I", src.buf[pos + 8 : pos + 12].tobytes())
                message = f"absurd record length {length} (limit {limit}); reading stopped"
                self._warn(src.base + pos, message)
                return
            if src.eof:
                self._end_of_stream(pos)
                return
            src.refill(pos)
            pos = 0

    # ---- pcapng

    def _read_pcapng(self) -> Iterator[PacketBatch]:
        src = self._src
        rec_off, ts, cap, wire, iface = self._scratch
        swapped = False
        table = np.zeros((0, 7), dtype=np.int64)
        last_ts = 0
        pos = 0
        while True:
            n, pos, code = k.walk_pcapng(
                src.buf, pos, src.valid, swapped, table, table.shape[0], last_ts,
                self.batch_size, rec_off, ts, cap, wire, iface,
            )  # fmt: skip
            if n:
                last_ts = int(ts[n - 1])
                link = table[iface[:n], 0].astype(np.uint16)
                yield self._batch(n, link)
            if code == k.STOP_FULL:
                continue
            if code == k.STOP_BLOCK:
                parsed = self._pcapng_block(pos, swapped, table)
                if parsed is None:
                    code = k.STOP_END
                elif isinstance(parsed, str):
                    self._warn(src.base + pos, parsed)
                    return
                else:
                    pos, swapped, table = parsed
                    continue
            if code in _STOP_MESSAGES:
                btype, length = self._block_head(pos, swapped)
                message = _STOP_MESSAGES[code].format(
                    btype=btype, length=length, limit=k.MAX_CAPLEN
                )
                self._warn(src.base + pos, message)
                return
            if src.eof:
                self._end_of_stream(pos)
                return
            need = 0
            if src.valid - pos >= 12:
                need = self._block_head(pos, swapped)[1]
            src.refill(pos, need)
            pos = 0

    def _block_head(self, pos: int, swapped: bool) -> tuple[int, int]:
        buf = self._src.buf
        order = ">" if swapped else "<"
        if buf[pos : pos + 4].tobytes() == PCAPNG_MAGIC and self._src.valid - pos >= 12:
            bom = buf[pos + 8 : pos + 12].tobytes()
            order = ">" if bom == _BOM_BE else "<"
        btype, length = struct.unpack(order + "II", buf[pos : pos + 8].tobytes())
        return int(btype), int(length)

    def _pcapng_block(
        self, pos: int, swapped: bool, table: npt.NDArray[np.int64]
    ) -> tuple[int, bool, npt.NDArray[np.int64]] | str | None:
        """Parse the SHB or IDB at ``pos``: the new (pos, byte order, interface table).

        ``None`` when the block is not wholly in the buffer yet; a message when it is corrupt.
        """
        src = self._src
        buf = src.buf
        avail = src.valid - pos
        if avail < 12:
            return None
        if buf[pos : pos + 4].tobytes() == PCAPNG_MAGIC:
            bom = buf[pos + 8 : pos + 12].tobytes()
            if bom not in (_BOM_LE, _BOM_BE):
                return f"bad pcapng byte-order magic 0x{bom.hex()}; reading stopped"
            swapped = bom == _BOM_BE
            table = np.zeros((0, 7), dtype=np.int64)
        order = ">" if swapped else "<"
        btype, length = struct.unpack(order + "II", buf[pos : pos + 8].tobytes())
        if length < 28 if btype == 0x0A0D0D0A else length < 20:
            return f"pcapng block 0x{btype:x} too short ({length} bytes); reading stopped"
        if length % 4 or length > k.MAX_BLOCK:
            return f"inconsistent pcapng block length {length}; reading stopped"
        if avail < length:
            return None
        block = buf[pos : pos + length].tobytes()
        (trailer,) = struct.unpack(order + "I", block[-4:])
        if trailer != length:
            return (
                f"pcapng block length {length} disagrees with its trailer {trailer}; "
                "reading stopped"
            )
        if btype == 1:
            table = np.vstack([table, _interface_row(block, order)])
            link = int(table[-1, 0])
            if link not in self.link_types:
                self.link_types.append(link)
        return pos + length, swapped, table


def _interface_row(block: bytes, order: str) -> npt.NDArray[np.int64]:
    """``(link_type, snaplen, pow2, mul, div, shift, offset_ns)`` of an interface block."""
    link, _, snaplen = struct.unpack(order + "HHI", block[8:16])
    resol = 6
    offset_s = 0
    at = 16
    while at + 4 <= len(block) - 4:
        code, size = struct.unpack(order + "HH", block[at : at + 4])
        if code == 0:
            break
        value = block[at + 4 : at + 4 + size]
        if len(value) < size:
            break
        if code == 9 and size >= 1:
            resol = value[0]
        elif code == 14 and size == 8:
            (offset_s,) = struct.unpack(order + "q", value)
        at += 4 + (size + 3) // 4 * 4
    exponent = resol & 0x7F
    if resol & 0x80:
        pow2, mul, div, shift = 1, 1, 1, min(exponent, 63)
    elif exponent <= 9:
        pow2, mul, div, shift = 0, 10 ** (9 - exponent), 1, 0
    else:
        pow2, mul, div, shift = 0, 1, 10 ** min(exponent - 9, 18), 0
    row = [link, snaplen, pow2, mul, div, shift, offset_s * 1_000_000_000]
    return np.array([row], dtype=np.int64)


def open_capture(path: str | os.PathLike[str], batch_size: int = 65536) -> CaptureReader:
    """Open a pcap or pcapng capture (plain or gzip) for streaming, batched reading.

    Raises :class:`CaptureError` (file and offset in the message) when the file is not a capture.

    Example:
        >>> with open_capture("capture.pcap") as reader:  # doctest: +SKIP
        ...     packets = sum(len(batch) for batch in reader)
    """
    return CaptureReader(path, batch_size)
