"""Windowed state across batches: one alert per episode, not per batch or window."""

from __future__ import annotations

import polars as pl

from hedgerow.detect.base import DetectContext
from hedgerow.detect.engine import DetectionEngine
from hedgerow.detect.ruleload import builtin_rules_dir, load_rules
from hedgerow.detect.ruleschema import ThresholdRule
from hedgerow.detect.threshold import ThresholdDetector
from hedgerow.flows.schema import conform
from hedgerow.flows.source import iter_flows

TELNET = builtin_rules_dir() / "scan/cases/hide-and-seek-telnet/test7-telnet-syns.pcap"


def _engine() -> DetectionEngine:
    rules = [r for r in load_rules([builtin_rules_dir()]) if r.id == "scan.horizontal.telnet"]
    return DetectionEngine(rules, DetectContext())


def _probes(start: float, hosts: range, gap: float = 1.0) -> pl.DataFrame:
    n = len(hosts)
    return conform(
        pl.DataFrame(
            {
                "ts": [start + gap * i for i in range(n)],
                "uid": [f"C{start}-{i}" for i in range(n)],
                "id.orig_h": ["192.168.2.16"] * n,
                "id.resp_h": [f"198.51.100.{h}" for h in hosts],
                "id.resp_p": [23] * n,
                "proto": ["tcp"] * n,
                "conn_state": ["S0"] * n,
                "orig_pkts": [1] * n,
            }
        )
    )


def test_real_scan_cut_into_single_flow_batches_is_one_alert() -> None:
    flows = pl.concat(list(iter_flows([TELNET]))).sort("ts")
    engine = _engine()
    for i in range(flows.height):
        engine.process(flows.slice(i, 1))
    alerts = engine.finish()
    assert len(alerts) == 1
    assert alerts[0].evidence["distinct"]["count"] == 81
    assert alerts[0].device == "192.168.2.16" and alerts[0].direction == "outbound"


def test_scan_straddling_a_window_boundary_is_caught_once() -> None:
    engine = _engine()
    engine.process(_probes(290.0, range(1, 7)))
    engine.process(_probes(301.0, range(7, 13)))
    alerts = engine.finish()
    assert len(alerts) == 1 and alerts[0].evidence["distinct"]["count"] == 12


def test_slow_scan_stays_one_alert_and_a_long_pause_starts_another() -> None:
    engine = _engine()
    engine.process(_probes(0.0, range(1, 13), gap=20.0))
    engine.process(_probes(900.0, range(20, 32), gap=20.0))
    engine.process(_probes(9000.0, range(40, 52), gap=20.0))
    alerts = engine.finish()
    assert [a.evidence["distinct"]["count"] for a in alerts] == [24, 12]


def test_below_threshold_is_silent() -> None:
    engine = _engine()
    engine.process(_probes(0.0, range(1, 10)))
    assert engine.finish() == []


def test_an_open_episode_keeps_its_rows_among_a_flood_of_rare_sources() -> None:
    """The hash sketch drops rows of sources that cannot reach the capacity, but never those
    of a source whose episode is open: a scan that slows down (within the rule's blackhole)
    keeps adding its flows while 5,000 spoofed one-probe sources are dropped."""
    rule = ThresholdRule.model_validate({"id": "demo.scan", "type": "threshold", "kind": "scan",
        "severity": "high", "meaning": "telnet scanning", "groupby": ["id.orig_h"],
        "actor": "id.orig_h", "target": "id.resp_h", "distinct": "id.resp_h", "capacity": 10,
        "window": 300, "blackhole": 900, "filter": [{"field": "id.resp_p", "eq": 23}]})
    ctx = DetectContext(lateness=0.0)
    det = ThresholdDetector(rule)
    assert det.process(_probes(0.0, range(1, 13)), ctx) == []
    spoofed = _probes(600.0, range(5000), gap=0.01).with_columns(
        pl.format("203.0.{}.{}", pl.int_range(5000) // 250, pl.int_range(5000) % 250)
        .alias("id.orig_h")
    )
    assert det.process(pl.concat([spoofed, _probes(640.0, range(13, 14))]), ctx) == []
    alerts = det.process(_probes(2000.0, range(20, 21)), ctx) + det.finish(ctx)
    assert len(alerts) == 1
    assert alerts[0].evidence["flows"] == 13 and alerts[0].evidence["distinct"]["count"] == 13
