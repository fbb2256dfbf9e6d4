"""Turn emitted flow-table rows into a FlowBatch (one polars frame per emitted chunk).

Everything is vectorised: addresses and MACs are formatted once per unique value, TCP payload
sizes come from sequence ranges (as Zeek counts them), ``conn_state`` follows Zeek's
``conn_state()`` decision table, and ``uid`` is Zeek-style (``C`` + base62 of a hash of the
5-tuple and start time), deterministic for the same traffic.

Example:
    >>> import numpy as np
    >>> from hedgerow.flows.kernels import FlowTable
    >>> build_flows(FlowTable.allocate(0), np.zeros((0, 2, 128), np.uint8)).height
    0
"""

from __future__ import annotations

import ipaddress

import numpy as np
import numpy.typing as npt
import polars as pl
import pyarrow as pa

from hedgerow.flows import kernels as k
from hedgerow.flows.schema import FLOW_SCHEMA, FlowBatch, empty_flows
from hedgerow.flows.service import guess_services
from hedgerow.flows.text import (
    arrow_strings,
    ipv4_strings,
    mac_strings,
    row_strings,
    uid_strings,
)

_MAPPED = np.uint64(0x0000_FFFF_0000_0000)
_PROTO_NAMES = pl.Series(
    [
        {6: "tcp", 17: "udp", 1: "icmp", 58: "icmp", 254: "arp"}.get(p, "unknown_transport")
        for p in range(256)
    ]
)
_STATES = [
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
_STATE_NAMES = pl.Series(_STATES)
_ACK_SLACK = 1 << 24
"""Peer ACKs extend an endpoint's size over unseen data only up to this many bytes (guards
against acknowledgement numbers from another sequence space)."""


def addr_strings(hi: npt.NDArray[np.uint64], lo: npt.NDArray[np.uint64]) -> pl.Series:
    """Format 128-bit addresses (IPv4 mapped as ``::ffff:a.b.c.d``).

    IPv4 is formatted in compiled code; IPv6 once per unique address.
    """
    v4 = (hi == 0) & ((lo & np.uint64(0xFFFF_FFFF_0000_0000)) == _MAPPED)
    text = ipv4_strings(lo)
    if not v4.all():
        rows = np.flatnonzero(~v4)
        pairs = np.stack([hi[rows], lo[rows]], axis=1)
        uniq, inverse = np.unique(pairs, axis=0, return_inverse=True)
        names = [
            ipaddress.IPv6Address((int(h) << 64) | int(low)).compressed for h, low in uniq.tolist()
        ]
        v6 = pl.Series(values=names, dtype=pl.String).gather(inverse.reshape(-1))
        text = text.scatter(rows, v6)
    return text


def _uids(t: k.FlowTable) -> pl.Series:
    h1 = _splitmix(t.a_lo ^ _splitmix(t.b_lo ^ t.first_ns.astype(np.uint64)))
    h1 = _splitmix(h1 ^ t.a_hi ^ (t.b_hi * np.uint64(3)))
    ports = (t.a_port.astype(np.uint64) << np.uint64(32)) | t.b_port.astype(np.uint64)
    h2 = _splitmix(
        h1
        ^ ports
        ^ (t.proto.astype(np.uint64) << np.uint64(20))
        ^ (t.vlan.astype(np.uint64) << np.uint64(48))
    )
    return uid_strings(h1, h2)


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


def _conn_state(
    t: k.FlowTable,
    is_tcp: npt.NDArray[np.bool_],
    is_udp: npt.NDArray[np.bool_],
    size: npt.NDArray[np.int64],
) -> pl.Series:
    rstos0 = k.rstos0_history(t.history, t.hist_len)
    codes = k.conn_state_codes(t.state, size, t.pkts, rstos0, is_tcp, is_udp)
    return _STATE_NAMES.gather(codes)


def _payload_column(t: k.FlowTable, pool: npt.NDArray[np.uint8], d: int) -> pl.Series:
    lengths = t.payload_len[:, d].astype(np.int64)
    n = lengths.shape[0]
    offsets = np.zeros(n + 1, np.int32)
    np.cumsum(lengths, out=offsets[1:])
    flat = k.pack_payloads(pool, t.pl_slot, d, lengths, int(offsets[-1]))
    return arrow_strings(flat, offsets, binary=True)


def build_flows(t: k.FlowTable, pool: npt.NDArray[np.uint8]) -> FlowBatch:
    """The FlowBatch for the flow-table rows in ``t`` (orig = direction 0).

    ``pool`` holds the payload prefixes, row ``t.pl_slot[f]`` for flow ``f``.
    """
    n = t.a_hi.shape[0]
    if n == 0:
        return empty_flows()
    oa = t.orig_is_a
    o_hi = np.where(oa, t.a_hi, t.b_hi)
    o_lo = np.where(oa, t.a_lo, t.b_lo)
    r_hi = np.where(oa, t.b_hi, t.a_hi)
    r_lo = np.where(oa, t.b_lo, t.a_lo)
    addrs = addr_strings(np.concatenate([o_hi, r_hi]), np.concatenate([o_lo, r_lo]))
    is_tcp = t.proto == 6
    is_udp = (t.proto == 17) | (t.proto == 254)  # ARP exchanges get UDP-like states
    tcp_size, tcp_missed = _tcp_sizes(t)
    size = np.where(is_tcp[:, None], tcp_size, t.pay_bytes)
    missed = np.where(is_tcp[:, None], tcp_missed, 0).sum(axis=1)
    history = row_strings(t.history, t.hist_len.astype(np.int64), null_if_empty=True)
    duration_ns = t.last_ns - t.first_ns
    has_duration = duration_ns > 0
    macs = mac_strings(np.concatenate([t.mac[:, 0], t.mac[:, 1]]))
    no_duration = ~has_duration
    orig_p = np.where(oa, t.a_port, t.b_port)
    resp_p = np.where(oa, t.b_port, t.a_port)
    columns: dict[str, pl.Series | npt.NDArray[np.generic]] = {
        "ts": t.first_ns / 1e9,
        "uid": _uids(t),
        "id.orig_h": addrs[:n],
        "id.orig_p": orig_p,
        "id.resp_h": addrs[n:],
        "id.resp_p": resp_p,
        "proto": _PROTO_NAMES.gather(t.proto),
        "service": guess_services(pool, t.pl_slot, t.payload_len, t.proto, orig_p, resp_p),
        "duration": _masked(duration_ns / 1e9, no_duration),
        "orig_bytes": _masked(size[:, 0], no_duration),
        "resp_bytes": _masked(size[:, 1], no_duration),
        "conn_state": _conn_state(t, is_tcp, is_udp, size),
        "local_orig": _null_series(n, pa.bool_()),
        "local_resp": _null_series(n, pa.bool_()),
        "missed_bytes": missed,
        "history": history,
        "orig_pkts": t.pkts[:, 0],
        "orig_ip_bytes": t.ip_bytes[:, 0],
        "resp_pkts": t.pkts[:, 1],
        "resp_ip_bytes": t.ip_bytes[:, 1],
        "orig_l2_addr": macs[:n],
        "resp_l2_addr": macs[n:],
        "vlan": _masked(t.vlan, t.vlan == 0),
        "orig_payload": _payload_column(t, pool, 0),
        "resp_payload": _payload_column(t, pool, 1),
        "orig_syn": np.where(is_tcp, t.syn_cnt[:, 0], 0),
        "orig_ack_only": np.where(is_tcp, t.ack_only_cnt[:, 0], 0),
        "orig_rst": np.where(is_tcp, t.rst_cnt[:, 0], 0),
        "orig_fin": np.where(is_tcp, t.fin_cnt[:, 0], 0),
        "resp_rst": np.where(is_tcp, t.rst_cnt[:, 1], 0),
        "mirai_syn": t.mirai,
        "label": _null_series(n, pa.large_string()),
        "detailed_label": _null_series(n, pa.large_string()),
    }
    return pl.DataFrame(columns, schema=FLOW_SCHEMA)


def _null_series(n: int, dtype: pa.DataType) -> pl.Series:
    return pl.Series(values=pa.nulls(n, type=dtype))


def _masked(values: npt.NDArray[np.generic], null: npt.NDArray[np.bool_]) -> pl.Series:
    """A Series of ``values`` with nulls where ``null`` (an Arrow validity bitmap, no copy)."""
    values = np.ascontiguousarray(values)
    bitmap = pa.py_buffer(np.packbits(~null, bitorder="little"))
    arr = pa.Array.from_buffers(
        pa.from_numpy_dtype(values.dtype), values.shape[0], [bitmap, pa.py_buffer(values)]
    )
    return pl.Series(values=arr)
