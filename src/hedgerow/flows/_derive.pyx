# cython: language_level=3, boundscheck=False, wraparound=False
"""Per-flow derived columns over whole flow-table chunks: sizes, conn_state, uids, payloads.

The per-row logic is inline in ``_derive.pxd`` (shared with the conn.log formatter). Inputs are
the meter's own arrays; their shapes are checked on entry, so the unchecked loops below stay
inside them.
"""

import numpy as np

from libc.stdint cimport int8_t, int32_t, int64_t, uint8_t, uint64_t
from libc.string cimport memcpy

from hedgerow.flows._derive cimport conn_state, tcp_size, uid_hash


def _rows(n, *columns):
    """Raise ``ValueError`` unless every column has at least ``n`` rows."""
    for column in columns:
        if column.shape[0] < n:
            raise ValueError(f"flow-table column has {column.shape[0]} rows, expected {n}")


def sizes_and_states(
    const int32_t[::1] proto,
    const int64_t[:, ::1] seq_start,
    const int64_t[:, ::1] seq_max,
    const int64_t[:, ::1] acked,
    const int64_t[:, ::1] fin_end,
    const int64_t[:, ::1] missed,
    const uint8_t[:, ::1] seen,
    const int64_t[:, ::1] pay_bytes,
    const int8_t[:, ::1] state,
    const int64_t[:, ::1] pkts,
    const uint8_t[:, ::1] history,
    const int32_t[::1] hist_len,
):
    """Per flow: payload bytes per direction (TCP from sequence ranges, else as counted),
    missed bytes (TCP only) and the ``conn_state`` code."""
    cdef Py_ssize_t n = proto.shape[0]
    cdef Py_ssize_t f, d
    _rows(n, seq_start, seq_max, acked, fin_end, missed, seen, pay_bytes, state, pkts, history,
          hist_len)
    for f in range(n):
        if not 0 <= hist_len[f] <= history.shape[1]:
            raise ValueError(f"flow {f}: history length {hist_len[f]} beyond its row")
    size_arr = np.empty((n, 2), np.int64)
    lost_arr = np.zeros(n, np.int64)
    codes_arr = np.empty(n, np.int8)
    cdef int64_t[:, ::1] size = size_arr
    cdef int64_t[::1] lost = lost_arr
    cdef int8_t[::1] codes = codes_arr
    cdef int64_t sz, ms
    with nogil:
        for f in range(n):
            for d in range(2):
                if proto[f] == 6:
                    sz, ms = tcp_size(seq_start, seq_max, acked, fin_end, missed, seen, f, d)
                    size[f, d] = sz
                    lost[f] += ms
                else:
                    size[f, d] = pay_bytes[f, d]
            codes[f] = <int8_t>conn_state(
                state, pkts, history, hist_len, proto[f], size[f, 0], size[f, 1], f
            )
    return size_arr, lost_arr, codes_arr


def uid_hashes(
    const uint64_t[::1] a_hi,
    const uint64_t[::1] a_lo,
    const uint64_t[::1] b_hi,
    const uint64_t[::1] b_lo,
    const int32_t[::1] a_port,
    const int32_t[::1] b_port,
    const int32_t[::1] proto,
    const int32_t[::1] vlan,
    const int64_t[::1] first_ns,
):
    """The two uid hashes (key and start time) of every flow."""
    cdef Py_ssize_t n = first_ns.shape[0]
    _rows(n, a_hi, a_lo, b_hi, b_lo, a_port, b_port, proto, vlan)
    h1_arr = np.empty(n, np.uint64)
    h2_arr = np.empty(n, np.uint64)
    cdef uint64_t[::1] h1 = h1_arr
    cdef uint64_t[::1] h2 = h2_arr
    cdef Py_ssize_t f
    with nogil:
        for f in range(n):
            h1[f], h2[f] = uid_hash(
                a_hi, a_lo, b_hi, b_lo, a_port, b_port, proto, vlan, first_ns, f
            )
    return h1_arr, h2_arr


def pack_payloads(
    const uint8_t[:, :, ::1] pool,
    const int32_t[::1] pl_slot,
    Py_ssize_t d,
    const int64_t[::1] lengths,
    Py_ssize_t total,
):
    """Concatenate the kept payload prefixes of direction ``d`` (for an Arrow binary column)."""
    cdef Py_ssize_t n = lengths.shape[0]
    cdef Py_ssize_t f, pos = 0
    cdef int32_t row
    _rows(n, pl_slot)
    for f in range(n):
        if lengths[f] < 0 or lengths[f] > pool.shape[2] or (lengths[f] and pl_slot[f] < 0):
            raise ValueError(f"flow {f}: payload length {lengths[f]} does not fit its pool row")
        if pl_slot[f] >= pool.shape[0]:
            raise ValueError(f"flow {f}: payload row {pl_slot[f]} beyond the pool")
        pos += lengths[f]
    if pos != total or not 0 <= d < 2:
        raise ValueError(f"payload lengths add up to {pos}, not {total}")
    out_arr = np.empty(total, np.uint8)
    cdef uint8_t[::1] out = out_arr
    pos = 0
    with nogil:
        for f in range(n):
            if lengths[f]:
                row = pl_slot[f]
                memcpy(&out[pos], &pool[row, d, 0], lengths[f])
                pos += lengths[f]
    return out_arr
