"""AF_PACKET receive ring (TPACKET_V3) over Python's ``socket`` and ``mmap``: no C extension.

The kernel fills blocks of a shared memory ring with frames and hands each block over by
setting its status word; :func:`drain_blocks` (numba) walks every block that is ready, copies
the first ``snaplen`` bytes of each frame into a batch buffer with its offset, lengths,
timestamp and VLAN tag, and gives the block back. A block is retired by the kernel when it is
full or after ``retire_ms`` milliseconds, so a quiet link still delivers within that time.
Kernel drops come from ``PACKET_STATISTICS`` (which resets on each read).

Example (needs root and an interface):
    >>> ring = PacketRing("lo")                                    # doctest: +SKIP
    >>> frames = ring.read(max_packets=65536, max_wait_s=0.2)      # doctest: +SKIP
    >>> frames.count, ring.stats().kernel_drops                    # doctest: +SKIP
    (12, 0)
"""

from __future__ import annotations

import errno
import gc
import mmap
import os
import select
import socket
import struct
import time
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from numba import njit

SOL_PACKET = 263
PACKET_RX_RING = 5
PACKET_STATISTICS = 6
PACKET_VERSION = 10
TPACKET_V3 = 2
ETH_P_ALL = 0x0003
TP_STATUS_KERNEL = 0
TP_STATUS_USER = 1
TP_STATUS_VLAN_VALID = 1 << 4
_BLOCK_STATUS = 8  # byte offsets in struct tpacket_block_desc (hdr.bh1)
_BLOCK_NUM_PKTS = 12
_BLOCK_FIRST = 16
_BLOCK_LEN = 20
_MIN_FRAME = 64  # a frame slot holds at least its 48-byte header, a sockaddr_ll and 14 bytes
# struct tpacket3_hdr
_PKT_NEXT = 0
_PKT_SEC = 4
_PKT_NSEC = 8
_PKT_SNAPLEN = 12
_PKT_LEN = 16
_PKT_STATUS = 20
_PKT_MAC = 24
_PKT_VLAN_TCI = 32

U8 = npt.NDArray[np.uint8]
_MAX_BATCH_BYTES = 64 * 1024 * 1024


class RingError(OSError):
    """The ring could not be opened; the message says what to do, in one line."""


@njit(cache=True, inline="always")
def _le32(buf: U8, i: int) -> int:
    return int(np.int64(buf[i]) | (np.int64(buf[i + 1]) << 8) | (np.int64(buf[i + 2]) << 16)
               | (np.int64(buf[i + 3]) << 24))


@njit(cache=True, nogil=True)
def drain_blocks(
    ring: U8,
    block_size: int,
    block_nr: int,
    block: int,
    snaplen: int,
    out: U8,
    used: int,
    n: int,
    max_packets: int,
    rec_off: npt.NDArray[np.int64],
    cap_len: npt.NDArray[np.uint32],
    wire_len: npt.NDArray[np.uint32],
    ts_ns: npt.NDArray[np.int64],
    vlan: npt.NDArray[np.uint16],
) -> tuple[int, int, int, int, bool]:
    """Copy the frames of every ready block (in ring order, from ``block``) into ``out``.

    Stops at the first block the kernel still owns, once ``max_packets`` frames are in, or
    before a block that might not fit in ``out`` / the output columns (which hold at least one
    whole block). Returns ``(n, used, next_block, blocks_drained, full)``.
    """
    drained = 0
    full = False
    while drained < block_nr and n < max_packets:
        base = block * block_size
        if (_le32(ring, base + _BLOCK_STATUS) & TP_STATUS_USER) == 0:
            break
        num = _le32(ring, base + _BLOCK_NUM_PKTS)
        if n > 0 and (n + num > rec_off.shape[0]
                      or used + _le32(ring, base + _BLOCK_LEN) > out.shape[0]):
            full = True
            break
        pos = base + _le32(ring, base + _BLOCK_FIRST)
        for _ in range(num):
            mac = np.int64(ring[pos + _PKT_MAC]) | (np.int64(ring[pos + _PKT_MAC + 1]) << 8)
            grabbed = _le32(ring, pos + _PKT_SNAPLEN)
            take = grabbed if grabbed < snaplen else snaplen
            start = pos + mac
            out[used : used + take] = ring[start : start + take]
            rec_off[n] = used
            cap_len[n] = take
            wire_len[n] = _le32(ring, pos + _PKT_LEN)
            ts_ns[n] = np.int64(_le32(ring, pos + _PKT_SEC)) * 1_000_000_000 + _le32(
                ring, pos + _PKT_NSEC)
            if _le32(ring, pos + _PKT_STATUS) & TP_STATUS_VLAN_VALID:
                vlan[n] = _le32(ring, pos + _PKT_VLAN_TCI) & 0x0FFF
            else:
                vlan[n] = 0
            used += take
            n += 1
            pos += _le32(ring, pos + _PKT_NEXT)
        ring[base + _BLOCK_STATUS] = TP_STATUS_KERNEL
        ring[base + _BLOCK_STATUS + 1] = 0
        ring[base + _BLOCK_STATUS + 2] = 0
        ring[base + _BLOCK_STATUS + 3] = 0
        block = (block + 1) % block_nr
        drained += 1
    return n, used, block, drained, full


