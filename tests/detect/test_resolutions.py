"""Resolution attribution state: TTL expiry in event time, the size cap, late-answer flows."""

from __future__ import annotations

import polars as pl

from hedgerow.detect.resolutions import RECENT_COLUMNS, RecentFlows, ResolutionMap

DEV = "192.168.1.4"


def _add(m: ResolutionMap, address: str, ts: float, ttl: int, name: str = "x.evil.example") -> None:
    m.add(DEV, address, ts, ts + m.lifetime(ttl), "evil.example", "c2", "feed", name=name)


def _pairs(m: ResolutionMap) -> list[tuple[str, float, float]]:
    return [(a, s, u) for a, s, u in m.frame().select("id.resp_h", "_since", "_until").iter_rows()]


def test_lifetime_is_the_ttl_clamped() -> None:
    m = ResolutionMap(cap=8, max_ttl=600.0, min_ttl=30.0)
    assert [m.lifetime(t) for t in (0, 30, 120, 86400)] == [30.0, 30.0, 120.0, 600.0]


def test_entries_expire_by_event_time_only() -> None:
    m = ResolutionMap(cap=8, max_ttl=600.0, min_ttl=30.0)
    _add(m, "203.0.113.5", 1000.0, 120)
    _add(m, "203.0.113.6", 1000.0, 86400)
    m.expire(1119.0)
    assert len(m) == 2
    m.expire(1121.0)
    assert _pairs(m) == [("203.0.113.6", 1000.0, 1600.0)]
    m.expire(1000.0)  # the horizon never moves back
    _add(m, "203.0.113.7", 900.0, 60)  # expired before the horizon: not kept
    assert len(m) == 1


def test_overlapping_answers_merge_and_an_older_disjoint_one_does_not_replace() -> None:
    m = ResolutionMap(cap=8, max_ttl=600.0, min_ttl=0.0)
    _add(m, "203.0.113.5", 1000.0, 100)
    _add(m, "203.0.113.5", 1050.0, 100)
    assert _pairs(m) == [("203.0.113.5", 1000.0, 1150.0)]
    _add(m, "203.0.113.5", 500.0, 10)  # older, disjoint: the newer answer stays
    assert _pairs(m) == [("203.0.113.5", 1000.0, 1150.0)]
    _add(m, "203.0.113.5", 2000.0, 10)  # newer, disjoint: replaces
    assert _pairs(m) == [("203.0.113.5", 2000.0, 2010.0)]


def test_cap_keeps_the_newest_live_entries() -> None:
    m = ResolutionMap(cap=3, max_ttl=3600.0, min_ttl=0.0)
    _add(m, "203.0.113.1", 0.0, 10)
    _add(m, "203.0.113.2", 0.0, 1000)
    _add(m, "203.0.113.3", 0.0, 1000)
    m.expire(50.0)  # .1 ended at 10: gone, which makes room
    _add(m, "203.0.113.4", 60.0, 1000)
    assert [a for a, _, _ in _pairs(m)] == ["203.0.113.2", "203.0.113.3", "203.0.113.4"]
    _add(m, "203.0.113.5", 70.0, 1000)  # full of live entries: the oldest goes
    assert [a for a, _, _ in _pairs(m)] == ["203.0.113.3", "203.0.113.4", "203.0.113.5"]
    for i in range(100):
        _add(m, f"198.51.100.{i}", 80.0 + i, 1000)
    assert len(m) == 3


def test_cap_zero_keeps_nothing() -> None:
    m = ResolutionMap(cap=0, max_ttl=3600.0, min_ttl=0.0)
    _add(m, "203.0.113.1", 0.0, 10)
    assert len(m) == 0 and m.frame().height == 0


def _flows(ts: list[float]) -> pl.DataFrame:
    n = len(ts)
    return pl.DataFrame({"ts": ts, "uid": [f"C{t}" for t in ts], "id.orig_h": [DEV] * n,
                         "id.resp_h": ["203.0.113.5"] * n, "id.resp_p": [443] * n}
                        ).select(RECENT_COLUMNS)


def test_recent_flows_follow_the_horizon_and_the_row_bound() -> None:
    recent = RecentFlows(max_rows=5)
    recent.add(_flows([10.0, 20.0]), horizon=0.0)
    recent.add(_flows([30.0, 40.0]), horizon=0.0)
    assert len(recent) == 4
    recent.add(_flows([50.0]), horizon=25.0)  # the first frame ends before the horizon
    kept = recent.frame()
    assert kept is not None and kept["ts"].to_list() == [30.0, 40.0, 50.0]
    recent.add(_flows([60.0, 70.0, 80.0]), horizon=25.0)  # 6 rows > 5: the oldest frame goes
    kept = recent.frame()
    assert kept is not None and kept["ts"].to_list() == [50.0, 60.0, 70.0, 80.0]
    recent.add(_flows([1.0]), horizon=25.0)  # a frame wholly behind the horizon is not kept
    assert len(recent) == 4
    assert RecentFlows(max_rows=0).frame() is None
