"""DNS spoofing: two different answers to one query, the forger racing the real resolver.

A forger on the path (dnsspoof, ettercap's dns_spoof, a poisoned router) sees a device's
query and answers first with addresses of its choosing, in the name of the resolver the device
asked (a stub resolver takes answers from that address only); the real resolver's answer
arrives a moment later. Both are responses to the same query: same client address and port,
same transaction id, same question, same server. A resolver answers a query once (a
retransmitted query may be answered twice, with the same addresses), so two such responses
within ``window`` seconds whose A/AAAA addresses differ (and neither empty) are a race. The
alert is about the client (the victim). When the two came from different MACs (on the home
link, the forger's own and the resolver's), the forger is the MAC that answered for that server
less often before; with no history, the first to answer (forgers race to be first). When both
came through one MAC (a forger beyond the router), the server address names the pair. One alert
per client, forger and ``dedup_s`` (an hour), with the name, the forged and the genuine answer
of its first race. Event time only; at most ``max_pending`` responses and as many servers (a
few MACs each) are held.

Example:
    >>> from hedgerow.detect.base import DetectContext
    >>> from hedgerow.detect.ruleschema import DnsSpoofRule
    >>> rule = DnsSpoofRule.model_validate({"id": "spoof.dns.demo", "type": "dns-spoof",
    ...     "kind": "spoofing", "severity": "high", "meaning": "DNS spoofing", "window": 2})
    >>> det = DnsSpoofDetector(rule)
    >>> router, forger = "aa:aa:aa:aa:aa:01", "aa:aa:aa:aa:aa:66"
    >>> det.answer(("192.168.1.20", 39000, 1, "cdn.example"), ("198.51.100.9",),
    ...            "192.168.1.1", router, at=1.0)
    >>> query = ("192.168.1.20", 40000, 0x1234, "bank.example")
    >>> det.answer(query, ("203.0.113.7",), "192.168.1.1", router, at=10.00)
    >>> det.answer(query, ("6.6.6.6",), "192.168.1.1", forger, at=10.03)  # second, yet forged
    >>> [(a.device, a.peers, a.evidence["forged"]) for a in det.finish(DetectContext())]
    [('192.168.1.20', ('aa:aa:aa:aa:aa:66',), ['6.6.6.6'])]
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np

from hedgerow.capture.batch import DecodeStatus, PacketBatch
from hedgerow.detect.alerting import make_alert, rule_fields
from hedgerow.detect.base import DetectContext, Detector, register
from hedgerow.detect.ruleschema import DnsSpoofRule
from hedgerow.flows.build import addr_strings
from hedgerow.flows.schema import FlowBatch
from hedgerow.flows.text import mac_strings
from hedgerow.model import Alert
from hedgerow.wire.dns import TYPE_A, TYPE_AAAA, dns_answers

Query = tuple[str, int, int, str]
"""(client address, client port, transaction id, question name)"""

_UDP = 17
_DNS = 53
_MACS_PER_SERVER = 4


@dataclass(frozen=True, slots=True)
class _Response:
    at: float
    addresses: tuple[str, ...]
    server: str
    mac: str


@dataclass(frozen=True, slots=True)
class _Race:
    query: Query
    forged: _Response
    genuine: _Response


@register("dns-spoof")
class DnsSpoofDetector(Detector):
    """Two different answers to one DNS query, from the response packets of the capture."""

    rule: DnsSpoofRule
    reads_packets = True

    def __init__(self, rule: DnsSpoofRule) -> None:
        super().__init__(rule)
        self._pending: dict[Query, _Response] = {}
        self._found: deque[_Race] = deque()
        self._raced: set[Query] = set()
        self._answered: dict[str, dict[str, int]] = {}
        """server -> MAC -> responses seen"""

    def observe(self, packets: PacketBatch) -> None:
        """Read the batch's DNS responses (UDP from port 53)."""
        rows = np.flatnonzero((packets.proto == _UDP) & (packets.sport == _DNS)
                              & (packets.status == DecodeStatus.OK) & (packets.payload_cap >= 12))
        if rows.size == 0:
            return
        clients = addr_strings(packets.dst_hi[rows], packets.dst_lo[rows]).to_list()
        servers = addr_strings(packets.src_hi[rows], packets.src_lo[rows]).to_list()
        macs = mac_strings(packets.eth_src[rows]).to_list()
        ports = packets.dport[rows].tolist()
        times = (packets.ts_ns[rows] / 1e9).tolist()
        starts = packets.payload_off[rows].tolist()
        ends = (packets.payload_off[rows] + packets.payload_cap[rows]).tolist()
        data = packets.data
        for client, server, mac, port, at, start, end in zip(
            clients, servers, macs, ports, times, starts, ends, strict=True
        ):
            payload = data[start:end].tobytes()
            answers = dns_answers(payload)
            if answers.question is None:
                continue
            addresses = tuple(sorted(r.value for r in answers.records
                                     if r.rtype in (TYPE_A, TYPE_AAAA)))
            txid = int.from_bytes(payload[:2], "big")
            self.answer((client, port, txid, answers.question), addresses, server, mac or "",
                        at=at)

    def answer(self, query: Query, addresses: tuple[str, ...], server: str, mac: str, *,
               at: float) -> None:
        """One response to ``query`` giving ``addresses`` (sorted), from ``server`` via ``mac``."""
        response = _Response(at, addresses, server, mac)
        self._count(server, mac)
        first = self._pending.get(query)
        if first is None or at - first.at > self.rule.window:
            self._forget_before(at - self.rule.window)
            self._pending.pop(query, None)
            if len(self._pending) >= self.rule.max_pending:
                del self._pending[next(iter(self._pending))]
            self._pending[query] = response
            return
        if (first.server == server and first.addresses and addresses
                and first.addresses != addresses and query not in self._raced):
            self._raced.add(query)
            seen = self._answered[server]
            forged, genuine = sorted((first, response), key=lambda r: seen.get(r.mac, 0))
            if seen.get(forged.mac, 0) == seen.get(genuine.mac, 0):
                forged, genuine = first, response
            self._found.append(_Race(query, forged, genuine))

    def process(self, flows: FlowBatch, ctx: DetectContext) -> list[Alert]:
        return self._alerts(ctx)

    def finish(self, ctx: DetectContext) -> list[Alert]:
        return self._alerts(ctx)

    def open_since(self) -> float:
        return float("inf")

    def _count(self, server: str, mac: str) -> None:
        macs = self._answered.pop(server, None)
        if macs is None:
            macs = {}
            if len(self._answered) >= self.rule.max_pending:
                del self._answered[next(iter(self._answered))]
        self._answered[server] = macs
        if mac not in macs and len(macs) >= _MACS_PER_SERVER:
            del macs[min(macs, key=macs.__getitem__)]
        macs[mac] = macs.get(mac, 0) + 1

    def _forget_before(self, horizon: float) -> None:
        while self._pending:
            query, oldest = next(iter(self._pending.items()))
            if oldest.at >= horizon:
                break
            del self._pending[query]
            self._raced.discard(query)

    def _alerts(self, ctx: DetectContext) -> list[Alert]:
        out = []
        while self._found:
            race = self._found.popleft()
            client, _port, _txid, name = race.query
            forged, genuine = race.forged, race.genuine
            forger = forged.mac if forged.mac and forged.mac != genuine.mac else forged.server
            alert = make_alert(
                **rule_fields(self.rule),
                version=self.version,
                networks=ctx.networks,
                actors=[forger],
                targets=[client],
                start=min(forged.at, genuine.at),
                end=max(forged.at, genuine.at),
                window_key=int(min(forged.at, genuine.at) // self.rule.dedup_s),
                measure=f"{name} answered {', '.join(forged.addresses)} instead of "
                f"{', '.join(genuine.addresses)}",
                evidence={
                    "name": name,
                    "server": forged.server,
                    "forged": list(forged.addresses),
                    "forged_mac": forged.mac,
                    "genuine": list(genuine.addresses),
                    "genuine_mac": genuine.mac,
                    "forged_first": forged.at <= genuine.at,
                },
            )
            if alert.direction in self.rule.directions:
                out.append(alert)
        return out
