"""Turn emitted flow-table rows into a FlowBatch, in two steps that can be batched.

:func:`flow_arrays` derives a chunk's columns in numpy (no dataframe library): TCP payload
sizes from sequence ranges (as Zeek counts them), ``conn_state`` codes by Zeek's
``conn_state()`` decision table, the two hashes of the Zeek-style ``uid`` (``C`` + base62 of
a hash of the 5-tuple and start time, deterministic for the same traffic), service codes, and
histories and payload prefixes packed into flat bytes. :func:`flows_frame` formats addresses,
MACs and uids once per column and builds the polars frame; :func:`join_arrays` concatenates
several chunks' arrays first, so many small chunks cost one frame (the dataframe's fixed costs
per column are paid once, not per chunk).

Example:
    >>> import numpy as np
    >>> from hedgerow.flows.kernels import FlowTable
    >>> build_flows(FlowTable.allocate(0), np.zeros((0, 2, 128), np.uint8)).height
    0
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl
import pyarrow as pa

from hedgerow.flows import kernels as k
from hedgerow.flows._text import pack_rows
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
from hedgerow.flows.service import service_codes, service_names
from hedgerow.flows.text import (
    arrow_series,
    arrow_strings,
    ipv4_strings,
    mac_strings,
    uid_strings,
)

_PROTO_NAMES = pl.Series(PROTO_NAMES)
_STATE_NAMES = pl.Series(STATES)

FlowArrays = dict[str, npt.NDArray[Any]]
"""A chunk of flows as numpy columns (:func:`flow_arrays`), one row per flow, except the
packed bytes of ``history``, ``orig_payload`` and ``resp_payload`` (their row lengths are the
``*_len`` columns)."""


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


def flow_arrays(t: k.FlowTable, pool: npt.NDArray[np.uint8]) -> FlowArrays:
    """The numpy columns of the flows in flow-table rows ``t`` (orig = direction 0).

    ``pool`` holds the payload prefixes, row ``t.pl_slot[f]`` for flow ``f``.
    """
    hi, lo, orig_p, resp_p = endpoints(t)
    n = t.a_hi.shape[0]
    size, missed, states = sizes_and_states(t)
    h1, h2 = uid_hashes(t)
    is_tcp = t.proto == 6
    hist_len = t.hist_len.astype(np.int64)
    arrays: FlowArrays = {
        "first_ns": t.first_ns,
        "uid_h1": h1,
        "uid_h2": h2,
        "orig_hi": hi[:n],
        "orig_lo": lo[:n],
        "resp_hi": hi[n:],
        "resp_lo": lo[n:],
        "orig_p": orig_p,
        "resp_p": resp_p,
        "proto": t.proto,
        "service": service_codes(pool, t.pl_slot, t.payload_len, t.proto, orig_p, resp_p),
        "duration_ns": t.last_ns - t.first_ns,
        "orig_bytes": size[:, 0],
        "resp_bytes": size[:, 1],
        "conn_state": states,
        "missed_bytes": missed,
        "history": pack_rows(t.history, hist_len)[0],
        "history_len": hist_len,
        "orig_pkts": t.pkts[:, 0],
        "orig_ip_bytes": t.ip_bytes[:, 0],
        "resp_pkts": t.pkts[:, 1],
        "resp_ip_bytes": t.ip_bytes[:, 1],
        "orig_mac": t.mac[:, 0],
        "resp_mac": t.mac[:, 1],
        "vlan": t.vlan,
        "orig_syn": np.where(is_tcp, t.syn_cnt[:, 0], 0),
        "orig_ack_only": np.where(is_tcp, t.ack_only_cnt[:, 0], 0),
        "orig_rst": np.where(is_tcp, t.rst_cnt[:, 0], 0),
        "orig_fin": np.where(is_tcp, t.fin_cnt[:, 0], 0),
        "resp_rst": np.where(is_tcp, t.rst_cnt[:, 1], 0),
        "mirai_syn": t.mirai,
    }
    for d, side in enumerate(("orig", "resp")):
        lengths = t.payload_len[:, d].astype(np.int64)
        total = int(lengths.sum())
        arrays[f"{side}_payload"] = k.pack_payloads(pool, t.pl_slot, d, lengths, total)
        arrays[f"{side}_payload_len"] = lengths
    return arrays


def join_arrays(parts: Sequence[FlowArrays]) -> FlowArrays:
    """The flows of several chunks as one (in order).

    >>> a = {"first_ns": np.array([1]), "history": np.array([83], np.uint8)}
    >>> join_arrays([a, a])["first_ns"].tolist()
    [1, 1]
    """
    if len(parts) == 1:
        return parts[0]
    return {name: np.concatenate([p[name] for p in parts]) for name in parts[0]}


def flows_frame(a: FlowArrays) -> FlowBatch:
    """The FlowBatch of the flows in ``a`` (:func:`flow_arrays`, maybe :func:`join_arrays`)."""
    n = a["first_ns"].shape[0]
    if n == 0:
        return empty_flows()
    addrs = addr_strings(
        np.concatenate([a["orig_hi"], a["resp_hi"]]), np.concatenate([a["orig_lo"], a["resp_lo"]])
    )
    macs = mac_strings(np.concatenate([a["orig_mac"], a["resp_mac"]]))
    no_duration = a["duration_ns"] <= 0
    codes = a["service"]
    columns: dict[str, pl.Series | npt.NDArray[np.generic]] = {
        "ts": a["first_ns"] / 1e9,
        "uid": uid_strings(a["uid_h1"], a["uid_h2"]),
        "id.orig_h": addrs[:n],
        "id.orig_p": a["orig_p"],
        "id.resp_h": addrs[n:],
        "id.resp_p": a["resp_p"],
        "proto": _PROTO_NAMES.gather(a["proto"]),
        "service": service_names(codes),
        "duration": _masked(a["duration_ns"] / 1e9, no_duration),
        "orig_bytes": _masked(a["orig_bytes"], no_duration),
        "resp_bytes": _masked(a["resp_bytes"], no_duration),
        "conn_state": _STATE_NAMES.gather(a["conn_state"]),
        "local_orig": _null_series(n, pa.bool_()),
        "local_resp": _null_series(n, pa.bool_()),
        "missed_bytes": a["missed_bytes"],
        "history": _packed(a, "history", text=True, null_if_empty=True),
        "orig_pkts": a["orig_pkts"],
        "orig_ip_bytes": a["orig_ip_bytes"],
        "resp_pkts": a["resp_pkts"],
        "resp_ip_bytes": a["resp_ip_bytes"],
        "orig_l2_addr": macs[:n],
        "resp_l2_addr": macs[n:],
        "vlan": _masked(a["vlan"], a["vlan"] == 0),
        "orig_payload": _packed(a, "orig_payload", text=False, null_if_empty=False),
        "resp_payload": _packed(a, "resp_payload", text=False, null_if_empty=False),
        "orig_syn": a["orig_syn"],
        "orig_ack_only": a["orig_ack_only"],
        "orig_rst": a["orig_rst"],
        "orig_fin": a["orig_fin"],
        "resp_rst": a["resp_rst"],
        "mirai_syn": a["mirai_syn"],
        "label": _null_series(n, pa.large_string()),
        "detailed_label": _null_series(n, pa.large_string()),
    }
    return pl.DataFrame(columns, schema=FLOW_SCHEMA)


def build_flows(t: k.FlowTable, pool: npt.NDArray[np.uint8]) -> FlowBatch:
    """The FlowBatch for the flow-table rows in ``t`` (orig = direction 0).

    ``pool`` holds the payload prefixes, row ``t.pl_slot[f]`` for flow ``f``.
    """
    return flows_frame(flow_arrays(t, pool))


def _packed(a: FlowArrays, name: str, text: bool, null_if_empty: bool) -> pl.Series:
    """A string (``text``) or binary column of packed bytes and their row lengths."""
    lengths = a[f"{name}_len"]
    n = lengths.shape[0]
    offsets = np.zeros(n + 1, np.int64)
    np.cumsum(lengths, out=offsets[1:])
    if offsets[-1] <= np.iinfo(np.int32).max:
        offsets = offsets.astype(np.int32)
    return arrow_strings(a[name], offsets, (lengths > 0) if null_if_empty else None,
                         binary=not text)


def _null_series(n: int, dtype: pa.DataType) -> pl.Series:
    return arrow_series(pa.nulls(n, type=dtype))


def _masked(values: npt.NDArray[np.generic], null: npt.NDArray[np.bool_]) -> pl.Series:
    """A Series of ``values`` with nulls where ``null`` (an Arrow validity bitmap, no copy)."""
    values = np.ascontiguousarray(values)
    bitmap = pa.py_buffer(np.packbits(~null, bitorder="little"))
    arr = pa.Array.from_buffers(
        pa.from_numpy_dtype(values.dtype), values.shape[0], [bitmap, pa.py_buffer(values)]
    )
    return arrow_series(arr)
