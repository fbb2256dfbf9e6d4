"""Compiled kernels: walk pcap/pcapng records in a byte buffer and decode their headers.

Three numba kernels, all ``@njit(cache=True)`` and working on a ``uint8`` numpy buffer that
holds one chunk of the file:

- :func:`walk_pcap` walks classic pcap records until the chunk end or a full batch;
- :func:`walk_pcapng` walks pcapng blocks (EPB, SPB, OPB; skips unknown blocks by length) and
  hands section and interface blocks back to Python, which updates the interface table;
- :func:`decode_packets` decodes link, network and transport headers of the walked records
  into the columns of a :class:`~hedgerow.capture.batch.PacketBatch`.

Walkers return ``(n_records, position, code)``; ``code`` is one of the ``STOP_*`` constants.

Example:
    >>> import numpy as np
    >>> buf = np.zeros(16, dtype=np.uint8)
    >>> out = [np.zeros(4, dtype=np.int64) for _ in range(4)]
    >>> walk_pcap(buf, 0, 16, False, False, 65535, 4, *out)[2] == STOP_END
    True
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from numba import njit

STOP_END = 0  # the next record does not fit in the buffer: read more
STOP_FULL = 1  # the batch is full
STOP_BLOCK = 2  # a pcapng section or interface block Python must parse
STOP_BADLEN = 3  # absurd record length
STOP_BADBLOCK = 4  # inconsistent pcapng block
STOP_BADIFACE = 5  # packet block names an interface that was not described

MAX_CAPLEN = 262144  # larger captured lengths are corrupt records
MAX_BLOCK = 64 * 1024 * 1024  # larger pcapng blocks are corrupt

# Decode status, link types and constants, mirrored from batch.py / the tcpdump link-type list
# as plain ints so numba treats them as compile-time constants.
_OK = 0
_TRUNCATED = 1
_MALFORMED = 2
_UNSUPPORTED = 3
_L3_ARP = 1
_L3_V4 = 4
_L3_V6 = 6
_L3_OTHER = 255
_FRAG_FIRST = 1
_FRAG_LATER = 2
_MAPPED = np.uint64(0xFFFF00000000)

U8 = npt.NDArray[np.uint8]
I64 = npt.NDArray[np.int64]


@njit(cache=True, inline="always")
def _u16(buf: U8, i: int, swapped: bool) -> int:
    a = int(buf[i])
    b = int(buf[i + 1])
    return (a << 8) | b if swapped else (b << 8) | a


@njit(cache=True, inline="always")
def _u32(buf: U8, i: int, swapped: bool) -> int:
    a = int(buf[i])
    b = int(buf[i + 1])
    c = int(buf[i + 2])
    d = int(buf[i + 3])
    if swapped:
        return (a << 24) | (b << 16) | (c << 8) | d
    return (d << 24) | (c << 16) | (b << 8) | a


@njit(cache=True, inline="always")
def _be16(buf: U8, i: int) -> int:
    return (int(buf[i]) << 8) | int(buf[i + 1])


@njit(cache=True, inline="always")
def _be32(buf: U8, i: int) -> int:
    return (int(buf[i]) << 24) | (int(buf[i + 1]) << 16) | (int(buf[i + 2]) << 8) | int(buf[i + 3])


@njit(cache=True, inline="always")
def _be64(buf: U8, i: int) -> np.uint64:
    v = np.uint64(0)
    for k in range(8):
        v = (v << np.uint64(8)) | np.uint64(buf[i + k])
    return v


@njit(cache=True, inline="always")
def _mac(buf: U8, i: int) -> np.uint64:
    v = np.uint64(0)
    for k in range(6):
        v = (v << np.uint64(8)) | np.uint64(buf[i + k])
    return v


@njit(cache=True)
def walk_pcap(
    buf: U8,
    pos: int,
    end: int,
    swapped: bool,
    nano: bool,
    limit: int,
    max_n: int,
    rec_off: I64,
    ts_ns: I64,
    cap_len: I64,
    wire_len: I64,
) -> tuple[int, int, int]:
    """Walk classic pcap records from ``pos``; fill the first four outputs per record."""
    n = 0
    scale = 1 if nano else 1000
    while n < max_n:
        if end - pos < 16:
            return n, pos, STOP_END
        incl = _u32(buf, pos + 8, swapped)
        if incl > limit:
            return n, pos, STOP_BADLEN
        if end - pos - 16 < incl:
            return n, pos, STOP_END
        sec = _u32(buf, pos, swapped)
        frac = _u32(buf, pos + 4, swapped)
        rec_off[n] = pos + 16
        ts_ns[n] = sec * 1_000_000_000 + frac * scale
        cap_len[n] = incl
        wire_len[n] = _u32(buf, pos + 12, swapped)
        pos += 16 + incl
        n += 1
    return n, pos, STOP_FULL


@njit(cache=True, inline="always")
def _ng_time(t: int, pow2: int, mul: int, div: int, shift: int) -> int:
    if pow2 == 0:
        return t * mul // div
    sec = t >> shift
    frac = t & ((1 << shift) - 1)
    if shift > 30:
        frac = frac >> (shift - 30)
        return sec * 1_000_000_000 + ((frac * 1_000_000_000) >> 30)
    return sec * 1_000_000_000 + ((frac * 1_000_000_000) >> shift)


@njit(cache=True)
def walk_pcapng(
    buf: U8,
    pos: int,
    end: int,
    swapped: bool,
    iface_table: I64,
    n_iface: int,
    last_ts: int,
    max_n: int,
    rec_off: I64,
    ts_ns: I64,
    cap_len: I64,
    wire_len: I64,
    iface: I64,
) -> tuple[int, int, int]:
    """Walk pcapng blocks from ``pos``; stop at section/interface blocks for Python to parse.

    ``iface_table`` rows are ``(link_type, snaplen, pow2, mul, div, shift, offset_ns)``.
    A simple packet block has no timestamp: it gets the previous packet's (``last_ts``).
    """
    n = 0
    while n < max_n:
        if end - pos < 12:
            return n, pos, STOP_END
        btype = _u32(buf, pos, swapped)
        if btype == 0x0A0D0D0A:
            return n, pos, STOP_BLOCK
        blen = _u32(buf, pos + 4, swapped)
        if blen < 12 or blen % 4 != 0 or blen > MAX_BLOCK:
            return n, pos, STOP_BADBLOCK
        if end - pos < blen:
            return n, pos, STOP_END
        if _u32(buf, pos + blen - 4, swapped) != blen:
            return n, pos, STOP_BADBLOCK
        if btype == 1:
            return n, pos, STOP_BLOCK
        if btype == 6 or btype == 2:
            if blen < 32:
                return n, pos, STOP_BADBLOCK
            ifid = _u32(buf, pos + 8, swapped) if btype == 6 else _u16(buf, pos + 8, swapped)
            if ifid >= n_iface:
                return n, pos, STOP_BADIFACE
            incl = _u32(buf, pos + 20, swapped)
            if incl > MAX_CAPLEN:
                return n, pos, STOP_BADLEN
            if incl > blen - 32:
                return n, pos, STOP_BADBLOCK
            t = (_u32(buf, pos + 12, swapped) << 32) | _u32(buf, pos + 16, swapped)
            row = iface_table[ifid]
            last_ts = _ng_time(t, row[2], row[3], row[4], row[5]) + row[6]
            rec_off[n] = pos + 28
            ts_ns[n] = last_ts
            cap_len[n] = incl
            wire_len[n] = _u32(buf, pos + 24, swapped)
            iface[n] = ifid
            n += 1
        elif btype == 3:
            if blen < 16:
                return n, pos, STOP_BADBLOCK
            if n_iface == 0:
                return n, pos, STOP_BADIFACE
            orig = _u32(buf, pos + 8, swapped)
            incl = min(orig, blen - 16)
            snap = iface_table[0, 1]
            if snap > 0:
                incl = min(incl, snap)
            if incl > MAX_CAPLEN:
                return n, pos, STOP_BADLEN
            rec_off[n] = pos + 12
            ts_ns[n] = last_ts
            cap_len[n] = incl
            wire_len[n] = orig
            iface[n] = 0
            n += 1
        pos += blen
    return n, pos, STOP_FULL


@njit(cache=True)
def decode_packets(
    buf: U8,
    n: int,
    rec_off: I64,
    cap_len: npt.NDArray[np.uint32],
    wire_len: npt.NDArray[np.uint32],
    link: npt.NDArray[np.uint16],
    eth_src: npt.NDArray[np.uint64],
    eth_dst: npt.NDArray[np.uint64],
    vlan: npt.NDArray[np.uint16],
    l3: npt.NDArray[np.uint8],
    src_hi: npt.NDArray[np.uint64],
    src_lo: npt.NDArray[np.uint64],
    dst_hi: npt.NDArray[np.uint64],
    dst_lo: npt.NDArray[np.uint64],
    proto: npt.NDArray[np.uint8],
    ttl: npt.NDArray[np.uint8],
    ip_len: npt.NDArray[np.uint32],
    ip_id: npt.NDArray[np.uint32],
    frag: npt.NDArray[np.uint8],
    sport: npt.NDArray[np.uint16],
    dport: npt.NDArray[np.uint16],
    tcp_flags: npt.NDArray[np.uint8],
    seq: npt.NDArray[np.uint32],
    ack: npt.NDArray[np.uint32],
    window: npt.NDArray[np.uint16],
    payload_len: npt.NDArray[np.uint32],
    payload_off: I64,
    payload_cap: npt.NDArray[np.uint32],
    status: npt.NDArray[np.uint8],
) -> None:
    """Decode link, IP and transport headers of ``n`` records (outputs are zero-filled)."""
    for i in range(n):
        p = rec_off[i]
        end = p + int(cap_len[i])
        payload_off[i] = end
        lt = link[i]
        et = -1
        off = p
        avail = end - p
        # ---- link layer
        if lt == 1:
            if avail < 14:
                status[i] = _TRUNCATED
                continue
            eth_dst[i] = _mac(buf, p)
            eth_src[i] = _mac(buf, p + 6)
            et = _be16(buf, p + 12)
            off = p + 14
        elif lt == 113:
            if avail < 16:
                status[i] = _TRUNCATED
                continue
            if _be16(buf, p + 4) == 6:
                eth_src[i] = _mac(buf, p + 6)
            et = _be16(buf, p + 14)
            off = p + 16
        elif lt == 276:
            if avail < 20:
                status[i] = _TRUNCATED
                continue
            if buf[p + 11] == 6:
                eth_src[i] = _mac(buf, p + 12)
            et = _be16(buf, p)
            off = p + 20
        elif lt == 101 or lt == 12 or lt == 14:
            if avail < 1:
                status[i] = _TRUNCATED
                continue
            version = buf[p] >> 4
            if version == 4:
                et = 0x0800
            elif version == 6:
                et = 0x86DD
        elif lt == 228:
            et = 0x0800
        elif lt == 229:
            et = 0x86DD
        elif lt == 0 or lt == 108:
            if avail < 4:
                status[i] = _TRUNCATED
                continue
            family = _u32(buf, p, False)
            if family > 0xFFFF:
                family = _be32(buf, p)
            if family == 2:
                et = 0x0800
            elif family == 24 or family == 28 or family == 30:  # BSD AF_INET6 values
                et = 0x86DD
            off = p + 4
        else:
            status[i] = _UNSUPPORTED
            continue
        tags = 0
        truncated = False
        while (et == 0x8100 or et == 0x88A8 or et == 0x9100) and tags < 8:
            if end - off < 4:
                truncated = True
                break
            if tags == 0:
                vlan[i] = _be16(buf, off) & 0x0FFF
            et = _be16(buf, off + 2)
            off += 4
            tags += 1
        if et == 0x8864:  # PPPoE session: 6-byte PPPoE header, 2-byte PPP protocol
            if end - off < 8:
                truncated = True
            else:
                ppp = _be16(buf, off + 6)
                et = 0x0800 if ppp == 0x0021 else (0x86DD if ppp == 0x0057 else -1)
                off += 8
        elif et == 0x8847 or et == 0x8848:  # MPLS label stack, then IP by its version nibble
            for _ in range(8):
                if end - off < 4:
                    truncated = True
                    break
                off += 4
                if buf[off - 2] & 1:  # bottom of stack
                    break
            if not truncated:
                version = buf[off] >> 4 if end > off else 0
                et = 0x0800 if version == 4 else (0x86DD if version == 6 else -1)
        if truncated:
            status[i] = _TRUNCATED
            continue
        l2 = off - p
        # ---- network layer
        l4len = 0
        q = off
        nh = -1
        if et == 0x0800:
            l3[i] = _L3_V4
            have = end - off
            if have >= 1 and (buf[off] >> 4 != 4 or buf[off] & 15 < 5):
                status[i] = _MALFORMED
                continue
            if have < 20:  # keep the fields the snap length left
                status[i] = _TRUNCATED
                if have >= 10:
                    ip_len[i] = _be16(buf, off + 2)
                    ip_id[i] = _be16(buf, off + 4)
                    ttl[i] = buf[off + 8]
                    proto[i] = buf[off + 9]
                if have >= 16:
                    src_lo[i] = _MAPPED | np.uint64(_be32(buf, off + 12))
                continue
            ihl = int(buf[off] & 15) * 4
            tot = _be16(buf, off + 2)
            if tot == 0:  # TCP segmentation offload: length left to the NIC
                tot = int(wire_len[i]) - l2
            ip_len[i] = tot
            ip_id[i] = _be16(buf, off + 4)
            fo = _be16(buf, off + 6)
            ttl[i] = buf[off + 8]
            nh = int(buf[off + 9])
            proto[i] = nh
            src_lo[i] = _MAPPED | np.uint64(_be32(buf, off + 12))
            dst_lo[i] = _MAPPED | np.uint64(_be32(buf, off + 16))
            if tot < ihl:
                status[i] = _MALFORMED
                continue
            if tot > int(wire_len[i]) - l2:
                status[i] = _MALFORMED
            q = off + ihl
            l4len = tot - ihl
            if q > end:
                status[i] = _TRUNCATED
                continue
            if fo & 0x1FFF:
                frag[i] = _FRAG_LATER
                nh = -1
            elif fo & 0x2000:
                frag[i] = _FRAG_FIRST
        elif et == 0x86DD:
            l3[i] = _L3_V6
            have = end - off
            if have >= 1 and buf[off] >> 4 != 6:
                status[i] = _MALFORMED
                continue
            if have < 40:  # keep the fields the snap length left
                status[i] = _TRUNCATED
                if have >= 8:
                    ip_len[i] = _be16(buf, off + 4) + 40
                    proto[i] = buf[off + 6]
                    ttl[i] = buf[off + 7]
                if have >= 24:
                    src_hi[i] = _be64(buf, off + 8)
                    src_lo[i] = _be64(buf, off + 16)
                continue
            plen = _be16(buf, off + 4)
            if plen == 0:
                plen = int(wire_len[i]) - l2 - 40
            ip_len[i] = plen + 40
            nh = int(buf[off + 6])
            ttl[i] = buf[off + 7]
            src_hi[i] = _be64(buf, off + 8)
            src_lo[i] = _be64(buf, off + 16)
            dst_hi[i] = _be64(buf, off + 24)
            dst_lo[i] = _be64(buf, off + 32)
            if plen + 40 > int(wire_len[i]) - l2:
                status[i] = _MALFORMED
            q = off + 40
            l4len = plen
            bad = 0
            for _ in range(16):
                if nh == 0 or nh == 43 or nh == 60 or nh == 135 or nh == 139 or nh == 140:
                    if end - q < 2:
                        bad = _TRUNCATED
                        break
                    hl = (int(buf[q + 1]) + 1) * 8
                elif nh == 51:
                    if end - q < 2:
                        bad = _TRUNCATED
                        break
                    hl = (int(buf[q + 1]) + 2) * 4
                elif nh == 44:
                    if end - q < 8:
                        bad = _TRUNCATED
                        break
                    hl = 8
                    fo = _be16(buf, q + 2)
                    ip_id[i] = _be32(buf, q + 4)
                    if fo & 0xFFF8:
                        frag[i] = _FRAG_LATER
                    elif fo & 1:
                        frag[i] = _FRAG_FIRST
                else:
                    break
                nh = int(buf[q])
                q += hl
                l4len -= hl
                if l4len < 0:
                    bad = _MALFORMED
                    break
                if frag[i] == _FRAG_LATER:
                    break
            if bad:
                status[i] = bad
                proto[i] = nh
                continue
            proto[i] = nh
            if frag[i] == _FRAG_LATER:
                nh = -1
            if q > end:
                status[i] = _TRUNCATED
                continue
        elif et == 0x0806:
            l3[i] = _L3_ARP
            if end - off < 8:
                status[i] = _TRUNCATED
                continue
            sport[i] = _be16(buf, off + 6)
            if _be16(buf, off + 2) == 0x0800 and buf[off + 4] == 6 and buf[off + 5] == 4:
                if end - off < 28:
                    status[i] = _TRUNCATED
                    continue
                if eth_src[i] == 0:
                    eth_src[i] = _mac(buf, off + 8)
                src_lo[i] = _MAPPED | np.uint64(_be32(buf, off + 14))
                dst_lo[i] = _MAPPED | np.uint64(_be32(buf, off + 24))
            continue
        else:
            l3[i] = _L3_OTHER
            continue
        # ---- transport layer (q: start of the L4 header, l4len: its announced length)
        avail = end - q
        hdr = 0
        if nh == 6:
            if avail >= 4:
                sport[i] = _be16(buf, q)
                dport[i] = _be16(buf, q + 2)
            if avail >= 8:
                seq[i] = _be32(buf, q + 4)
            if avail >= 12:
                ack[i] = _be32(buf, q + 8)
            if avail >= 14:
                tcp_flags[i] = buf[q + 13]
            if avail < 20:
                status[i] = _TRUNCATED
                continue
            hdr = int(buf[q + 12] >> 4) * 4
            window[i] = _be16(buf, q + 14)
            if hdr < 20 or hdr > l4len:
                status[i] = _MALFORMED
                continue
            if avail < hdr:
                status[i] = _TRUNCATED
                payload_len[i] = l4len - hdr
                continue
        elif nh == 17 or nh == 1 or nh == 58:
            if nh == 17 and avail >= 4:
                sport[i] = _be16(buf, q)
                dport[i] = _be16(buf, q + 2)
            elif nh != 17 and avail >= 2:
                sport[i] = buf[q]
                dport[i] = buf[q + 1]
            hdr = 8
            if avail < 8:  # fixed 8-byte header: the payload length is known all the same
                status[i] = _TRUNCATED
                payload_len[i] = max(0, l4len - 8)
                continue
        if l4len < hdr:
            status[i] = _MALFORMED
            continue
        start = q + hdr
        plen = l4len - hdr
        payload_len[i] = plen
        payload_off[i] = start
        payload_cap[i] = max(0, min(plen, end - start))
