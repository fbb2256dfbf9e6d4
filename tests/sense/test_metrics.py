"""Prometheus /metrics over real HTTP on loopback, and the stats it reports."""

from __future__ import annotations

import urllib.error
import urllib.request

import pytest

from hedgerow.sense.metrics import CONTENT_TYPE, MetricsServer
from hedgerow.sense.stats import SenseStats


def test_metrics_endpoint_serves_current_counters() -> None:
    stats = SenseStats(enforcing=True)
    server = MetricsServer(stats.snapshot, port=0).start()
    try:
        stats.add(packets=1200, bytes=96000, our_drops=3)
        stats.set(kernel_drops=7, flows=40)
        stats.count_alert("scan", "high")
        stats.count_decision("quarantine", "applied")
        with urllib.request.urlopen(f"http://127.0.0.1:{server.port}/metrics", timeout=5) as r:
            assert r.headers["Content-Type"] == CONTENT_TYPE
            body = r.read().decode()
        metrics = dict(line.rsplit(" ", 1) for line in body.splitlines()
                       if not line.startswith("#"))
        assert metrics["hedgerow_sense_packets_total"] == "1200"
        assert metrics["hedgerow_sense_kernel_drops_total"] == "7"
        assert metrics["hedgerow_sense_dropped_total"] == "3"
        assert metrics["hedgerow_sense_flows_total"] == "40"
        assert metrics["hedgerow_sense_enforcing"] == "1"
        assert metrics['hedgerow_sense_alerts_total{kind="scan",severity="high"}'] == "1"
        assert metrics['hedgerow_sense_decisions_total{action="quarantine",status="applied"}'] \
            == "1"
        assert body.count("# TYPE") == body.count("# HELP")
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(f"http://127.0.0.1:{server.port}/admin", timeout=5)
        assert err.value.code == 404
    finally:
        server.close()


def test_loss_and_rate() -> None:
    stats = SenseStats()
    before = stats.snapshot()
    stats.add(packets=999, our_drops=1)
    after = stats.snapshot()
    assert after.loss == pytest.approx(0.001)
    assert after.rate(before) > 0
    assert before.loss == 0.0
