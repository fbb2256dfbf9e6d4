"""The threshold detector: a rule's filter, group-by, distinct/sum measure and window, as data.

Serves every ``type: threshold`` rule: scans, sweeps, brute force, floods, reflection,
payload signatures (capacity 1) and the Mirai SYN fingerprint.

Example:
    >>> import polars as pl
    >>> from hedgerow.detect.base import DetectContext
    >>> from hedgerow.detect.ruleschema import ThresholdRule
    >>> from hedgerow.flows.schema import conform
    >>> rule = ThresholdRule.model_validate({"id": "demo.scan", "type": "threshold",
    ...     "kind": "scan", "severity": "high", "meaning": "telnet scanning",
    ...     "groupby": ["id.orig_h"], "actor": "id.orig_h", "target": "id.resp_h",
    ...     "distinct": "id.resp_h", "capacity": 3, "window": 60,
    ...     "filter": [{"field": "id.resp_p", "eq": 23}]})
    >>> flows = conform(pl.DataFrame({"ts": [1.0, 2.0, 3.0], "uid": ["a", "b", "c"],
    ...     "id.orig_h": ["192.168.1.5"] * 3, "id.resp_h": ["1.1.1.1", "1.1.1.2", "1.1.1.3"],
    ...     "id.resp_p": [23, 23, 23]}))
    >>> det = ThresholdDetector(rule)
    >>> det.process(flows, DetectContext()) + [a.summary for a in det.finish(DetectContext())]
    ['192.168.1.5 -> 3 hosts: telnet scanning (3 distinct targets, 3 flows in 2s)']
"""

from __future__ import annotations

import polars as pl

from hedgerow.detect.alerting import make_alert, rule_fields
from hedgerow.detect.base import DetectContext, Detector, register
from hedgerow.detect.locality import direction_terms, with_locality
from hedgerow.detect.masks import BatchMasks, FilterPlan
from hedgerow.detect.match import required_content
from hedgerow.detect.ruleschema import ThresholdRule
from hedgerow.detect.windows import Episode, WindowAggregator
from hedgerow.flows.schema import FLOW_SCHEMA, FlowBatch, with_derived
from hedgerow.model import Alert

BINARY_COLUMNS = frozenset(c for c, t in FLOW_SCHEMA.items() if t == pl.Binary())
_NOUNS = {
    "id.resp_h": "targets",
    "id.orig_h": "sources",
    "id.resp_p": "ports",
    "id.orig_p": "source ports",
    "orig_pkts": "packets",
    "resp_pkts": "reply packets",
    "orig_ip_bytes": "bytes",
    "resp_ip_bytes": "reply bytes",
    "orig_bytes": "payload bytes",
    "orig_syn": "SYNs",
    "orig_ack_only": "bare ACKs",
    "orig_rst": "RSTs",
}


