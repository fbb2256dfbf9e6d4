"""Build Arrow string/binary columns straight from numpy arrays, without Python strings.

Used by the flow builder for addresses, MACs, uids, histories and payload prefixes: formatting
happens in compiled code (``_text.pyx``) into one flat byte buffer plus offsets, wrapped as an
Arrow array for polars.

Example:
    >>> import numpy as np
    >>> ipv4_strings(np.array([0xFFFF_C0A8_0001], np.uint64)).to_list()
    ['192.168.0.1']
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import polars as pl
import pyarrow as pa

from hedgerow.flows._text import format_ipv4, format_macs, format_uids


def mac_strings(mac: npt.NDArray[np.uint64]) -> pl.Series:
    """``aa:bb:cc:dd:ee:ff`` per MAC (null for 0, i.e. no Ethernet header)."""
    n = mac.shape[0]
    return arrow_strings(format_macs(mac), np.arange(0, 17 * n + 1, 17, dtype=np.int32), mac != 0)


def uid_strings(h1: npt.NDArray[np.uint64], h2: npt.NDArray[np.uint64]) -> pl.Series:
    """Zeek-style uids: ``C`` + 11 base-62 digits of ``h1`` + 6 of ``h2``."""
    n = h1.shape[0]
    return arrow_strings(format_uids(h1, h2), np.arange(0, 18 * n + 1, 18, dtype=np.int32))


def arrow_strings(
    data: npt.NDArray[np.uint8],
    offsets: npt.NDArray[np.int32] | npt.NDArray[np.int64],
    valid: npt.NDArray[np.bool_] | None = None,
    binary: bool = False,
) -> pl.Series:
    """A polars String (or Binary) Series over a flat buffer and ``n + 1`` offsets (``int64``
    offsets for a buffer of 2 GiB or more)."""
    n = offsets.shape[0] - 1
    bitmap = None
    if valid is not None and not valid.all():
        bitmap = pa.py_buffer(np.packbits(valid, bitorder="little"))
    large = offsets.dtype == np.int64
    kind = (pa.large_binary() if large else pa.binary()) if binary else (
        pa.large_string() if large else pa.string())
    arr = pa.Array.from_buffers(
        kind,
        n,
        [bitmap, pa.py_buffer(offsets), pa.py_buffer(data)],
    )
    return arrow_series(arr)


class _CArray:
    """A pyarrow array seen only through the Arrow C data interface."""

    __slots__ = ("array",)

    def __init__(self, array: pa.Array) -> None:
        self.array = array

    def __arrow_c_array__(self, requested_schema: object | None = None) -> tuple[object, object]:
        return self.array.__arrow_c_array__(requested_schema)


def arrow_series(array: pa.Array) -> pl.Series:
    """A polars Series of a pyarrow array, handed over through the Arrow C data interface
    (polars' pyarrow path would first import ``pyarrow.compute``: about 40 ms per process).

    >>> arrow_series(pa.array([1, None])).to_list()
    [1, None]
    """
    return pl.Series(values=_CArray(array))


def ipv4_strings(lo: npt.NDArray[np.uint64]) -> pl.Series:
    """Dotted quads of the low 32 bits of ``lo``."""
    data, offsets = format_ipv4(lo)
    return arrow_strings(data, offsets)
