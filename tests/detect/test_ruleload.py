"""Rule files: the built-in set validates; a typo is one line naming file, line and key."""

from __future__ import annotations

from pathlib import Path

import pytest

from hedgerow.detect.ruleload import RuleError, builtin_rules_dir, load_rule_file, load_rules
from hedgerow.detect.ruleschema import ThresholdRule

GOOD = """\
rules:
  - id: my.telnet
    type: threshold
    kind: scan
    severity: high
    meaning: "telnet scanning"
    filter:
      - {field: id.resp_p, in: [23]}
    groupby: [id.orig_h]
    actor: id.orig_h
    target: id.resp_h
    distinct: id.resp_h
    capacity: 5
    window: 60
"""


def test_builtin_rules_load_and_cover_the_issue() -> None:
    rules = load_rules([builtin_rules_dir()])
    ids = {r.id for r in rules}
    for needed in (
        "scan.horizontal.telnet",
        "scan.vertical",
        "scan.arp-sweep",
        "scan.icmp-sweep",
        "scan.mirai-syn",
        "bruteforce.ssh",
        "bruteforce.telnet",
        "bruteforce.ftp",
        "bruteforce.rdp",
        "bruteforce.http-auth",
        "bruteforce.mqtt",
        "dos.syn-flood",
        "dos.ack-flood",
        "dos.rst-flood",
        "dos.udp-flood",
        "dos.icmp-flood",
        "dos.gre-flood",
        "dos.http-flood",
        "dos.reflection",
        "dos.outbound-flood",
        "c2.irc",
        "c2.beacon",
        "c2.p2p",
        "mining.stratum",
        "exploit.iot-web",
        "malware.download",
        "malware.telnet-dropper",
        "intel.match",
    ):
        assert needed in ids
    for rule in rules:
        assert rule.meaning and rule.labels.mitre, rule.id


def test_user_rule_overrides_builtin_by_id(tmp_path: Path) -> None:
    (tmp_path / "mine.yaml").write_text(GOOD.replace("my.telnet", "scan.horizontal.telnet"))
    rules = {r.id: r for r in load_rules([builtin_rules_dir(), tmp_path])}
    rule = rules["scan.horizontal.telnet"]
    assert isinstance(rule, ThresholdRule) and rule.capacity == 5


def test_typo_names_file_line_and_key(tmp_path: Path) -> None:
    path = tmp_path / "typo.yaml"
    path.write_text(GOOD.replace("    capacity: 5", "    capacty: 5"))
    with pytest.raises(RuleError) as err:
        load_rule_file(path)
    msg = str(err.value)
    assert msg.startswith(f"{path}:13: rules[0].capacty: unknown key"), msg
    assert "\n" not in msg


def test_nested_filter_typo_points_at_its_line(tmp_path: Path) -> None:
    path = tmp_path / "nested.yaml"
    path.write_text(GOOD.replace("{field: id.resp_p, in: [23]}", "{field: id.resp_p, inn: [23]}"))
    with pytest.raises(RuleError, match=r":8: rules\[0\]\.filter\[0\]"):
        load_rule_file(path)


def test_unknown_column_and_bad_value(tmp_path: Path) -> None:
    path = tmp_path / "col.yaml"
    path.write_text(GOOD.replace("distinct: id.resp_h", "distinct: id.resp_host"))
    with pytest.raises(RuleError, match=r"unknown flow column 'id\.resp_host'"):
        load_rule_file(path)
    path.write_text(GOOD.replace("severity: high", "severity: severe"))
    with pytest.raises(RuleError, match=r":5: rules\[0\]\.severity"):
        load_rule_file(path)


def test_yaml_syntax_error_has_a_line(tmp_path: Path) -> None:
    path = tmp_path / "syntax.yaml"
    path.write_text(GOOD.replace("groupby: [id.orig_h]", "groupby: [id.orig_h"))
    with pytest.raises(RuleError, match=r"syntax\.yaml:\d+: YAML syntax"):
        load_rule_file(path)
