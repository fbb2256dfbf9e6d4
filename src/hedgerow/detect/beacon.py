"""Beaconing: many connections from one host to one peer and port at a regular interval.

Connection start times per (source, peer, port) are kept as bounded lists (the last
``history``). A pair is judged when its list is full, when it has been quiet for two
maximum periods, or at the end: the coefficient of variation of its inter-arrival times must
be at most ``max_cv`` and the mean period between ``min_period`` and ``max_period``. One alert
per pair.

Example:
    >>> import polars as pl
    >>> from hedgerow.detect.base import DetectContext
    >>> from hedgerow.detect.ruleschema import BeaconRule
    >>> from hedgerow.flows.schema import conform
    >>> rule = BeaconRule.model_validate({"id": "c2.beacon.demo", "type": "beacon",
    ...     "kind": "c2", "severity": "low", "meaning": "beacons", "min_connections": 6,
    ...     "max_cv": 0.1, "min_period": 10, "max_period": 3600})
    >>> n = 8
    >>> flows = conform(pl.DataFrame({"ts": [60.0 * i for i in range(n)],
    ...     "uid": [f"C{i}" for i in range(n)], "id.orig_h": ["192.168.1.9"] * n,
    ...     "id.resp_h": ["203.0.113.5"] * n, "id.resp_p": [4444] * n, "proto": ["tcp"] * n}))
    >>> det, ctx = BeaconDetector(rule), DetectContext()
    >>> [a.evidence["period_s"] for a in det.process(flows, ctx) + det.finish(ctx)]
    [60.0]
"""

from __future__ import annotations

import polars as pl

from hedgerow.detect.alerting import make_alert, rule_fields
from hedgerow.detect.base import DetectContext, Detector, register
from hedgerow.detect.locality import direction_prefilter, with_locality
from hedgerow.detect.match import compile_filter
from hedgerow.detect.ruleschema import BeaconRule
from hedgerow.detect.threshold import BINARY_COLUMNS
from hedgerow.flows.schema import FlowBatch
from hedgerow.model import Alert

_KEYS = ["id.orig_h", "id.resp_h", "id.resp_p", "proto"]
_FLAT = {"keep_nulls": False, "empty_as_null": False}


@register("beacon")
class BeaconDetector(Detector):
    """Low-jitter periodic connections to one peer."""

    rule: BeaconRule

    def __init__(self, rule: BeaconRule) -> None:
        super().__init__(rule)
        self._filter = compile_filter(rule.filter, BINARY_COLUMNS) & direction_prefilter(
            rule.directions, "id.orig_h", "id.resp_h"
        )
        self._state: pl.DataFrame | None = None
        self._alerted: set[tuple[object, ...]] = set()
        self._watermark = float("-inf")

    def process(self, flows: FlowBatch, ctx: DetectContext) -> list[Alert]:
        if flows.height == 0:
            return []
        top = flows["ts"].max()
        if top is not None:
            self._watermark = max(self._watermark, float(top))  # type: ignore[arg-type]
        part = (
            with_locality(flows, ctx.networks)
            .lazy()
            .filter(self._filter & pl.col("ts").is_not_null())
            .group_by(_KEYS)
            .agg(pl.col("ts"), pl.col("uid"))
            .collect()
        )
        if part.height:
            both = part if self._state is None else pl.concat([self._state, part])
            self._state = (
                both.group_by(_KEYS)
                .agg(pl.col("ts").list.explode(**_FLAT), pl.col("uid").list.explode(**_FLAT))
                .with_columns(
                    pl.col("ts").list.tail(self.rule.history),
                    pl.col("uid").list.tail(self.rule.history),
                )
            )
        if self._state is None:
            return []
        quiet = pl.col("ts").list.max() < self._watermark - 2 * self.rule.max_period
        full = pl.col("ts").list.len() >= self.rule.history
        due = self._state.filter(quiet | full)
        self._state = self._state.filter(~(quiet | full))
        return self._judge(due, ctx)

    def finish(self, ctx: DetectContext) -> list[Alert]:
        state, self._state = self._state, None
        return self._judge(state, ctx) if state is not None else []

    def _judge(self, pairs: pl.DataFrame, ctx: DetectContext) -> list[Alert]:
        rule = self.rule
        if pairs.height == 0:
            return []
        stats = (
            pairs.filter(pl.col("ts").list.len() >= rule.min_connections)
            .with_columns(pl.col("ts").list.sort().alias("ts"))
            .with_columns(pl.col("ts").list.diff(null_behavior="drop").alias("gaps"))
            .with_columns(
                pl.col("gaps").list.mean().alias("period"),
                pl.col("gaps").list.std().alias("sd"),
            )
            .filter(
                pl.col("period").is_between(rule.min_period, rule.max_period)
                & (pl.col("sd") <= rule.max_cv * pl.col("period"))
            )
            .sort(_KEYS)
        )
        out = []
        for row in stats.iter_rows(named=True):
            key = tuple(row[k] for k in _KEYS)
            if key in self._alerted:
                continue
            self._alerted.add(key)
            ts = row["ts"]
            period = round(float(row["period"]), 1)
            alert = make_alert(
                **rule_fields(rule),
                version=self.version,
                networks=ctx.networks,
                actors=[row["id.orig_h"]],
                targets=[row["id.resp_h"]],
                start=float(ts[0]),
                end=float(ts[-1]),
                window_key=int(ts[0]),
                measure=f"{len(ts)} connections every {period:g}s to port {row['id.resp_p']}",
                evidence={
                    "flows": len(ts),
                    "uids": list(row["uid"])[:50],
                    "ports": [row["id.resp_p"]],
                    "period_s": period,
                    "cv": round(float(row["sd"]) / float(row["period"]), 4),
                },
            )
            if alert.direction in rule.directions:
                out.append(alert)
        return out
