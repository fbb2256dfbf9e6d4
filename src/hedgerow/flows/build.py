"""Turn emitted flow-table rows into a FlowBatch (one polars frame per emitted chunk).

Everything is vectorised: addresses and MACs are formatted once per unique value, TCP payload
sizes come from sequence ranges (as Zeek counts them), ``conn_state`` follows Zeek's
``conn_state()`` decision table, and ``uid`` is Zeek-style (``C`` + base62 of a hash of the
5-tuple and start time), deterministic for the same traffic.

Example:
    >>> from hedgerow.flows.kernels import FlowTable
    >>> build_flows(FlowTable.allocate(0)).height
    0
"""

from __future__ import annotations

import ipaddress

import numpy as np
import numpy.typing as npt
import polars as pl
import pyarrow as pa

from hedgerow.flows import kernels as k
from hedgerow.flows.schema import FlowBatch, conform, empty_flows
from hedgerow.flows.service import guess_service

_MAPPED = np.uint64(0x0000_FFFF_0000_0000)
_BASE62 = np.frombuffer(
    b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", dtype=np.uint8
)
_PROTO_NAMES = {6: "tcp", 17: "udp", 1: "icmp", 58: "icmp"}
_ACK_SLACK = 1 << 24
"""Peer ACKs extend an endpoint's size over unseen data only up to this many bytes (guards
against acknowledgement numbers from another sequence space)."""


def addr_strings(hi: npt.NDArray[np.uint64], lo: npt.NDArray[np.uint64]) -> pl.Series:
    """Format 128-bit addresses (IPv4 mapped as ``::ffff:a.b.c.d``) once per unique value."""
    if hi.shape[0] == 0:
        return pl.Series(values=[], dtype=pl.String)
    pairs = np.stack([hi, lo], axis=1)
    uniq, inverse = np.unique(pairs, axis=0, return_inverse=True)
    u_hi = uniq[:, 0]
    u_lo = uniq[:, 1]
    v4 = (u_hi == 0) & ((u_lo & np.uint64(0xFFFF_FFFF_0000_0000)) == _MAPPED)
    text = np.empty(uniq.shape[0], dtype=object)
    if v4.any():
        a = (u_lo[v4] & np.uint64(0xFFFF_FFFF)).astype(np.int64)
        octets = pl.DataFrame(
            {"a": a >> 24, "b": (a >> 16) & 255, "c": (a >> 8) & 255, "d": a & 255}
        )
        text[v4] = octets.select(pl.format("{}.{}.{}.{}", "a", "b", "c", "d")).to_series()
    for j in np.flatnonzero(~v4):
        text[j] = ipaddress.IPv6Address((int(u_hi[j]) << 64) | int(u_lo[j])).compressed
    return pl.Series(values=text[inverse.reshape(-1)], dtype=pl.String)


def mac_strings(mac: npt.NDArray[np.uint64]) -> pl.Series:
    """``aa:bb:cc:dd:ee:ff`` per MAC (null for 0, i.e. no Ethernet header)."""
    uniq, inverse = np.unique(mac, return_inverse=True)
    text = np.empty(uniq.shape[0], dtype=object)
    for j, value in enumerate(uniq.tolist()):
        digits = f"{value:012x}"
        text[j] = None if value == 0 else ":".join(digits[i : i + 2] for i in range(0, 12, 2))
    return pl.Series(values=text[inverse.reshape(-1)], dtype=pl.String)


def _uids(t: k.FlowTable) -> pl.Series:
    n = t.a_hi.shape[0]
    h1 = _splitmix(t.a_lo ^ _splitmix(t.b_lo ^ t.first_ns.astype(np.uint64)))
    h1 = _splitmix(h1 ^ t.a_hi ^ (t.b_hi * np.uint64(3)))
    ports = (t.a_port.astype(np.uint64) << np.uint64(32)) | t.b_port.astype(np.uint64)
    h2 = _splitmix(
        h1
        ^ ports
        ^ (t.proto.astype(np.uint64) << np.uint64(20))
        ^ (t.vlan.astype(np.uint64) << np.uint64(48))
    )
    digits = np.empty((n, 18), np.uint8)
    digits[:, 0] = ord("C")
    for col, h, count in ((1, h1, 11), (12, h2, 6)):
        v = h.copy()
        for j in range(count):
            digits[:, col + j] = _BASE62[(v % np.uint64(62)).astype(np.intp)]
            v //= np.uint64(62)
    return pl.Series(values=digits.view("S18").reshape(-1)).cast(pl.String)


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
    history: pl.Series,
    is_tcp: npt.NDArray[np.bool_],
    is_udp: npt.NDArray[np.bool_],
    size: npt.NDArray[np.int64],
) -> npt.NDArray[np.str_]:
    os_ = t.state[:, 0].astype(np.int64)
    rs = t.state[:, 1].astype(np.int64)
    o_in = (os_ == k.INACTIVE) | (os_ == k.PARTIAL)
    r_in = (rs == k.INACTIVE) | (rs == k.PARTIAL)
    rstos0 = history.str.contains(r"^\^?S[^HAFGIQ]*R").fill_null(False).to_numpy()
    tcp = np.select(
        [
            (rs == k.RESET)
            & (
                (os_ == k.SYN_SENT)
                | (os_ == k.SYN_ACK_SENT)
                | ((os_ == k.RESET) & (size[:, 0] == 0) & (size[:, 1] == 0))
            ),
            (rs == k.RESET) & o_in,
            rs == k.RESET,
            (os_ == k.RESET) & r_in & rstos0,
            (os_ == k.RESET) & r_in,
            os_ == k.RESET,
            (rs == k.CLOSED) & (os_ == k.CLOSED),
            (os_ == k.CLOSED) & r_in,
            os_ == k.CLOSED,
            (rs == k.CLOSED) & o_in,
            rs == k.CLOSED,
            (os_ == k.SYN_SENT) & (rs == k.INACTIVE),
            (os_ == k.ESTABLISHED) & (rs == k.ESTABLISHED),
        ],
        [
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
        ],
        default="OTH",
    )
    o_act = t.pkts[:, 0] > 0
    r_act = t.pkts[:, 1] > 0
    udp = np.where(o_act, np.where(r_act, "SF", "S0"), np.where(r_act, "SHR", "OTH"))
    return np.where(is_tcp, tcp, np.where(is_udp, udp, "OTH"))


