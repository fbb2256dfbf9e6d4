"""ARP cache poisoning: two MACs answering for one address at once, one of them an impostor.

Every ARP packet (request or reply) says "this address is at this MAC" for its sender: the MAC
is a *voice* for the address. A voice lasts while it keeps speaking (``hold`` seconds after its
last packet; then it is forgotten, as when DHCP gives the address to another device). Two voices
for one address are a dispute. arpspoof, ettercap and the MITM modules of IoT malware re-poison
their victims every second or two, while the real owner (the router, most often) goes on
answering for itself. The impostor is the voice that also speaks for an address of its own (the
attacker's tools ask for their victims' MACs from the attacker's address), else the one heard
first later. It is an attack once the impostor has made ``min_claims`` claims, each within
``window`` seconds of the one before, and the owner spoke after the first of them: both answer
at once. A device that moved (a phone roaming to a Wi-Fi extender that answers for its clients
with its own MAC) leaves its old voice silent, and raises nothing. One alert per address,
impostor and episode, raised as soon as it is known (its counts are those of that moment): the
impostor's own address is the actor (its MAC when it never spoke for itself), the impersonated
address and the poisoned hosts are the targets. ARP probes (sender 0.0.0.0) claim nothing.

The detector reads packets, not flows (a flow of ARP keeps one MAC per side): the engine hands
it every packet batch (:meth:`ArpSpoofDetector.observe`), possibly from a reader thread, and
it returns its alerts at the next flow batch or at the end. Event time only. State is bounded:
at most ``max_addresses`` addresses and MACs (the least recently heard go first), a few voices
and addresses each.

Example:
    >>> from hedgerow.detect.base import DetectContext
    >>> from hedgerow.detect.ruleschema import ArpSpoofRule
    >>> rule = ArpSpoofRule.model_validate({"id": "spoof.arp.demo", "type": "arp-spoof",
    ...     "kind": "spoofing", "severity": "high", "meaning": "ARP cache poisoning",
    ...     "min_claims": 3, "window": 30, "hold": 600})
    >>> det = ArpSpoofDetector(rule)
    >>> router, attacker = "aa:aa:aa:aa:aa:01", "aa:aa:aa:aa:aa:66"
    >>> det.claim("192.168.1.1", router, "192.168.1.20", at=0.0)
    >>> det.claim("192.168.1.66", attacker, "192.168.1.20", at=1.0)  # its own address
    >>> for t in (2.0, 4.0):
    ...     det.claim("192.168.1.1", attacker, "192.168.1.20", at=t)
    >>> det.claim("192.168.1.1", router, "192.168.1.30", at=5.0)  # the router answers on
    >>> det.claim("192.168.1.1", attacker, "192.168.1.20", at=6.0)
    >>> [(a.device, a.direction, a.peers) for a in det.finish(DetectContext())]
    [('192.168.1.66', 'internal', ('192.168.1.1', '192.168.1.20'))]
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass, field
from typing import TypeVar

import numpy as np

from hedgerow.capture.batch import L3, DecodeStatus, PacketBatch
from hedgerow.detect.alerting import make_alert, rule_fields
from hedgerow.detect.base import DetectContext, Detector, register
from hedgerow.detect.ruleschema import ArpSpoofRule
from hedgerow.flows.build import addr_strings
from hedgerow.flows.schema import FlowBatch
from hedgerow.flows.text import mac_strings
from hedgerow.model import Alert

VOICES_PER_ADDRESS = 4
"""MACs remembered per address (the newest go when more speak at once)."""
ADDRESSES_PER_MAC = 16
"""Addresses remembered per MAC (a router answers for a few; an ARP proxy for more)."""
_SHOWN = 20
_LOW32 = np.uint64(0xFFFFFFFF)
_V = TypeVar("_V")


@dataclass(slots=True)
class _Voice:
    """One MAC speaking for one address: since when, and its current episode of claims."""

    first: float
    last: float
    since: float
    claims: int = 0
    victims: set[str] = field(default_factory=set)
    alerted: bool = False


@dataclass(frozen=True, slots=True)
class _Found:
    """An impostor's episode as it stood when the dispute was established."""

    address: str
    mac: str
    owners: list[str]
    actor: str
    since: float
    last: float
    claims: int
    victims: list[str]


