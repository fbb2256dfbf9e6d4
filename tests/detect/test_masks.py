"""Filters evaluated once per batch for all rules select what each rule's own filter selects."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from hedgerow.detect.engine import DetectionEngine
from hedgerow.detect.locality import direction_terms, with_locality
from hedgerow.detect.masks import WORDS_BY_VALUE_ROWS, BatchMasks
from hedgerow.detect.match import compile_filter
from hedgerow.detect.ruleload import builtin_rules_dir
from hedgerow.detect.threshold import BINARY_COLUMNS, ThresholdDetector
from hedgerow.flows.schema import with_derived
from hedgerow.flows.source import iter_flows
from hedgerow.model import LocalNetworks


def test_prefetched_masks_equal_each_rules_filter_on_real_payloads() -> None:
    """Captures with payloads (guessing, bot commands, exploits, mining; FTP banners and
    reflected UDP replies that repeat): the shared masks, payload tests answered once per
    distinct payload where payloads repeat, select each rule's rows."""
    cases = [
        "bruteforce/cases/zeek-sshguess",
        "bruteforce/cases/zeek-ftp",
        "dos/cases/stopddos-udp-reflection-37810",
        "bruteforce/cases/loopback-telnet-mirai",
        "bruteforce/cases/loopback-http-mqtt",
        "exploit/cases/loopback-iot-exploits",
        "mining/cases/ndpi-stratum",
        "c2/cases/loopback-irc",
    ]
    paths = sorted(p for c in cases for p in (builtin_rules_dir() / c).glob("*.pcap*"))
    flows = pl.concat([b for p in paths for b in iter_flows([p])], how="vertical_relaxed")
    engine = DetectionEngine.from_rule_dirs()
    detectors = [d for d in engine.detectors if isinstance(d, ThresholdDetector)]
    masks = BatchMasks(with_derived(flows.with_columns(pl.lit(True).alias("_orig_local"),
                                                       pl.lit(True).alias("_resp_local"))))
    masks.prefetch(d.filter_plans for d in detectors)
    repeated = selected = 0
    for det in detectors:
        content, plan = det.filter_plans
        if content is None:
            continue
        subset = masks.subset(content)[1]
        payloads = [c for c in ("orig_payload", "resp_payload") if c in content.key]
        repeated += any(2 * subset.frame[c].n_unique() <= subset.frame.height for c in payloads)
        direct = subset.frame.select(
            compile_filter(det.rule.filter, BINARY_COLUMNS).alias("m")
        )["m"]
        shared = subset.mask(plan)
        assert shared.to_list() == direct.to_list(), det.name
        selected += int(shared.sum())
    assert repeated and selected


def test_word_tests_answered_per_value_equal_each_rules_filter(corpus: Path) -> None:
    """A batch above WORDS_BY_VALUE_ROWS of real flows (a spoofed SYN flood, Hide'n'Seek, a
    labelled port-scan conn.log with nulls in service and history): the protocol, state,
    history and service tests answered once per distinct text select each rule's rows."""
    paths = [
        corpus / "stopddos/pkt.TCP.synflood.spoofed.pcap",
        corpus / "slips/dataset/test7-malicious.pcap",
        corpus / "stratosphere/002-zeek-scenario-port-scanning/conn.log",
    ]
    flows = pl.concat([b for p in paths for b in iter_flows([p])], how="vertical_relaxed")
    assert flows.height >= WORDS_BY_VALUE_ROWS
    frame = with_derived(with_locality(flows, LocalNetworks.default()))
    engine = DetectionEngine.from_rule_dirs()
    detectors = [d for d in engine.detectors if isinstance(d, ThresholdDetector)]
    masks = BatchMasks(frame)
    masks.prefetch(d.filter_plans for d in detectors)
    selected = 0
    for det in detectors:
        content, plan = det.filter_plans
        if content is not None:
            continue
        direct = frame.select(compile_filter(det.rule.filter, BINARY_COLUMNS).alias("m"))["m"]
        for column, wanted in direction_terms(det.rule.directions, det.rule.actor,
                                              det.rule.target):
            local = frame[column].fill_null(False)
            direct = direct & (local if wanted else ~local)
        shared = masks.mask(plan)
        assert shared.to_list() == direct.to_list(), det.name
        selected += int(shared.sum())
    assert selected
