"""Which peers a device was given in DNS answers: the ``_resp_resolved`` flow column.

:class:`ResolutionRecord` is a packet observer: it reads the A/AAAA answers of every DNS
response packet (UDP from port 53, 5353 or 5355) and remembers (client, answered address) with
the event time of the answer. The client is known by its address and, on Ethernet, by its MAC
too: a device that holds two addresses, or changes address (DHCP, a setup network), keeps the
names it looked up, as IoT Sentinel's WeMoLink does (answers to 10.10.10.144, retried
connections from 10.22.22.138, one MAC). :meth:`ResolutionRecord.judge` then adds to a
FlowBatch the column ``_resp_resolved``: true when the responder's address had been answered
to the originator (its address or its MAC) at or before the flow's start and the answer has
not expired; false when it had not, though the originator's DNS answers are visible (it
received one before the flow started); null when nothing is known (no DNS answer to that
originator seen yet). Packets are observed before the flows they end are reported, so an
answer is always recorded before the connection that follows it is judged. Event time only,
never the wall clock.

Connections to addresses a device never looked up are the DNS-based scanning-worm signal
(Whyte, Kranakis, van Oorschot, NDSS 2005); ``scan.horizontal`` reads the column.

Example:
    >>> import polars as pl
    >>> record = ResolutionRecord(cap=2, slack=0.0)
    >>> record.add("192.168.1.4", "203.0.113.5", at=100.0, ttl=30)
    >>> flows = pl.DataFrame({
    ...     "ts": [150.0, 150.0, 50.0, 150.0],
    ...     "id.orig_h": ["192.168.1.4", "192.168.1.4", "192.168.1.4", "10.0.0.9"],
    ...     "id.resp_h": ["203.0.113.5", "198.51.100.1", "203.0.113.5", "203.0.113.5"],
    ...     "orig_l2_addr": [None, None, None, None]})
    >>> record.judge(flows)["_resp_resolved"].to_list()
    [True, False, None, None]
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import polars as pl

from hedgerow.capture.batch import PacketBatch
from hedgerow.flows.build import addr_strings
from hedgerow.flows.schema import RESP_RESOLVED, FlowBatch
from hedgerow.flows.source import FlowSource, PacketObserver
from hedgerow.flows.text import mac_strings
from hedgerow.wire.dns import TYPE_A, TYPE_AAAA, dns_answers

DNS_PORTS = (53, 5353, 5355)
"""UDP source ports of the responses read: DNS, mDNS, LLMNR."""

DEFAULT_CAP = 65_536
"""(client, address) pairs remembered (a client is an address or a MAC, so an answer on
Ethernet makes two pairs). A busy household sees a few thousand distinct answers a day (each
device a few dozen cloud names, CDNs rotating addresses); 65,536 pairs of two short strings
and two floats stay under ~10 MB. When full the least recently answered pair goes: a pair
forgotten early makes its later flows look unresolved (false), so the cap sits far above a
home's need."""
MIN_LIFETIME = 300.0
"""An answer is trusted at least 5 minutes even at TTL 0-60: devices and their stub resolvers
keep and reuse addresses past short TTLs (CDN names answer with TTL 20-60 s), and a connection
retried through an outage keeps the address it was given."""
MAX_LIFETIME = 86_400.0
"""... and at most a day: long TTLs (a day is common) are honoured up to that, as DNS caches
keep names that long in practice; older answers say little about today's peers."""

PARSED_PAYLOADS = 4096
"""Distinct response payloads whose answers are kept parsed (a resolver answers the same
names again and again; at most ~2 MB of payloads), all dropped together when full."""
EXPIRY_SLACK = 3600.0
"""Answers are forgotten this long after the earliest start of the flows being judged has
passed their end: flows are reported when they end, so a batch may hold flows that started
before the previous batch's (an unanswered SYN is reported up to the meter's 300 s TCP
inactivity after its last packet; an hour covers that many times over). A long established flow
reported hours after it began may be judged after its answer was forgotten (false); no scan
rule reads those (they are not S0)."""

_UDP = 17


