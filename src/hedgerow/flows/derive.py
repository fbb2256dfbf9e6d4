"""Per-flow values derived from flow-table rows, shared by the frame builder and the TSV writer.

Numpy only (no dataframe library), so both outputs agree by construction: orientation
(originator = direction 0), uids, TCP payload sizes from sequence ranges, ``conn_state`` codes,
IPv6 address texts.

Example:
    >>> import numpy as np
    >>> hi = np.zeros(2, np.uint64)
    >>> lo = np.array([0xFFFF_0A00_0001, 1], np.uint64)
    >>> ipv4_mapped(hi, lo).tolist(), ipv6_texts(hi[1:], lo[1:])
    ([True, False], (['::1'], array([0])))
"""

from __future__ import annotations

import ipaddress

import numpy as np
import numpy.typing as npt

from hedgerow.flows import kernels as k

PROTO_NAMES = [
    {6: "tcp", 17: "udp", 1: "icmp", 58: "icmp", 254: "arp"}.get(p, "unknown_transport")
    for p in range(256)
]
"""``proto`` text by IP protocol number (254: the meter's ARP pseudo-protocol)."""

STATES = [
    "REJ",
    "RSTRH",
    "RSTR",
    "RSTOS0",
    "OTH",
    "RSTO",
    "SF",
    "SH",
    "S2",
    "SHR",
    "S3",
    "S0",
    "S1",
]
"""``conn_state`` text by the codes of :func:`hedgerow.flows.kernels.conn_state`."""

_MAPPED = np.uint64(0x0000_FFFF_0000_0000)
_V4_MASK = np.uint64(0xFFFF_FFFF_0000_0000)


def ipv4_mapped(hi: npt.NDArray[np.uint64], lo: npt.NDArray[np.uint64]) -> npt.NDArray[np.bool_]:
    """Which 128-bit addresses are IPv4 (mapped as ``::ffff:a.b.c.d``)."""
    return (hi == 0) & ((lo & _V4_MASK) == _MAPPED)


def ipv6_texts(
    hi: npt.NDArray[np.uint64], lo: npt.NDArray[np.uint64]
) -> tuple[list[str], npt.NDArray[np.intp]]:
    """Compressed text of each distinct address, and each address's index into that list."""
    pairs = np.stack([hi, lo], axis=1)
    uniq, inverse = np.unique(pairs, axis=0, return_inverse=True)
    names = [
        ipaddress.IPv6Address((int(h) << 64) | int(low)).compressed for h, low in uniq.tolist()
    ]
    return names, inverse.reshape(-1)


def endpoints(
    t: k.FlowTable,
) -> tuple[
    npt.NDArray[np.uint64], npt.NDArray[np.uint64], npt.NDArray[np.int32], npt.NDArray[np.int32]
]:
    """Addresses (``hi``, ``lo``: originators then responders, ``2n``) and orig/resp ports."""
    oa = t.orig_is_a
    hi = np.concatenate([np.where(oa, t.a_hi, t.b_hi), np.where(oa, t.b_hi, t.a_hi)])
    lo = np.concatenate([np.where(oa, t.a_lo, t.b_lo), np.where(oa, t.b_lo, t.a_lo)])
    return hi, lo, np.where(oa, t.a_port, t.b_port), np.where(oa, t.b_port, t.a_port)


def uid_hashes(t: k.FlowTable) -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.uint64]]:
    """The two hashes behind a flow's uid (key and start time), see ``text.uid_strings``."""
    return k.uid_hashes(
        t.a_hi, t.a_lo, t.b_hi, t.b_lo, t.a_port, t.b_port, t.proto, t.vlan, t.first_ns
    )


def sizes_and_states(
    t: k.FlowTable,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.int8]]:
    """Payload bytes per direction (``(n, 2)``; TCP from sequence ranges), missed bytes, and
    ``conn_state`` codes (indexes into :data:`STATES`) by Zeek's decision table."""
    return k.sizes_and_states(
        t.proto, t.seq_start, t.seq_max, t.acked, t.fin_end, t.missed, t.seen, t.pay_bytes,
        t.state, t.pkts, t.history, t.hist_len,
    )  # fmt: skip
