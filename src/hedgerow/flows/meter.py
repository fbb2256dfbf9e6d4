"""The flow meter: PacketBatches in, Zeek-style bidirectional flows (FlowBatches) out.

:class:`FlowMeter` is :class:`~hedgerow.flows.rows.RowMeter` (the per-packet state, timeouts
and table management) with each chunk of ended flow-table rows built into a polars frame by
:func:`~hedgerow.flows.build.build_flows`.

Example:
    >>> from hedgerow.capture import open_capture
    >>> meter = FlowMeter()
    >>> with open_capture("/work/shared/corpus/zeek-conn/core.q-in-q/q-in-q.pcap") as cap:
    ...     flows = [meter.add(batch) for batch in cap]
    >>> sorted(meter.flush()["conn_state"].to_list())
    ['S0', 'S0', 'S0']
"""

from __future__ import annotations

import polars as pl

from hedgerow.capture.batch import PacketBatch
from hedgerow.flows.build import build_flows
from hedgerow.flows.rows import ARP_PROTO, FlowRows, MeterConfig, RowMeter
from hedgerow.flows.schema import FlowBatch, empty_flows

__all__ = ["ARP_PROTO", "FlowMeter", "MeterConfig", "frame_of"]


class FlowMeter(RowMeter):
    """Stateful meter: feed it batches in capture order with :meth:`add`, then :meth:`flush`."""

    def add(self, batch: PacketBatch) -> FlowBatch:
        """Meter one batch; return the flows that ended with it (possibly none)."""
        return frame_of(self.add_rows(batch))

    def flush(self) -> FlowBatch:
        """End every live flow and return them (the meter is empty afterwards)."""
        return frame_of(self.flush_rows())

    def _emit(self, grow: bool = False) -> FlowBatch:
        """Build the ended flows, then drop them from the table."""
        return frame_of(self._emit_rows(grow))


def frame_of(chunks: list[FlowRows]) -> FlowBatch:
    """One FlowBatch of ended flow-table row chunks (empty when none)."""
    parts = [build_flows(chunk.table, chunk.pool) for chunk in chunks]
    if not parts:
        return empty_flows()
    return parts[0] if len(parts) == 1 else pl.concat(parts, rechunk=False)
