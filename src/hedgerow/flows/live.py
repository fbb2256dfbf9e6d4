"""A flow meter for live traffic: the same meter, plus a look at live flows and idle advance.

Offline, time only moves with packets. Live, the sensor also needs (1) to advance event time on
a quiet link, so idle flows end on time (the kernel stamps packets with the wall clock, so the
wall clock *is* the next packet's event time), and (2) to see flows that are still open, so a
scan that is under way can be flagged before its flows time out. Neither changes what the meter
emits: flows still end exactly as they would offline.

Example:
    >>> from hedgerow.capture import open_capture
    >>> meter = LiveFlowMeter()
    >>> with open_capture("/work/shared/corpus/zeek-conn/core.q-in-q/q-in-q.pcap") as cap:
    ...     ended = [meter.add(batch) for batch in cap]
    >>> meter.peek()["conn_state"].to_list(), meter.live_flows
    (['S0', 'S0', 'S0'], 3)
    >>> meter.advance(2_000_000_000 * 10**9).height, meter.live_flows
    (3, 0)
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from hedgerow.flows import kernels as k
from hedgerow.flows.build import build_flows
from hedgerow.flows.meter import FlowMeter
from hedgerow.flows.schema import FlowBatch, empty_flows


class LiveFlowMeter(FlowMeter):
    """:class:`FlowMeter` with :meth:`peek` (open flows as they stand) and :meth:`advance`."""

    def peek(self, hosts_since_ns: int | None = None) -> FlowBatch:
        """The flows still open, as they stand now (the meter is not changed).

        With ``hosts_since_ns``, only the open flows of the hosts that began a flow at or
        after that time (as either end): all of their open flows, and no others. An early
        check then looks again only at what changed, not at every open flow.
        """
        n = int(self._n[0])
        t = self._table
        rows = np.flatnonzero(t.done[:n] == k.LIVE)
        if hosts_since_ns is not None:
            a_key = _host_key(t.a_hi[rows], t.a_lo[rows])
            b_key = _host_key(t.b_hi[rows], t.b_lo[rows])
            began = t.first_ns[rows] >= hosts_since_ns
            hosts = np.unique(np.concatenate([a_key[began], b_key[began]]))
            rows = rows[_member(a_key, hosts) | _member(b_key, hosts)]
        if rows.shape[0] == 0:
            return empty_flows()
        view = t.take(rows)
        has = view.pl_slot >= 0
        payloads = self._pool[view.pl_slot[has]]
        view.pl_slot[has] = np.arange(payloads.shape[0], dtype=view.pl_slot.dtype)
        return build_flows(view, payloads)

    def advance(self, now_ns: int) -> FlowBatch:
        """Move event time to ``now_ns`` without packets; return the flows that ended."""
        t = self._table
        ended = k.sweep(
            int(self._n[0]),
            int(now_ns),
            t.proto,
            t.first_ns,
            t.last_ns,
            t.end_ns,
            t.done,
            self._timeouts,
            self._active,
            self._close,
        )
        return self._emit() if ended else empty_flows()


def _host_key(hi: npt.NDArray[np.uint64], lo: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint64]:
    """One 64-bit key per address (a rare collision only lets another host's flows in)."""
    return hi * np.uint64(0x9E3779B97F4A7C15) ^ lo


def _member(keys: npt.NDArray[np.uint64],
            sorted_set: npt.NDArray[np.uint64]) -> npt.NDArray[np.bool_]:
    """``np.isin`` for a small sorted set: a binary search per key instead of sorting them all."""
    if sorted_set.shape[0] == 0:
        return np.zeros(keys.shape[0], dtype=bool)
    at = np.minimum(np.searchsorted(sorted_set, keys), sorted_set.shape[0] - 1)
    return sorted_set[at] == keys
