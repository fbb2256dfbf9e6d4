"""Address columns of a PacketBatch: locality tested on the numbers, text made only on demand.

Example:
    >>> import numpy as np
    >>> from hedgerow.model import LocalNetworks
    >>> hi = np.zeros(3, dtype=np.uint64)
    >>> lo = np.array([0xFFFF_0A0A_0A06, 0xFFFF_0A0A_0A06, 0xFFFF_0808_0808], dtype=np.uint64)
    >>> local_mask(hi, lo, LocalNetworks.default()).tolist()
    [True, True, False]
    >>> ip_text(0, 0xFFFF_0808_0808), mac_text(0x908D78DD0D60)
    ('8.8.8.8', '90:8d:78:dd:0d:60')
"""

from __future__ import annotations

import ipaddress

import numpy as np
import numpy.typing as npt

from hedgerow.model import LocalNetworks

_MAPPED = np.uint64(0xFFFF_0000_0000)
_LOW32 = np.uint64(0xFFFF_FFFF)
_ALL = (1 << 64) - 1


def ip_text(hi: int, lo: int) -> str:
    """One 128-bit address (IPv4 mapped as ``::ffff:a.b.c.d``) as text."""
    hi, lo = int(hi), int(lo)
    if hi == 0 and (lo >> 32) == 0xFFFF:
        return str(ipaddress.IPv4Address(lo & 0xFFFF_FFFF))
    return str(ipaddress.IPv6Address((hi << 64) | lo))


def is_ipv4(hi: npt.NDArray[np.uint64], lo: npt.NDArray[np.uint64]) -> npt.NDArray[np.bool_]:
    return (hi == 0) & ((lo & ~_LOW32) == _MAPPED)


def local_mask(hi: npt.NDArray[np.uint64], lo: npt.NDArray[np.uint64],
               nets: LocalNetworks) -> npt.NDArray[np.bool_]:
    """Which addresses fall in the local networks (unspecified ones never do); vectorised."""
    v4 = is_ipv4(hi, lo)
    low = lo.astype(np.uint32)
    unspecified = np.where(v4, low == 0, (hi == 0) & (lo == 0))
    return _network_match(hi, lo, v4, nets, mapped_in_v6=True) & ~unspecified


def is_group_address(hi: npt.NDArray[np.uint64],
                     lo: npt.NDArray[np.uint64]) -> npt.NDArray[np.bool_]:
    """Multicast and limited-broadcast addresses (IPv4 224/4 and 255.255.255.255, IPv6 ff00::/8)."""
    v4 = is_ipv4(hi, lo)
    low = lo & _LOW32
    return (v4 & (((low >> np.uint64(28)) == 0xE) | (low == _LOW32))) | \
        (~v4 & ((hi >> np.uint64(56)) == 0xFF))


def in_networks(hi: npt.NDArray[np.uint64], lo: npt.NDArray[np.uint64],
                nets: LocalNetworks) -> npt.NDArray[np.bool_]:
    """Which addresses fall in the networks, each answered as :meth:`LocalNetworks.is_local`
    answers for its text (IPv4, mapped, against the IPv4 networks only; unspecified addresses
    like any other); vectorised.

    >>> hi = np.zeros(2, dtype=np.uint64)
    >>> lo = np.array([0xFFFF_0000_0000, 0xFFFF_C0A8_0101], dtype=np.uint64)
    >>> in_networks(hi, lo, LocalNetworks.parse(["0.0.0.0/8", "::/0"])).tolist()
    [True, False]
    """
    return _network_match(hi, lo, is_ipv4(hi, lo), nets, mapped_in_v6=False)


def _network_match(hi: npt.NDArray[np.uint64], lo: npt.NDArray[np.uint64],
                   v4: npt.NDArray[np.bool_], nets: LocalNetworks, *,
                   mapped_in_v6: bool) -> npt.NDArray[np.bool_]:
    """Addresses inside any of the networks; IPv4 ones (``v4``) match the IPv4 networks, and
    the IPv6 networks too (as ``::ffff:a.b.c.d``) when ``mapped_in_v6``."""
    low = lo.astype(np.uint32)  # an IPv4 address is the low 32 bits of its mapped form
    in_v4 = np.zeros(hi.shape, dtype=bool)
    out = np.zeros(hi.shape, dtype=bool)
    for net in nets.networks:
        if net.version == 4:
            mask = np.uint32((0xFFFF_FFFF << (32 - net.prefixlen)) & 0xFFFF_FFFF)
            in_v4 |= (low & mask) == np.uint32(int(net.network_address))
            continue
        bits = (1 << 128) - (1 << (128 - net.prefixlen)) if net.prefixlen else 0
        addr = int(net.network_address)
        hit = (hi & np.uint64(bits >> 64)) == np.uint64(addr >> 64)
        if net.prefixlen > 64:
            hit &= (lo & np.uint64(bits & _ALL)) == np.uint64(addr & _ALL)
        out |= hit if mapped_in_v6 else hit & ~v4
    return out | (in_v4 & v4)


def mac_text(value: int) -> str:
    return int(value).to_bytes(6, "big").hex(":")


def is_unicast_mac(values: npt.NDArray[np.uint64]) -> npt.NDArray[np.bool_]:
    """Non-zero, not group (multicast/broadcast) addresses."""
    return (values != 0) & ((values >> np.uint64(40)) & np.uint64(1) == 0)
