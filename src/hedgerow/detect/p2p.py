"""Peer-to-peer botnet pattern: one host sends same-sized UDP datagrams to many peers.

Flows are grouped by (source, payload bytes per packet); a group reaching ``min_peers``
distinct destinations within the window is one alert.

Example:
    >>> import polars as pl
    >>> from hedgerow.detect.base import DetectContext
    >>> from hedgerow.detect.ruleschema import P2PRule
    >>> from hedgerow.flows.schema import conform
    >>> rule = P2PRule.model_validate({"id": "c2.p2p.demo", "type": "p2p", "kind": "c2",
    ...     "severity": "high", "meaning": "P2P botnet", "min_peers": 3, "window": 600})
    >>> flows = conform(pl.DataFrame({"ts": [1.0, 2.0, 3.0], "uid": ["a", "b", "c"],
    ...     "id.orig_h": ["192.168.2.16"] * 3, "id.resp_h": ["1.0.0.1", "2.0.0.2", "3.0.0.3"],
    ...     "id.resp_p": [5000, 6000, 7000], "proto": ["udp"] * 3, "orig_ip_bytes": [40] * 3,
    ...     "orig_pkts": [1] * 3}))
    >>> det, ctx = P2PDetector(rule), DetectContext()
    >>> [a.device for a in det.process(flows, ctx) + det.finish(ctx)]
    ['192.168.2.16']
"""

from __future__ import annotations

import polars as pl

from hedgerow.detect.alerting import make_alert, rule_fields
from hedgerow.detect.base import DetectContext, Detector, register
from hedgerow.detect.locality import direction_prefilter, with_locality
from hedgerow.detect.match import compile_filter
from hedgerow.detect.ruleschema import P2PRule
from hedgerow.detect.threshold import BINARY_COLUMNS
from hedgerow.detect.windows import Episode, WindowAggregator
from hedgerow.flows.schema import FlowBatch
from hedgerow.model import Alert


@register("p2p")
class P2PDetector(Detector):
    """Counts distinct UDP peers per (source, datagram size) and window."""

    rule: P2PRule

    def __init__(self, rule: P2PRule) -> None:
        super().__init__(rule)
        self._filter = compile_filter(rule.filter, BINARY_COLUMNS) & direction_prefilter(
            rule.directions, "id.orig_h", "id.resp_h"
        )
        self._agg = WindowAggregator(
            keys=["id.orig_h", "_size"],
            distinct="id.resp_h",
            sum_col=None,
            window=rule.window,
            capacity=rule.min_peers,
            min_flows=1,
            actor="id.orig_h",
            target="id.resp_h",
            quiet=rule.blackhole,
        )
        self._watermark = float("-inf")

    def process(self, flows: FlowBatch, ctx: DetectContext) -> list[Alert]:
        if flows.height == 0:
            return []
        top = flows["ts"].max()
        if top is not None:
            self._watermark = max(self._watermark, float(top))  # type: ignore[arg-type]
        # IP-level bytes: Zeek (and our meter) leave orig_bytes unset on one-packet flows
        # one query: only the columns the aggregation reads are gathered (no payload copies)
        sel = (
            with_locality(flows, ctx.networks)
            .lazy()
            .filter(self._filter & (pl.col("proto") == "udp") & (pl.col("orig_pkts") > 0))
            .with_columns((pl.col("orig_ip_bytes") // pl.col("orig_pkts")).alias("_size"))
            .filter(pl.col("orig_ip_bytes") == pl.col("_size") * pl.col("orig_pkts"))
            .select("ts", "uid", "id.orig_h", "id.resp_h", "id.resp_p", "_size")
            .collect()
        )
        episodes = self._agg.update(
            sel, watermark=self._watermark, lateness=ctx.lateness, defer_rows=ctx.defer_rows
        )
        return self._alerts(episodes, ctx)

    def finish(self, ctx: DetectContext) -> list[Alert]:
        return self._alerts(self._agg.flush(), ctx)

    def open_since(self) -> float:
        return self._agg.open_since()

    def reach(self) -> float:
        return self._agg.window

    def _alerts(self, episodes: list[Episode], ctx: DetectContext) -> list[Alert]:
        out = []
        for ep in episodes:
            source, size = str(ep.key[0]), int(str(ep.key[1]))
            alert = make_alert(
                **rule_fields(self.rule),
                version=self.version,
                networks=ctx.networks,
                actors=[source],
                targets=sorted(ep.distinct),
                start=ep.start,
                end=ep.end,
                window_key=int(ep.first_window * self.rule.window),
                measure=f"{ep.distinct_count} peers, {size}-byte IP packets, {ep.flows} flows",
                evidence={
                    "flows": ep.flows,
                    "uids": ep.uids,
                    "ports": sorted(ep.ports),
                    "ip_packet_bytes": int(size),
                    "peers": ep.distinct_count,
                },
            )
            if alert.direction in self.rule.directions:
                out.append(alert)
        return out
