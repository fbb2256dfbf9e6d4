"""Names and Zeek log types of the flow columns, without a dataframe library.

The same columns, in the same order, as :data:`hedgerow.flows.schema.FLOW_SCHEMA`, each with the
type a Zeek log's ``#types`` line gives it; for writers that must not load polars.

Example:
    >>> list(FIELD_TYPES)[:3], FIELD_TYPES["id.orig_p"]
    (['ts', 'uid', 'id.orig_h'], 'port')
"""

from __future__ import annotations

FIELD_TYPES: dict[str, str] = {
    "ts": "time",
    "uid": "string",
    "id.orig_h": "addr",
    "id.orig_p": "port",
    "id.resp_h": "addr",
    "id.resp_p": "port",
    "proto": "enum",
    "service": "string",
    "duration": "interval",
    "orig_bytes": "count",
    "resp_bytes": "count",
    "conn_state": "string",
    "local_orig": "bool",
    "local_resp": "bool",
    "missed_bytes": "count",
    "history": "string",
    "orig_pkts": "count",
    "orig_ip_bytes": "count",
    "resp_pkts": "count",
    "resp_ip_bytes": "count",
    "orig_l2_addr": "string",
    "resp_l2_addr": "string",
    "vlan": "int",
    "orig_payload": "string",
    "resp_payload": "string",
    "orig_syn": "count",
    "orig_ack_only": "count",
    "orig_rst": "count",
    "orig_fin": "count",
    "resp_rst": "count",
    "mirai_syn": "bool",
    "label": "string",
    "detailed_label": "string",
}
"""Every flow column and its Zeek type, in FlowBatch column order."""

PAYLOAD_COLUMNS = ("orig_payload", "resp_payload")


def columns(payload: bool) -> list[str]:
    """The columns a writer puts out (the payload prefixes only with ``payload``)."""
    return [c for c in FIELD_TYPES if payload or c not in PAYLOAD_COLUMNS]
