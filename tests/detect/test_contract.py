"""Contract every registered detector (and every built-in rule) must honour.

Empty batches, batches full of nulls, determinism, independence from how the flows are cut
into batches, and no wall clock.
"""

from __future__ import annotations

import time
from pathlib import Path

import polars as pl
import pytest

from hedgerow.detect.base import DetectContext, build_detector, registered_types
from hedgerow.detect.ruleload import builtin_rules_dir, load_rules
from hedgerow.detect.ruleschema import Rule
from hedgerow.flows.schema import FLOW_SCHEMA, conform, empty_flows
from hedgerow.flows.source import iter_flows
from hedgerow.intel import IndicatorSet
from hedgerow.model import Alert

RULES = load_rules([builtin_rules_dir()])
CASES = [
    "scan/cases/hide-and-seek-telnet/test7-telnet-syns.pcap",
    "bruteforce/cases/zeek-sshguess/sshguess.pcap",
    "dos/cases/stopddos-synflood/synflood-first3000.pcap",
    "mining/cases/ndpi-stratum/mining.pcapng",
]


def _ctx() -> DetectContext:
    intel = IndicatorSet()
    intel.add("94.23.199.191", category="mining", source="test")
    return DetectContext(indicators=intel)


def _real_flows() -> pl.DataFrame:
    parts = [b for case in CASES for b in iter_flows([builtin_rules_dir() / case])]
    return pl.concat(parts).sort("ts")


def _run(rule: Rule, batches: list[pl.DataFrame]) -> list[Alert]:
    det, ctx = build_detector(rule), _ctx()
    out = []
    for batch in batches:
        out.extend(det.process(batch, ctx))
    out.extend(det.finish(ctx))
    return sorted(out, key=lambda a: a.dedup_key)


def test_every_rule_type_has_a_registered_detector() -> None:
    types = registered_types()
    assert {"threshold", "beacon", "p2p", "intel"} <= set(types)
    assert {r.type for r in RULES} <= set(types)


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.id)
def test_empty_and_null_batches(rule: Rule) -> None:
    nulls = conform(pl.DataFrame({"uid": ["C1", "C2"]})).with_columns(
        pl.lit(None, dtype=FLOW_SCHEMA["ts"]).alias("ts")
    )
    assert _run(rule, [empty_flows(), nulls, empty_flows()]) == []


@pytest.fixture(scope="module")
def real() -> pl.DataFrame:
    return _real_flows()


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.id)
def test_deterministic_and_independent_of_batching(
    rule: Rule, real: pl.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_clock() -> float:
        raise AssertionError("detectors must not read the wall clock")

    monkeypatch.setattr(time, "time", no_clock)
    monkeypatch.setattr(time, "monotonic", no_clock)
    whole = _run(rule, [real])
    again = _run(rule, [real])
    pieces = _run(rule, [real.slice(i, 97) for i in range(0, real.height, 97)])
    assert [a.to_dict() for a in whole] == [a.to_dict() for a in again]
    assert [a.dedup_key for a in whole] == [a.dedup_key for a in pieces]
    for alert in whole:
        assert alert.detector == rule.id and alert.detector_version == rule.version
        assert len(alert.evidence.get("uids", [])) <= 50
        assert len(alert.peers) <= 20


def test_real_flows_raise_the_expected_families(real: pl.DataFrame) -> None:
    fired = {a.detector for rule in RULES for a in _run(rule, [real])}
    assert {
        "scan.horizontal.telnet",
        "bruteforce.ssh",
        "dos.syn-flood",
        "mining.stratum",
        "intel.match",
    } <= fired


def test_case_inputs_exist() -> None:
    for case in CASES:
        assert Path(builtin_rules_dir() / case).is_file()
