"""Which end of each packet is a home address: the local networks plus link-scope addresses.

The features treat the two kinds of address differently. A home device's address (in the
configured local networks) is a stable identity: a conversation between two of them, or a port a
device serves, either happened during learning or it did not. A remote address is not: cloud
services are reached by name and their addresses rotate (load balancers, CDNs), so "never seen
this address" says little about a remote server. Multicast, broadcast, loopback and the
unspecified address never leave the home and count as local; so do frames without an IP layer.

Example:
    >>> import numpy as np
    >>> from hedgerow.model import LocalNetworks
    >>> table = scope_table(LocalNetworks.default())
    >>> hi = np.zeros(3, np.uint64)
    >>> lo = np.array([0xFFFF_C0A8_0105, 0xFFFF_0808_0808, 0xFFFF_EFFF_FFFA], dtype=np.uint64)
    >>> is_local(hi, lo, table).tolist()  # 192.168.1.5, 8.8.8.8, 239.255.255.250
    [True, False, True]
"""

from __future__ import annotations

import ipaddress

import numpy as np
import numpy.typing as npt
from numba import njit

from hedgerow.model import LocalNetworks

ALWAYS_LOCAL: tuple[str, ...] = (
    "0.0.0.0/8", "127.0.0.0/8", "224.0.0.0/4", "255.255.255.255/32",
    "::/128", "::1/128", "ff00::/8",
)  # fmt: skip
_ALL = (1 << 64) - 1

ScopeTable = tuple[npt.NDArray[np.uint64], npt.NDArray[np.uint64], npt.NDArray[np.uint64],
                   npt.NDArray[np.uint64]]  # fmt: skip


def scope_table(networks: LocalNetworks) -> ScopeTable:
    """(value hi, value lo, mask hi, mask lo) of every local prefix, IPv4 as IPv4-mapped IPv6
    (the way :class:`~hedgerow.capture.batch.PacketBatch` stores addresses)."""
    rows = []
    for net in (*networks.networks, *LocalNetworks.parse(ALWAYS_LOCAL).networks):
        if isinstance(net, ipaddress.IPv4Network):
            value = 0xFFFF_0000_0000 | int(net.network_address)
            prefix = 96 + net.prefixlen
        else:
            value, prefix = int(net.network_address), net.prefixlen
        mask = (((1 << 128) - 1) << (128 - prefix)) & ((1 << 128) - 1)
        rows.append((value >> 64, value & _ALL, mask >> 64, mask & _ALL))
    cols = np.array(rows, dtype=np.uint64).reshape(-1, 4).T.copy()
    return cols[0], cols[1], cols[2], cols[3]


@njit(cache=True)
def _match(
    hi: npt.NDArray[np.uint64], lo: npt.NDArray[np.uint64], vhi: npt.NDArray[np.uint64],
    vlo: npt.NDArray[np.uint64], mhi: npt.NDArray[np.uint64], mlo: npt.NDArray[np.uint64],
) -> npt.NDArray[np.bool_]:  # pragma: no cover - compiled
    out = np.zeros(hi.shape[0], dtype=np.bool_)
    for p in range(hi.shape[0]):
        for k in range(vhi.shape[0]):
            if (hi[p] & mhi[k]) == vhi[k] and (lo[p] & mlo[k]) == vlo[k]:
                out[p] = True
                break
    return out


def is_local(
    hi: npt.NDArray[np.uint64], lo: npt.NDArray[np.uint64], table: ScopeTable
) -> npt.NDArray[np.bool_]:
    """Whether each 128-bit address lies in one of ``table``'s prefixes."""
    return _match(hi, lo, *table)
