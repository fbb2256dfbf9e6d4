"""DNS spoofing: which second answers are a race, and who the forger is.

The positive case on real tool traffic is the rule case ``spoof/cases/netns-dnsspoof`` and
``test_real_tool_attacks.py::test_dnsspoof_racing_the_router_resolver``.
"""

from __future__ import annotations

from hedgerow.detect.base import DetectContext
from hedgerow.detect.dnsspoof import DnsSpoofDetector, Query
from hedgerow.detect.ruleload import builtin_rules_dir, load_rules
from hedgerow.detect.ruleschema import DnsSpoofRule
from hedgerow.model import Alert

ROUTER, FORGER = "02:00:00:00:00:01", "02:00:00:00:00:66"
RESOLVER, CLIENT = "192.168.1.1", "192.168.1.20"
QUERY: Query = (CLIENT, 40000, 0x1234, "cloud.example")


def _detector() -> DnsSpoofDetector:
    [rule] = [r for r in load_rules([builtin_rules_dir()]) if r.id == "spoof.dns"]
    assert isinstance(rule, DnsSpoofRule)
    return DnsSpoofDetector(rule)


def _alerts(det: DnsSpoofDetector) -> list[Alert]:
    return det.finish(DetectContext())


def test_a_forged_answer_first_with_no_history_names_its_mac() -> None:
    det = _detector()
    det.answer(QUERY, ("198.51.100.66",), RESOLVER, FORGER, at=10.0)
    det.answer(QUERY, ("203.0.113.10",), RESOLVER, ROUTER, at=10.2)
    [alert] = _alerts(det)
    assert (alert.detector, alert.kind.value, alert.direction, alert.device, alert.peers) == (
        "spoof.dns", "spoofing", "inbound", CLIENT, (FORGER,))
    assert alert.evidence["forged"] == ["198.51.100.66"] and alert.evidence["forged_first"]


def test_the_resolvers_usual_mac_is_genuine_even_when_second() -> None:
    det = _detector()
    for i in range(3):
        det.answer((CLIENT, 39000 + i, i, "time.example"), ("203.0.113.11",), RESOLVER, ROUTER,
                   at=float(i))
    det.answer(QUERY, ("203.0.113.10",), RESOLVER, ROUTER, at=10.0)
    det.answer(QUERY, ("198.51.100.66",), RESOLVER, FORGER, at=10.05)
    [alert] = _alerts(det)
    assert alert.peers == (FORGER,) and alert.evidence["genuine"] == ["203.0.113.10"]
    assert not alert.evidence["forged_first"]


def test_answers_that_are_no_race_raise_nothing() -> None:
    det = _detector()
    # a retransmitted query answered twice alike (address order aside)
    det.answer(QUERY, ("203.0.113.1", "203.0.113.2"), RESOLVER, ROUTER, at=1.0)
    det.answer(QUERY, ("203.0.113.1", "203.0.113.2"), RESOLVER, ROUTER, at=1.5)
    # the same query id and port asked of two resolvers (geo-dependent CDN answers)
    other: Query = (CLIENT, 41000, 7, "cdn.example")
    det.answer(other, ("198.51.100.1",), "8.8.8.8", ROUTER, at=2.0)
    det.answer(other, ("198.51.100.2",), "1.1.1.1", ROUTER, at=2.1)
    # a name that does not exist answered once empty: nothing to compare
    empty: Query = (CLIENT, 42000, 8, "nx.example")
    det.answer(empty, (), RESOLVER, ROUTER, at=3.0)
    det.answer(empty, ("203.0.113.9",), RESOLVER, FORGER, at=3.1)
    # the same id and port reused for the same name long after
    det.answer(QUERY, ("203.0.113.3",), RESOLVER, ROUTER, at=100.0)
    assert _alerts(det) == []


def test_one_alert_per_query_and_bounded_state() -> None:
    det = _detector()
    det.answer(QUERY, ("198.51.100.66",), RESOLVER, FORGER, at=10.0)
    for t in (10.1, 10.2, 10.3):
        det.answer(QUERY, ("203.0.113.10",), RESOLVER, ROUTER, at=t)
    assert len(_alerts(det)) == 1
    small = DnsSpoofDetector(det.rule.model_copy(update={"max_pending": 16}))
    for i in range(200):
        small.answer((CLIENT, i, i, f"n{i}.example"), ("203.0.113.1",), f"10.0.{i}.1", ROUTER,
                     at=float(i) / 1000)
    assert len(small._pending) <= 16 and len(small._answered) <= 16