def _payload_column(t: k.FlowTable, d: int) -> pl.Series:
    lengths = t.payload_len[:, d].astype(np.int64)
    n = lengths.shape[0]
    width = t.payload.shape[2]
    mask = np.arange(width)[None, :] < lengths[:, None]
    flat = t.payload[:, d, :][mask]
    offsets = np.zeros(n + 1, np.int32)
    np.cumsum(lengths, out=offsets[1:])
    arr = pa.Array.from_buffers(
        pa.binary(), n, [None, pa.py_buffer(offsets), pa.py_buffer(flat.tobytes())]
    )
    return pl.Series(values=arr)


def build_flows(t: k.FlowTable) -> FlowBatch:
    """The FlowBatch for the flow-table rows in ``t`` (orig = direction 0)."""
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
    is_udp = t.proto == 17
    tcp_size, tcp_missed = _tcp_sizes(t)
    size = np.where(is_tcp[:, None], tcp_size, t.pay_bytes)
    missed = np.where(is_tcp[:, None], tcp_missed, 0).sum(axis=1)
    hist = np.where(np.arange(t.history.shape[1])[None, :] < t.hist_len[:, None], t.history, 0)
    history = pl.Series(
        values=np.ascontiguousarray(hist).view(f"S{t.history.shape[1]}").reshape(-1)
    ).cast(pl.String)
    history = pl.select(pl.when(history == "").then(None).otherwise(history)).to_series()
    duration_ns = t.last_ns - t.first_ns
    has_duration = duration_ns > 0
    proto_name = np.array([_PROTO_NAMES.get(int(p), "unknown_transport") for p in range(256)])
    macs = mac_strings(np.concatenate([t.mac[:, 0], t.mac[:, 1]]))
    frame = pl.DataFrame(
        {
            "ts": t.first_ns / 1e9,
            "uid": _uids(t),
            "id.orig_h": addrs[:n],
            "id.orig_p": np.where(oa, t.a_port, t.b_port),
            "id.resp_h": addrs[n:],
            "id.resp_p": np.where(oa, t.b_port, t.a_port),
            "proto": proto_name[t.proto],
            "duration": pl.Series(duration_ns / 1e9).set(pl.Series(~has_duration), None),
            "orig_bytes": pl.Series(size[:, 0]).set(pl.Series(~has_duration), None),
            "resp_bytes": pl.Series(size[:, 1]).set(pl.Series(~has_duration), None),
            "conn_state": _conn_state(t, history, is_tcp, is_udp, size),
            "missed_bytes": missed,
            "history": history,
            "orig_pkts": t.pkts[:, 0],
            "orig_ip_bytes": t.ip_bytes[:, 0],
            "resp_pkts": t.pkts[:, 1],
            "resp_ip_bytes": t.ip_bytes[:, 1],
            "orig_l2_addr": macs[:n],
            "resp_l2_addr": macs[n:],
            "vlan": pl.Series(t.vlan).set(pl.Series(t.vlan == 0), None),
            "orig_payload": _payload_column(t, 0),
            "resp_payload": _payload_column(t, 1),
            "orig_syn": np.where(is_tcp, t.syn_cnt[:, 0], 0),
            "orig_ack_only": np.where(is_tcp, t.ack_only_cnt[:, 0], 0),
            "orig_rst": np.where(is_tcp, t.rst_cnt[:, 0], 0),
            "orig_fin": np.where(is_tcp, t.fin_cnt[:, 0], 0),
            "resp_rst": np.where(is_tcp, t.rst_cnt[:, 1], 0),
            "mirai_syn": t.mirai,
        }
    )
    frame = frame.with_columns(guess_service())
    return conform(frame)
