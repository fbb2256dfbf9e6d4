"""Evaluation on the corpus: fails on regression.

Every attack the ground truth names must be detected with the right kind and direction (unless
the flows cannot show it yet, e.g. ARP), benign captures (IoT Sentinel, nDPI's IoT protocols,
Zeek's MQTT) must raise no alert at all, and flow-level figures must not drop below today's.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import pytest
from click.testing import CliRunner

from hedgerow.cli.main import main
from hedgerow.evaluate import load_ground_truth
from hedgerow.evaluate.runner import evaluate
from hedgerow.evaluate.summary import SourceSummary, summarize
from hedgerow.evaluate.truth import GroundTruth, TruthError
from hedgerow.flows.source import iter_flows

TRUTH = Path(__file__).resolve().parents[2] / "data" / "ground_truth"
SOURCES = sorted(p.stem for p in TRUTH.glob("*.json"))
# flow-level recall floors measured when the ground truth was written (regression guard)
FLOW_RECALL_FLOOR = {"stratosphere": 0.5, "stopddos": 0.7, "ndpi": 0.95, "zeek-traces": 0.95}


@cache
def _summary(corpus: Path, source: str) -> SourceSummary:
    gt = load_ground_truth(TRUTH / f"{source}.json")
    scores = evaluate(gt, corpus, lambda p, seen: iter_flows([p], packet_observers=seen))
    return summarize(source, scores)


@pytest.mark.parametrize("source", SOURCES)
def test_corpus_ground_truth(corpus: Path, source: str) -> None:
    s = _summary(corpus, source)
    assert s.errors == 0, s.missed
    assert not s.missed, s.missed
    assert s.benign_with_alerts == 0
    assert s.false_alerts == 0
    if source in FLOW_RECALL_FLOOR:
        assert (s.flows.recall or 0.0) >= FLOW_RECALL_FLOOR[source]
        assert (s.flows.precision or 0.0) >= 0.95


def test_iot_sentinel_is_really_benign_and_complete(corpus: Path) -> None:
    s = _summary(corpus, "iot-sentinel")
    assert s.captures >= 60 and s.benign_captures == s.captures and s.alerts == 0


def test_arp_sweep_is_scored(corpus: Path) -> None:
    s = _summary(corpus, "slips")
    assert s.not_scorable == 0, "the flow meter emits ARP rows: the ARP sweep must be scored"
    assert s.detected == s.attacks


def test_ground_truth_format_rejects_mistakes(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="benign capture lists no attacks"):
        GroundTruth.model_validate(
            {
                "schema_version": "1",
                "source": "x",
                "captures": [
                    {
                        "path": "a.pcap",
                        "reference": "r",
                        "benign": True,
                        "attacks": [
                            {"attacker": "1.2.3.4", "kind": "scan", "direction": "inbound"}
                        ],
                    }
                ],
            }
        )
    bad = tmp_path / "gt.json"
    bad.write_text(
        json.dumps(
            {
                "schema_version": "1",
                "source": "x",
                "captures": [
                    {
                        "path": "a.pcap",
                        "reference": "r",
                        "attacks": [
                            {"attacker": "1.2.3.4", "kind": "scann", "direction": "inbound"}
                        ],
                    }
                ],
            }
        )
    )
    with pytest.raises(TruthError, match=r"gt\.json: captures\.0\.attacks\.0\.kind"):
        load_ground_truth(bad)


def test_eval_cli_on_a_labelled_conn_log(corpus: Path, tmp_path: Path) -> None:
    log = corpus / "stratosphere/008-zeek-mixed/data/conn.log.labeled"
    out = tmp_path / "eval.json"
    res = CliRunner().invoke(
        main, ["eval", str(log), "--home-net", "147.32.81.167/32", "--json", str(out), "--strict"]
    )
    assert res.exit_code == 0, res.output
    figures = json.loads(out.read_text())[0]
    # most malicious flows are single probes from one-off Internet scanners: only those that
    # add up (many sources on one port, many ports from one source) can be attributed
    assert figures["flows"]["precision"] >= 0.95 and figures["flows"]["recall"] >= 0.2
    assert figures["alerts"] >= 1 and figures["false_alerts"] == 0