@register("threshold")
class ThresholdDetector(Detector):
    """Counts distinct values (or sums a column, or counts flows) per group and window."""

    rule: ThresholdRule

    def __init__(self, rule: ThresholdRule) -> None:
        super().__init__(rule)
        wanted = ["ts", "duration", "uid", "id.resp_p", rule.actor, rule.target, *rule.groupby]
        wanted += [c for c in (rule.distinct, rule.sum) if c]
        self._needed = list(dict.fromkeys(wanted))
        local = [
            FilterPlan.column(c) if wanted else FilterPlan.negated(FilterPlan.column(c))
            for c, wanted in direction_terms(rule.directions, rule.actor, rule.target)
        ]
        self._plan = FilterPlan.both(FilterPlan.of(rule.filter, BINARY_COLUMNS), *local)
        content = required_content(rule.filter)
        self._content = FilterPlan.content(content, BINARY_COLUMNS) if content else None
        self._agg = WindowAggregator(
            keys=list(rule.groupby),
            distinct=rule.distinct,
            sum_col=rule.sum,
            window=rule.window,
            capacity=rule.capacity,
            min_flows=rule.min_flows,
            actor=rule.actor,
            target=rule.target,
            quiet=rule.blackhole,
        )
        self._watermark = float("-inf")

    @property
    def filter_plans(self) -> tuple[FilterPlan | None, FilterPlan]:
        """The content filter (rows that must carry a payload; ``None``: all) and the filter."""
        return self._content, self._plan

    def process(self, flows: FlowBatch, ctx: DetectContext) -> list[Alert]:
        if flows.height == 0:
            return []
        flows = with_derived(with_locality(flows, ctx.networks))
        shared = ctx.masks is not None and ctx.masks.frame is flows
        masks = ctx.masks if shared and ctx.masks is not None else BatchMasks(flows)
        top = masks.newest
        if top is not None:
            self._watermark = max(self._watermark, top)
        if self._content is not None:
            # payload signatures: only the few flows with that content can match, so the
            # patterns are searched in those rows alone
            masks = masks.subset(self._content)[1]
        # keep only the columns the aggregation reads (no payload copies); a batch without
        # a matching row only moves the watermark
        keep = masks.mask(self._plan)
        selected = masks.frame[self._needed]
        selected = selected.filter(keep) if keep.any() else selected.clear()
        episodes = self._agg.update(
            selected,
            watermark=self._watermark,
            lateness=ctx.lateness,
            defer_rows=ctx.defer_rows,
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
        rule = self.rule
        for ep in episodes:
            keyed = dict(zip(rule.groupby, ep.key, strict=True))
            actors = [str(keyed[rule.actor])] if rule.actor in keyed else sorted(ep.actors)
            targets = [str(keyed[rule.target])] if rule.target in keyed else sorted(ep.targets)
            complete = True
            distinct = sorted(ep.distinct)  # once: peers, and the evidence's sample
            if rule.distinct == rule.actor:
                actors = distinct or actors
            elif rule.distinct == rule.target:
                targets = distinct or targets
            else:
                complete = rule.actor in keyed and rule.target in keyed
            alert = make_alert(
                **rule_fields(rule),
                version=self.version,
                networks=ctx.networks,
                actors=actors,
                targets=targets,
                start=ep.start,
                end=ep.end,
                window_key=int(ep.first_window * rule.window),
                measure=self._measure(ep),
                evidence=self._evidence(ep, keyed, distinct),
                complete=complete,
            )
            if alert.direction in rule.directions:
                out.append(alert)
        return out

    def _measure(self, ep: Episode) -> str:
        rule = self.rule
        span = f"{ep.flows} flow{'' if ep.flows == 1 else 's'} in {_span(ep.end - ep.start)}"
        if rule.distinct:
            roles: dict[str, str] = {rule.actor: "sources", rule.target: "targets"}
            noun = roles.get(rule.distinct, _NOUNS.get(rule.distinct, rule.distinct))
            return f"{ep.distinct_count} distinct {noun}, {span}"
        if rule.sum:
            return f"{int(ep.total)} {_NOUNS.get(rule.sum, rule.sum)}, {span}"
        return span

    def _evidence(
        self, ep: Episode, keyed: dict[str, object], distinct: list[str]
    ) -> dict[str, object]:
        rule = self.rule
        ev: dict[str, object] = {
            "flows": ep.flows,
            "uids": list(ep.uids),
            "ports": sorted(ep.ports),
            "group": keyed,
        }
        if rule.distinct:
            ev["distinct"] = {
                "field": rule.distinct,
                "count": ep.distinct_count,
                "sample": distinct[:20],
            }
        if rule.sum:
            ev["sum"] = {"field": rule.sum, "total": ep.total}
        ev["threshold"] = {"capacity": rule.capacity, "window_s": rule.window}
        return ev


def _span(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f}s"
    if seconds < 7200:
        return f"{seconds / 60:.0f}m"
    return f"{seconds / 3600:.1f}h"
