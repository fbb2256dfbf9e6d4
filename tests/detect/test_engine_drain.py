"""A sensor that runs for days: drained alerts equal the offline ones, state stays small."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from hedgerow.detect.engine import DetectionEngine
from hedgerow.flows.source import iter_flows
from hedgerow.model import Alert

REFLECTION = "stopddos/amp.UDP.bacnet.IOT.37810.pcapng"
REPEATS = 8
BATCH = 1500


def _days_of_traffic(corpus: Path) -> list[pl.DataFrame]:
    """The capture's flows replayed ``REPEATS`` times, two hours apart, in sensor-sized batches."""
    flows = pl.concat(list(iter_flows([corpus / REFLECTION]))).sort("ts")
    span = float(flows["ts"].max() - flows["ts"].min())  # type: ignore[operator]
    shift = span + 7200.0
    days = pl.concat(
        [flows.with_columns(pl.col("ts") + i * shift) for i in range(REPEATS)]
    )
    return [days.slice(i, BATCH) for i in range(0, days.height, BATCH)]


def _order(alerts: list[Alert]) -> list[Alert]:
    return sorted(alerts, key=lambda a: (a.start, a.dedup_key))


def test_draining_keeps_state_bounded_and_alerts_unchanged(corpus: Path) -> None:
    batches = _days_of_traffic(corpus)
    template = DetectionEngine.from_rule_dirs()
    offline = template.fresh()
    for batch in batches:
        offline.process(batch)
    expected = offline.finish()

    live = template.fresh()
    drained: list[Alert] = []
    retained: list[int] = []
    for batch in batches:
        live.process(batch)
        drained.extend(live.drain())
        retained.append(live.retained)
    drained.extend(live.drain(final=True))

    assert _order(drained) == expected
    assert len(expected) == REPEATS
    assert {a.detector for a in expected} == {"dos.reflection.flipped"}
    # The reflection's probing alerts are suppressed in every replay, live as offline: the
    # suppressor is kept after it was drained while the probing episode was still open.
    assert max(retained) <= 2 < len(expected)
    assert live.retained == 0
    assert offline.retained > len(expected)


def test_a_drained_alert_is_not_returned_again(corpus: Path) -> None:
    engine = DetectionEngine.from_rule_dirs()
    for batch in iter_flows([corpus / REFLECTION]):
        engine.process(batch)
    first = engine.drain(final=True)
    assert [a.detector for a in first] == ["dos.reflection.flipped"]
    assert engine.drain() == [] and engine.drain(final=True) == []
