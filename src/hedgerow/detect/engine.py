"""The detection engine: every enabled rule's detector over a stream of FlowBatches.

Example:
    >>> import polars as pl
    >>> from hedgerow.flows.schema import conform
    >>> engine = DetectionEngine.from_rule_dirs()
    >>> flows = conform(pl.DataFrame({"ts": [float(i) for i in range(12)],
    ...     "uid": [f"C{i}" for i in range(12)], "id.orig_h": ["192.168.2.16"] * 12,
    ...     "id.resp_h": [f"198.51.100.{i}" for i in range(12)], "id.resp_p": [23] * 12,
    ...     "proto": ["tcp"] * 12, "conn_state": ["S0"] * 12, "history": ["S"] * 12,
    ...     "orig_pkts": [1] * 12}))
    >>> engine.process(flows)
    >>> [(a.detector, a.direction, a.device) for a in engine.finish()]
    [('scan.horizontal.telnet', 'outbound', '192.168.2.16')]

A sensor that runs for days takes the alerts instead (``drain``): each is returned once, and
the engine keeps only the alerts that may still suppress one not concluded yet.

    >>> engine = engine.fresh()
    >>> engine.process(flows)
    >>> [a.detector for a in engine.drain()], engine.drain(), engine.retained
    ([], [], 0)
    >>> [a.detector for a in engine.drain(final=True)], engine.retained
    (['scan.horizontal.telnet'], 0)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from pathlib import Path

from hedgerow.capture.batch import PacketBatch
from hedgerow.detect.base import DetectContext, Detector, build_detector
from hedgerow.detect.locality import with_locality
from hedgerow.detect.masks import BatchMasks
from hedgerow.detect.ruleload import builtin_rules_dir, load_rules
from hedgerow.detect.ruleschema import Rule
from hedgerow.detect.threshold import ThresholdDetector
from hedgerow.flows.schema import FlowBatch, with_derived
from hedgerow.intel import IndicatorSet, builtin_intel_files, load_indicators
from hedgerow.model import Alert, LocalNetworks

OFFLINE_DEFER_ROWS = 50_000
"""The ``defer_rows`` of offline readers (``hedgerow scan``, ``hedgerow eval``): each windowed
detector buffers up to about this many of its rows before judging. On the 1M-packet benchmark
capture (whole scan, 5 runs alternated): 7% less CPU than judging at every 100,000-flow batch,
for 12 MB more peak memory; 100,000 saved no more CPU and took 57 MB more."""


class DetectionEngine:
    """Runs detectors batch by batch, deduplicates alerts, and keeps them in event order.

    Alerts are merged by their dedup key (the first one of a key wins). A rule may
    *suppress* other rules' alerts on the same device that overlap one of its own in event
    time; suppressors are indexed by device, so each alert is checked against a few.
    """

    def __init__(self, rules: Sequence[Rule], ctx: DetectContext | None = None) -> None:
        self.ctx = ctx or DetectContext()
        self.rules = list(rules)
        self.detectors: list[Detector] = [build_detector(r) for r in rules if r.enabled]
        self._suppresses = {r.id: set(r.suppresses) for r in rules if r.enabled and r.suppresses}
        suppressed = set().union(*self._suppresses.values())
        self._suppressed_by = [d for d in self.detectors if d.name in suppressed]
        self._alerts: dict[str, Alert] = {}
        self._suppressors: dict[str, dict[str, Alert]] = {}
        self._watermark = -math.inf
        self.flows_seen = 0
        self._plans = [d.filter_plans for d in self.detectors if isinstance(d, ThresholdDetector)]
        self._packet_readers = [d for d in self.detectors if d.reads_packets]

    @classmethod
    def from_rule_dirs(
        cls,
        extra_rule_dirs: Iterable[Path] = (),
        *,
        networks: LocalNetworks | None = None,
        intel_files: Iterable[Path] = (),
        builtin: bool = True,
        defer_rows: int = 0,
    ) -> DetectionEngine:
        """Built-in rules and indicator lists plus the user's (later ones override by id).

        ``defer_rows`` (see :class:`DetectContext`) suits offline reading: alerts come later
        but the same, for less work."""
        dirs = ([builtin_rules_dir()] if builtin else []) + [Path(d) for d in extra_rule_dirs]
        indicators = IndicatorSet()
        for path in [*builtin_intel_files(), *intel_files]:
            indicators.update(load_indicators(Path(path)))
        ctx = DetectContext(networks=networks or LocalNetworks.default(), indicators=indicators,
                            defer_rows=defer_rows)
        return cls(load_rules(dirs), ctx)

    def fresh(self) -> DetectionEngine:
        """A new engine with the same rules and context and no state (for the next capture)."""
        return DetectionEngine(self.rules, self.ctx)

    @property
    def packet_observers(self) -> list[Callable[[PacketBatch], None]]:
        """What a reader hands every packet batch to, before the flows the packets end: the
        detectors that read packets (an empty list when none does, as for a conn.log)."""
        return [d.observe for d in self._packet_readers]

    def process(self, flows: FlowBatch) -> None:
        """Feed one batch (flows in roughly ascending ``ts``) to every detector."""
        self.flows_seen += flows.height
        top = flows["ts"].max() if flows.height else None
        if top is not None:
            self._watermark = max(self._watermark, float(top))  # type: ignore[arg-type]
        if flows.n_chunks() > 1:
            flows = flows.rechunk()  # once here, not in each rule's filter and group-by
        flows = with_derived(with_locality(flows, self.ctx.networks))
        masks = BatchMasks(flows)
        masks.prefetch(self._plans)
        ctx = replace(self.ctx, masks=masks)
        for det in self.detectors:
            self._keep(det.process(flows, ctx))

    def finish(self) -> list[Alert]:
        """Flush every detector; all alerts so far, ordered by start time then key."""
        self._flush()
        return self.alerts

    @property
    def alerts(self) -> list[Alert]:
        """Alerts so far (not drained) minus those a stronger rule explains, by start then key."""
        kept = [a for a in self._alerts.values() if not self._explained(a)]
        return sorted(kept, key=lambda a: (a.start, a.dedup_key))

    def drain(self, *, final: bool = False) -> list[Alert]:
        """Take the alerts concluded since the last drain (as :attr:`alerts` lists them).

        Afterwards the engine keeps only suppressing alerts that may still overlap an alert
        not concluded yet: those ending at or after the earliest start the suppressed rules'
        detectors still hold open (or, for flows not seen yet, the watermark minus the
        lateness and two windows). With ``final`` the detectors are flushed first and
        nothing is kept.
        """
        if final:
            self._flush()
        out = self.alerts
        self._alerts = {}
        horizon = math.inf if final else self._open_since()
        self._suppressors = {
            device: kept
            for device, alerts in self._suppressors.items()
            if (kept := {k: a for k, a in alerts.items() if a.end >= horizon})
        }
        return out

    @property
    def retained(self) -> int:
        """How many alerts the engine holds (not drained, plus suppressors kept for overlap)."""
        keys = set(self._alerts)
        for held in self._suppressors.values():
            keys.update(held)
        return len(keys)

    def _flush(self) -> None:
        for det in self.detectors:
            self._keep(det.finish(self.ctx))

    def _open_since(self) -> float:
        """Earliest event time an alert of a suppressed rule may still start at."""
        if not self._suppressed_by:
            return math.inf
        since = [det.open_since() for det in self._suppressed_by]
        reach = max(det.reach() for det in self._suppressed_by)
        return min([*since, self._watermark - self.ctx.lateness - reach])

    def _explained(self, alert: Alert) -> bool:
        for other in self._suppressors.get(alert.device, {}).values():
            if (
                alert.detector in self._suppresses[other.detector]
                and other.start <= alert.end
                and alert.start <= other.end
            ):
                return True
        return False

    def _keep(self, alerts: list[Alert]) -> None:
        for alert in alerts:
            key = alert.dedup_key
            if alert.detector in self._suppresses:
                held = self._suppressors.setdefault(alert.device, {})
                if key in held:
                    continue
                held[key] = alert
            self._alerts.setdefault(key, alert)
