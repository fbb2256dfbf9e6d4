"""Risk scores: combination, attacker weighting, household roll-up, explanations."""

from __future__ import annotations

from hedgerow.assess.risk import band, score_devices, score_household
from hedgerow.model import Alert, AlertKind, Finding, Severity


def _alert(direction: str, device: str = "10.0.0.5") -> Alert:
    return Alert(kind=AlertKind.BRUTEFORCE, detector="bruteforce.telnet", detector_version="1",
                 direction=direction, device=device, peers=("198.51.100.7",),
                 severity=Severity.HIGH, confidence=0.9, start=0.0, end=60.0,
                 summary="120 telnet logins in 60 s")


def test_attacker_weighs_more_than_victim_and_alerts_map_by_ip() -> None:
    names = {"aa:bb": "Camera", "cc:dd": "Plug"}
    device_of = {"10.0.0.5": "aa:bb", "10.0.0.6": "cc:dd"}
    scores = score_devices(names, [], [_alert("outbound", "10.0.0.5"),
                                       _alert("inbound", "10.0.0.6")], device_of)
    assert scores["aa:bb"].score == 60 and scores["cc:dd"].score == 40
    assert scores["aa:bb"].explanation.startswith("Camera: risk 60/100 (high) because it is "
                                                  "attacking others")
    assert scores["aa:bb"].drivers[0].source == "alert"


def test_findings_combine_and_saturate_below_100() -> None:
    findings = [Finding(f"net.c{i}", "aa:bb", Severity.CRITICAL, f"Problem {i}")
                for i in range(6)]
    score = score_devices({"aa:bb": "Hub"}, findings, [])["aa:bb"]
    assert 95 <= score.score < 100 and score.band == "critical"
    assert score.explanation.endswith("because problem 0 and 5 more issues.")


def test_household_rolls_up_devices_needing_attention() -> None:
    scores = score_devices({"a": "A", "b": "B", "c": "C"},
                           [Finding("x", "a", Severity.HIGH, "X"),
                            Finding("y", "b", Severity.MEDIUM, "Y"),
                            Finding("z", "b", Severity.MEDIUM, "Z")], [])
    home = score_household(scores, {"a": "A", "b": "B", "c": "C"})
    assert home.score == scores["a"].score + 5
    assert "2 of 3 devices need attention" in home.explanation
    assert [d.ref for d in home.drivers] == ["a", "b"]
    assert band(0) == "low" and band(20) == "moderate" and band(80) == "critical"
