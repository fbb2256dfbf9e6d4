# cython: language_level=3, boundscheck=False, wraparound=False
"""The payload/port service classifier of :mod:`hedgerow.flows.service` (compiled, Cython).

Rules, their bytes and the port tables come from ``service.py``; their shapes and the
payload lengths are checked on entry, so the unchecked loops stay inside the arrays.
"""

import numpy as np

from libc.stdint cimport int16_t, int32_t, int64_t, uint8_t, uint64_t


cdef inline bint _match(
    const uint8_t[:, :, ::1] pool,
    Py_ssize_t row,
    const int32_t[:, ::1] lengths,
    Py_ssize_t f,
    int32_t side,
    int32_t how,
    const uint8_t[::1] blob,
    Py_ssize_t off,
    Py_ssize_t size,
) noexcept nogil:
    cdef Py_ssize_t d, j, start, have
    cdef bint ok
    for d in range(2):
        if side != 2 and side != d:
            continue
        have = lengths[f, d]
        if how == 0:
            if have < size:
                continue
            ok = True
            for j in range(size):
                if pool[row, d, j] != blob[off + j]:
                    ok = False
                    break
            if ok:
                return True
        else:
            for start in range(have - size + 1):
                ok = True
                for j in range(size):
                    if pool[row, d, start + j] != blob[off + j]:
                        ok = False
                        break
                if ok:
                    return True
    return False


def _rows(n, *columns):
    """Raise ``ValueError`` unless every column has at least ``n`` rows."""
    for column in columns:
        if column.shape[0] < n:
            raise ValueError(f"column has {column.shape[0]} rows, expected {n}")


def classify(
    const uint8_t[:, :, ::1] pool,
    const int32_t[::1] pl_slot,
    const int32_t[:, ::1] lengths,
    const int32_t[::1] proto,
    const int32_t[::1] orig_p,
    const int32_t[::1] resp_p,
    const int32_t[:, ::1] rules,
    const uint8_t[::1] blob,
    const int16_t[::1] tcp_ports,
    const int16_t[::1] udp_ports,
    int32_t telnet,
    const uint64_t[::1] candidates,
):
    """``service`` code per flow: the first payload rule that matches, else the port tables
    (for flows with payload only); -1 when none."""
    cdef Py_ssize_t n = pl_slot.shape[0]
    cdef Py_ssize_t f, d, r, row
    cdef int64_t code
    cdef uint64_t cand
    _rows(n, lengths, proto, orig_p, resp_p)
    if rules.shape[1] != 9 or rules.shape[0] > 64 or candidates.shape[0] != 513:
        raise ValueError("at most 64 rules of 9 fields and 513 candidate masks expected")
    if tcp_ports.shape[0] != 65536 or udp_ports.shape[0] != 65536:
        raise ValueError("port tables of 65,536 entries expected")
    for r in range(rules.shape[0]):
        if rules[r, 3] + rules[r, 4] > blob.shape[0] or rules[r, 7] + rules[r, 8] > blob.shape[0]:
            raise ValueError(f"rule {r}: bytes beyond the rule blob")
    for f in range(n):
        if pl_slot[f] >= pool.shape[0] or (pl_slot[f] >= 0 and not (
            0 <= lengths[f, 0] <= pool.shape[2] and 0 <= lengths[f, 1] <= pool.shape[2]
        )):
            raise ValueError(f"flow {f}: payload row or lengths outside the pool")
    out_arr = np.full(n, -1, np.int16)
    cdef int16_t[::1] out = out_arr
    with nogil:
        for f in range(n):
            row = pl_slot[f]
            if row < 0:
                continue
            # A prefix rule can match only when its side starts with its first byte.
            cand = candidates[512]
            for d in range(2):
                if lengths[f, d] > 0:
                    cand |= candidates[d * 256 + pool[row, d, 0]]
            code = -1
            for r in range(rules.shape[0]):
                if not (cand >> r) & 1:
                    continue
                if rules[r, 0] == telnet and proto[f] != 6:
                    continue
                if not _match(pool, row, lengths, f, rules[r, 1], rules[r, 2], blob, rules[r, 3],
                              rules[r, 4]):
                    continue
                if rules[r, 5] >= 0 and not _match(
                    pool, row, lengths, f, rules[r, 5], rules[r, 6], blob, rules[r, 7],
                    rules[r, 8],
                ):
                    continue
                code = rules[r, 0]
                break
            if code < 0:
                if proto[f] == 6:
                    code = tcp_ports[resp_p[f] & 0xFFFF]
                    if code < 0:
                        code = tcp_ports[orig_p[f] & 0xFFFF]
                elif proto[f] == 17:
                    code = udp_ports[resp_p[f] & 0xFFFF]
                    if code < 0:
                        code = udp_ports[orig_p[f] & 0xFFFF]
            out[f] = <int16_t>code
    return out_arr
