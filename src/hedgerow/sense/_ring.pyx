# cython: language_level=3, boundscheck=True, wraparound=False, cdivision=True
"""TPACKET_V3 block walk of :mod:`hedgerow.sense.ring` (compiled, Cython, bounds-checked).

Runs without the GIL. Frame offsets and lengths come from the shared ring; every read and write
is bounds-checked, and a frame that would reach past the ring or the batch buffer raises
``IndexError`` instead of copying stray memory.
"""

from libc.stdint cimport int64_t, uint8_t, uint16_t, uint32_t
from libc.string cimport memcpy

cdef enum:
    TP_STATUS_KERNEL = 0
    TP_STATUS_USER = 1
    TP_STATUS_VLAN_VALID = 1 << 4
    # byte offsets in struct tpacket_block_desc (hdr.bh1)
    BLOCK_STATUS = 8
    BLOCK_NUM_PKTS = 12
    BLOCK_FIRST = 16
    BLOCK_LEN = 20
    # struct tpacket3_hdr
    PKT_NEXT = 0
    PKT_SEC = 4
    PKT_NSEC = 8
    PKT_SNAPLEN = 12
    PKT_LEN = 16
    PKT_STATUS = 20
    PKT_MAC = 24
    PKT_VLAN_TCI = 32


cdef inline int64_t _le32(const uint8_t[::1] buf, Py_ssize_t i) except? -1 nogil:
    return (<int64_t>buf[i] | (<int64_t>buf[i + 1] << 8) | (<int64_t>buf[i + 2] << 16)
            | (<int64_t>buf[i + 3] << 24))


cdef inline int _copy(
    uint8_t[::1] out, int64_t at, const uint8_t[::1] ring, int64_t start, int64_t size
) except -1 nogil:
    if start < 0 or size < 0 or start + size > ring.shape[0] or at + size > out.shape[0]:
        with gil:
            raise IndexError(f"ring frame of {size} bytes at {start} beyond the ring or batch")
    if size:
        memcpy(&out[at], &ring[start], size)
    return 0


def drain_blocks(
    uint8_t[::1] ring,
    int64_t block_size,
    int64_t block_nr,
    int64_t block,
    int64_t snaplen,
    uint8_t[::1] out,
    int64_t used,
    int64_t n,
    int64_t max_packets,
    int64_t[::1] rec_off,
    uint32_t[::1] cap_len,
    uint32_t[::1] wire_len,
    int64_t[::1] ts_ns,
    uint16_t[::1] vlan,
):
    """Copy the frames of every ready block (in ring order, from ``block``) into ``out``.

    Stops at the first block the kernel still owns, once ``max_packets`` frames are in, or
    before a block that might not fit in ``out`` / the output columns (which hold at least one
    whole block). Returns ``(n, used, next_block, blocks_drained, full)``.
    """
    cdef int64_t drained = 0
    cdef bint full = False
    cdef int64_t base, num, pos, mac, grabbed, take, k
    with nogil:
        while drained < block_nr and n < max_packets:
            base = block * block_size
            if (_le32(ring, base + BLOCK_STATUS) & TP_STATUS_USER) == 0:
                break
            num = _le32(ring, base + BLOCK_NUM_PKTS)
            if n > 0 and (n + num > rec_off.shape[0]
                          or used + _le32(ring, base + BLOCK_LEN) > out.shape[0]):
                full = True
                break
            pos = base + _le32(ring, base + BLOCK_FIRST)
            for k in range(num):
                mac = <int64_t>ring[pos + PKT_MAC] | (<int64_t>ring[pos + PKT_MAC + 1] << 8)
                grabbed = _le32(ring, pos + PKT_SNAPLEN)
                take = grabbed if grabbed < snaplen else snaplen
                _copy(out, used, ring, pos + mac, take)
                rec_off[n] = used
                cap_len[n] = <uint32_t>take
                wire_len[n] = <uint32_t>_le32(ring, pos + PKT_LEN)
                ts_ns[n] = _le32(ring, pos + PKT_SEC) * 1_000_000_000 + _le32(ring, pos + PKT_NSEC)
                if _le32(ring, pos + PKT_STATUS) & TP_STATUS_VLAN_VALID:
                    vlan[n] = <uint16_t>(_le32(ring, pos + PKT_VLAN_TCI) & 0x0FFF)
                else:
                    vlan[n] = 0
                used += take
                n += 1
                pos += _le32(ring, pos + PKT_NEXT)
            ring[base + BLOCK_STATUS] = TP_STATUS_KERNEL
            ring[base + BLOCK_STATUS + 1] = 0
            ring[base + BLOCK_STATUS + 2] = 0
            ring[base + BLOCK_STATUS + 3] = 0
            block = (block + 1) % block_nr
            drained += 1
    return n, used, block, drained, full
