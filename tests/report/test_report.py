"""Reports: report.json schema and section hook, alerts.jsonl, terminal text, the scan CLI."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner
from rich.console import Console

from hedgerow.cli.main import main
from hedgerow.cli.scan import run_scan
from hedgerow.detect.ruleload import builtin_rules_dir
from hedgerow.report import jsonreport
from hedgerow.report.alertlog import read_alerts_jsonl
from hedgerow.report.jsonreport import CORE_KEYS, SCHEMA_VERSION, build_report, register_section
from hedgerow.report.result import ScanResult
from hedgerow.report.terminal import render


def _hns(corpus: Path) -> ScanResult:
    return run_scan([corpus / "slips/dataset/test7-malicious.pcap"])


def test_report_json_core_keys_and_ratio(corpus: Path) -> None:
    doc = build_report(_hns(corpus))
    assert doc["schema_version"] == SCHEMA_VERSION
    assert set(doc) >= CORE_KEYS
    assert doc["attack_ratio"]["outbound"] >= 2 and doc["attack_ratio"]["inbound"] == 0
    by_dev = {d["device"]: d for d in doc["alerts_by_device"]}
    assert by_dev["192.168.2.16"]["directions"] == ["outbound"]
    assert {d["address"] for d in doc["devices_seen"]} >= {"192.168.2.16", "192.168.2.1"}
    json.dumps(doc)


def test_section_providers_extend_without_touching_core(corpus: Path) -> None:
    register_section("devices", lambda r: [{"address": h.address} for h in r.hosts])
    try:
        doc = build_report(_hns(corpus))
        assert doc["devices"][0]["address"]
    finally:
        jsonreport._SECTIONS.pop("devices")
    try:
        register_section("alerts", lambda r: None)
    except ValueError as exc:
        assert "core key" in str(exc)
    else:
        raise AssertionError("a provider must not replace a core key")


def test_terminal_groups_by_device_with_meaning(corpus: Path) -> None:
    console = Console(record=True, width=160)
    render(_hns(corpus), console)
    text = console.export_text()
    assert "192.168.2.16" in text and "probing other machines" in text
    assert "attacks on your devices = 4 : 0" in text  # telnet, 8080 and 9527 scans, p2p


def test_scan_cli_writes_outputs_and_survives_a_corrupt_capture(
    corpus: Path, tmp_path: Path
) -> None:
    bad = tmp_path / "broken.pcap"
    bad.write_bytes(b"\xd4\xc3\xb2\xa1" + b"\x00" * 7)
    out = tmp_path / "out"
    good = corpus / "zeek-traces/testing/btest/Traces/ssh/sshguess.pcap"
    result = CliRunner().invoke(main, ["scan", str(bad), str(good), "-o", str(out)])
    assert result.exit_code == 3, result.output
    assert "Traceback" not in result.output
    errors = [ln for ln in result.output.splitlines() if "broken.pcap" in ln]
    assert errors and all(ln.startswith("error") for ln in errors)
    alerts = read_alerts_jsonl(out / "alerts.jsonl")
    assert [(a.detector, a.device) for a in alerts] == [("bruteforce.ssh", "192.168.56.1")]
    doc = json.loads((out / "report.json").read_text())
    statuses = {Path(i["path"]).name: i["status"] for i in doc["inputs"]}
    assert statuses == {"broken.pcap": "error", "sshguess.pcap": "ok"}


def test_scan_cli_nothing_readable_and_bad_home_net(tmp_path: Path) -> None:
    junk = tmp_path / "junk.pcap"
    junk.write_bytes(b"not a capture at all")
    runner = CliRunner()
    assert runner.invoke(main, ["scan", str(junk)]).exit_code == 4
    res = runner.invoke(main, ["scan", str(junk), "--home-net", "10.0.0.0/33"])
    assert res.exit_code == 2 and "10.0.0.0/33" in res.output


def test_scan_cli_home_net_turns_lab_traffic_inbound(corpus: Path) -> None:
    pcap = corpus / "slips/dataset/test19-malicious-ssh/malicious-ssh-bruteforce.pcap"
    res = CliRunner().invoke(main, ["scan", str(pcap), "--json", "--home-net", "147.32.80.37/32"])
    doc = json.loads(res.output)
    assert [(a["detector"], a["direction"], a["device"]) for a in doc["alerts"]] == [
        ("bruteforce.ssh", "inbound", "147.32.80.37")
    ]


def test_rules_cli_list_and_bad_rule_file(tmp_path: Path) -> None:
    runner = CliRunner()
    listing = runner.invoke(main, ["rules", "list"])
    assert listing.exit_code == 0 and "scan.horizontal.telnet" in listing.output
    (tmp_path / "x.yaml").write_text("rules:\n  - id: x\n    type: threshold\n    windw: 5\n")
    res = runner.invoke(main, ["rules", "list", "--rules", str(tmp_path)])
    assert res.exit_code == 2
    assert "x.yaml:4: rules[0].windw: unknown key" in res.output


def test_scan_outputs_are_identical_run_to_run(corpus: Path, tmp_path: Path) -> None:
    """Same inputs, same bytes: group-by order must never leak into alerts or report.json."""
    inputs = [str(corpus / "stratosphere"), str(corpus / "slips"),
              str(corpus / "iot-sentinel/D-LinkDayCam")]
    outputs = []
    for run in ("first", "second"):
        result = CliRunner().invoke(main, ["scan", *inputs, "-o", str(tmp_path / run)])
        assert result.exit_code == 0, result.output
        outputs.append([(tmp_path / run / name).read_bytes()
                        for name in ("alerts.jsonl", "report.json")])
    assert outputs[0] == outputs[1]


def test_scan_cli_without_builtin_rules_runs_only_the_rules_given(
    corpus: Path, tmp_path: Path
) -> None:
    pcap = str(corpus / "slips/dataset/test7-malicious.pcap")
    runner = CliRunner()
    bare = runner.invoke(main, ["scan", pcap, "--no-builtin-rules", "-o", str(tmp_path / "a")])
    assert bare.exit_code == 0, bare.output
    assert "No detection rules ran" in bare.output
    report = json.loads((tmp_path / "a/report.json").read_text())
    assert report["alerts"] == [] and report["devices"]
    scans = builtin_rules_dir() / "scan"
    only = runner.invoke(main, ["scan", pcap, "--no-builtin-rules", "--rules", str(scans),
                                "-o", str(tmp_path / "b")])
    assert only.exit_code == 0, only.output
    rules = {a["detector"] for a in map(json.loads, (tmp_path / "b/alerts.jsonl")
                                                .read_text().splitlines())}
    assert rules and all(r.startswith("scan.") for r in rules)
