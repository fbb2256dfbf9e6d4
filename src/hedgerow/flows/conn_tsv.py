"""Zeek TSV conn.log rows straight from flow-table rows, formatted in compiled code.

The fast path of ``hedgerow flows -o conn.log``: ended flow-table rows (an emitted
:class:`~hedgerow.flows.rows.FlowRows` chunk, or rows of the meter's live table handed to a row
sink before it drops them) become the bytes of conn.log lines without a dataframe library: one
compiled kernel (``_conn_tsv.pyx``) prints times and intervals with Zeek's 6 decimals (rounded
half to even, as the frame-based writer rounds), addresses, uids, histories, MACs, base64
payloads and the name columns (``proto``, ``service``, ``conn_state``) into one reused byte
buffer. The lines are byte-identical to what :class:`~hedgerow.flows.writers.ZeekWriter` writes
for the same flows built as a FlowBatch (checked on corpus captures in
``tests/flows/test_conn_tsv.py``).

Example:
    >>> from hedgerow.capture import open_capture
    >>> from hedgerow.flows.rows import RowMeter
    >>> meter = RowMeter()
    >>> with open_capture("/work/shared/corpus/zeek-conn/core.q-in-q/q-in-q.pcap") as cap:
    ...     ended = [meter.add_rows(batch) for batch in cap]
    >>> text = bytes(ConnTsvFormatter().format(meter.flush_rows()[0])).decode()
    >>> [line.split("\\t")[11] for line in text.splitlines()]
    ['S0', 'S0', 'S0']
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from hedgerow.flows._conn_tsv import format_rows
from hedgerow.flows.derive import PROTO_NAMES, STATES, ipv4_mapped, ipv6_texts
from hedgerow.flows.kernels import PAYLOAD_KEEP, FlowTable
from hedgerow.flows.rows import FlowRows
from hedgerow.flows.service import SERVICE_NAMES, service_codes

_ROW_BOUND = 1024
"""Upper bound of one line's bytes without payloads (every field at its widest)."""
_PAYLOAD_BOUND = 2 * (4 * ((PAYLOAD_KEEP + 2) // 3) + 8)
_B64 = np.frombuffer(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/", np.uint8)
_B62 = np.frombuffer(b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", np.uint8)


def _names(
    names: list[str] | tuple[str, ...],
) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.int64]]:
    """A name table as one byte blob and ``len + 1`` offsets."""
    encoded = [name.encode() for name in names]
    offsets = np.zeros(len(encoded) + 1, np.int64)
    np.cumsum([len(e) for e in encoded], out=offsets[1:])
    return np.frombuffer(b"".join(encoded) or b"\0", np.uint8), offsets


_PROTO_BLOB, _PROTO_OFF = _names(PROTO_NAMES)
_STATE_BLOB, _STATE_OFF = _names(STATES)
_SERVICE_BLOB, _SERVICE_OFF = _names(SERVICE_NAMES)


_NAMES_BLOB = np.concatenate([_PROTO_BLOB, _STATE_BLOB, _SERVICE_BLOB])
_NAMES_OFF = np.concatenate(
    [
        _PROTO_OFF[:-1],
        _STATE_OFF[:-1] + _PROTO_OFF[-1],
        _SERVICE_OFF + _PROTO_OFF[-1] + _STATE_OFF[-1],
    ]
)


class ConnTsvFormatter:
    """Formats flow-table rows as conn.log lines (reusing one output buffer)."""

    def __init__(self, payload: bool = False) -> None:
        self.payload = payload
        self._buf = np.empty(0, np.uint8)

    def format(self, rows: FlowRows) -> memoryview:
        """The lines of an emitted chunk (valid until the next call)."""
        t, pool = rows
        return self.format_table(t, np.arange(t.a_hi.shape[0], dtype=np.int64), pool)

    def format_table(
        self, t: FlowTable, rows: npt.NDArray[np.int64], pool: npt.NDArray[np.uint8]
    ) -> memoryview:
        """The lines of rows ``rows`` of a table (the meter's own, for a row sink), whose
        payload prefixes are in ``pool``; valid until the next call."""
        n = rows.shape[0]
        row_bound = _ROW_BOUND + (_PAYLOAD_BOUND if self.payload else 0)
        if self._buf.shape[0] < n * row_bound:
            self._buf = np.empty(n * row_bound, np.uint8)
        v6_row = np.full(2 * n, -1, np.int64)
        v6_blob, v6_off = _names([])
        hi = np.stack([t.a_hi[rows], t.b_hi[rows]], axis=1).reshape(-1)
        lo = np.stack([t.a_lo[rows], t.b_lo[rows]], axis=1).reshape(-1)
        v4 = ipv4_mapped(hi, lo)
        if not v4.all():
            v6_at = np.flatnonzero(~v4)
            texts, inverse = ipv6_texts(hi[v6_at], lo[v6_at])
            v6_blob, v6_off = _names(texts)
            v6_row[v6_at] = inverse
        oa = t.orig_is_a[rows]
        a_port = t.a_port[rows]
        b_port = t.b_port[rows]
        service = service_codes(
            pool, t.pl_slot[rows], t.payload_len[rows], t.proto[rows],
            np.where(oa, a_port, b_port), np.where(oa, b_port, a_port),
        )  # fmt: skip
        end = format_rows(
            self._buf, rows, t.first_ns, t.last_ns, t.a_hi, t.a_lo, t.b_hi, t.b_lo, t.a_port,
            t.b_port, t.orig_is_a, t.proto, t.vlan, v6_row, v6_blob, v6_off, service,
            t.seq_start, t.seq_max, t.acked, t.fin_end, t.missed, t.seen, t.pay_bytes, t.state,
            t.history, t.hist_len, t.pkts, t.ip_bytes, t.mac, t.syn_cnt, t.ack_only_cnt,
            t.rst_cnt, t.fin_cnt, t.mirai, self.payload, pool, t.pl_slot, t.payload_len,
            _NAMES_BLOB, _NAMES_OFF, _B62, _B64, row_bound,
        )  # fmt: skip
        return self._buf.data[:end]
