"""Vectorised choice of the packets worth parsing for the inventory.

Everything here is array arithmetic over a whole :class:`PacketBatch`; only the rows chosen
are later parsed one by one, and at most ``limit`` of them per source and protocol per batch.

Example:
    >>> from hedgerow.capture.batch import PacketBatch
    >>> sorted(candidates(PacketBatch.empty(0)))
    ['dhcp', 'dns', 'dns_answer', 'http_request', 'http_response', 'mdns', 'ssdp', 'tls']
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from hedgerow.capture.batch import PacketBatch

_UDP, _TCP = 17, 6
UDP_SERVICE_PORTS = np.array([53, 69, 123, 161, 1900, 3702, 5353, 5683, 10001, 11211, 37810],
                             dtype=np.uint16)
"""UDP services whose answers to the internet show a device reachable (and abusable for
reflection) from outside: DNS, TFTP, NTP, SNMP, SSDP, WS-Discovery, mDNS, CoAP, Ubiquiti
discovery, memcached, the DVR discovery service of the 37810 reflection attacks."""
_HTTP_REQUEST_HEADS = [b"GET ", b"POST", b"HEAD", b"PUT ", b"NOTI", b"SUBS"]


def _word(batch: PacketBatch, rows: npt.NDArray[np.intp]) -> npt.NDArray[np.uint32]:
    """The first four payload bytes of ``rows`` as big-endian integers (rows need 4 bytes)."""
    heads = batch.data[batch.payload_off[rows][:, None] + np.arange(4)]
    return heads.view(">u4")[:, 0].astype(np.uint32)


def _as_int(head: bytes) -> int:
    return int.from_bytes(head, "big")


def cap_per_group(keys: npt.NDArray[np.uint64], limit: int) -> npt.NDArray[np.bool_]:
    """Mask keeping the first ``limit`` rows of each distinct key (in row order)."""
    if keys.size <= limit:
        return np.ones(keys.size, dtype=bool)
    order = np.argsort(keys, kind="stable")
    sorted_keys = keys[order]
    starts = np.flatnonzero(np.concatenate(([True], sorted_keys[1:] != sorted_keys[:-1])))
    group_start = np.repeat(starts, np.diff(starts, append=keys.size))
    rank = np.arange(keys.size) - group_start
    keep = np.zeros(keys.size, dtype=bool)
    keep[order] = rank < limit
    return keep


def candidates(batch: PacketBatch, limit: int = 256) -> dict[str, npt.NDArray[np.intp]]:
    """Row indices of the batch per parser, capped at ``limit`` per source and parser."""
    udp = np.flatnonzero(batch.proto == _UDP)
    cap = batch.payload_cap[udp]
    sport, dport = batch.sport[udp], batch.dport[udp]
    cap12 = cap >= 12
    found: dict[str, npt.NDArray[np.intp]] = {
        "dhcp": udp[(cap >= 240) & (((sport == 68) & (dport == 67)) |
                                    ((sport == 67) & (dport == 68)))],
        "dns": udp[cap12 & (dport == 53)],
        "dns_answer": udp[cap12 & (sport == 53)],
        "mdns": udp[cap12 & ((sport == 5353) | (dport == 5353))],
        "ssdp": udp[(cap >= 16) & ((dport == 1900) | (sport == 1900))],
    }
    tcp4 = np.flatnonzero((batch.proto == _TCP) & (batch.payload_cap >= 6))
    words = _word(batch, tcp4)
    data = batch.data
    offs = batch.payload_off[tcp4]
    found["http_request"] = tcp4[np.isin(words, [_as_int(h) for h in _HTTP_REQUEST_HEADS])]
    found["http_response"] = tcp4[words == _as_int(b"HTTP")]
    found["tls"] = tcp4[((words >> np.uint32(16)) == 0x1603) &
                        np.isin(data[offs + 5], (1, 2))]
    out: dict[str, npt.NDArray[np.intp]] = {}
    for name, rows in found.items():
        source = batch.eth_src[rows] ^ batch.src_lo[rows] ^ (batch.src_hi[rows] << np.uint64(1))
        out[name] = rows[cap_per_group(source, limit)]
    return out
