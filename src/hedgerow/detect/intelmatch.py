"""Intel matching: flows to or from listed addresses/networks, and listed server names.

Addresses are looked up once per distinct address in the batch; names come from TLS SNI,
HTTP Host and DNS queries in the first payload bytes (see :mod:`hedgerow.detect.names`), parsed
once per distinct payload head among the flows that can carry one.
Alerts go one per (device, listed peer or name, window), with the flow count inside.

Example:
    >>> import polars as pl
    >>> from hedgerow.detect.base import DetectContext
    >>> from hedgerow.detect.ruleschema import IntelRule
    >>> from hedgerow.flows.schema import conform
    >>> from hedgerow.intel import IndicatorSet
    >>> intel = IndicatorSet(); intel.add("198.51.100.7", category="c2", source="demo")
    >>> rule = IntelRule.model_validate({"id": "intel.demo", "type": "intel", "kind": "intel",
    ...     "severity": "high", "meaning": "contact with a listed address"})
    >>> flows = conform(pl.DataFrame({"ts": [5.0], "uid": ["C1"], "id.orig_h": ["192.168.1.4"],
    ...     "id.resp_h": ["198.51.100.7"], "id.resp_p": [6667], "proto": ["tcp"]}))
    >>> det, ctx = IntelDetector(rule), DetectContext(indicators=intel)
    >>> [(a.kind.value, a.direction) for a in det.process(flows, ctx) + det.finish(ctx)]
    [('c2', 'outbound')]
"""

from __future__ import annotations

import polars as pl

from hedgerow.detect.alerting import make_alert
from hedgerow.detect.base import DetectContext, Detector, register
from hedgerow.detect.names import name_from_payload
from hedgerow.detect.ruleschema import IntelRule
from hedgerow.detect.windows import Episode, WindowAggregator
from hedgerow.flows.schema import FlowBatch
from hedgerow.intel.indicators import IndicatorSet
from hedgerow.model import Alert, AlertKind, Severity

_KIND = {
    "c2": AlertKind.C2,
    "mining": AlertKind.MINING,
    "malware": AlertKind.MALWARE,
    "scanner": AlertKind.INTEL,
    "phishing": AlertKind.INTEL,
}
_MITRE = {"c2": ("T1071",), "mining": ("T1496",), "malware": ("T1105",)}
_KEYS = ["id.orig_h", "id.resp_h", "_ind", "_cat", "_src"]
_COLUMNS = ["ts", "uid", "id.orig_h", "id.resp_h", "id.resp_p", "_ind", "_cat", "_src"]


@register("intel")
class IntelDetector(Detector):
    """Matches flows against the context's indicator set."""

    rule: IntelRule

    def __init__(self, rule: IntelRule) -> None:
        super().__init__(rule)
        self._agg = WindowAggregator(
            keys=_KEYS,
            distinct=None,
            sum_col=None,
            window=rule.window,
            capacity=1,
            min_flows=1,
            actor="id.orig_h",
            target="id.resp_h",
            quiet=rule.blackhole,
        )
        self._watermark = float("-inf")

    def process(self, flows: FlowBatch, ctx: DetectContext) -> list[Alert]:
        intel = ctx.indicators
        if flows.height == 0 or intel is None or len(intel) == 0:
            return []
        top = flows["ts"].max()
        if top is not None:
            self._watermark = max(self._watermark, float(top))  # type: ignore[arg-type]
        hits = [
            h
            for h in (self._address_hits(flows, intel), self._name_hits(flows, intel))
            if h is not None and h.height
        ]
        if not hits:
            return self._alerts(
                self._agg.update(flows.head(0), watermark=self._watermark, lateness=ctx.lateness),
                ctx,
            )
        matched = pl.concat([h.select(_COLUMNS) for h in hits], how="vertical_relaxed")
        return self._alerts(
            self._agg.update(matched, watermark=self._watermark, lateness=ctx.lateness), ctx
        )

    def finish(self, ctx: DetectContext) -> list[Alert]:
        return self._alerts(self._agg.flush(), ctx)

    def open_since(self) -> float:
        return self._agg.open_since()

    def reach(self) -> float:
        return self._agg.window

    def _address_hits(self, flows: FlowBatch, intel: IndicatorSet) -> pl.DataFrame | None:
        if not intel.has_addresses:
            return None
        hosts = pl.concat([flows["id.orig_h"], flows["id.resp_h"]]).drop_nulls().unique()
        table = []
        for host in hosts.to_list():
            ind = intel.lookup_ip(host)
            if ind is not None:
                table.append((host, ind.value, ind.category, ind.source))
        if not table:
            return None
        lut = pl.DataFrame(table, schema=["_h", "_ind", "_cat", "_src"], orient="row")
        parts = []
        for side in ("id.resp_h", "id.orig_h"):
            parts.append(flows.join(lut, left_on=side, right_on="_h", how="inner"))
        return pl.concat(parts, how="vertical_relaxed").unique(subset=["uid", "_ind"], keep="first")

    def _name_hits(self, flows: FlowBatch, intel: IndicatorSet) -> pl.DataFrame | None:
        if not (self.rule.match_payload_names and intel.has_domains):
            return None
        payload = pl.col("orig_payload")
        carries_name = (
            ((pl.col("proto") == "udp") & pl.col("id.resp_p").is_in([53, 5353, 5355]))
            | payload.bin.starts_with(b"\x16\x03")
            | payload.bin.contains(b"\r\nHost:")
        )
        cand = flows.filter(payload.is_not_null() & carries_name.fill_null(False))
        if cand.height == 0:
            return None
        heads = cand.select("orig_payload", "id.resp_p", "proto").unique()
        rows = []
        for head, port, proto in heads.iter_rows():
            name = name_from_payload(head, port, proto)
            ind = intel.lookup_domain(name) if name else None
            if ind is not None:
                rows.append((head, port, proto, f"{ind.value} ({name})", ind.category, ind.source))
        if not rows:
            return None
        schema = {
            **cand.select("orig_payload", "id.resp_p", "proto").schema,
            "_ind": pl.String(),
            "_cat": pl.String(),
            "_src": pl.String(),
        }
        lut = pl.DataFrame(rows, schema=schema, orient="row")
        return cand.join(lut, on=["orig_payload", "id.resp_p", "proto"], how="inner")

    def _alerts(self, episodes: list[Episode], ctx: DetectContext) -> list[Alert]:
        out = []
        for ep in episodes:
            orig, resp, ind, cat, src = (str(v) for v in ep.key)
            kind = _KIND.get(cat, self.rule.kind)
            alert = make_alert(
                detector=self.rule.id,
                version=self.version,
                kind=kind,
                severity=Severity.HIGH
                if cat in ("c2", "mining", "malware")
                else self.rule.severity,
                confidence=self.rule.confidence,
                mitre=_MITRE.get(cat, tuple(self.rule.labels.mitre)),
                meaning=f"{self.rule.meaning}: {ind} [{cat}, {src}]",
                networks=ctx.networks,
                actors=[orig],
                targets=[resp],
                start=ep.start,
                end=ep.end,
                window_key=int(ep.first_window * self.rule.window),
                measure=f"{ep.flows} flows",
                evidence={
                    "flows": ep.flows,
                    "uids": ep.uids,
                    "ports": sorted(ep.ports),
                    "indicator": ind,
                    "category": cat,
                    "source": src,
                },
            )
            if alert.direction in self.rule.directions:
                out.append(alert)
        return out
