"""Deferred judging (offline reading) and the split evidence pass give exactly the alerts of
judging every batch in one pass."""

from __future__ import annotations

from pathlib import Path

import pytest

from hedgerow.detect import windows
from hedgerow.detect.engine import DetectionEngine
from hedgerow.flows.source import iter_flows

CAPTURES = [
    "slips/dataset/test7-malicious.pcap",
    "stopddos/pkt.TCP.synflood.spoofed.pcap",
    "stopddos/amp.TCP.reflection.SYNACK.pcap",
    "stratosphere/002-zeek-scenario-port-scanning/conn.log",
]


def _alerts(path: Path, defer_rows: int) -> list[dict[str, object]]:
    engine = DetectionEngine.from_rule_dirs(defer_rows=defer_rows)
    for batch in iter_flows([path], batch_size=2048):
        engine.process(batch)
    return [a.to_dict() for a in engine.finish()]


@pytest.mark.parametrize("name", CAPTURES)
def test_deferred_judging_gives_the_same_alerts(corpus: Path, name: str) -> None:
    every_batch = _alerts(corpus / name, defer_rows=0)
    assert every_batch, f"{name} should raise alerts (the comparison would be empty)"
    for defer_rows in (500, 10**9):
        assert _alerts(corpus / name, defer_rows) == every_batch


@pytest.mark.parametrize("name", CAPTURES)
def test_evidence_gathered_after_the_hot_test_gives_the_same_alerts(
    corpus: Path, name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(windows, "EVIDENCE_PASS_ROWS", 10**9)
    one_pass = _alerts(corpus / name, defer_rows=10**9)
    monkeypatch.setattr(windows, "EVIDENCE_PASS_ROWS", 0)
    assert _alerts(corpus / name, defer_rows=10**9) == one_pass
