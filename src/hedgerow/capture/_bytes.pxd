# cython: language_level=3
"""Integer reads from a byte memoryview, shared by the record walkers and the header decoder.

Every read goes through the memoryview, so the modules that cimport these keep Cython's bounds
checking (an out-of-range offset raises ``IndexError``; it never reads past the buffer). The
error values (-1, all ones) are never or rarely results, so the error test costs nothing.
"""

from libc.stdint cimport int64_t, uint8_t, uint64_t


cdef inline int64_t u16(const uint8_t[::1] buf, Py_ssize_t i, bint swapped) except? -1 nogil:
    cdef int64_t a = buf[i]
    cdef int64_t b = buf[i + 1]
    return (a << 8) | b if swapped else (b << 8) | a


cdef inline int64_t u32(const uint8_t[::1] buf, Py_ssize_t i, bint swapped) except? -1 nogil:
    cdef int64_t a = buf[i]
    cdef int64_t b = buf[i + 1]
    cdef int64_t c = buf[i + 2]
    cdef int64_t d = buf[i + 3]
    if swapped:
        return (a << 24) | (b << 16) | (c << 8) | d
    return (d << 24) | (c << 16) | (b << 8) | a


cdef inline int64_t be16(const uint8_t[::1] buf, Py_ssize_t i) except? -1 nogil:
    return (<int64_t>buf[i] << 8) | buf[i + 1]


cdef inline int64_t be32(const uint8_t[::1] buf, Py_ssize_t i) except? -1 nogil:
    return ((<int64_t>buf[i] << 24) | (<int64_t>buf[i + 1] << 16)
            | (<int64_t>buf[i + 2] << 8) | buf[i + 3])


cdef inline uint64_t be_bytes(const uint8_t[::1] buf, Py_ssize_t i, int n) except? 0xFFFFFFFFFFFFFFFF nogil:
    """``n`` bytes (8 for an IPv6 half, 6 for a MAC) as a big-endian integer."""
    cdef uint64_t v = 0
    cdef int k
    for k in range(n):
        v = (v << 8) | buf[i + k]
    return v
