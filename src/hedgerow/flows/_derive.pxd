# cython: language_level=3, boundscheck=False, wraparound=False
"""Per-flow values of flow-table rows (inline, shared by ``_derive.pyx`` and ``_conn_tsv.pyx``).

TCP payload sizes from sequence ranges, Zeek's ``conn_state()`` decision table and the uid
hashes; the frame builder and the conn.log formatter both use these, so they agree by
construction.
"""

from libc.stdint cimport int8_t, int32_t, int64_t, uint8_t, uint64_t

cdef enum:
    # TCP endpoint states (Zeek's TCP_ENDPOINT_*), as in kernels.py
    INACTIVE = 0
    SYN_SENT = 1
    SYN_ACK_SENT = 2
    PARTIAL = 3
    ESTABLISHED = 4
    CLOSED = 5
    RESET = 6
    # conn_state codes, in the order of derive.STATES
    REJ = 0
    RSTRH = 1
    RSTR = 2
    RSTOS0 = 3
    OTH = 4
    RSTO = 5
    SF = 6
    SH = 7
    S2 = 8
    SHR = 9
    S3 = 10
    S0 = 11
    S1 = 12
    ACK_SLACK = 1 << 24  # peer ACKs extend an endpoint's size over unseen data by at most this


cdef inline (int64_t, int64_t) tcp_size(
    const int64_t[:, ::1] seq_start,
    const int64_t[:, ::1] seq_max,
    const int64_t[:, ::1] acked,
    const int64_t[:, ::1] fin_end,
    const int64_t[:, ::1] missed,
    const uint8_t[:, ::1] seen,
    Py_ssize_t f,
    Py_ssize_t d,
) noexcept nogil:
    """Payload bytes of TCP endpoint ``d`` of flow ``f`` from its sequence range, and the bytes
    it missed (gaps + data the peer acknowledged beyond what was seen, up to a FIN)."""
    cdef int64_t end = seq_max[f, d]
    cdef int64_t ack = acked[f, d]
    cdef int64_t unseen = 0
    cdef int64_t size = 0
    if fin_end[f, d] >= 0 and fin_end[f, d] < ack:
        ack = fin_end[f, d]
    if ack > end and ack - end <= ACK_SLACK:
        unseen = ack - end
        end = ack
    if seen[f, d] and end > seq_start[f, d]:
        size = end - seq_start[f, d]
    return size, missed[f, d] + unseen


cdef inline bint rstos0(
    const uint8_t[:, ::1] history, const int32_t[::1] hist_len, Py_ssize_t f
) noexcept nogil:
    """Zeek's RSTOS0 test on flow ``f``'s history: ``/^\\^?S[^HAFGIQ]*R/``."""
    cdef int32_t j = 0
    cdef uint8_t c
    if j < hist_len[f] and history[f, j] == 94:  # '^'
        j += 1
    if j >= hist_len[f] or history[f, j] != 83:  # 'S'
        return False
    j += 1
    while j < hist_len[f]:
        c = history[f, j]
        if c == 82:  # 'R'
            return True
        if c == 72 or c == 65 or c == 70 or c == 71 or c == 73 or c == 81:  # H A F G I Q
            return False
        j += 1
    return False


cdef inline int conn_state(
    const int8_t[:, ::1] state,
    const int64_t[:, ::1] pkts,
    const uint8_t[:, ::1] history,
    const int32_t[::1] hist_len,
    int64_t proto,
    int64_t size0,
    int64_t size1,
    Py_ssize_t f,
) noexcept nogil:
    """Zeek's ``conn_state()`` decision table for flow ``f`` (a code, see above)."""
    cdef bint o, r, o_in, r_in
    cdef int8_t os_, rs
    if proto == 17 or proto == 254:  # ARP exchanges get UDP-like states
        o = pkts[f, 0] > 0
        r = pkts[f, 1] > 0
        return (SF if r else S0) if o else (SHR if r else OTH)
    if proto != 6:
        return OTH
    os_ = state[f, 0]
    rs = state[f, 1]
    o_in = os_ == INACTIVE or os_ == PARTIAL
    r_in = rs == INACTIVE or rs == PARTIAL
    if rs == RESET:
        if os_ == SYN_SENT or os_ == SYN_ACK_SENT or (os_ == RESET and size0 == 0 and size1 == 0):
            return REJ
        return RSTRH if o_in else RSTR
    if os_ == RESET:
        if not r_in:
            return RSTO
        return RSTOS0 if rstos0(history, hist_len, f) else OTH
    if rs == CLOSED and os_ == CLOSED:
        return SF
    if os_ == CLOSED:
        return SH if r_in else S2
    if rs == CLOSED:
        return SHR if o_in else S3
    if os_ == SYN_SENT and rs == INACTIVE:
        return S0
    if os_ == ESTABLISHED and rs == ESTABLISHED:
        return S1
    return OTH


cdef inline uint64_t splitmix(uint64_t x) noexcept nogil:
    cdef uint64_t z = x + 0x9E3779B97F4A7C15ULL
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL
    return z ^ (z >> 31)


cdef inline (uint64_t, uint64_t) uid_hash(
    const uint64_t[::1] a_hi,
    const uint64_t[::1] a_lo,
    const uint64_t[::1] b_hi,
    const uint64_t[::1] b_lo,
    const int32_t[::1] a_port,
    const int32_t[::1] b_port,
    const int32_t[::1] proto,
    const int32_t[::1] vlan,
    const int64_t[::1] first_ns,
    Py_ssize_t f,
) noexcept nogil:
    """The two hashes behind flow ``f``'s uid: its key and start time (deterministic)."""
    cdef uint64_t h1 = splitmix(a_lo[f] ^ splitmix(b_lo[f] ^ <uint64_t>first_ns[f]))
    cdef uint64_t key
    h1 = splitmix(h1 ^ a_hi[f] ^ (b_hi[f] * 3))
    key = (<uint64_t>a_port[f] << 32) | <uint64_t>b_port[f]
    key ^= (<uint64_t>proto[f] << 20) ^ (<uint64_t>vlan[f] << 48)
    return h1, splitmix(h1 ^ key)
