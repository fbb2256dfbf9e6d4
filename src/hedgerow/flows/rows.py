"""The flow meter's core: PacketBatches in, ended flow-table rows out (numpy only).

Per-packet state lives in the compiled kernel :func:`hedgerow.flows.kernels.meter_packets`; this
module prepares the batch columns (ICMP type/code pairing, fragment flags), grows the flow table
geometrically, emits flows that ended (idle or active timeout, TCP close plus a close delay,
reuse of the 5-tuple by a new SYN) as compact :class:`FlowRows` chunks, or hands their rows in
the live table to a :data:`RowSink`, and compacts the table, so memory follows live flows.
:class:`~hedgerow.flows.meter.FlowMeter` turns the chunks into FlowBatches; the Zeek TSV writer
is a row sink (no copy of the rows, no dataframe library loaded).

Example:
    >>> from hedgerow.capture import open_capture
    >>> meter = RowMeter()
    >>> with open_capture("/work/shared/corpus/zeek-conn/core.q-in-q/q-in-q.pcap") as cap:
    ...     ended = [meter.add_rows(batch) for batch in cap]
    >>> [chunk.table.capacity for chunk in meter.flush_rows()]
    [3]
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from hedgerow.capture.batch import L3, DecodeStatus, Frag, PacketBatch
from hedgerow.flows import kernels as k
from hedgerow.flows.ports import LIKELY_SERVER_TCP, LIKELY_SERVER_UDP, icmp_ports

_NS = 1_000_000_000
ARP_PROTO = 254
"""Pseudo IP protocol number under which ARP exchanges are metered (``proto`` = ``"arp"``)."""
_EMIT_CHUNK = 8192
_SHRINK_AFTER = 16


@dataclass(frozen=True)
class MeterConfig:
    """Flow meter settings (seconds). Defaults follow Zeek's.

    ``active_timeout`` 0 means none (Zeek has none); ``close_delay`` is how long a closed or
    reset TCP connection still takes stray packets (Zeek's ``tcp_close_delay``).
    """

    tcp_inactivity: float = 300.0
    udp_inactivity: float = 60.0
    icmp_inactivity: float = 60.0
    active_timeout: float = 0.0
    close_delay: float = 5.0
    initial_capacity: int = 4096


class FlowRows(NamedTuple):
    """Ended flows: flow-table rows (orig = direction 0) and their payload prefixes.

    ``pool[table.pl_slot[f]]`` holds flow ``f``'s kept payload bytes (``pl_slot`` -1: none).
    """

    table: k.FlowTable
    pool: npt.NDArray[np.uint8]


RowSink = Callable[[k.FlowTable, npt.NDArray[np.int64], npt.NDArray[np.uint8]], None]
"""Takes ended flows where they are: ``(table, rows, pool)``, the meter's live table, the rows
of the ended flows (ascending, at most 8,192 a call) and its payload pool. Valid during the
call only: the meter drops the rows right after."""


class RowMeter:
    """Stateful meter: feed it batches in capture order with :meth:`add_rows`, then
    :meth:`flush_rows`.

    With a ``sink`` the ended flows go to it instead (no copy of their rows is made) and the
    two methods return empty lists; the conn.log writer formats them there.
    """

    def __init__(self, config: MeterConfig | None = None, sink: RowSink | None = None) -> None:
        self.config = config or MeterConfig()
        self.sink = sink
        cap = max(16, int(self.config.initial_capacity))
        self._table = k.FlowTable.allocate(cap)
        self._index = np.full(cap * 2, -1, np.int32)
        self._n = np.zeros(1, np.int64)
        self._frag_index = np.full(1 << 14, -1, np.int64)
        self._frag_key = np.zeros(1 << 14, np.uint64)
        self._pool = np.zeros((max(16, cap // 4), 2, k.PAYLOAD_KEEP), np.uint8)
        self._pool_n = np.zeros(1, np.int64)
        c = self.config
        self._timeouts = np.array(
            [c.tcp_inactivity * _NS, c.udp_inactivity * _NS, c.icmp_inactivity * _NS], np.int64
        )
        self._active = int(c.active_timeout * _NS)
        self._close = int(c.close_delay * _NS)
        self.packets = 0
        self.ignored = 0
        self._quiet = 0

    @property
    def live_flows(self) -> int:
        """Flows currently held in the table."""
        return int(self._n[0])

    def add_rows(self, batch: PacketBatch) -> list[FlowRows]:
        """Meter one batch; return the flows that ended with it, in chunks (possibly none)."""
        n = len(batch)
        self.packets += n
        if n == 0:
            return []
        is_arp = (batch.l3 == L3.ARP) & ((batch.src_lo != 0) | (batch.dst_lo != 0))
        usable = (batch.status == DecodeStatus.OK) & (
            (batch.l3 == L3.IPV4) | (batch.l3 == L3.IPV6) | is_arp
        )
        sel = np.flatnonzero(usable).astype(np.int64)
        self.ignored += n - sel.shape[0]
        proto, ip_len = batch.proto, batch.ip_len
        sport, dport, prefer_resp = icmp_ports(proto, batch.sport, batch.dport)
        if is_arp.any():
            # ARP as a pseudo-protocol: sender/target addresses, no ports; a reply seen first
            # makes its receiver (the asker) the originator.
            proto = np.where(is_arp, ARP_PROTO, proto).astype(np.uint8)
            ip_len = np.where(is_arp, 28, ip_len).astype(np.uint32)
            prefer_resp = np.where(is_arp, batch.sport == 2, prefer_resp)
            sport = np.where(is_arp, 0, sport).astype(np.int32)
            dport = np.where(is_arp, 0, dport).astype(np.int32)
        later = batch.frag == Frag.LATER
        first = batch.frag == Frag.FIRST
        pos = 0
        ended_early: list[FlowRows] = []
        while True:
            t = self._table
            pos = k.meter_packets(
                pos,
                sel,
                batch.ts_ns,
                batch.src_hi,
                batch.src_lo,
                batch.dst_hi,
                batch.dst_lo,
                sport,
                dport,
                proto,
                batch.vlan,
                prefer_resp,
                later,
                first,
                batch.ip_id,
                ip_len,
                batch.tcp_flags,
                batch.seq,
                batch.ack,
                batch.window,
                batch.payload_len,
                batch.payload_off,
                batch.payload_cap,
                batch.eth_src,
                batch.eth_dst,
                batch.data,
                LIKELY_SERVER_TCP,
                LIKELY_SERVER_UDP,
                self._timeouts,
                self._active,
                self._close,
                self._index,
                self._n,
                self._frag_index,
                self._frag_key,
                self._pool,
                self._pool_n,
                *t.columns(),
            )
            if pos >= sel.shape[0]:
                break
            ended_early.extend(self._emit_rows(grow=True))
        now = int(batch.ts_ns[sel[-1]]) if sel.shape[0] else int(batch.ts_ns[-1])
        ended = k.sweep(
            int(self._n[0]),
            now,
            self._table.proto,
            self._table.first_ns,
            self._table.last_ns,
            self._table.end_ns,
            self._table.done,
            self._timeouts,
            self._active,
            self._close,
        )
        if ended:
            ended_early.extend(self._emit_rows())
        return ended_early

    def flush_rows(self) -> list[FlowRows]:
        """End every live flow and return them (the meter is empty afterwards)."""
        n = int(self._n[0])
        live = self._table.done[:n] == k.LIVE
        self._table.done[:n][live] = k.DONE_FLUSH
        return self._emit_rows()

    def _emit_rows(self, grow: bool = False) -> list[FlowRows]:
        """Copy out the ended flows (in chunks, to bound temporaries) or hand them to the sink,
        then drop them."""
        n = int(self._n[0])
        done = self._table.done[:n] != k.LIVE
        rows = np.flatnonzero(done)
        parts = []
        for start in range(0, rows.shape[0], _EMIT_CHUNK):
            chunk = rows[start : start + _EMIT_CHUNK]
            if self.sink is not None:
                self.sink(self._table, chunk, self._pool)
                continue
            out = self._table.take(chunk)
            has = out.pl_slot >= 0
            out_pool = np.take(self._pool, out.pl_slot[has], axis=0)
            out.pl_slot[has] = np.arange(out_pool.shape[0], dtype=np.int32)
            parts.append(FlowRows(out, out_pool))
        self._compact(grow=grow)
        return parts

    def _compact(self, grow: bool) -> None:
        """Drop ended flows; grow (x2) when still more than half full; rebuild the index."""
        n = int(self._n[0])
        t = self._table
        keep = np.flatnonzero(t.done[:n] == k.LIVE)
        live = keep.shape[0]
        cap = t.capacity
        if grow and live * 2 > cap:
            cap *= 2
        elif not grow and live * 16 < cap and cap > self.config.initial_capacity:
            # Shrink only after a run of quiet batches, so bursts do not make the table
            # shrink and regrow at every batch.
            self._quiet += 1
            if self._quiet >= _SHRINK_AFTER:
                cap = max(self.config.initial_capacity, cap // 4)
                self._quiet = 0
        else:
            self._quiet = 0
        remap = np.full(max(n, 1), -1, np.int64)
        remap[keep] = np.arange(live)
        if cap == t.capacity:
            t.compact(keep)
        else:
            self._table = t.resized(cap, keep)
        self._n[0] = live
        fi = self._frag_index
        valid = (fi >= 0) & (fi < n)
        fi[valid] = remap[fi[valid]]
        fi[~valid] = -1
        self._compact_pool(grow, shrink=cap < t.capacity)
        self._index = np.full(cap * 2, -1, np.int32)
        nt = self._table
        k.rebuild_index(
            self._index,
            live,
            nt.a_hi,
            nt.a_lo,
            nt.b_hi,
            nt.b_lo,
            nt.a_port,
            nt.b_port,
            nt.proto,
            nt.vlan,
        )

    def _compact_pool(self, grow: bool, shrink: bool) -> None:
        """Keep the payload rows of live flows (renumbered); grow x2 when more than half full."""
        t = self._table
        live = int(self._n[0])
        slots = t.pl_slot[:live]
        has = np.flatnonzero(slots >= 0)
        used = has.shape[0]
        cap = self._pool.shape[0]
        if grow and used * 2 > cap:
            cap *= 2
        elif shrink and used * 16 < cap and cap > 64:
            cap = max(64, cap // 4)
        rows = np.take(self._pool, slots[has], axis=0)
        if cap != self._pool.shape[0]:
            self._pool = np.zeros((cap, 2, k.PAYLOAD_KEEP), np.uint8)
        self._pool[:used] = rows
        slots[has] = np.arange(used, dtype=np.int32)
        self._pool_n[0] = used
