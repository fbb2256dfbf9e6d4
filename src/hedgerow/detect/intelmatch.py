"""Intel matching: flows to or from listed addresses/networks, listed server names, listed names
and addresses in DNS answers, and connections to addresses a device resolved a listed name to.

Addresses are looked up once per distinct address in the batch; names come from TLS SNI,
HTTP Host and DNS queries in the first payload bytes (see :mod:`hedgerow.detect.names`), and
from the first bytes of DNS responses (:mod:`hedgerow.detect.dnsanswers`), each parsed once per
distinct payload among the flows that can carry one. An answer that gives an address for a
listed name is remembered per (device, address) for its TTL (bounded: see
:mod:`hedgerow.detect.resolutions`), so the device's later flows to that address, raw TCP with
no name in it too, are contact with the listed name.
Alerts go one per (device, indicator, window), with the flow count, the peers and how each
match was made (``evidence["matched"]``) inside.

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

import math
from collections.abc import Sequence

import polars as pl

from hedgerow.detect.alerting import make_alert
from hedgerow.detect.base import DetectContext, Detector, register
from hedgerow.detect.dnsanswers import batch_answers
from hedgerow.detect.names import DNS_PORTS, name_from_payload
from hedgerow.detect.resolutions import RECENT_COLUMNS, Attribution
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
_KEYS = ["_dev", "_out", "_ind", "_cat", "_src"]
_COLUMNS = ["ts", "uid", "id.orig_h", "id.resp_h", "id.resp_p", *_KEYS, "_via"]
_SHOWN = 3
_EVIDENCE = 20


@register("intel")
class IntelDetector(Detector):
    """Matches flows and DNS answers against the context's indicator set."""

    rule: IntelRule

    def __init__(self, rule: IntelRule) -> None:
        super().__init__(rule)
        self._agg = WindowAggregator(
            keys=_KEYS,
            distinct="_via",
            sum_col=None,
            window=rule.window,
            capacity=1,
            min_flows=1,
            actor="id.orig_h",
            target="id.resp_h",
            quiet=rule.blackhole,
        )
        self._watermark = -math.inf
        self._attribution = Attribution(
            cap=rule.resolution_cap, max_ttl=rule.resolution_max_ttl,
            min_ttl=rule.resolution_min_ttl, late_flows=rule.late_answer_flows,
        )

    def process(self, flows: FlowBatch, ctx: DetectContext) -> list[Alert]:
        intel = ctx.indicators
        if flows.height == 0 or intel is None or len(intel) == 0:
            return []
        top = flows["ts"].max()
        if top is not None:
            self._watermark = max(self._watermark, float(top))  # type: ignore[arg-type]
        horizon = self._watermark - ctx.lateness
        answer_hits, resolutions = None, None
        if self.rule.match_dns_answers:
            answer_hits, resolutions = batch_answers(
                flows, intel, self._attribution.resolved.lifetime
            )
        resolved = None
        if intel.has_domains and self.rule.match_dns_answers:
            # a selection of columns: shares them with the batch, no copy
            resolved = self._attribution.hits(flows.select(RECENT_COLUMNS), resolutions, horizon)
        hits = [
            h
            for h in (
                self._address_hits(flows, intel),
                self._name_hits(flows, intel),
                None if answer_hits is None else _device_is_origin(answer_hits),
                None if resolved is None else _device_is_origin(resolved),
            )
            if h is not None and h.height
        ]
        matched = flows.head(0)
        if hits:
            matched = pl.concat([h.select(_COLUMNS) for h in hits], how="vertical_relaxed")
            matched = matched.unique(subset=["uid", "_ind"], keep="first", maintain_order=True)
        episodes = self._agg.update(
            matched, watermark=self._watermark, lateness=ctx.lateness, defer_rows=ctx.defer_rows
        )
        return self._alerts(episodes, ctx)

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
        for side, device in (("id.resp_h", "id.orig_h"), ("id.orig_h", "id.resp_h")):
            parts.append(
                flows.join(lut, left_on=side, right_on="_h", how="inner").with_columns(
                    pl.col(device).alias("_dev"),
                    pl.lit(side == "id.resp_h").alias("_out"),
                    pl.format("address {}", pl.col(side)).alias("_via"),
                )
            )
        return pl.concat(parts, how="vertical_relaxed").unique(subset=["uid", "_ind"], keep="first")

    def _name_hits(self, flows: FlowBatch, intel: IndicatorSet) -> pl.DataFrame | None:
        if not (self.rule.match_payload_names and intel.has_domains):
            return None
        payload = pl.col("orig_payload")
        carries_name = (
            ((pl.col("proto") == "udp") & pl.col("id.resp_p").is_in(DNS_PORTS))
            | payload.bin.starts_with(b"\x16\x03")
            | payload.bin.contains(b"\r\nHost:")
        )
        cand = flows.filter(payload.is_not_null() & carries_name.fill_null(False))
        if cand.height == 0:
            return None
        on = ["orig_payload", "id.resp_p", "proto"]
        rows = []
        for head, port, proto in cand.select(on).unique().iter_rows():
            name = name_from_payload(head, port, proto)
            ind = intel.lookup_domain(name) if name else None
            if ind is not None:
                how = "dns-query" if proto == "udp" and port in DNS_PORTS else (
                    "tls-sni" if head[:1] == b"\x16" else "http-host")
                rows.append((head, port, proto, ind.value, ind.category, ind.source,
                             f"{how} {name}"))
        return self._joined(cand, on, rows)

    @staticmethod
    def _joined(
        cand: pl.DataFrame, on: list[str], rows: Sequence[tuple[object, ...]]
    ) -> pl.DataFrame | None:
        if not rows:
            return None
        schema = {**cand.select(on).schema, "_ind": pl.String(), "_cat": pl.String(),
                  "_src": pl.String(), "_via": pl.String()}
        lut = pl.DataFrame(rows, schema=schema, orient="row")
        return _device_is_origin(cand.join(lut, on=on, how="inner"))

    def _alerts(self, episodes: list[Episode], ctx: DetectContext) -> list[Alert]:
        out = []
        for ep in episodes:
            ind, cat, src = (str(v) for v in ep.key[2:])
            matched = sorted(ep.distinct)
            seen = sorted({m.split(" ", 1)[-1] for m in matched} - {ind})
            more = ", ..." if len(seen) > _SHOWN else ""
            names = f" ({', '.join(seen[:_SHOWN])}{more})" if seen else ""
            alert = make_alert(
                detector=self.rule.id,
                version=self.version,
                kind=_KIND.get(cat, self.rule.kind),
                severity=Severity.HIGH
                if cat in ("c2", "mining", "malware")
                else self.rule.severity,
                confidence=self.rule.confidence,
                mitre=_MITRE.get(cat, tuple(self.rule.labels.mitre)),
                meaning=f"{self.rule.meaning}: {ind}{names} [{cat}, {src}]",
                networks=ctx.networks,
                actors=sorted(ep.actors),
                targets=sorted(ep.targets),
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
                    "matched": matched[:_EVIDENCE],
                },
            )
            if alert.direction in self.rule.directions:
                out.append(alert)
        return out


def _device_is_origin(hits: pl.DataFrame) -> pl.DataFrame:
    """Hits whose device is the flow's originator (names asked for, resolved addresses)."""
    return hits.with_columns(pl.col("id.orig_h").alias("_dev"), pl.lit(True).alias("_out"))
