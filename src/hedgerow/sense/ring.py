"""AF_PACKET receive ring (TPACKET_V3) over Python's ``socket`` and ``mmap`` (no libpcap).

The kernel fills blocks of a shared memory ring with frames and hands each block over by
setting its status word; ``drain_blocks`` (compiled, ``_ring.pyx``) walks every block that is
ready without the GIL, copies the first ``snaplen`` bytes of each frame into a batch buffer
with its offset, lengths, timestamp and VLAN tag, and gives the block back. A block is retired
by the kernel when it is full or after ``retire_ms`` milliseconds, so a quiet link still
delivers within that time.
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

from hedgerow.sense._ring import drain_blocks

SOL_PACKET = 263
PACKET_RX_RING = 5
PACKET_STATISTICS = 6
PACKET_VERSION = 10
TPACKET_V3 = 2
ETH_P_ALL = 0x0003
_MIN_FRAME = 64  # a frame slot holds at least its 48-byte header, a sockaddr_ll and 14 bytes

U8 = npt.NDArray[np.uint8]
_MAX_BATCH_BYTES = 64 * 1024 * 1024


class RingError(OSError):
    """The ring could not be opened; the message says what to do, in one line."""


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
