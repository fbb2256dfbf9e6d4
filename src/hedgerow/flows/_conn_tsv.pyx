# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""The conn.log line printer of :mod:`hedgerow.flows.conn_tsv` (compiled, Cython).

``format_rows`` writes one line per flow-table row into a caller-sized buffer: the caller
allocates ``n * (1024 + payload bound)`` bytes, more than the widest line (every field at its
widest is about 610 bytes without payloads), and the input shapes are checked on entry.
"""

from libc.math cimport rint
from libc.stdint cimport int8_t, int16_t, int32_t, int64_t, uint8_t, uint64_t

from hedgerow.flows._derive cimport conn_state, tcp_size, uid_hash

cdef int _TAB = 9
cdef int _DASH = 45


cdef const char* _PAIRS = (
    b"00010203040506070809101112131415161718192021222324252627282930313233343536373839"
    b"40414243444546474849505152535455565758596061626364656667686970717273747576777879"
    b"8081828384858687888990919293949596979899"
)  # "00".."99": two digits per division


cdef inline void _pairs(uint8_t[::1] out, Py_ssize_t end, uint64_t u, Py_ssize_t n) noexcept nogil:
    """The ``n`` (even) low decimal digits of ``u``, zero-padded, ending before ``end``."""
    cdef uint64_t r
    while n > 0:
        r = (u % 100) * 2
        u //= 100
        end -= 2
        out[end] = _PAIRS[r]
        out[end + 1] = _PAIRS[r + 1]
        n -= 2


cdef inline Py_ssize_t _int(uint8_t[::1] out, Py_ssize_t pos, int64_t value) noexcept nogil:
    cdef uint64_t u, bound
    cdef Py_ssize_t digits, end
    if value < 0:
        out[pos] = 45  # '-'
        pos += 1
        value = -value
    # Unsigned arithmetic: division by 10 without sign fix-ups.
    u = <uint64_t>value
    if u < 10:
        out[pos] = <uint8_t>(48 + u)
        return pos + 1
    digits = 2
    bound = 100
    while digits < 20 and u >= bound:
        digits += 1
        bound *= 10
    end = pos + digits
    if digits % 2:
        _pairs(out, end, u, digits - 1)
        out[pos] = <uint8_t>(48 + u // (bound // 10))
    else:
        _pairs(out, end, u, digits)
    return end


cdef inline Py_ssize_t _bytes(
    uint8_t[::1] out, Py_ssize_t pos, const uint8_t[::1] blob, int64_t start, int64_t stop
) noexcept nogil:
    cdef int64_t j
    for j in range(start, stop):
        out[pos] = blob[j]
        pos += 1
    return pos


cdef inline Py_ssize_t _seconds(uint8_t[::1] out, Py_ssize_t pos, int64_t ns) noexcept nogil:
    """``ns`` as seconds with 6 decimals: float seconds times 1e6, rounded half to even."""
    cdef int64_t micros = <int64_t>rint((<double>ns / 1e9) * 1e6)
    cdef int64_t whole = micros / 1_000_000
    cdef int64_t frac = micros % 1_000_000
    if frac < 0:  # Python's floor division and modulo
        whole -= 1
        frac += 1_000_000
    pos = _int(out, pos, whole)
    out[pos] = 46  # '.'
    _pairs(out, pos + 7, <uint64_t>frac, 6)
    return pos + 7


cdef inline Py_ssize_t _ipv4(uint8_t[::1] out, Py_ssize_t pos, uint64_t lo) noexcept nogil:
    cdef int64_t a = <int64_t>(lo & 0xFFFFFFFFULL)
    cdef int shift, k
    for k in range(4):
        shift = 24 - 8 * k
        pos = _int(out, pos, (a >> shift) & 255)
        if shift:
            out[pos] = 46
            pos += 1
    return pos


cdef inline Py_ssize_t _mac(uint8_t[::1] out, Py_ssize_t pos, uint64_t mac) noexcept nogil:
    cdef int j
    cdef int64_t nibble
    if mac == 0:
        out[pos] = 45
        return pos + 1
    for j in range(12):
        nibble = <int64_t>((mac >> (44 - 4 * j)) & 15)
        if j and j % 2 == 0:
            out[pos] = 58  # ':'
            pos += 1
        out[pos] = <uint8_t>(48 + nibble if nibble < 10 else 87 + nibble)
        pos += 1
    return pos


cdef inline Py_ssize_t _base64(
    uint8_t[::1] out,
    Py_ssize_t pos,
    const uint8_t[:, :, ::1] pool,
    int64_t slot,
    Py_ssize_t d,
    int64_t n,
    const uint8_t[::1] digits,
) noexcept nogil:
    """Base64 (with padding) of the first ``n`` bytes of ``pool[slot, d]``; ``(empty)`` if none."""
    cdef int64_t i, b0, b1, b2
    if slot < 0 or n == 0:
        out[pos] = 40  # "(empty)"
        out[pos + 1] = 101
        out[pos + 2] = 109
        out[pos + 3] = 112
        out[pos + 4] = 116
        out[pos + 5] = 121
        out[pos + 6] = 41
        return pos + 7
    for i in range(0, n, 3):
        b0 = pool[slot, d, i]
        b1 = pool[slot, d, i + 1] if i + 1 < n else 0
        b2 = pool[slot, d, i + 2] if i + 2 < n else 0
        out[pos] = digits[b0 >> 2]
        out[pos + 1] = digits[((b0 & 3) << 4) | (b1 >> 4)]
        out[pos + 2] = digits[((b1 & 15) << 2) | (b2 >> 6)] if i + 1 < n else 61
        out[pos + 3] = digits[b2 & 63] if i + 2 < n else 61
        pos += 4
    return pos


def _rows(n, *columns):
    """Raise ``ValueError`` unless every column has at least ``n`` rows."""
    for column in columns:
        if column.shape[0] < n:
            raise ValueError(f"flow-table column has {column.shape[0]} rows, expected {n}")


def format_rows(
    uint8_t[::1] out,
    const int64_t[::1] rows,
    const int64_t[::1] first_ns,
    const int64_t[::1] last_ns,
    const uint64_t[::1] a_hi,
    const uint64_t[::1] a_lo,
    const uint64_t[::1] b_hi,
    const uint64_t[::1] b_lo,
    const int32_t[::1] a_port,
    const int32_t[::1] b_port,
    const uint8_t[::1] orig_is_a,
    const int32_t[::1] proto,
    const int32_t[::1] vlan,
    const int64_t[::1] v6_row,
    const uint8_t[::1] v6_blob,
    const int64_t[::1] v6_off,
    const int16_t[::1] service,
    const int64_t[:, ::1] seq_start,
    const int64_t[:, ::1] seq_max,
    const int64_t[:, ::1] acked,
    const int64_t[:, ::1] fin_end,
    const int64_t[:, ::1] missed,
    const uint8_t[:, ::1] seen,
    const int64_t[:, ::1] pay_bytes,
    const int8_t[:, ::1] state,
    const uint8_t[:, ::1] history,
    const int32_t[::1] hist_len,
    const int64_t[:, ::1] pkts,
    const int64_t[:, ::1] ip_bytes,
    const uint64_t[:, ::1] mac,
    const int64_t[:, ::1] syn_cnt,
    const int64_t[:, ::1] ack_only_cnt,
    const int64_t[:, ::1] rst_cnt,
    const int64_t[:, ::1] fin_cnt,
    const uint8_t[::1] mirai,
    bint payload,
    const uint8_t[:, :, ::1] pool,
    const int32_t[::1] pl_slot,
    const int32_t[:, ::1] payload_len,
    const uint8_t[::1] names,
    const int64_t[::1] name_off,
    const uint8_t[::1] digits62,
    const uint8_t[::1] digits64,
    Py_ssize_t row_bound,
):
    """Write one conn.log line per flow-table row ``rows[i]`` into ``out``; the bytes written.

    Uids, sizes and ``conn_state`` are derived as :mod:`hedgerow.flows.derive` derives them for
    frames (the same inline code). ``names``/``name_off`` hold the proto (0..255), conn_state
    (256..268) and service (269..) names; per line ``i``, ``service[i]`` is the service code and
    ``v6_row[2 i + side]`` (side 0: endpoint a) the row of that address in the IPv6 texts
    (``v6_blob``/``v6_off``), or -1 for IPv4. ``row_bound`` is the caller's per-line allowance
    (``out`` must hold ``len(rows) * row_bound``).
    """
    cdef Py_ssize_t n = rows.shape[0]
    cdef Py_ssize_t i, f, side, d, j, k, pos = 0
    cdef int64_t table_rows = 0
    for i in range(n):
        if rows[i] < 0:
            raise ValueError(f"negative table row {rows[i]}")
        if rows[i] >= table_rows:
            table_rows = rows[i] + 1
    _rows(table_rows, first_ns, last_ns, a_hi, a_lo, b_hi, b_lo, a_port, b_port, orig_is_a,
          proto, vlan, seq_start, seq_max, acked, fin_end, missed, seen, pay_bytes, state,
          history, hist_len, pkts, ip_bytes, mac, syn_cnt, ack_only_cnt, rst_cnt, fin_cnt, mirai,
          pl_slot, payload_len)
    _rows(n, service)
    if out.shape[0] < n * row_bound or v6_row.shape[0] < 2 * n or row_bound < 1024:
        raise ValueError("output buffer or IPv6 row map too small for the rows")
    if name_off.shape[0] < 270 or digits62.shape[0] < 62 or digits64.shape[0] < 64:
        raise ValueError("name table or digit tables too short")
    if history.shape[1] > 64 or (payload and (pool.shape[2] > 128 or pool.shape[1] != 2)):
        raise ValueError("histories of at most 64 letters and payloads of 128 bytes expected")
    cdef int64_t row, p, code, lost, size0, size1, lost0, lost1, s, v
    cdef uint64_t h1, h2
    cdef bint is_a, tcp
    # Every field's width is bounded (names and IPv6 texts too), so a line fits its allowance.
    for j in range(name_off.shape[0] - 1):
        if not 0 <= name_off[j + 1] - name_off[j] <= 32 or name_off[j + 1] > names.shape[0]:
            raise ValueError(f"name {j} longer than 32 bytes or beyond the name blob")
    for j in range(v6_off.shape[0] - 1):
        if not 0 <= v6_off[j + 1] - v6_off[j] <= 45 or v6_off[j + 1] > v6_blob.shape[0]:
            raise ValueError(f"IPv6 text {j} longer than 45 bytes or beyond the text blob")
    for i in range(n):
        f = rows[i]
        row = v6_row[2 * i]
        if row >= 0 and v6_off.shape[0] < row + 2:
            raise ValueError(f"IPv6 text row {row} beyond the text table")
        row = v6_row[2 * i + 1]
        if row >= 0 and v6_off.shape[0] < row + 2:
            raise ValueError(f"IPv6 text row {row} beyond the text table")
        if not 0 <= proto[f] < 256 or service[i] + 271 > name_off.shape[0]:
            raise ValueError(f"flow {f}: protocol or service code outside the name table")
        if not 0 <= hist_len[f] <= history.shape[1]:
            raise ValueError(f"flow {f}: history length {hist_len[f]} beyond its row")
        if payload and (pl_slot[f] >= pool.shape[0] or (pl_slot[f] >= 0 and not (
            0 <= payload_len[f, 0] <= pool.shape[2] and 0 <= payload_len[f, 1] <= pool.shape[2]
        ))):
            raise ValueError(f"flow {f}: payload row or lengths beyond the pool")
    with nogil:
        for i in range(n):
            f = rows[i]
            pos = _seconds(out, pos, first_ns[f])
            out[pos] = _TAB
            out[pos + 1] = 67  # 'C'
            pos += 2
            h1, h2 = uid_hash(a_hi, a_lo, b_hi, b_lo, a_port, b_port, proto, vlan, first_ns, f)
            for k in range(11):
                out[pos] = digits62[h1 % 62]
                h1 //= 62
                pos += 1
            for k in range(6):
                out[pos] = digits62[h2 % 62]
                h2 //= 62
                pos += 1
            for side in range(2):
                is_a = (orig_is_a[f] != 0) == (side == 0)
                out[pos] = _TAB
                pos += 1
                row = v6_row[2 * i + (0 if is_a else 1)]
                if row < 0:
                    pos = _ipv4(out, pos, a_lo[f] if is_a else b_lo[f])
                else:
                    pos = _bytes(out, pos, v6_blob, v6_off[row], v6_off[row + 1])
                out[pos] = _TAB
                pos = _int(out, pos + 1, a_port[f] if is_a else b_port[f])
            out[pos] = _TAB
            p = proto[f]
            pos = _bytes(out, pos + 1, names, name_off[p], name_off[p + 1])
            out[pos] = _TAB
            pos += 1
            code = service[i]
            if code < 0:
                out[pos] = _DASH
                pos += 1
            else:
                pos = _bytes(out, pos, names, name_off[269 + code], name_off[270 + code])
            out[pos] = _TAB
            pos += 1
            lost = 0
            if p == 6:
                size0, lost0 = tcp_size(seq_start, seq_max, acked, fin_end, missed, seen, f, 0)
                size1, lost1 = tcp_size(seq_start, seq_max, acked, fin_end, missed, seen, f, 1)
                lost = lost0 + lost1
            else:
                size0 = pay_bytes[f, 0]
                size1 = pay_bytes[f, 1]
            if last_ns[f] - first_ns[f] > 0:
                pos = _seconds(out, pos, last_ns[f] - first_ns[f])
                out[pos] = _TAB
                pos = _int(out, pos + 1, size0)
                out[pos] = _TAB
                pos = _int(out, pos + 1, size1)
            else:
                out[pos] = _DASH
                out[pos + 1] = _TAB
                out[pos + 2] = _DASH
                out[pos + 3] = _TAB
                out[pos + 4] = _DASH
                pos += 5
            out[pos] = _TAB
            s = 256 + conn_state(state, pkts, history, hist_len, p, size0, size1, f)
            pos = _bytes(out, pos + 1, names, name_off[s], name_off[s + 1])
            out[pos] = _TAB  # local_orig, local_resp: unset
            out[pos + 1] = _DASH
            out[pos + 2] = _TAB
            out[pos + 3] = _DASH
            out[pos + 4] = _TAB
            pos = _int(out, pos + 5, lost)
            out[pos] = _TAB
            pos += 1
            if hist_len[f] == 0:
                out[pos] = _DASH
                pos += 1
            else:
                for j in range(hist_len[f]):
                    out[pos] = history[f, j]
                    pos += 1
            for d in range(2):
                out[pos] = _TAB
                pos = _int(out, pos + 1, pkts[f, d])
                out[pos] = _TAB
                pos = _int(out, pos + 1, ip_bytes[f, d])
            for d in range(2):
                out[pos] = _TAB
                pos = _mac(out, pos + 1, mac[f, d])
            out[pos] = _TAB
            pos += 1
            if vlan[f] == 0:
                out[pos] = _DASH
                pos += 1
            else:
                pos = _int(out, pos, vlan[f])
            if payload:
                for d in range(2):
                    out[pos] = _TAB
                    pos = _base64(out, pos + 1, pool, pl_slot[f], d, payload_len[f, d], digits64)
            tcp = p == 6
            for k in range(5):
                if k == 0:
                    v = syn_cnt[f, 0]
                elif k == 1:
                    v = ack_only_cnt[f, 0]
                elif k == 2:
                    v = rst_cnt[f, 0]
                elif k == 3:
                    v = fin_cnt[f, 0]
                else:
                    v = rst_cnt[f, 1]
                out[pos] = _TAB
                pos = _int(out, pos + 1, v if tcp else 0)
            out[pos] = _TAB
            out[pos + 1] = 84 if mirai[f] else 70  # T / F
            out[pos + 2] = _TAB  # label, detailed_label: unset
            out[pos + 3] = _DASH
            out[pos + 4] = _TAB
            out[pos + 5] = _DASH
            out[pos + 6] = 10
            pos += 7
    return pos
