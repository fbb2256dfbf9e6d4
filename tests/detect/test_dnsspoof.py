"""DNS spoofing: which second answers are a race, and who the forger is.

The positive case on real tool traffic is the rule case ``spoof/cases/netns-dnsspoof`` and
``test_real_tool_attacks.py::test_dnsspoof_racing_the_router_resolver``.
"""

from __future__ import annotations

import struct

from hedgerow.detect.base import DetectContext
from hedgerow.detect.dnsspoof import DnsSpoofDetector
from hedgerow.detect.ruleload import builtin_rules_dir, load_rules
from hedgerow.detect.ruleschema import DnsSpoofRule
from hedgerow.model import Alert

ROUTER, FORGER = "02:00:00:00:00:01", "02:00:00:00:00:66"
RESOLVER, CLIENT = "192.168.1.1", "192.168.1.20"


def _response(txid: int, name: str, *addresses: str) -> bytes:
    """A DNS response to ``name`` (A) with one A record per address."""
    qname = b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\x00"
    records = b"".join(struct.pack("!HHHIH", 0xC00C, 1, 1, 60, 4)
                       + bytes(map(int, a.split("."))) for a in addresses)
    head = struct.pack("!6H", txid, 0x8180, 1, len(addresses), 0, 0)
    return head + qname + struct.pack("!HH", 1, 1) + records


def _detector() -> DnsSpoofDetector:
    [rule] = [r for r in load_rules([builtin_rules_dir()]) if r.id == "spoof.dns"]
    assert isinstance(rule, DnsSpoofRule)
    return DnsSpoofDetector(rule)


def _alerts(det: DnsSpoofDetector) -> list[Alert]:
    return det.finish(DetectContext())


def test_a_forged_answer_first_with_no_history_names_its_mac() -> None:
    det = _detector()
    det.answer(CLIENT, 40000, RESOLVER, FORGER, _response(9, "cloud.example", "198.51.100.66"),
               at=10.0)
    det.answer(CLIENT, 40000, RESOLVER, ROUTER, _response(9, "cloud.example", "203.0.113.10"),
               at=10.2)
    [alert] = _alerts(det)
    assert (alert.detector, alert.kind.value, alert.direction, alert.device, alert.peers) == (
        "spoof.dns", "spoofing", "inbound", CLIENT, (FORGER,))
    assert alert.evidence["name"] == "cloud.example"
    assert alert.evidence["forged"] == ["198.51.100.66"] and alert.evidence["forged_first"]


def test_the_resolvers_usual_mac_is_genuine_even_when_second() -> None:
    det = _detector()
    for i in range(3):
        det.answer(CLIENT, 39000 + i, RESOLVER, ROUTER,
                   _response(i, "time.example", "203.0.113.11"), at=float(i))
    det.answer(CLIENT, 40000, RESOLVER, ROUTER, _response(9, "cloud.example", "203.0.113.10"),
               at=10.0)
    det.answer(CLIENT, 40000, RESOLVER, FORGER, _response(9, "cloud.example", "198.51.100.66"),
               at=10.05)
    [alert] = _alerts(det)
    assert alert.peers == (FORGER,) and alert.evidence["genuine"] == ["203.0.113.10"]
    assert not alert.evidence["forged_first"]


def test_answers_that_are_no_race_raise_nothing() -> None:
    det = _detector()
    # a retransmitted query answered twice alike (address order aside)
    det.answer(CLIENT, 40000, RESOLVER, ROUTER,
               _response(1, "cdn.example", "203.0.113.1", "203.0.113.2"), at=1.0)
    det.answer(CLIENT, 40000, RESOLVER, ROUTER,
               _response(1, "cdn.example", "203.0.113.2", "203.0.113.1"), at=1.5)
    # the same id and port asked of two resolvers (geo-dependent CDN answers)
    det.answer(CLIENT, 41000, "8.8.8.8", ROUTER, _response(7, "cdn.example", "198.51.100.1"),
               at=2.0)
    det.answer(CLIENT, 41000, "1.1.1.1", ROUTER, _response(7, "cdn.example", "198.51.100.2"),
               at=2.1)
    # a name that does not exist, answered empty: nothing to compare
    det.answer(CLIENT, 42000, RESOLVER, ROUTER, _response(8, "nx.example"), at=3.0)
    det.answer(CLIENT, 42000, RESOLVER, FORGER, _response(8, "nx.example", "203.0.113.9"),
               at=3.1)
    # one id and port for two questions, and reused for the first name long after
    det.answer(CLIENT, 43000, RESOLVER, ROUTER, _response(5, "a.example", "203.0.113.5"), at=4.0)
    det.answer(CLIENT, 43000, RESOLVER, ROUTER, _response(5, "b.example", "203.0.113.6"), at=4.1)
    det.answer(CLIENT, 40000, RESOLVER, ROUTER, _response(1, "cdn.example", "203.0.113.3"),
               at=100.0)
    assert _alerts(det) == []


def test_one_alert_per_query_and_bounded_state() -> None:
    det = _detector()
    det.answer(CLIENT, 40000, RESOLVER, FORGER, _response(9, "cloud.example", "198.51.100.66"),
               at=10.0)
    for t in (10.1, 10.2, 10.3):
        det.answer(CLIENT, 40000, RESOLVER, ROUTER, _response(9, "cloud.example", "203.0.113.10"),
                   at=t)
    assert len(_alerts(det)) == 1
    small = DnsSpoofDetector(det.rule.model_copy(update={"max_pending": 16}))
    for i in range(200):
        small.answer(CLIENT, i, f"10.0.{i}.1", ROUTER, _response(i, "n.example", "203.0.113.1"),
                     at=i / 1000)
    assert len(small._pending) <= 16 and len(small._answered) <= 16
