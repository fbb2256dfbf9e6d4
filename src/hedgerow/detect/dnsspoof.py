"""DNS spoofing: two different answers to one query, the forger racing the real resolver.

A forger on the path (dnsspoof, ettercap's dns_spoof, a poisoned router) sees a device's query
and answers first with addresses of its choosing, in the name of the resolver the device asked
(the device's resolver library takes answers from that address only); the real resolver's
answer arrives a moment later. Both are responses to the same query: same client address and
port, same transaction id, same question, same server. A resolver answers a query once (a
retransmitted query may be answered twice, with the same addresses), so two such responses
within ``window`` seconds whose A/AAAA addresses differ (and neither empty) are a race. The
alert is about the client (the victim). When the two came from different MACs (on the home
link, the forger's own and the resolver's), the forger is the MAC that answered for that server
less often before; with no history, the first to answer (forgers race to be first). When both
came through one MAC (a forger beyond the router), the server address names the pair. One alert
per client, forger and ``dedup_s`` (an hour), with the name, the forged and the genuine answer
of its first race. Event time only; at most ``max_pending`` responses and as many servers (a
few MACs each) are held.

Responses are read only when a second one to the same query comes (rare): the first is kept
as its bytes until then.

Example:
    >>> import struct
    >>> from hedgerow.detect.base import DetectContext
    >>> from hedgerow.detect.ruleschema import DnsSpoofRule
    >>> def response(txid, name, address):  # one A record
    ...     qname = b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + bytes(1)
    ...     rdata = bytes(map(int, address.split(".")))
    ...     record = struct.pack("!HHHIH", 0xC00C, 1, 1, 60, 4) + rdata
    ...     head = struct.pack("!6H", txid, 0x8180, 1, 1, 0, 0)
    ...     return head + qname + struct.pack("!HH", 1, 1) + record
    >>> rule = DnsSpoofRule.model_validate({"id": "spoof.dns.demo", "type": "dns-spoof",
    ...     "kind": "spoofing", "severity": "high", "meaning": "DNS spoofing", "window": 2})
    >>> det = DnsSpoofDetector(rule)
    >>> router, forger, resolver, client = ("aa:aa:aa:aa:aa:01", "aa:aa:aa:aa:aa:66",
    ...                                      "192.168.1.1", "192.168.1.20")
    >>> det.answer(client, 39000, resolver, router, response(1, "cdn.example", "198.51.100.9"),
    ...            at=1.0)
    >>> det.answer(client, 40000, resolver, router, response(7, "bank.example", "203.0.113.7"),
    ...            at=10.00)
    >>> det.answer(client, 40000, resolver, forger, response(7, "bank.example", "6.6.6.6"),
    ...            at=10.03)  # second, yet forged: the router had answered before
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
"""(client address, client port, transaction id, server address)"""

_UDP = 17
_DNS = 53
_MACS_PER_SERVER = 4


@dataclass(frozen=True, slots=True)
class _Response:
    at: float
    payload: bytes
    mac: str


@dataclass(frozen=True, slots=True)
class _Answer:
    """What a response says: its question and the addresses it gives (sorted)."""

    question: str | None
    addresses: tuple[str, ...]

    @classmethod
    def read(cls, payload: bytes) -> _Answer:
        answers = dns_answers(payload)
        return cls(answers.question, tuple(sorted(
            r.value for r in answers.records if r.rtype in (TYPE_A, TYPE_AAAA))))


@dataclass(frozen=True, slots=True)
class _Race:
    query: Query
    name: str
    forged: tuple[_Response, _Answer]
    genuine: tuple[_Response, _Answer]


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
        self._swept = float("-inf")

    def __deepcopy__(self, memo: dict[int, object]) -> DnsSpoofDetector:
        """A copy is a trial engine's (the live sensor's early checks), which reads no packets:
        it gets the alerts waiting to be returned, not the responses held."""
        clone = type(self)(self.rule)
        clone._found = deque(self._found)
        return clone

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
            self.answer(client, port, server, mac or "", data[start:end].tobytes(), at=at)

    def answer(self, client: str, port: int, server: str, mac: str, payload: bytes, *,
               at: float) -> None:
        """One DNS response ``payload`` from ``server`` (via ``mac``) to ``client``:``port``."""
        self._count(server, mac)
        query = (client, port, int.from_bytes(payload[:2], "big"), server)
        response = _Response(at, payload, mac)
        first = self._pending.get(query)
        if first is None or at - first.at > self.rule.window:
            if at - self._swept > self.rule.window:
                self._forget_before(at - self.rule.window)
                self._swept = at
            self._pending.pop(query, None)
            if len(self._pending) >= self.rule.max_pending:
                del self._pending[next(iter(self._pending))]
            self._pending[query] = response
            return
        if query in self._raced:
            return
        said, says = _Answer.read(first.payload), _Answer.read(payload)
        if (said.question is None or said.question != says.question or not said.addresses
                or not says.addresses or said.addresses == says.addresses):
            return
        self._raced.add(query)
        seen = self._answered[server]
        pair = sorted(((first, said), (response, says)), key=lambda r: seen.get(r[0].mac, 0))
        if seen.get(pair[0][0].mac, 0) == seen.get(pair[1][0].mac, 0):
            pair = [(first, said), (response, says)]
        self._found.append(_Race(query, said.question, pair[0], pair[1]))

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
            client, _port, _txid, server = race.query
            (forged, lie), (genuine, truth) = race.forged, race.genuine
            forger = forged.mac if forged.mac and forged.mac != genuine.mac else server
            alert = make_alert(
                **rule_fields(self.rule),
                version=self.version,
                networks=ctx.networks,
                actors=[forger],
                targets=[client],
                start=min(forged.at, genuine.at),
                end=max(forged.at, genuine.at),
                window_key=int(min(forged.at, genuine.at) // self.rule.dedup_s),
                measure=f"{race.name} answered {', '.join(lie.addresses)} instead of "
                f"{', '.join(truth.addresses)}",
                evidence={
                    "name": race.name,
                    "server": server,
                    "forged": list(lie.addresses),
                    "forged_mac": forged.mac,
                    "genuine": list(truth.addresses),
                    "genuine_mac": genuine.mac,
                    "forged_first": forged.at <= genuine.at,
                },
            )
            if alert.direction in self.rule.directions:
                out.append(alert)
        return out
