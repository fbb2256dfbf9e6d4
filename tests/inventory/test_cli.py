"""``hedgerow inventory`` / ``hedgerow html``, and the sections they add to ``hedgerow scan``."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from hedgerow.cli.main import main


def _pcaps(corpus: Path, *folders: str) -> list[str]:
    return [str(sorted((corpus / "iot-sentinel" / f).glob("*.pcap"))[0]) for f in folders]


def test_inventory_json_and_html(corpus: Path, tmp_path: Path) -> None:
    html = tmp_path / "home.html"
    result = CliRunner().invoke(main, ["inventory", *_pcaps(corpus, "HueSwitch", "WeMoLink"),
                                       "--json", "--html", str(html)])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    kinds = {d["mac"]: (d["vendor"], d["kind"]) for d in doc["devices"]}
    assert kinds["00:17:88:24:76:ff"] == ("Philips", "hub")
    assert kinds["94:10:3e:cd:37:65"] == ("Belkin", "hub")
    assert doc["risk"]["household"]["explanation"].startswith("Your network's risk is")
    assert all(f["standards"]["etsi_en_303_645"] for f in doc["findings"])
    assert "Philips hub" in html.read_text()


def test_bad_inputs_are_reported_and_the_rest_analysed(corpus: Path, tmp_path: Path) -> None:
    junk = tmp_path / "junk.pcap"
    junk.write_bytes(b"this is not a capture at all\n" * 4)
    result = CliRunner().invoke(main, ["inventory", *_pcaps(corpus, "TP-LinkPlugHS100"),
                                       str(junk), str(tmp_path / "missing.pcap")])
    assert result.exit_code == 3
    assert "junk.pcap" in result.output and "missing.pcap: no such file" in result.output
    assert "Traceback" not in result.output
    assert "HS100(EU)" in result.output


def test_scan_report_gains_devices_findings_risk_and_renders(corpus: Path,
                                                              tmp_path: Path) -> None:
    out = tmp_path / "scan"
    direct = tmp_path / "direct.html"
    result = CliRunner().invoke(main, ["scan", *_pcaps(corpus, "D-LinkWaterSensor"),
                                       "-o", str(out), "--html", str(direct)])
    assert result.exit_code == 0, result.output
    assert "Devices and their risk" in result.output and "Your network's risk is" in result.output
    report = json.loads((out / "report.json").read_text())
    assert {"devices", "findings", "risk"} <= set(report)
    sensor = next(d for d in report["devices"] if d["mac"] == "6c:72:20:c5:17:5a")
    assert sensor["kind"] == "sensor" and sensor["risk"]["score"] > 0
    page = tmp_path / "report.html"
    rendered = CliRunner().invoke(main, ["html", str(out / "report.json"), "-o", str(page)])
    assert rendered.exit_code == 0, rendered.output
    assert "D-Link sensor (DCH-S160)" in page.read_text()
    assert page.read_text() == direct.read_text()
