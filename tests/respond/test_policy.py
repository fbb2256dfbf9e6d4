"""Policy files: the shipped policy, matching, and one-line errors naming file, line and key."""

from __future__ import annotations

from pathlib import Path

import pytest

from hedgerow.respond.policy import PolicyError, load_policy, parse_duration


def test_shipped_policy_quarantines_outbound_attackers_and_blocks_inbound_ones() -> None:
    policy = load_policy()
    scan_out = policy.rule_for("scan", "high", "outbound", None)
    brute_in = policy.rule_for("bruteforce", "high", "inbound", "camera")
    flood_out = policy.rule_for("dos", "medium", "outbound", None)
    assert scan_out is not None and scan_out.action.value == "quarantine"
    assert scan_out.target == "device"
    assert brute_in is not None and brute_in.action.value == "block"
    assert brute_in.target == "peer"
    assert flood_out is not None and flood_out.action.value == "rate_limit"
    low = policy.rule_for("scan", "low", "outbound", None)
    assert low is not None and low.action.value == "notify"


def test_device_kind_and_first_match_wins(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(
        "rules:\n"
        "  - name: cameras-first\n"
        "    match: {kind: [scan], device_kind: [camera]}\n"
        "    action: quarantine\n"
        "    target: device\n"
        "    duration: 2d\n"
        "  - name: others\n"
        "    match: {kind: [scan]}\n"
        "    action: notify\n")
    policy = load_policy(path)
    camera = policy.rule_for("scan", "low", "outbound", "camera")
    assert camera is not None and camera.name == "cameras-first"
    assert camera.duration_s == 2 * 86400
    other = policy.rule_for("scan", "low", "outbound", None)
    assert other is not None and other.name == "others"
    assert policy.rule_for("dos", "critical", "inbound", None) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("rules:\n  - name: x\n    action: block\n    match:\n      kindz: [scan]\n",
         "p.yaml:5: rules.0.match.kindz: Extra inputs are not permitted"),
        ("rules:\n  - name: x\n    action: explode\n", "p.yaml:3: rules.0.action:"),
        ("rules:\n  - name: x\n    action: block\n    duration: soon\n",
         "p.yaml:4: rules.0.duration:"),
        ("management: [10.0.0.300]\n", "p.yaml:1: management:"),
        ("rules: [\n", "p.yaml:2: not valid YAML"),
        ("- just\n- a list\n", "p.yaml:1: a policy is a mapping"),
        ("rules:\n  - name: x\n    action: block\n    match: {min_severity: huge}\n",
         "p.yaml:4: rules.0.match.min_severity:"),
    ],
)
def test_bad_policy_gives_one_line_naming_file_line_key(
    tmp_path: Path, text: str, expected: str
) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(text)
    with pytest.raises(PolicyError) as err:
        load_policy(path)
    message = str(err.value)
    assert "\n" not in message
    assert message.startswith(str(tmp_path / expected.split(":", 1)[0]))
    assert expected in message


def test_missing_policy_file(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match="cannot read policy"):
        load_policy(tmp_path / "absent.yaml")


def test_durations() -> None:
    assert parse_duration("90s") == 90
    assert parse_duration("1.5h") == 5400
    assert parse_duration(30) == 30
    for bad in ("-1", "0", "1w", "", "h"):
        with pytest.raises(ValueError):
            parse_duration(bad)
