"""Baseline files and the ``hedgerow baseline`` commands on real captures; bad input."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from hedgerow.anomaly.baseline import BaselineError, load_baseline, read_header, save_baseline
from hedgerow.anomaly.detector import AnomalyDetector
from hedgerow.anomaly.learn import LearnConfig, learn_baseline
from hedgerow.cli.baseline import baseline as main

from .conftest import load_batch


@pytest.fixture(scope="module")
def small_baseline(corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = corpus / "iot-sentinel" / "D-LinkHomeHub"
    out = tmp_path_factory.mktemp("bl") / "hub.baseline"
    result = CliRunner().invoke(
        main,
        ["learn", str(folder), "-o", str(out), "--seed", "1",
         "--kind", "1c:5f:2b:aa:fd:4e=hub"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "learned from" in result.output
    return out


def test_learn_show_and_roundtrip(small_baseline: Path, corpus: Path) -> None:
    header = read_header(small_baseline)
    assert header["format"] == "hedgerow-baseline" and header["format_version"] == 2
    assert header["local_networks"][0] == "10.0.0.0/8"
    assert len(header["feature_names"]) == 180 and len(header["training"]["captures"]) == 4
    kinds = {d["mac"]: d["kind"] for d in header["devices"]}
    assert kinds.get("1c:5f:2b:aa:fd:4e") == "hub"
    shown = CliRunner().invoke(main, ["show", str(small_baseline)])
    assert shown.exit_code == 0 and "autoencoders" in shown.output and "kind=hub" in shown.output
    assert "home networks 10.0.0.0/8" in shown.output
    as_json = CliRunner().invoke(main, ["show", "--json", str(small_baseline)])
    assert json.loads(as_json.output)["feature_spec_hash"] == header["feature_spec_hash"]
    # Loading gives the very same scores as the baseline that was saved.
    b = load_baseline(small_baseline)
    batch = load_batch(corpus / "iot-sentinel/D-LinkHomeHub/Setup-A-1-STA.pcap")
    again = load_baseline(save_baseline(b, small_baseline.with_name("copy.baseline")))
    s1 = AnomalyDetector(b).score(batch)
    s2 = AnomalyDetector(again).score(batch)
    np.testing.assert_array_equal(s1, s2)


def test_learning_is_deterministic(corpus: Path) -> None:
    paths = [corpus / "iot-sentinel/D-LinkSiren/Setup-A-1-STA.pcap"]
    a = learn_baseline(paths, LearnConfig(seed=5, epochs=2))
    b = learn_baseline(paths, LearnConfig(seed=5, epochs=2))
    assert a.thresholds == b.thresholds
    c = learn_baseline(paths, LearnConfig(max_packets=100))
    assert c.training["packets"] == 100
    d = learn_baseline(paths, LearnConfig(max_seconds=5.0))
    assert 0 < d.training["last_ts"] - d.training["first_ts"] <= 5.0
    assert d.training["packets"] < a.training["packets"]


def test_thresholds_come_from_held_out_blocks(corpus: Path) -> None:
    """Every fifth block of learning time is held out: not trained on, it calibrates."""
    paths = sorted((corpus / "iot-sentinel/HueSwitch").glob("*.pcap"))  # 4 x ~100 s, 9,042 pkts
    config = LearnConfig(validation_block_s=20.0, epochs=1)
    b = learn_baseline(paths, config)
    cal = b.calibration
    assert cal["source"] == "validation" and 1000 <= cal["rows"] < 0.3 * b.training["packets"]
    assert b.kitnet.rows_learned == b.training["packets"] - cal["rows"]
    short = learn_baseline(paths[:1], LearnConfig(epochs=1))  # 101 s: no block held out
    assert short.calibration["source"] == "training"
    assert short.kitnet.rows_learned == short.training["packets"]
    too_few = learn_baseline(paths, LearnConfig(validation_block_s=20.0, epochs=1,
                                                validation_min_rows=cal["rows"] + 1))  # fmt: skip
    assert too_few.calibration["source"] == "training"
    assert too_few.kitnet.rows_learned == b.kitnet.rows_learned  # the blocks stay held out
    assert np.isfinite(list(b.thresholds.values())).all()


def _one_line(exc: BaselineError) -> str:
    text = str(exc)
    assert "\n" not in text
    return text


def test_bad_baselines_are_refused_in_one_line(small_baseline: Path, tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.baseline"
    garbage.write_bytes(b"\x00" * 100)
    with pytest.raises(BaselineError) as exc:
        load_baseline(garbage)
    assert "not a zip archive" in _one_line(exc.value) and str(garbage) in str(exc.value)

    truncated = tmp_path / "truncated.baseline"
    truncated.write_bytes(small_baseline.read_bytes()[:-4000])
    with pytest.raises(BaselineError) as exc:
        load_baseline(truncated)
    _one_line(exc.value)

    other = tmp_path / "other.baseline"
    with zipfile.ZipFile(small_baseline) as src, zipfile.ZipFile(other, "w") as dst:
        header = json.loads(src.read("header.json"))
        header["hedgerow_version"] = "9.9.9"
        dst.writestr("header.json", json.dumps(header))
        dst.writestr("arrays.npz", src.read("arrays.npz"))
    with pytest.raises(BaselineError) as exc:
        load_baseline(other)
    assert "hedgerow 9.9.9" in _one_line(exc.value) and "baseline learn" in str(exc.value)

    # A file of the previous format (novelty counted as shares, no home networks) is refused.
    old = tmp_path / "old.baseline"
    with zipfile.ZipFile(small_baseline) as src, zipfile.ZipFile(old, "w") as dst:
        header = json.loads(src.read("header.json"))
        header["format_version"] = 1
        del header["local_networks"]
        dst.writestr("header.json", json.dumps(header))
        dst.writestr("arrays.npz", src.read("arrays.npz"))
    with pytest.raises(BaselineError) as exc:
        load_baseline(old)
    assert "(format 1)" in _one_line(exc.value) and "re-learn it" in str(exc.value)
    res = CliRunner().invoke(main, ["show", str(old)])
    assert res.exit_code == 2 and len(res.output.strip().splitlines()) == 1

    tampered = tmp_path / "tampered.baseline"
    with zipfile.ZipFile(small_baseline) as src, zipfile.ZipFile(tampered, "w") as dst:
        dst.writestr("header.json", src.read("header.json"))
        dst.writestr("arrays.npz", src.read("arrays.npz")[:-10] + b"0123456789")
    with pytest.raises(BaselineError, match="checksum"):
        load_baseline(tampered)

    with pytest.raises(BaselineError, match="baseline learn"):
        load_baseline(tmp_path / "missing.baseline")


def test_cli_bad_input_messages(small_baseline: Path, tmp_path: Path, sshguess: Path) -> None:
    runner = CliRunner()
    no_baseline = runner.invoke(main, ["score", str(sshguess)])
    assert no_baseline.exit_code == 2
    assert "hedgerow baseline learn" in no_baseline.output
    bad = tmp_path / "x.baseline"
    bad.write_text("hello")
    res = runner.invoke(main, ["score", str(sshguess), "-b", str(bad)])
    assert res.exit_code == 2 and "Traceback" not in res.output
    assert len(res.output.strip().splitlines()) == 1
    res = runner.invoke(main, ["learn", str(tmp_path / "none.pcap"), "-o", str(bad)])
    assert res.exit_code == 2 and "no such capture" in res.output
    not_pcap = tmp_path / "notes.pcap"
    not_pcap.write_text("not a capture at all")
    res = runner.invoke(main, ["learn", str(not_pcap), "-o", str(bad)])
    assert res.exit_code == 2 and "Traceback" not in res.output
    res = runner.invoke(main, ["learn", str(sshguess), "-o", str(bad), "--kind", "x"])
    assert res.exit_code == 2 and "MAC=KIND" in res.output
    res = runner.invoke(main, ["learn", str(sshguess), "-o", str(bad), "--home-net", "10.1/99"])
    assert res.exit_code == 2 and "--home-net" in res.output
    assert len(res.output.strip().splitlines()) == 1


def test_learn_records_the_home_networks(sshguess: Path, tmp_path: Path) -> None:
    out = tmp_path / "lab.baseline"
    res = CliRunner().invoke(
        main, ["learn", str(sshguess), "-o", str(out), "--home-net", "192.168.56.0/24",
               "--epochs", "1"],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    assert read_header(out)["local_networks"] == ["192.168.56.0/24"]
    assert str(load_baseline(out).local_networks.networks[0]) == "192.168.56.0/24"


def test_cli_score_prints_explained_alerts(small_baseline: Path, corpus: Path) -> None:
    scan = corpus / "ndpi/pcap/synscan.pcap"
    runner = CliRunner()
    res = runner.invoke(main, ["score", str(scan), "-b", str(small_baseline), "--json"])
    assert res.exit_code == 0, res.output
    alerts = [json.loads(line) for line in res.output.splitlines()]
    scanner = [a for a in alerts if a["device"] == "172.16.0.8"]
    assert scanner and scanner[0]["kind"] == "anomaly"
    top = scanner[0]["evidence"]["flows"][0]
    assert "172.16.0.8" in (top["id.orig_h"], top["id.resp_h"])
    assert "64.13.134.52" in scanner[0]["peers"]
    text = runner.invoke(main, ["score", str(scan), "-b", str(small_baseline), "--model", "max"])
    assert text.exit_code == 0 and "anomaly alert(s)" in text.output
