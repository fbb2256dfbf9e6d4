"""ARP cache poisoning: who is the impostor, what raises nothing, bounded state, copies.

The positive case on real tool traffic is the rule case ``spoof/cases/netns-arpspoof`` and
``test_real_tool_attacks.py::test_arpspoof_poisoning_the_device_about_its_router``.
"""

from __future__ import annotations

import copy

from hedgerow.detect.arpspoof import ArpSpoofDetector
from hedgerow.detect.base import DetectContext
from hedgerow.detect.engine import DetectionEngine
from hedgerow.detect.ruleload import builtin_rules_dir, load_rules
from hedgerow.detect.ruleschema import ArpSpoofRule
from hedgerow.model import Alert

ROUTER, ATTACKER, PHONE, EXTENDER = (f"02:00:00:00:00:0{i}" for i in range(1, 5))


def _detector(**params: float) -> ArpSpoofDetector:
    [rule] = [r for r in load_rules([builtin_rules_dir()]) if r.id == "spoof.arp"]
    assert isinstance(rule, ArpSpoofRule)
    return ArpSpoofDetector(rule.model_copy(update=params))


def _alerts(det: ArpSpoofDetector) -> list[Alert]:
    return det.finish(DetectContext())


def _poison_router(det: ArpSpoofDetector, *, start: float) -> None:
    """The attacker speaks for its own address, then claims the router's every 2 s (six
    claims, the first before the router's first word) while the router answers on."""
    det.claim("192.168.1.66", ATTACKER, "192.168.1.20", at=start)
    for t in range(1, 12, 2):
        det.claim("192.168.1.1", ATTACKER, "192.168.1.20", at=start + t)
        det.claim("192.168.1.1", ROUTER, "192.168.1.30", at=start + t + 0.5)


def test_impostor_first_heard_is_still_the_impostor() -> None:
    """A capture that starts mid-attack: the attacker's claims come before the router's first
    word, but only the attacker also speaks for an address of its own."""
    det = _detector()
    _poison_router(det, start=0.0)
    [alert] = _alerts(det)
    assert (alert.detector, alert.kind.value, alert.direction, alert.device) == (
        "spoof.arp", "spoofing", "internal", "192.168.1.66")
    assert alert.peers == ("192.168.1.1", "192.168.1.20")
    assert alert.evidence["mac"] == ATTACKER and alert.evidence["owner_macs"] == [ROUTER]
    assert alert.evidence["claims"] == 5  # as it stood when the dispute was established


def test_without_an_own_address_the_later_voice_is_the_impostor() -> None:
    det = _detector()
    det.claim("192.168.1.1", ROUTER, "192.168.1.30", at=0.0)
    for t in range(10, 30, 2):
        det.claim("192.168.1.1", ATTACKER, "192.168.1.20", at=float(t))
        det.claim("192.168.1.1", ROUTER, "192.168.1.30", at=t + 1.0)
    [alert] = _alerts(det)
    # a MAC is no home address: the alert is about the device impersonated, from that MAC
    assert (alert.direction, alert.device, alert.peers) == ("inbound", "192.168.1.1", (ATTACKER,))
    assert alert.evidence["mac"] == ATTACKER


def test_a_device_that_moved_raises_nothing() -> None:
    """A phone roams to a Wi-Fi extender that answers for its clients with its own MAC: the
    address changes voice, but the old one falls silent."""
    det = _detector()
    det.claim("192.168.1.50", EXTENDER, "192.168.1.1", at=0.0)
    for t in range(0, 20, 2):
        det.claim("192.168.1.9", PHONE, "192.168.1.1", at=float(t))
    for t in range(25, 120, 2):
        det.claim("192.168.1.9", EXTENDER, "192.168.1.1", at=float(t))
    assert _alerts(det) == []


def test_too_few_claims_or_an_owner_silent_since_raise_nothing() -> None:
    det = _detector()
    det.claim("192.168.1.1", ROUTER, "192.168.1.30", at=0.0)
    det.claim("192.168.1.1", ATTACKER, "192.168.1.20", at=1.0)
    det.claim("192.168.1.1", ROUTER, "192.168.1.30", at=2.0)
    assert _alerts(det) == []  # one claim
    for t in range(3, 13, 2):
        det.claim("192.168.1.1", ATTACKER, "192.168.1.20", at=float(t))
    assert len(_alerts(det)) == 1
    # a new episode after a pause longer than the window, the router silent since: nothing
    for t in range(100, 112, 2):
        det.claim("192.168.1.1", ATTACKER, "192.168.1.20", at=float(t))
    assert _alerts(det) == []


def test_state_is_bounded_and_a_copy_takes_only_the_waiting_alerts() -> None:
    """The live sensor's early checks run a copy of the engine every second: a copy of this
    detector reads no packets, so it takes the alerts not returned yet and none of the state."""
    det = _detector(max_addresses=8)
    for i in range(100):
        det.claim(f"10.0.0.{i}", f"02:00:00:00:01:{i:02x}", "10.0.0.200", at=float(i))
    assert len(det._voices) <= 8 and len(det._spoken) <= 8
    _poison_router(det, start=200.0)
    trial = copy.deepcopy(det)
    assert not trial._voices and not trial._spoken
    assert [a.detector for a in _alerts(trial)] == ["spoof.arp"]
    assert [a.detector for a in _alerts(det)] == ["spoof.arp"]  # still the engine's to return


def test_only_packet_reading_rules_observe_packets() -> None:
    engine = DetectionEngine.from_rule_dirs()
    readers = [o.__self__.name for o in engine.packet_observers]  # type: ignore[attr-defined]
    assert readers == ["spoof.arp", "spoof.dns"]
    assert DetectionEngine.from_rule_dirs(builtin=False).packet_observers == []
