# cython: language_level=3
"""Integers from bytes, shared by the record walkers and the header decoder.

Callers read the bytes through their bounds-checked memoryview (``ord32(buf[i], buf[i + 1],
buf[i + 2], buf[i + 3], swapped)``), so every read keeps Cython's bounds checking (an
out-of-range offset raises ``IndexError``) while these combiners, pure functions of the bytes,
inline into the loops. ``be_bytes`` reads through the memoryview itself.
"""

from libc.stdint cimport int64_t, uint8_t, uint64_t


cdef inline int64_t ord16(uint8_t a, uint8_t b, bint big) noexcept nogil:
    """Bytes ``a b`` as a 16-bit integer, big-endian if ``big`` else little-endian."""
    return (<int64_t>a << 8) | b if big else (<int64_t>b << 8) | a


cdef inline int64_t ord32(uint8_t a, uint8_t b, uint8_t c, uint8_t d, bint big) noexcept nogil:
    """Bytes ``a b c d`` as a 32-bit integer, big-endian if ``big`` else little-endian."""
    if big:
        return (<int64_t>a << 24) | (<int64_t>b << 16) | (<int64_t>c << 8) | d
    return (<int64_t>d << 24) | (<int64_t>c << 16) | (<int64_t>b << 8) | a


cdef inline int64_t be16(uint8_t a, uint8_t b) noexcept nogil:
    return (<int64_t>a << 8) | b


cdef inline int64_t be32(uint8_t a, uint8_t b, uint8_t c, uint8_t d) noexcept nogil:
    return (<int64_t>a << 24) | (<int64_t>b << 16) | (<int64_t>c << 8) | d


cdef inline uint64_t be_bytes(
    const uint8_t[::1] buf, Py_ssize_t i, int n
) except? 0xFFFFFFFFFFFFFFFF nogil:
    """``n`` bytes (8 for an IPv6 half, 6 for a MAC) as a big-endian integer (error value all
    ones: rare as data, so the error test costs nothing)."""
    cdef uint64_t v = 0
    cdef int k
    for k in range(n):
        v = (v << 8) | buf[i + k]
    return v
