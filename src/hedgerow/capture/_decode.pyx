# cython: language_level=3, boundscheck=True, wraparound=False, cdivision=True
"""Header decoder: link, network and transport headers of walked records -> PacketBatch columns.

Compiled (Cython) with bounds checking on: the records are untrusted bytes. Besides the explicit
length checks below (which decide ``TRUNCATED``/``MALFORMED``), every read goes through a
bounds-checked memoryview, so a record that claims more bytes than the buffer holds raises
``IndexError`` instead of reading stray memory.
"""

from libc.stdint cimport int64_t, uint8_t, uint16_t, uint32_t, uint64_t

from hedgerow.capture._bytes cimport be16, be32, be_bytes, ord32

cdef enum:
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

cdef uint64_t _MAPPED = 0xFFFF00000000


def decode_packets(
    const uint8_t[::1] buf,
    Py_ssize_t n,
    const int64_t[::1] rec_off,
    const uint32_t[::1] cap_len,
    const uint32_t[::1] wire_len,
    const uint16_t[::1] link,
    uint64_t[::1] eth_src,
    uint64_t[::1] eth_dst,
    uint16_t[::1] vlan,
    uint8_t[::1] l3,
    uint64_t[::1] src_hi,
    uint64_t[::1] src_lo,
    uint64_t[::1] dst_hi,
    uint64_t[::1] dst_lo,
    uint8_t[::1] proto,
    uint8_t[::1] ttl,
    uint32_t[::1] ip_len,
    uint32_t[::1] ip_id,
    uint8_t[::1] frag,
    uint16_t[::1] sport,
    uint16_t[::1] dport,
    uint8_t[::1] tcp_flags,
    uint32_t[::1] seq,
    uint32_t[::1] ack,
    uint16_t[::1] window,
    uint32_t[::1] payload_len,
    int64_t[::1] payload_off,
    uint32_t[::1] payload_cap,
    uint8_t[::1] status,
):
    """Decode link, IP and transport headers of ``n`` records (outputs are zero-filled)."""
    cdef Py_ssize_t i
    cdef int64_t p
    cdef int64_t end
    cdef int64_t wire
    cdef int64_t lt
    cdef int64_t et
    cdef int64_t off
    cdef int64_t avail
    cdef int64_t version, family, tags, ppp, l2, l4len, q, nh, have, ihl, tot, fo, plen, hl
    cdef int64_t hdr, start, k
    cdef int bad
    cdef bint truncated
    with nogil:
        for i in range(n):
            p = rec_off[i]
            end = p + cap_len[i]
            wire = wire_len[i]
            lt = link[i]
            et = -1
            off = p
            avail = end - p
            payload_off[i] = end
            # ---- link layer
            if lt == 1:
                if avail < 14:
                    status[i] = _TRUNCATED
                    continue
                eth_dst[i] = be_bytes(buf, p, 6)
                eth_src[i] = be_bytes(buf, p + 6, 6)
                et = be16(buf[p + 12], buf[p + 13])
                off = p + 14
            elif lt == 113:
                if avail < 16:
                    status[i] = _TRUNCATED
                    continue
                if be16(buf[p + 4], buf[p + 5]) == 6:
                    eth_src[i] = be_bytes(buf, p + 6, 6)
                et = be16(buf[p + 14], buf[p + 15])
                off = p + 16
            elif lt == 276:
                if avail < 20:
                    status[i] = _TRUNCATED
                    continue
                if buf[p + 11] == 6:
                    eth_src[i] = be_bytes(buf, p + 12, 6)
                et = be16(buf[p], buf[p + 1])
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
                family = ord32(buf[p], buf[p + 1], buf[p + 2], buf[p + 3], False)
                if family > 0xFFFF:
                    family = be32(buf[p], buf[p + 1], buf[p + 2], buf[p + 3])
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
                    vlan[i] = be16(buf[off], buf[off + 1]) & 0x0FFF
                et = be16(buf[off + 2], buf[off + 3])
                off += 4
                tags += 1
            if et == 0x8864:  # PPPoE session: 6-byte PPPoE header, 2-byte PPP protocol
                if end - off < 8:
                    truncated = True
                else:
                    ppp = be16(buf[off + 6], buf[off + 7])
                    et = 0x0800 if ppp == 0x0021 else (0x86DD if ppp == 0x0057 else -1)
                    off += 8
            elif et == 0x8847 or et == 0x8848:  # MPLS label stack, then IP by its version nibble
                for k in range(8):
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
                        ip_len[i] = <uint32_t>be16(buf[off + 2], buf[off + 3])
                        ip_id[i] = <uint32_t>be16(buf[off + 4], buf[off + 5])
                        ttl[i] = buf[off + 8]
                        proto[i] = buf[off + 9]
                    if have >= 16:
                        src_lo[i] = _MAPPED | <uint64_t>be32(
                            buf[off + 12], buf[off + 13], buf[off + 14], buf[off + 15]
                        )
                    continue
                ihl = (buf[off] & 15) * 4
                tot = be16(buf[off + 2], buf[off + 3])
                if tot == 0:  # TCP segmentation offload: length left to the NIC
                    tot = wire - l2
                ip_len[i] = <uint32_t>tot
                ip_id[i] = <uint32_t>be16(buf[off + 4], buf[off + 5])
                fo = be16(buf[off + 6], buf[off + 7])
                ttl[i] = buf[off + 8]
                nh = buf[off + 9]
                proto[i] = <uint8_t>nh
                src_lo[i] = _MAPPED | <uint64_t>be32(
                    buf[off + 12], buf[off + 13], buf[off + 14], buf[off + 15]
                )
                dst_lo[i] = _MAPPED | <uint64_t>be32(
                    buf[off + 16], buf[off + 17], buf[off + 18], buf[off + 19]
                )
                if tot < ihl:
                    status[i] = _MALFORMED
                    continue
                if tot > wire - l2:
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
                        ip_len[i] = <uint32_t>(be16(buf[off + 4], buf[off + 5]) + 40)
                        proto[i] = buf[off + 6]
                        ttl[i] = buf[off + 7]
                    if have >= 24:
                        src_hi[i] = be_bytes(buf, off + 8, 8)
                        src_lo[i] = be_bytes(buf, off + 16, 8)
                    continue
                plen = be16(buf[off + 4], buf[off + 5])
                if plen == 0:
                    plen = wire - l2 - 40
                ip_len[i] = <uint32_t>(plen + 40)
                nh = buf[off + 6]
                ttl[i] = buf[off + 7]
                src_hi[i] = be_bytes(buf, off + 8, 8)
                src_lo[i] = be_bytes(buf, off + 16, 8)
                dst_hi[i] = be_bytes(buf, off + 24, 8)
                dst_lo[i] = be_bytes(buf, off + 32, 8)
                if plen + 40 > wire - l2:
                    status[i] = _MALFORMED
                q = off + 40
                l4len = plen
                bad = 0
                for k in range(16):
                    if nh == 0 or nh == 43 or nh == 60 or nh == 135 or nh == 139 or nh == 140:
                        if end - q < 2:
                            bad = _TRUNCATED
                            break
                        hl = (buf[q + 1] + 1) * 8
                    elif nh == 51:
                        if end - q < 2:
                            bad = _TRUNCATED
                            break
                        hl = (buf[q + 1] + 2) * 4
                    elif nh == 44:
                        if end - q < 8:
                            bad = _TRUNCATED
                            break
                        hl = 8
                        fo = be16(buf[q + 2], buf[q + 3])
                        ip_id[i] = <uint32_t>be32(buf[q + 4], buf[q + 5], buf[q + 6], buf[q + 7])
                        if fo & 0xFFF8:
                            frag[i] = _FRAG_LATER
                        elif fo & 1:
                            frag[i] = _FRAG_FIRST
                    else:
                        break
                    nh = buf[q]
                    q += hl
                    l4len -= hl
                    if l4len < 0:
                        bad = _MALFORMED
                        break
                    if frag[i] == _FRAG_LATER:
                        break
                if bad:
                    status[i] = bad
                    proto[i] = <uint8_t>nh
                    continue
                proto[i] = <uint8_t>nh
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
                sport[i] = <uint16_t>be16(buf[off + 6], buf[off + 7])
                if (
                    be16(buf[off + 2], buf[off + 3]) == 0x0800
                    and buf[off + 4] == 6
                    and buf[off + 5] == 4
                ):
                    if end - off < 28:
                        status[i] = _TRUNCATED
                        continue
                    if eth_src[i] == 0:
                        eth_src[i] = be_bytes(buf, off + 8, 6)
                    src_lo[i] = _MAPPED | <uint64_t>be32(
                        buf[off + 14], buf[off + 15], buf[off + 16], buf[off + 17]
                    )
                    dst_lo[i] = _MAPPED | <uint64_t>be32(
                        buf[off + 24], buf[off + 25], buf[off + 26], buf[off + 27]
                    )
                continue
            else:
                l3[i] = _L3_OTHER
                continue
            # ---- transport layer (q: start of the L4 header, l4len: its announced length)
            avail = end - q
            hdr = 0
            if nh == 6:
                if avail >= 4:
                    sport[i] = <uint16_t>be16(buf[q], buf[q + 1])
                    dport[i] = <uint16_t>be16(buf[q + 2], buf[q + 3])
                if avail >= 8:
                    seq[i] = <uint32_t>be32(buf[q + 4], buf[q + 5], buf[q + 6], buf[q + 7])
                if avail >= 12:
                    ack[i] = <uint32_t>be32(buf[q + 8], buf[q + 9], buf[q + 10], buf[q + 11])
                if avail >= 14:
                    tcp_flags[i] = buf[q + 13]
                if avail >= 16:
                    window[i] = <uint16_t>be16(buf[q + 14], buf[q + 15])
                if avail < 20:
                    if frag[i] == _FRAG_FIRST and avail >= 4 and avail >= l4len:
                        # a tiny first fragment (hping3 -f, an old evasion): the header goes on
                        # in the next fragment; what it holds is metered, the rest join its flow
                        continue
                    status[i] = _TRUNCATED
                    continue
                hdr = (buf[q + 12] >> 4) * 4
                if hdr < 20 or hdr > l4len:
                    status[i] = _MALFORMED
                    continue
                if avail < hdr:
                    status[i] = _TRUNCATED
                    payload_len[i] = <uint32_t>(l4len - hdr)
                    continue
            elif nh == 17 or nh == 1 or nh == 58:
                if nh == 17 and avail >= 4:
                    sport[i] = <uint16_t>be16(buf[q], buf[q + 1])
                    dport[i] = <uint16_t>be16(buf[q + 2], buf[q + 3])
                elif nh != 17 and avail >= 2:
                    sport[i] = buf[q]
                    dport[i] = buf[q + 1]
                hdr = 8
                if avail < 8:  # fixed 8-byte header: the payload length is known all the same
                    status[i] = _TRUNCATED
                    payload_len[i] = <uint32_t>max(0, l4len - 8)
                    continue
            if l4len < hdr:
                status[i] = _MALFORMED
                continue
            start = q + hdr
            plen = l4len - hdr
            payload_len[i] = <uint32_t>plen
            payload_off[i] = start
            payload_cap[i] = <uint32_t>max(0, min(plen, end - start))
