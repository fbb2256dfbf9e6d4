"""Build Arrow string/binary columns straight from numpy arrays (numba), without Python strings.

Used by the flow builder for addresses, histories and payload prefixes: formatting happens in
compiled code into one flat byte buffer plus offsets, wrapped as an Arrow array for polars.

Example:
    >>> import numpy as np
    >>> ipv4_strings(np.array([0xFFFF_C0A8_0001], np.uint64)).to_list()
    ['192.168.0.1']
"""

from __future__ import annotations

import numba as nb
import numpy as np
import numpy.typing as npt
import polars as pl
import pyarrow as pa


@nb.njit(cache=True)
def _format_ipv4(lo: npt.NDArray[np.uint64]) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.int32]]:
    n = lo.shape[0]
    out = np.empty(n * 15, np.uint8)
    offsets = np.zeros(n + 1, np.int32)
    pos = 0
    for i in range(n):
        a = np.int64(lo[i] & np.uint64(0xFFFFFFFF))
        for shift in (24, 16, 8, 0):
            o = (a >> shift) & 255
            if o >= 100:
                out[pos] = 48 + o // 100
                out[pos + 1] = 48 + (o // 10) % 10
                out[pos + 2] = 48 + o % 10
                pos += 3
            elif o >= 10:
                out[pos] = 48 + o // 10
                out[pos + 1] = 48 + o % 10
                pos += 2
            else:
                out[pos] = 48 + o
                pos += 1
            if shift:
                out[pos] = 46
                pos += 1
        offsets[i + 1] = pos
    return out[:pos], offsets


@nb.njit(cache=True)
def _pack_rows(
    chars: npt.NDArray[np.uint8], lengths: npt.NDArray[np.int64]
) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.int32]]:
    n = lengths.shape[0]
    offsets = np.zeros(n + 1, np.int32)
    for i in range(n):
        offsets[i + 1] = offsets[i] + lengths[i]
    out = np.empty(offsets[n], np.uint8)
    for i in range(n):
        base = offsets[i]
        for j in range(lengths[i]):
            out[base + j] = chars[i, j]
    return out, offsets


@nb.njit(cache=True)
def _format_macs(mac: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint8]:
    n = mac.shape[0]
    out = np.empty(n * 17, np.uint8)
    for i in range(n):
        v = mac[i]
        for j in range(12):
            nibble = np.int64((v >> np.uint64(44 - 4 * j)) & np.uint64(15))
            out[i * 17 + j + j // 2] = 48 + nibble if nibble < 10 else 87 + nibble
        for j in range(5):
            out[i * 17 + 2 + 3 * j] = 58  # ':'
    return out


@nb.njit(cache=True)
def _format_uids(h1: npt.NDArray[np.uint64], h2: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint8]:
    digits = np.frombuffer(
        b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", np.uint8
    )
    n = h1.shape[0]
    out = np.empty(n * 18, np.uint8)
    base = np.uint64(62)
    for i in range(n):
        out[i * 18] = 67  # 'C'
        v = h1[i]
        for j in range(11):
            out[i * 18 + 1 + j] = digits[np.int64(v % base)]
            v //= base
        v = h2[i]
        for j in range(6):
            out[i * 18 + 12 + j] = digits[np.int64(v % base)]
            v //= base
    return out


def mac_strings(mac: npt.NDArray[np.uint64]) -> pl.Series:
    """``aa:bb:cc:dd:ee:ff`` per MAC (null for 0, i.e. no Ethernet header)."""
    n = mac.shape[0]
    return arrow_strings(_format_macs(mac), np.arange(0, 17 * n + 1, 17, dtype=np.int32), mac != 0)


def uid_strings(h1: npt.NDArray[np.uint64], h2: npt.NDArray[np.uint64]) -> pl.Series:
    """Zeek-style uids: ``C`` + 11 base-62 digits of ``h1`` + 6 of ``h2``."""
    n = h1.shape[0]
    return arrow_strings(_format_uids(h1, h2), np.arange(0, 18 * n + 1, 18, dtype=np.int32))


def arrow_strings(
    data: npt.NDArray[np.uint8],
    offsets: npt.NDArray[np.int32],
    valid: npt.NDArray[np.bool_] | None = None,
    binary: bool = False,
) -> pl.Series:
    """A polars String (or Binary) Series over a flat buffer and ``n + 1`` offsets."""
    n = offsets.shape[0] - 1
    bitmap = None
    if valid is not None and not valid.all():
        bitmap = pa.py_buffer(np.packbits(valid, bitorder="little"))
    arr = pa.Array.from_buffers(
        pa.binary() if binary else pa.string(),
        n,
        [bitmap, pa.py_buffer(offsets), pa.py_buffer(data)],
    )
    return pl.Series(values=arr)


def ipv4_strings(lo: npt.NDArray[np.uint64]) -> pl.Series:
    """Dotted quads of the low 32 bits of ``lo``."""
    data, offsets = _format_ipv4(lo)
    return arrow_strings(data, offsets)


def row_strings(
    chars: npt.NDArray[np.uint8], lengths: npt.NDArray[np.int64], null_if_empty: bool = False
) -> pl.Series:
    """Strings made of the first ``lengths[i]`` bytes of each row of ``chars``."""
    data, offsets = _pack_rows(chars, lengths)
    return arrow_strings(data, offsets, (lengths > 0) if null_if_empty else None)