class ResolutionRecord:
    """Bounded event-time record (client, answered address) -> (first answer, valid until)."""

    def __init__(
        self,
        *,
        cap: int = DEFAULT_CAP,
        min_lifetime: float = MIN_LIFETIME,
        max_lifetime: float = MAX_LIFETIME,
        slack: float = EXPIRY_SLACK,
    ) -> None:
        self.cap = cap
        self.min_lifetime = min_lifetime
        self.max_lifetime = max_lifetime
        self.slack = slack
        self._pairs: dict[tuple[str, str], tuple[float, float]] = {}
        self._clients: dict[str, float] = {}
        self._frames: tuple[pl.DataFrame, pl.DataFrame] | None = None
        self._parsed: dict[bytes, tuple[tuple[str, int], ...]] = {}

    def __len__(self) -> int:
        return len(self._pairs)

    def add(
        self, client: str, address: str, *, at: float, ttl: int, last: float | None = None
    ) -> None:
        """Remember that ``client`` (an address or a MAC) was given ``address`` at event time
        ``at`` with ``ttl`` (and again up to ``last``, when the same answer repeated).

        Answers for the same pair merge into one span from the first answer to the latest
        expiry (a gap between them counts as resolved: the safe side for a scan rule).
        """
        if self.cap <= 0:
            return
        until = (at if last is None else last) + min(
            max(float(ttl), self.min_lifetime), self.max_lifetime
        )
        key = (client, address)
        old = self._pairs.pop(key, None)
        if old is not None:
            at, until = min(old[0], at), max(old[1], until)
        elif len(self._pairs) >= self.cap:
            del self._pairs[next(iter(self._pairs))]
        self._pairs[key] = (at, until)
        first = self._clients.get(client)
        if first is None:
            if len(self._clients) >= self.cap:
                del self._clients[next(iter(self._clients))]
            self._clients[client] = at
        elif at < first:
            self._clients[client] = at
        self._frames = None

    def expire(self, horizon: float) -> None:
        """Forget answers that ended before ``horizon`` (the earliest start still to judge)."""
        gone = [key for key, (_since, until) in self._pairs.items() if until < horizon]
        for key in gone:
            del self._pairs[key]
        if gone:
            self._frames = None

    def observe(self, batch: PacketBatch) -> None:
        """Record the A/AAAA answers of the batch's DNS response packets (a packet observer).

        Answers sent to a multicast group (mDNS announcements) are left out: no flow starts
        from a group address. The same answer repeated to the same client within the batch
        (retransmissions) is recorded once, from its first to its last time; each distinct
        payload is parsed once while it stays among the last ``PARSED_PAYLOADS`` parsed.
        """
        if len(batch) == 0 or self.cap <= 0:
            return
        hi, lo = batch.dst_hi, batch.dst_lo
        v4 = (hi == 0) & ((lo >> np.uint64(32)) == np.uint64(0xFFFF))
        group = np.where(v4, (lo >> np.uint64(28)) & np.uint64(0xF) == np.uint64(0xE),
                         (hi >> np.uint64(56)) == np.uint64(0xFF))
        rows = np.flatnonzero(
            (batch.proto == _UDP) & (batch.payload_cap >= 12) & np.isin(batch.sport, DNS_PORTS)
            & ~group
        )
        if rows.size == 0:
            return
        clients = addr_strings(hi[rows], lo[rows]).to_list()
        macs = mac_strings(batch.eth_dst[rows]).to_list()
        times = (batch.ts_ns[rows] / 1e9).tolist()
        starts = batch.payload_off[rows].tolist()
        ends = (batch.payload_off[rows] + batch.payload_cap[rows]).tolist()
        data = batch.data.data
        seen: dict[tuple[str, str | None, bytes], list[float]] = {}
        for client, mac, at, start, end in zip(clients, macs, times, starts, ends, strict=True):
            span = seen.setdefault((client, mac, bytes(data[start:end])), [at, at])
            span[0], span[1] = min(span[0], at), max(span[1], at)
        parsed = self._parsed
        for (client, mac, payload), (first, last) in seen.items():
            answers = parsed.get(payload)
            if answers is None:
                if len(parsed) >= PARSED_PAYLOADS:
                    parsed.clear()
                answers = parsed[payload] = tuple(
                    (r.value, r.ttl)
                    for r in dns_answers(payload).records
                    if r.rtype in (TYPE_A, TYPE_AAAA)
                )
            for address, ttl in answers:
                self.add(client, address, at=first, ttl=ttl, last=last)
                if mac is not None:
                    self.add(mac, address, at=first, ttl=ttl, last=last)

    def judge(self, flows: pl.DataFrame) -> pl.DataFrame:
        """``flows`` with the Boolean column ``_resp_resolved`` (see the module docstring).

        Only flows whose originator (address or MAC) has received an answer can be known;
        those are joined on the (originator, responder) and originator keys, once by address
        and once by MAC. Answers that ended ``slack`` seconds before the batch's earliest start
        are forgotten first.
        """
        unknown = pl.repeat(None, flows.height, dtype=pl.Boolean, eager=True).alias(RESP_RESOLVED)
        if flows.height == 0 or not self._clients:
            return flows.with_columns(unknown)
        earliest = flows["ts"].min()
        if earliest is not None:
            self.expire(float(earliest) - self.slack)  # type: ignore[arg-type]
        pairs, clients = self._tables()
        listed = clients["_client"].implode()
        frame = (
            flows.select("ts", "id.orig_h", "id.resp_h", pl.col("orig_l2_addr").cast(pl.String))
            .with_row_index("_row")
            .filter(pl.col("id.orig_h").is_in(listed) | pl.col("orig_l2_addr").is_in(listed))
        )
        if frame.height == 0:
            return flows.with_columns(unknown)
        ts = pl.col("ts")
        known, resolved = pl.lit(False), pl.lit(False)
        for i, client in enumerate(("id.orig_h", "orig_l2_addr")):
            frame = frame.join(
                pairs.rename({"_client": client, "_since": f"_s{i}", "_until": f"_u{i}"}),
                on=[client, "id.resp_h"], how="left", maintain_order="left",
            ).join(
                clients.rename({"_client": client, "_first": f"_f{i}"}),
                on=client, how="left", maintain_order="left",
            )
            known = known | (pl.col(f"_f{i}") <= ts).fill_null(False)
            within = (pl.col(f"_s{i}") <= ts) & (pl.col(f"_u{i}") >= ts)
            resolved = resolved | within.fill_null(False)
        column = pl.when(known).then(resolved).otherwise(pl.lit(None, dtype=pl.Boolean))
        judged = frame.select("_row", column.alias(RESP_RESOLVED))
        return flows.with_columns(
            unknown.scatter(judged["_row"], judged[RESP_RESOLVED])
        )

    def _tables(self) -> tuple[pl.DataFrame, pl.DataFrame]:
        if self._frames is None:
            pairs = pl.DataFrame(
                {
                    "_client": [c for c, _a in self._pairs],
                    "id.resp_h": [a for _c, a in self._pairs],
                    "_since": [s for s, _u in self._pairs.values()],
                    "_until": [u for _s, u in self._pairs.values()],
                },
                schema={"_client": pl.String, "id.resp_h": pl.String,
                        "_since": pl.Float64, "_until": pl.Float64},
            )
            clients = pl.DataFrame(
                {"_client": list(self._clients), "_first": list(self._clients.values())},
                schema={"_client": pl.String, "_first": pl.Float64},
            )
            self._frames = (pairs, clients)
        return self._frames


def judged_flows(
    path: Path, packet_observers: Sequence[PacketObserver] = ()
) -> Iterator[FlowBatch]:
    """A file's FlowBatches with ``_resp_resolved`` from its own DNS answers, as ``hedgerow
    scan`` gives them (null throughout for a conn.log), its packets also shown to
    ``packet_observers``: the reader of ``hedgerow eval`` and ``hedgerow rules test``."""
    record = ResolutionRecord()
    for batch in FlowSource([path], packet_observers=[record.observe, *packet_observers]):
        yield record.judge(batch)
