"""Address columns of a PacketBatch as text, converted once per distinct value.

Example:
    >>> import numpy as np
    >>> hi = np.zeros(3, dtype=np.uint64)
    >>> lo = np.array([0xFFFF_0A0A_0A06, 0xFFFF_0A0A_0A06, 0xFFFF_0808_0808], dtype=np.uint64)
    >>> texts, inverse = ip_texts(hi, lo)
    >>> [str(texts[i]) for i in inverse]
    ['10.10.10.6', '10.10.10.6', '8.8.8.8']
    >>> mac_text(0x908D78DD0D60)
    '90:8d:78:dd:0d:60'
"""

from __future__ import annotations

import ipaddress

import numpy as np
import numpy.typing as npt

from hedgerow.model import LocalNetworks

_MAPPED = 0x0000_FFFF_0000_0000


def ip_text(hi: int, lo: int) -> str:
    """One 128-bit address (IPv4 mapped as ``::ffff:a.b.c.d``) as text."""
    if hi == 0 and (lo >> 32) == 0xFFFF:
        return str(ipaddress.IPv4Address(lo & 0xFFFF_FFFF))
    return str(ipaddress.IPv6Address((hi << 64) | lo))


def ip_texts(
    hi: npt.NDArray[np.uint64], lo: npt.NDArray[np.uint64]
) -> tuple[npt.NDArray[np.object_], npt.NDArray[np.intp]]:
    """Distinct addresses as text, and for each row the index of its text."""
    if hi.size == 0:
        return np.empty(0, dtype=object), np.empty(0, dtype=np.intp)
    pairs = np.stack([hi, lo], axis=1)
    uniq, inverse = np.unique(pairs, axis=0, return_inverse=True)
    texts = np.array([ip_text(int(h), int(low)) for h, low in uniq], dtype=object)
    return texts, inverse.reshape(-1)


def local_mask(texts: npt.NDArray[np.object_], nets: LocalNetworks) -> npt.NDArray[np.bool_]:
    """Which of the distinct addresses are local (unspecified addresses are not)."""
    return np.array(
        [t not in ("0.0.0.0", "::") and nets.is_local(str(t)) for t in texts], dtype=bool
    )


def mac_text(value: int) -> str:
    return int(value).to_bytes(6, "big").hex(":")


def is_unicast_mac(values: npt.NDArray[np.uint64]) -> npt.NDArray[np.bool_]:
    """Non-zero, not group (multicast/broadcast) addresses."""
    return (values != 0) & ((values >> np.uint64(40)) & np.uint64(1) == 0)
