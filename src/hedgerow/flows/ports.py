"""Port knowledge of the flow meter: Zeek's likely server ports and ICMP type pairing.

Example:
    >>> bool(LIKELY_SERVER_TCP[80]), bool(LIKELY_SERVER_TCP[50000])
    (True, False)
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

_TCP_SERVERS = (
    21,
    22,
    23,
    25,
    53,
    79,
    80,
    88,
    102,
    110,
    111,
    135,
    139,
    143,
    179,
    389,
    443,
    445,
    502,
    513,
    514,
    543,
    544,
    587,
    631,
    636,
    873,
    902,
    989,
    990,
    992,
    993,
    995,
    1080,
    1433,
    1521,
    1723,
    1883,
    2049,
    2323,
    3128,
    3306,
    3389,
    5060,
    5061,
    5222,
    5269,
    5432,
    5900,
    5901,
    6379,
    6666,
    6667,
    6668,
    6669,
    8000,
    8008,
    8080,
    8081,
    8443,
    8883,
    8888,
    9200,
    11211,
    20000,
    27017,
    44818,
)
_UDP_SERVERS = (
    53,
    67,
    69,
    123,
    137,
    138,
    161,
    162,
    443,
    500,
    514,
    547,
    1812,
    1813,
    1900,
    2152,
    3389,
    3478,
    4500,
    4789,
    5060,
    5353,
    5355,
    5683,
    6081,
    11211,
    37810,
    47808,
)


def _table(ports: tuple[int, ...]) -> npt.NDArray[np.bool_]:
    out = np.zeros(65536, np.bool_)
    out[list(ports)] = True
    return out


LIKELY_SERVER_TCP = _table(_TCP_SERVERS)
"""Zeek's ``likely_server_ports`` (TCP) as a lookup table: a non-SYN first packet *from*
such a port (to a port that is not) makes the receiver the originator."""
LIKELY_SERVER_UDP = _table(_UDP_SERVERS)
"""The same for UDP."""

# ICMP request type -> reply type (ICMPv4 and ICMPv6), as Zeek pairs them in one connection.
_ICMP4_PAIRS = {8: 0, 13: 14, 15: 16, 17: 18, 10: 9}
_ICMP6_PAIRS = {128: 129, 133: 134, 135: 136, 130: 131, 139: 140}


def _pair_tables() -> tuple[npt.NDArray[np.int32], npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
    counter = np.full((2, 256), -1, np.int32)
    reply = np.zeros((2, 256), np.bool_)
    request = np.zeros((2, 256), np.bool_)
    for row, pairs in enumerate((_ICMP4_PAIRS, _ICMP6_PAIRS)):
        for req, rep in pairs.items():
            counter[row, req] = rep
            counter[row, rep] = req
            request[row, req] = True
            reply[row, rep] = True
    return counter, request, reply


_COUNTER, _REQUEST, _REPLY = _pair_tables()


def icmp_ports(
    proto: npt.NDArray[np.uint8], sport: npt.NDArray[np.uint16], dport: npt.NDArray[np.uint16]
) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.int32], npt.NDArray[np.bool_]]:
    """Flow-key ports: TCP/UDP ports as they are; ICMP as Zeek keys it.

    The decoder puts ICMP type/code in ``sport``/``dport``. Request/reply types (echo, ...)
    get ports (own type, counterpart type), so a request and its reply share one flow, and a
    reply marks its receiver as the originator (``prefer_resp``); other types keep (type, code).

    Example:
        >>> s, d, r = icmp_ports(np.array([1, 1], np.uint8), np.array([8, 0], np.uint16),
        ...                      np.array([0, 0], np.uint16))
        >>> s.tolist(), d.tolist(), r.tolist()
        ([8, 0], [0, 8], [False, True])
    """
    sp = sport.astype(np.int32)
    dp = dport.astype(np.int32)
    prefer = np.zeros(sp.shape[0], np.bool_)
    is4 = proto == 1
    is6 = proto == 58
    if not (is4.any() or is6.any()):
        return sp, dp, prefer
    for row, sel in ((0, is4), (1, is6)):
        idx = np.flatnonzero(sel)
        if idx.shape[0] == 0:
            continue
        types = sp[idx] & 0xFF
        counter = _COUNTER[row, types]
        paired = counter >= 0
        dp[idx[paired]] = counter[paired]
        prefer[idx] = _REPLY[row, types]
    return sp, dp, prefer
