"""``hedgerow scan --baseline F``: anomaly alerts join the scan's report; bad baselines exit 2."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from hedgerow.anomaly.baseline import save_baseline
from hedgerow.anomaly.learn import learn_baseline
from hedgerow.cli.scan import scan


def test_scan_with_baseline_adds_anomaly_alerts(corpus: Path, tmp_path: Path) -> None:
    learned = learn_baseline(sorted((corpus / "iot-sentinel" / "D-LinkHomeHub").glob("*.pcap")))
    path = save_baseline(learned, tmp_path / "home.baseline")
    capture = corpus / "ndpi/pcap/synscan.pcap"
    res = CliRunner().invoke(scan, [str(capture), "--baseline", str(path), "-o", str(tmp_path)])
    assert res.exit_code == 0, res.output
    alerts = [json.loads(line) for line in (tmp_path / "alerts.jsonl").read_text().splitlines()]
    anomalies = [a for a in alerts if a["kind"] == "anomaly"]
    assert any(a["device"] == "172.16.0.8" for a in anomalies)
    assert any(a["kind"] != "anomaly" for a in alerts)  # the rule detectors still ran


def test_scan_with_a_bad_baseline_exits_2_in_one_line(corpus: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.baseline"
    bad.write_bytes(b"PK\x03\x04 truncated")
    capture = corpus / "ndpi/pcap/synscan.pcap"
    res = CliRunner().invoke(scan, [str(capture), "--baseline", str(bad)])
    assert res.exit_code == 2
    assert "baseline" in res.output and "Traceback" not in res.output
