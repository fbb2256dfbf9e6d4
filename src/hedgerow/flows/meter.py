"""The flow meter: PacketBatches in, Zeek-style bidirectional flows (FlowBatches) out.

:class:`FlowMeter` is :class:`~hedgerow.flows.rows.RowMeter` (the per-packet state, timeouts
and table management) with the chunks of ended flow-table rows of each call built into one
polars frame (:func:`frame_of`).

Example:
    >>> from hedgerow.capture import open_capture
    >>> meter = FlowMeter()
    >>> with open_capture("/work/shared/corpus/zeek-conn/core.q-in-q/q-in-q.pcap") as cap:
    ...     flows = [meter.add(batch) for batch in cap]
    >>> sorted(meter.flush()["conn_state"].to_list())
    ['S0', 'S0', 'S0']
"""

from __future__ import annotations

from hedgerow.capture.batch import PacketBatch
from hedgerow.flows.build import flow_arrays, flows_frame, join_arrays
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
    """One FlowBatch of ended flow-table row chunks, in order (empty when none).

    Each chunk's columns are derived in numpy, then joined and built into one frame: one
    contiguous chunk per column, and the frame's costs paid once however many chunks.
    """
    if not chunks:
        return empty_flows()
    return flows_frame(join_arrays([flow_arrays(chunk.table, chunk.pool) for chunk in chunks]))
