# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Text of addresses, histories, MACs and uids as flat byte buffers (compiled, Cython).

Used by :mod:`hedgerow.flows.text` to build Arrow string columns; every output is allocated
here at its exact or widest size, and row lengths are checked against the rows they index.
"""

import numpy as np

from libc.stdint cimport int32_t, int64_t, uint8_t, uint64_t
from libc.string cimport memcpy

cdef const char* _B62 = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def format_ipv4(const uint64_t[::1] lo):
    """Dotted quads of the low 32 bits: ``(bytes, n + 1 int32 offsets)``."""
    cdef Py_ssize_t n = lo.shape[0]
    out_arr = np.empty(n * 15, np.uint8)
    offsets_arr = np.zeros(n + 1, np.int32)
    cdef uint8_t[::1] out = out_arr
    cdef int32_t[::1] offsets = offsets_arr
    cdef Py_ssize_t i, pos = 0
    cdef int64_t a, o
    cdef int shift, k
    with nogil:
        for i in range(n):
            a = <int64_t>(lo[i] & 0xFFFFFFFFULL)
            for k in range(4):
                shift = 24 - 8 * k
                o = (a >> shift) & 255
                if o >= 100:
                    out[pos] = <uint8_t>(48 + o // 100)
                    out[pos + 1] = <uint8_t>(48 + (o // 10) % 10)
                    out[pos + 2] = <uint8_t>(48 + o % 10)
                    pos += 3
                elif o >= 10:
                    out[pos] = <uint8_t>(48 + o // 10)
                    out[pos + 1] = <uint8_t>(48 + o % 10)
                    pos += 2
                else:
                    out[pos] = <uint8_t>(48 + o)
                    pos += 1
                if shift:
                    out[pos] = 46
                    pos += 1
            offsets[i + 1] = <int32_t>pos
    return out_arr[:pos], offsets_arr


def pack_rows(const uint8_t[:, ::1] chars, const int64_t[::1] lengths):
    """The first ``lengths[i]`` bytes of each row of ``chars``, concatenated, and offsets."""
    cdef Py_ssize_t n = lengths.shape[0]
    cdef Py_ssize_t i
    if chars.shape[0] < n:
        raise ValueError(f"{chars.shape[0]} rows of characters for {n} lengths")
    for i in range(n):
        if not 0 <= lengths[i] <= chars.shape[1]:
            raise ValueError(f"row {i}: length {lengths[i]} outside 0..{chars.shape[1]}")
    offsets_arr = np.zeros(n + 1, np.int32)
    cdef int32_t[::1] offsets = offsets_arr
    for i in range(n):
        offsets[i + 1] = <int32_t>(offsets[i] + lengths[i])
    out_arr = np.empty(offsets[n], np.uint8)
    cdef uint8_t[::1] out = out_arr
    with nogil:
        for i in range(n):
            if lengths[i]:
                memcpy(&out[offsets[i]], &chars[i, 0], lengths[i])
    return out_arr, offsets_arr


def format_macs(const uint64_t[::1] mac):
    """``aa:bb:cc:dd:ee:ff`` per MAC, 17 bytes each."""
    cdef Py_ssize_t n = mac.shape[0]
    out_arr = np.empty(n * 17, np.uint8)
    cdef uint8_t[::1] out = out_arr
    cdef Py_ssize_t i, j
    cdef uint64_t v
    cdef int64_t nibble
    with nogil:
        for i in range(n):
            v = mac[i]
            for j in range(12):
                nibble = <int64_t>((v >> (44 - 4 * j)) & 15)
                out[i * 17 + j + j // 2] = <uint8_t>(48 + nibble if nibble < 10 else 87 + nibble)
            for j in range(5):
                out[i * 17 + 2 + 3 * j] = 58  # ':'
    return out_arr


def format_uids(const uint64_t[::1] h1, const uint64_t[::1] h2):
    """Zeek-style uids, 18 bytes each: ``C`` + 11 base-62 digits of ``h1`` + 6 of ``h2``."""
    cdef Py_ssize_t n = h1.shape[0]
    if h2.shape[0] < n:
        raise ValueError("one second hash per uid expected")
    out_arr = np.empty(n * 18, np.uint8)
    cdef uint8_t[::1] out = out_arr
    cdef Py_ssize_t i, j
    cdef uint64_t v
    with nogil:
        for i in range(n):
            out[i * 18] = 67  # 'C'
            v = h1[i]
            for j in range(11):
                out[i * 18 + 1 + j] = _B62[v % 62]
                v //= 62
            v = h2[i]
            for j in range(6):
                out[i * 18 + 12 + j] = _B62[v % 62]
                v //= 62
    return out_arr
