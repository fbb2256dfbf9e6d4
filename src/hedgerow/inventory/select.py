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
    offs = batch.payload_off[rows]
    data = batch.data
    out = np.zeros(rows.size, dtype=np.uint32)
    for i in range(4):
        out = (out << np.uint32(8)) | data[offs + i].astype(np.uint32)
    return out


def _as_int(head: bytes) -> int:
    return int.from_bytes(head, "big")


def cap_per_group(keys: npt.NDArray[np.uint64], limit: int) -> npt.NDArray[np.bool_]:
    """Mask keeping the first ``limit`` rows of each distinct key (in row order)."""
    if keys.size == 0:
        return np.zeros(0, dtype=bool)
    order = np.argsort(keys, kind="stable")
    sorted_keys = keys[order]
    starts = np.r_[0, np.nonzero(sorted_keys[1:] != sorted_keys[:-1])[0] + 1]
    group_start = np.repeat(starts, np.diff(np.r_[starts, keys.size]))
    rank = np.arange(keys.size) - group_start
    keep = np.zeros(keys.size, dtype=bool)
    keep[order] = rank < limit
    return keep


def candidates(batch: PacketBatch, limit: int = 256) -> dict[str, npt.NDArray[np.intp]]:
    """Row indices of the batch per parser, capped at ``limit`` per source and parser."""
    udp = batch.proto == _UDP
    tcp = batch.proto == _TCP
    cap = batch.payload_cap
    sport, dport = batch.sport, batch.dport
    masks: dict[str, npt.NDArray[np.bool_]] = {
        "dhcp": udp & (cap >= 240) & (((sport == 68) & (dport == 67)) |
                                      ((sport == 67) & (dport == 68))),
        "dns": udp & (cap >= 12) & (dport == 53),
        "dns_answer": udp & (cap >= 12) & (sport == 53),
        "mdns": udp & (cap >= 12) & ((sport == 5353) | (dport == 5353)),
        "ssdp": udp & (cap >= 16) & ((dport == 1900) | (sport == 1900)),
    }
    tcp4 = np.nonzero(tcp & (cap >= 6))[0]
    words = _word(batch, tcp4)
    req = np.isin(words, [_as_int(h) for h in _HTTP_REQUEST_HEADS])
    resp = words == _as_int(b"HTTP")
    data = batch.data
    offs = batch.payload_off[tcp4]
    tls = (data[offs] == 0x16) & (data[offs + 1] == 0x03) & np.isin(data[offs + 5], (1, 2))
    n = len(batch)
    for name, sel in (("http_request", req), ("http_response", resp), ("tls", tls)):
        mask = np.zeros(n, dtype=bool)
        mask[tcp4[sel]] = True
        masks[name] = mask
    source = batch.eth_src ^ batch.src_lo ^ (batch.src_hi << np.uint64(1))
    out: dict[str, npt.NDArray[np.intp]] = {}
    for name, mask in masks.items():
        rows = np.nonzero(mask)[0]
        out[name] = rows[cap_per_group(source[rows], limit)]
    return out
