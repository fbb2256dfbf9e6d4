"""``scan.horizontal`` and ``_resp_resolved``: retried SYNs count unless resolved or unknown."""

from __future__ import annotations

import polars as pl
import pytest

from hedgerow.detect.engine import DetectionEngine
from hedgerow.flows.schema import RESP_RESOLVED, conform


def _retried_syns(resolved: bool | None) -> pl.DataFrame:
    """12 hosts on 8080, each SYN retransmitted once after 1 s and never answered."""
    n = 12
    frame = conform(pl.DataFrame({
        "ts": [1000.0 + i for i in range(n)], "uid": [f"C{i}" for i in range(n)],
        "id.orig_h": ["192.168.1.9"] * n, "id.orig_p": [40000 + i for i in range(n)],
        "id.resp_h": [f"198.51.100.{i}" for i in range(n)], "id.resp_p": [8080] * n,
        "proto": ["tcp"] * n, "conn_state": ["S0"] * n, "history": ["S"] * n,
        "duration": [1.0] * n, "orig_pkts": [2] * n, "resp_pkts": [0] * n,
    }))
    if resolved is None:
        return frame
    return frame.with_columns(pl.lit(resolved).alias(RESP_RESOLVED))


@pytest.mark.parametrize(("resolved", "alerted"), [(False, True), (True, False), (None, False)])
def test_retried_syns_count_only_to_never_resolved_addresses(
    resolved: bool | None, alerted: bool
) -> None:
    engine = DetectionEngine.from_rule_dirs()
    engine.process(_retried_syns(resolved))
    got = [a for a in engine.finish() if a.detector == "scan.horizontal"]
    assert bool(got) is alerted
    assert all(a.device == "192.168.1.9" and a.direction == "outbound" for a in got)
