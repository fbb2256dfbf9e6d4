"""FlowBatch: flows as a polars DataFrame with Zeek conn.log field names.

Flows built by our own meter and Zeek conn.logs read from disk are the same kind of table:
the Zeek columns below, in Zeek's units (``ts`` epoch seconds, ``duration`` seconds,
``orig_bytes`` payload bytes, ``orig_ip_bytes`` IP-layer bytes). Hedgerow adds a few columns
after Zeek's (all nullable, null when the source is a Zeek log that lacks them).

Example:
    >>> empty_flows().columns[:3]
    ['ts', 'uid', 'id.orig_h']
"""

from __future__ import annotations

import polars as pl

FlowBatch = pl.DataFrame

ZEEK_CONN_SCHEMA: dict[str, pl.DataType] = {
    "ts": pl.Float64(),
    "uid": pl.String(),
    "id.orig_h": pl.String(),
    "id.orig_p": pl.Int32(),
    "id.resp_h": pl.String(),
    "id.resp_p": pl.Int32(),
    "proto": pl.String(),
    "service": pl.String(),
    "duration": pl.Float64(),
    "orig_bytes": pl.Int64(),
    "resp_bytes": pl.Int64(),
    "conn_state": pl.String(),
    "local_orig": pl.Boolean(),
    "local_resp": pl.Boolean(),
    "missed_bytes": pl.Int64(),
    "history": pl.String(),
    "orig_pkts": pl.Int64(),
    "orig_ip_bytes": pl.Int64(),
    "resp_pkts": pl.Int64(),
    "resp_ip_bytes": pl.Int64(),
}
"""Zeek's conn.log columns, in Zeek's order."""

HEDGEROW_FLOW_SCHEMA: dict[str, pl.DataType] = {
    "orig_l2_addr": pl.String(),
    "resp_l2_addr": pl.String(),
    "vlan": pl.Int32(),
    "orig_payload": pl.Binary(),
    "resp_payload": pl.Binary(),
    "orig_syn": pl.Int64(),
    "orig_ack_only": pl.Int64(),
    "orig_rst": pl.Int64(),
    "orig_fin": pl.Int64(),
    "resp_rst": pl.Int64(),
    "mirai_syn": pl.Boolean(),
    "label": pl.String(),
    "detailed_label": pl.String(),
}
"""Hedgerow's extra columns.

- ``orig_l2_addr``/``resp_l2_addr``: MAC addresses (Zeek's ``mac_logging`` names).
- ``orig_payload``/``resp_payload``: the first payload bytes each side sent (up to 128), for
  protocol hints, exploit and stratum matching.
- ``orig_syn``, ``orig_ack_only``, ``orig_rst``, ``orig_fin``, ``resp_rst``: TCP flag counts.
- ``mirai_syn``: the opening SYN's sequence number equals the destination IPv4 address
  (Mirai's scanner fingerprint).
- ``label``/``detailed_label``: ground-truth labels of labelled logs (IoT-23/Stratosphere).
"""

FLOW_SCHEMA: dict[str, pl.DataType] = {**ZEEK_CONN_SCHEMA, **HEDGEROW_FLOW_SCHEMA}

RESP_RESOLVED = "_resp_resolved"
DERIVED_SCHEMA: dict[str, pl.DataType] = {RESP_RESOLVED: pl.Boolean()}
"""Columns the scan adds to a batch from what it observed besides the flow (rules may filter
on them; null where the source cannot tell, and every source but a capture read by
``hedgerow scan`` is such a source).

- ``_resp_resolved``: the responder's address was given to the originator in a DNS answer
  before the flow started and has not expired (:mod:`hedgerow.flows.resolved`).
"""


def empty_flows() -> FlowBatch:
    """A FlowBatch with no rows and the full schema."""
    return pl.DataFrame(schema=FLOW_SCHEMA)


def conform(frame: pl.DataFrame) -> FlowBatch:
    """Cast to :data:`FLOW_SCHEMA`, adding missing columns as nulls, in schema order.

    Columns not in the schema are kept after the schema's own.
    """
    exprs = []
    for name, dtype in FLOW_SCHEMA.items():
        if name in frame.columns:
            exprs.append(pl.col(name).cast(dtype, strict=False))
        else:
            exprs.append(pl.lit(None, dtype=dtype).alias(name))
    extra = [pl.col(c) for c in frame.columns if c not in FLOW_SCHEMA]
    return frame.select(exprs + extra)


def with_derived(frame: pl.DataFrame) -> pl.DataFrame:
    """``frame`` with every :data:`DERIVED_SCHEMA` column it lacks, as nulls.

    Example:
        >>> with_derived(empty_flows())["_resp_resolved"].dtype
        Boolean
    """
    missing = [pl.lit(None, dtype=t).alias(c) for c, t in DERIVED_SCHEMA.items()
               if c not in frame.columns]
    return frame.with_columns(missing) if missing else frame
