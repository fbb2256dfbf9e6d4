# cython: language_level=3, boundscheck=True, wraparound=False, cdivision=True
"""Record walkers: find the pcap records / pcapng packet blocks in one chunk of a capture file.

Compiled (Cython) with bounds checking on: the chunk is untrusted bytes. Walkers fill the
per-record outputs and return ``(n_records, position, code)``; ``code`` is one of ``STOP_*``.
"""

from libc.stdint cimport int64_t, uint8_t, uint64_t

from hedgerow.capture._bytes cimport ord16, ord32

STOP_END = 0  # the next record does not fit in the buffer: read more
STOP_FULL = 1  # the batch is full
STOP_BLOCK = 2  # a pcapng section or interface block Python must parse
STOP_BADLEN = 3  # absurd record length
STOP_BADBLOCK = 4  # inconsistent pcapng block
STOP_BADIFACE = 5  # packet block names an interface that was not described

MAX_CAPLEN = 262144  # larger captured lengths are corrupt records
MAX_BLOCK = 64 * 1024 * 1024  # larger pcapng blocks are corrupt

cdef enum:
    _END = 0
    _FULL = 1
    _BLOCK = 2
    _BADLEN = 3
    _BADBLOCK = 4
    _BADIFACE = 5
    _MAX_CAPLEN = 262144
    _MAX_BLOCK = 64 * 1024 * 1024


def walk_pcap(
    const uint8_t[::1] buf,
    int64_t pos,
    int64_t end,
    bint swapped,
    bint nano,
    int64_t limit,
    int64_t max_n,
    int64_t[::1] rec_off,
    int64_t[::1] ts_ns,
    int64_t[::1] cap_len,
    int64_t[::1] wire_len,
):
    """Walk classic pcap records from ``pos``; fill the four outputs per record."""
    cdef int64_t n = 0
    cdef int64_t scale = 1 if nano else 1000
    cdef int64_t incl, sec, frac
    cdef int code = _FULL
    with nogil:
        while n < max_n:
            if end - pos < 16:
                code = _END
                break
            incl = ord32(buf[pos + 8], buf[pos + 9], buf[pos + 10], buf[pos + 11], swapped)
            if incl > limit:
                code = _BADLEN
                break
            if end - pos - 16 < incl:
                code = _END
                break
            sec = ord32(buf[pos], buf[pos + 1], buf[pos + 2], buf[pos + 3], swapped)
            frac = ord32(buf[pos + 4], buf[pos + 5], buf[pos + 6], buf[pos + 7], swapped)
            rec_off[n] = pos + 16
            ts_ns[n] = sec * 1_000_000_000 + frac * scale
            cap_len[n] = incl
            wire_len[n] = ord32(buf[pos + 12], buf[pos + 13], buf[pos + 14], buf[pos + 15], swapped)
            pos += 16 + incl
            n += 1
    return n, pos, code


cdef inline int64_t _floordiv(int64_t a, int64_t b) noexcept nogil:
    """Python's ``a // b`` (rounds toward minus infinity) for ``b > 0``."""
    cdef int64_t q = a / b
    if a % b != 0 and a < 0:
        q -= 1
    return q


cdef inline int64_t _ng_time(
    int64_t t, int64_t pow2, int64_t mul, int64_t div, int64_t shift
) noexcept nogil:
    cdef int64_t sec, frac
    if pow2 == 0:
        return _floordiv(t * mul, div)
    sec = t >> shift
    frac = t & <int64_t>((<uint64_t>1 << shift) - 1)
    if shift > 30:
        frac = frac >> (shift - 30)
        return sec * 1_000_000_000 + ((frac * 1_000_000_000) >> 30)
    return sec * 1_000_000_000 + ((frac * 1_000_000_000) >> shift)


def walk_pcapng(
    const uint8_t[::1] buf,
    int64_t pos,
    int64_t end,
    bint swapped,
    const int64_t[:, ::1] iface_table,
    int64_t n_iface,
    int64_t last_ts,
    int64_t max_n,
    int64_t[::1] rec_off,
    int64_t[::1] ts_ns,
    int64_t[::1] cap_len,
    int64_t[::1] wire_len,
    int64_t[::1] iface,
):
    """Walk pcapng blocks from ``pos``; stop at section/interface blocks for Python to parse.

    ``iface_table`` rows are ``(link_type, snaplen, pow2, mul, div, shift, offset_ns)``.
    A simple packet block has no timestamp: it gets the previous packet's (``last_ts``).
    """
    cdef int64_t n = 0
    cdef int64_t btype, blen, ifid, incl, orig, snap, t, k
    cdef int code = _FULL
    with nogil:
        while n < max_n:
            if end - pos < 12:
                code = _END
                break
            btype = ord32(buf[pos], buf[pos + 1], buf[pos + 2], buf[pos + 3], swapped)
            if btype == 0x0A0D0D0A:
                code = _BLOCK
                break
            blen = ord32(buf[pos + 4], buf[pos + 5], buf[pos + 6], buf[pos + 7], swapped)
            if blen < 12 or blen % 4 != 0 or blen > _MAX_BLOCK:
                code = _BADBLOCK
                break
            if end - pos < blen:
                code = _END
                break
            k = pos + blen - 4  # the trailer repeats the length
            if ord32(buf[k], buf[k + 1], buf[k + 2], buf[k + 3], swapped) != blen:
                code = _BADBLOCK
                break
            if btype == 1:
                code = _BLOCK
                break
            if btype == 6 or btype == 2:
                if blen < 32:
                    code = _BADBLOCK
                    break
                if btype == 6:
                    ifid = ord32(buf[pos + 8], buf[pos + 9], buf[pos + 10], buf[pos + 11], swapped)
                else:
                    ifid = ord16(buf[pos + 8], buf[pos + 9], swapped)
                if ifid >= n_iface:
                    code = _BADIFACE
                    break
                incl = ord32(buf[pos + 20], buf[pos + 21], buf[pos + 22], buf[pos + 23], swapped)
                if incl > _MAX_CAPLEN:
                    code = _BADLEN
                    break
                if incl > blen - 32:
                    code = _BADBLOCK
                    break
                t = ord32(buf[pos + 12], buf[pos + 13], buf[pos + 14], buf[pos + 15], swapped) << 32
                t |= ord32(buf[pos + 16], buf[pos + 17], buf[pos + 18], buf[pos + 19], swapped)
                last_ts = _ng_time(
                    t, iface_table[ifid, 2], iface_table[ifid, 3], iface_table[ifid, 4],
                    iface_table[ifid, 5],
                ) + iface_table[ifid, 6]
                rec_off[n] = pos + 28
                ts_ns[n] = last_ts
                cap_len[n] = incl
                wire_len[n] = ord32(
                    buf[pos + 24], buf[pos + 25], buf[pos + 26], buf[pos + 27], swapped
                )
                iface[n] = ifid
                n += 1
            elif btype == 3:
                if blen < 16:
                    code = _BADBLOCK
                    break
                if n_iface == 0:
                    code = _BADIFACE
                    break
                orig = ord32(buf[pos + 8], buf[pos + 9], buf[pos + 10], buf[pos + 11], swapped)
                incl = min(orig, blen - 16)
                snap = iface_table[0, 1]
                if snap > 0:
                    incl = min(incl, snap)
                if incl > _MAX_CAPLEN:
                    code = _BADLEN
                    break
                rec_off[n] = pos + 12
                ts_ns[n] = last_ts
                cap_len[n] = incl
                wire_len[n] = orig
                iface[n] = 0
                n += 1
            pos += blen
    return n, pos, code
