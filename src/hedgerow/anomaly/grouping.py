"""Vectorised helpers for grouping anomalous packets: local-address masks and sorted groups.

Example:
    >>> import numpy as np
    >>> from hedgerow.model import LocalNetworks
    >>> lo = np.array([0xFFFF_C0A8_0105, 0xFFFF_0808_0808], dtype=np.uint64)
    >>> local_mask(np.zeros(2, np.uint64), lo, LocalNetworks.default()).tolist()
    [True, False]
    >>> order, starts = sorted_groups(np.array([[2, 1], [1, 5], [2, 1]], dtype=np.uint64))
    >>> order.tolist(), starts.tolist()
    ([1, 0, 2], [0, 1])
"""

from __future__ import annotations

import ipaddress

import numpy as np
import numpy.typing as npt
from numba import njit

from hedgerow.model import LocalNetworks

_V4_MAPPED = np.uint64(0x0000_FFFF_0000_0000)
_HIGH32 = np.uint64(0xFFFF_FFFF_0000_0000)
_LOW32 = np.uint64(0xFFFF_FFFF)
_ALL = (1 << 64) - 1


def local_mask(
    hi: npt.NDArray[np.uint64], lo: npt.NDArray[np.uint64], networks: LocalNetworks
) -> npt.NDArray[np.bool_]:
    """Which 128-bit addresses (IPv4 mapped to ``::ffff:0:0/96``) lie in the local networks."""
    out = np.zeros(hi.shape[0], dtype=bool)
    v4 = (hi == 0) & ((lo & _HIGH32) == _V4_MAPPED)
    for net in networks.networks:
        if isinstance(net, ipaddress.IPv4Network):
            shift = np.uint64(32 - net.prefixlen)
            base = np.uint64(int(net.network_address)) >> shift
            out |= v4 & (((lo & _LOW32) >> shift) == base)
        else:
            value = int(net.network_address)
            mask = (((1 << 128) - 1) << (128 - net.prefixlen)) & ((1 << 128) - 1)
            mhi, mlo = np.uint64(mask >> 64), np.uint64(mask & _ALL)
            vhi, vlo = np.uint64(value >> 64), np.uint64(value & _ALL)
            out |= ~v4 & ((hi & mhi) == vhi) & ((lo & mlo) == vlo)
    return out


def sorted_groups(
    keys: npt.NDArray[np.uint64],
) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]:
    """Row order sorting ``keys`` (``n × m``) and the start of each run of equal keys."""
    order = np.lexsort(keys.T[::-1])
    ordered = keys[order]
    change = np.any(ordered[1:] != ordered[:-1], axis=1)
    starts = np.concatenate([[0], np.flatnonzero(change) + 1]).astype(np.intp)
    return order.astype(np.intp), starts


def top_per_group(
    group: npt.NDArray[np.intp], count: npt.NDArray[np.int64], k: int
) -> npt.NDArray[np.intp]:
    """Indices of the ``k`` largest ``count`` within each ``group`` (ties: first seen)."""
    order = np.lexsort((-count, group))
    g = group[order]
    first = np.concatenate([[0], np.flatnonzero(g[1:] != g[:-1]) + 1])
    rank = np.arange(g.shape[0]) - np.repeat(first, np.diff(np.append(first, g.shape[0])))
    return order[rank < k].astype(np.intp)


@njit(cache=True)
def group_reduce(
    X: npt.NDArray[np.float32],
    rows: npt.NDArray[np.intp],
    group: npt.NDArray[np.intp],
    n_groups: int,
    values: npt.NDArray[np.float32],
    ts: npt.NDArray[np.float64],
) -> tuple[
    npt.NDArray[np.float64], npt.NDArray[np.float32], npt.NDArray[np.float64]
]:  # pragma: no cover - compiled
    """Per group: sum of the ``X`` rows, max of each ``values`` column, and first/last ``ts``.

    ``rows[i]`` is a row of ``X``/``values``/``ts`` belonging to group ``group[i]``.
    """
    fsum = np.zeros((n_groups, X.shape[1]))
    peaks = np.full((n_groups, values.shape[1]), -np.inf, dtype=np.float32)
    span = np.empty((n_groups, 2))
    span[:, 0] = np.inf
    span[:, 1] = -np.inf
    for i in range(rows.shape[0]):
        r = rows[i]
        g = group[i]
        for j in range(X.shape[1]):
            fsum[g, j] += X[r, j]
        for j in range(values.shape[1]):
            peaks[g, j] = max(peaks[g, j], values[r, j])
        span[g, 0] = min(span[g, 0], ts[r])
        span[g, 1] = max(span[g, 1], ts[r])
    return fsum, peaks, span
