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
"""``conn_state`` text by the codes of :func:`hedgerow.flows.kernels.conn_state_codes`."""

_MAPPED = np.uint64(0x0000_FFFF_0000_0000)
_V4_MASK = np.uint64(0xFFFF_FFFF_0000_0000)
_ACK_SLACK = 1 << 24
"""Peer ACKs extend an endpoint's size over unseen data only up to this many bytes (guards
against acknowledgement numbers from another sequence space)."""


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
    h1 = _splitmix(t.a_lo ^ _splitmix(t.b_lo ^ t.first_ns.astype(np.uint64)))
    h1 = _splitmix(h1 ^ t.a_hi ^ (t.b_hi * np.uint64(3)))
    ports = (t.a_port.astype(np.uint64) << np.uint64(32)) | t.b_port.astype(np.uint64)
    h2 = _splitmix(
        h1
        ^ ports
        ^ (t.proto.astype(np.uint64) << np.uint64(20))
        ^ (t.vlan.astype(np.uint64) << np.uint64(48))
    )
    return h1, h2


def _splitmix(x: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint64]:
    with np.errstate(over="ignore"):
        z = x + np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


def _tcp_sizes(t: k.FlowTable) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Payload bytes per endpoint from sequence ranges, and bytes missed (gaps + acked unseen)."""
    end = t.seq_max.copy()
    fin_cap = np.where(t.fin_end >= 0, t.fin_end, np.iinfo(np.int64).max)
    acked = np.minimum(t.acked, fin_cap)
    extend = (acked > end) & (acked - end <= _ACK_SLACK)
    unseen = np.where(extend, acked - end, 0)
    end = np.where(extend, acked, end)
    size = np.where(t.seen, np.maximum(end - t.seq_start, 0), 0)
    return size, t.missed + unseen


def sizes(t: k.FlowTable) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Payload bytes per direction (``(n, 2)``; TCP from sequence ranges) and missed bytes."""
    is_tcp = (t.proto == 6)[:, None]
    tcp_size, tcp_missed = _tcp_sizes(t)
    size = np.where(is_tcp, tcp_size, t.pay_bytes)
    missed = np.where(is_tcp, tcp_missed, 0).sum(axis=1)
    return size, missed


def state_codes(t: k.FlowTable, size: npt.NDArray[np.int64]) -> npt.NDArray[np.int8]:
    """``conn_state`` codes (indexes into :data:`STATES`) by Zeek's decision table."""
    is_tcp = t.proto == 6
    is_udp = (t.proto == 17) | (t.proto == 254)  # ARP exchanges get UDP-like states
    rstos0 = k.rstos0_history(t.history, t.hist_len)
    return k.conn_state_codes(t.state, size, t.pkts, rstos0, is_tcp, is_udp)