@dataclass
class Frames:
    """Frames copied out of the ring: ``data[rec_off[i] : rec_off[i] + cap_len[i]]``."""

    data: U8
    rec_off: npt.NDArray[np.int64]
    cap_len: npt.NDArray[np.uint32]
    wire_len: npt.NDArray[np.uint32]
    ts_ns: npt.NDArray[np.int64]
    vlan: npt.NDArray[np.uint16]

    @property
    def count(self) -> int:
        return int(self.rec_off.shape[0])


@dataclass(frozen=True)
class RingStats:
    """Counters since the ring was opened."""

    packets: int
    kernel_drops: int
    freezes: int


class PacketRing:
    """A TPACKET_V3 receive ring bound to one interface (all protocols, every frame).

    ``block_size * block_nr`` bytes of kernel memory are shared with this process; frames are
    copied out, ``snaplen`` bytes at most (enough for headers and the first payload bytes).
    """

    def __init__(self, iface: str, block_size: int = 1 << 20, block_nr: int = 64,
                 frame_size: int = 2048, retire_ms: int = 20, snaplen: int = 256) -> None:
        self.iface = iface
        self.block_size = block_size
        self.block_nr = block_nr
        self.snaplen = snaplen
        self._block = 0
        self._packets = 0
        self._drops = 0
        self._freezes = 0
        try:
            socket.if_nametoindex(iface)
        except OSError:
            raise RingError(f"interface {iface!r} does not exist (see `ip link`)") from None
        try:
            self.sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        except PermissionError:
            raise RingError(f"no permission to capture on {iface!r}: run as root or give the "
                            "interpreter CAP_NET_RAW (setcap cap_net_raw+ep)") from None
        try:
            self.sock.setsockopt(SOL_PACKET, PACKET_VERSION, TPACKET_V3)
            req = struct.pack("7I", block_size, block_nr, frame_size,
                              block_size * block_nr // frame_size, retire_ms, 0, 0)
            self.sock.setsockopt(SOL_PACKET, PACKET_RX_RING, req)
            self._map = mmap.mmap(self.sock.fileno(), block_size * block_nr, mmap.MAP_SHARED,
                                  mmap.PROT_READ | mmap.PROT_WRITE)
            self.sock.bind((iface, ETH_P_ALL))
        except OSError as exc:
            self.sock.close()
            raise RingError(f"cannot open a TPACKET_V3 ring on {iface!r}: "
                            f"{os.strerror(exc.errno or errno.EIO)}") from None
        self._poll = select.poll()
        self._poll.register(self.sock.fileno(), select.POLLIN | select.POLLERR)

    def read(self, max_packets: int = 65536, max_wait_s: float = 0.2) -> Frames:
        """Frames of ready blocks until ``max_packets`` are in or ``max_wait_s`` has passed.

        Returns early when the batch is full; returns an empty batch after ``max_wait_s`` on a
        silent link.
        """
        # Room for one more whole block past the limits, so a block is never split.
        size = min(max_packets * self.snaplen, _MAX_BATCH_BYTES) + self.block_size
        slots = max_packets + self.block_size // _MIN_FRAME
        out = np.empty(size, dtype=np.uint8)
        rec_off = np.empty(slots, dtype=np.int64)
        cap_len = np.empty(slots, dtype=np.uint32)
        wire_len = np.empty(slots, dtype=np.uint32)
        ts_ns = np.empty(slots, dtype=np.int64)
        vlan = np.empty(slots, dtype=np.uint16)
        ring = np.frombuffer(self._map, dtype=np.uint8)
        deadline = time.monotonic() + max_wait_s
        n = used = 0
        while True:
            n, used, self._block, _, full = drain_blocks(
                ring, self.block_size, self.block_nr, self._block, self.snaplen, out, used, n,
                max_packets, rec_off, cap_len, wire_len, ts_ns, vlan)
            left = deadline - time.monotonic()
            if full or n >= max_packets or left <= 0:
                break
            self._poll.poll(max(1, int(left * 1000)))
        del ring
        return Frames(out[:used], rec_off[:n], cap_len[:n], wire_len[:n], ts_ns[:n], vlan[:n])

    def stats(self) -> RingStats:
        """Packets seen and dropped by the kernel since the ring was opened."""
        raw = self.sock.getsockopt(SOL_PACKET, PACKET_STATISTICS, 12)
        packets, drops, freezes = struct.unpack("3I", raw)
        self._packets += packets
        self._drops += drops
        self._freezes += freezes
        return RingStats(self._packets, self._drops, self._freezes)

    def close(self) -> None:
        self._poll.unregister(self.sock.fileno())
        try:
            self._map.close()
        except BufferError:  # a ring view still waits for the cycle collector
            gc.collect()
            self._map.close()
        self.sock.close()

    def __enter__(self) -> PacketRing:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
