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

import numpy as np
import numpy.typing as npt
import polars as pl
import pyarrow as pa

from hedgerow.flows import kernels as k
from hedgerow.flows.derive import (
    PROTO_NAMES,
    STATES,
    endpoints,
    ipv4_mapped,
    ipv6_texts,
    sizes_and_states,
    uid_hashes,
)
from hedgerow.flows.schema import FLOW_SCHEMA, FlowBatch, empty_flows
from hedgerow.flows.service import guess_services
from hedgerow.flows.text import (
    arrow_strings,
    ipv4_strings,
    mac_strings,
    row_strings,
    uid_strings,
)

_PROTO_NAMES = pl.Series(PROTO_NAMES)
_STATE_NAMES = pl.Series(STATES)


def addr_strings(hi: npt.NDArray[np.uint64], lo: npt.NDArray[np.uint64]) -> pl.Series:
    """Format 128-bit addresses (IPv4 mapped as ``::ffff:a.b.c.d``).

    IPv4 is formatted in compiled code; IPv6 once per unique address.
    """
    v4 = ipv4_mapped(hi, lo)
    text = ipv4_strings(lo)
    if not v4.all():
        rows = np.flatnonzero(~v4)
        names, inverse = ipv6_texts(hi[rows], lo[rows])
        v6 = pl.Series(values=names, dtype=pl.String).gather(inverse)
        text = text.scatter(rows, v6)
    return text


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
    hi, lo, orig_p, resp_p = endpoints(t)
    addrs = addr_strings(hi, lo)
    is_tcp = t.proto == 6
    size, missed, states = sizes_and_states(t)
    history = row_strings(t.history, t.hist_len.astype(np.int64), null_if_empty=True)
    duration_ns = t.last_ns - t.first_ns
    no_duration = duration_ns <= 0
    macs = mac_strings(np.concatenate([t.mac[:, 0], t.mac[:, 1]]))
    columns: dict[str, pl.Series | npt.NDArray[np.generic]] = {
        "ts": t.first_ns / 1e9,
        "uid": uid_strings(*uid_hashes(t)),
        "id.orig_h": addrs[:n],
        "id.orig_p": orig_p,
        "id.resp_h": addrs[n:],
        "id.resp_p": resp_p,
        "proto": _PROTO_NAMES.gather(t.proto),
        "service": guess_services(pool, t.pl_slot, t.payload_len, t.proto, orig_p, resp_p),
        "duration": _masked(duration_ns / 1e9, no_duration),
        "orig_bytes": _masked(size[:, 0], no_duration),
        "resp_bytes": _masked(size[:, 1], no_duration),
        "conn_state": _STATE_NAMES.gather(states),
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