@register("arp-spoof")
class ArpSpoofDetector(Detector):
    """Impostor MACs in disputes over addresses, from the ARP packets of the capture."""

    rule: ArpSpoofRule
    reads_packets = True

    def __init__(self, rule: ArpSpoofRule) -> None:
        super().__init__(rule)
        self._voices: dict[str, dict[str, _Voice]] = {}
        self._spoken: dict[str, dict[str, float]] = {}
        self._found: deque[_Found] = deque()
        self._lock = threading.Lock()

    def __deepcopy__(self, memo: dict[int, object]) -> ArpSpoofDetector:
        """A copy is a trial engine's (the live sensor's early checks), which reads no packets:
        it gets the alerts waiting to be returned, not the addresses' state."""
        clone = type(self)(self.rule)
        clone._found = deque(self._found)
        return clone

    def observe(self, packets: PacketBatch) -> None:
        """Read the batch's ARP packets (sender address and MAC, target address)."""
        rows = np.flatnonzero((packets.l3 == L3.ARP) & (packets.status == DecodeStatus.OK)
                              & (packets.src_lo & _LOW32 != 0) & (packets.eth_src != 0))
        if rows.size == 0:
            return
        senders = addr_strings(packets.src_hi[rows], packets.src_lo[rows]).to_list()
        targets = addr_strings(packets.dst_hi[rows], packets.dst_lo[rows]).to_list()
        macs = mac_strings(packets.eth_src[rows]).to_list()
        times = (packets.ts_ns[rows] / 1e9).tolist()
        with self._lock:
            for sender, mac, target, at in zip(senders, macs, targets, times, strict=True):
                self._claim(sender, mac, target, at)

    def claim(self, address: str, mac: str, target: str, *, at: float) -> None:
        """One ARP packet from ``mac`` saying ``address`` is at ``mac``, sent to ``target``."""
        with self._lock:
            self._claim(address, mac, target, at)

    def _claim(self, address: str, mac: str, target: str, at: float) -> None:
        rule = self.rule
        voices = _recent(self._voices, address, rule.max_addresses)
        for other in [m for m, v in voices.items() if v.last + rule.hold < at]:
            del voices[other]
        voice = voices.get(mac)
        if voice is None:
            if len(voices) >= VOICES_PER_ADDRESS:
                del voices[max(voices, key=lambda m: voices[m].first)]
            voice = voices[mac] = _Voice(first=at, last=at, since=at)
        elif voice.last + rule.window < at:
            voice.since, voice.claims, voice.alerted = at, 0, False
            voice.victims.clear()
        voice.last = at
        voice.claims += 1
        if target != address and len(voice.victims) < _SHOWN:
            voice.victims.add(target)
        spoken = _recent(self._spoken, mac, rule.max_addresses)
        spoken.pop(address, None)
        if len(spoken) >= ADDRESSES_PER_MAC:
            del spoken[next(iter(spoken))]
        spoken[address] = at
        if len(voices) > 1:
            self._judge(address, voices, at)

    def process(self, flows: FlowBatch, ctx: DetectContext) -> list[Alert]:
        return self._alerts(ctx)

    def finish(self, ctx: DetectContext) -> list[Alert]:
        return self._alerts(ctx)

    def open_since(self) -> float:
        with self._lock:
            return min((v.since for voices in self._voices.values() if len(voices) > 1
                        for v in voices.values() if not v.alerted), default=float("inf"))

    def _judge(self, address: str, voices: dict[str, _Voice], at: float) -> None:
        """Raise the dispute's impostor once it has claimed enough while the owner spoke."""
        impostor = self._impostor(address, voices, at)
        voice = voices[impostor]
        if voice.alerted or voice.claims < self.rule.min_claims:
            return
        owners = [m for m, v in voices.items() if m != impostor]
        if not any(voices[m].last >= voice.since for m in owners):
            return
        voice.alerted = True
        own = self._own_addresses(impostor, address, at)
        self._found.append(_Found(address, impostor, sorted(owners), own[-1] if own else impostor,
                                  voice.since, voice.last, voice.claims, sorted(voice.victims)))

    def _impostor(self, address: str, voices: dict[str, _Voice], at: float) -> str:
        """The voice with an address of its own, else the one first heard last."""
        with_own = [m for m in voices if self._own_addresses(m, address, at)]
        candidates = with_own if len(with_own) == 1 else list(voices)
        return max(candidates, key=lambda m: voices[m].first)

    def _own_addresses(self, mac: str, address: str, at: float) -> list[str]:
        """Other addresses ``mac`` spoke for within ``hold``, oldest first."""
        spoken = self._spoken.get(mac, {})
        return [a for a, last in spoken.items() if a != address and last + self.rule.hold >= at]

    def _alerts(self, ctx: DetectContext) -> list[Alert]:
        out = []
        while self._found:
            found = self._found.popleft()
            alert = make_alert(
                **rule_fields(self.rule),
                version=self.version,
                networks=ctx.networks,
                actors=[found.actor],
                targets=[found.address, *found.victims],
                start=found.since,
                end=found.last,
                window_key=int(found.since // self.rule.window),
                measure=f"{found.claims} ARP claims for {found.address}",
                evidence={
                    "mac": found.mac,
                    "claims": found.claims,
                    "address": found.address,
                    "owner_macs": found.owners,
                    "poisoned": found.victims,
                },
            )
            if alert.direction in self.rule.directions:
                out.append(alert)
        return out


def _recent(table: dict[str, dict[str, _V]], key: str, cap: int) -> dict[str, _V]:
    """``table[key]`` (created if absent) moved to the end: the least recently used go first
    when the table holds ``cap``."""
    entry = table.pop(key, None)
    if entry is None:
        entry = {}
        if len(table) >= cap:
            del table[next(iter(table))]
    table[key] = entry
    return entry
