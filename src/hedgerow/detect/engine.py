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
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

from hedgerow.detect.base import DetectContext, Detector, build_detector
from hedgerow.detect.locality import with_locality
from hedgerow.detect.ruleload import builtin_rules_dir, load_rules
from hedgerow.detect.ruleschema import Rule
from hedgerow.flows.schema import FlowBatch
from hedgerow.intel import IndicatorSet, builtin_intel_files, load_indicators
from hedgerow.model import Alert, LocalNetworks


class DetectionEngine:
    """Runs detectors batch by batch, deduplicates alerts, and keeps them in event order."""

    def __init__(self, rules: Sequence[Rule], ctx: DetectContext | None = None) -> None:
        self.ctx = ctx or DetectContext()
        self.rules = list(rules)
        self.detectors: list[Detector] = [build_detector(r) for r in rules if r.enabled]
        self._suppresses = {r.id: set(r.suppresses) for r in rules if r.enabled and r.suppresses}
        self._alerts: dict[str, Alert] = {}
        self.flows_seen = 0

    @classmethod
    def from_rule_dirs(
        cls,
        extra_rule_dirs: Iterable[Path] = (),
        *,
        networks: LocalNetworks | None = None,
        intel_files: Iterable[Path] = (),
        builtin: bool = True,
    ) -> DetectionEngine:
        """Built-in rules and indicator lists plus the user's (later ones override by id)."""
        dirs = ([builtin_rules_dir()] if builtin else []) + [Path(d) for d in extra_rule_dirs]
        indicators = IndicatorSet()
        for path in [*builtin_intel_files(), *intel_files]:
            indicators.update(load_indicators(Path(path)))
        ctx = DetectContext(networks=networks or LocalNetworks.default(), indicators=indicators)
        return cls(load_rules(dirs), ctx)

    def fresh(self) -> DetectionEngine:
        """A new engine with the same rules and context and no state (for the next capture)."""
        return DetectionEngine(self.rules, self.ctx)

    def process(self, flows: FlowBatch) -> None:
        """Feed one batch (flows in roughly ascending ``ts``) to every detector."""
        self.flows_seen += flows.height
        flows = with_locality(flows, self.ctx.networks)
        for det in self.detectors:
            self._keep(det.process(flows, self.ctx))

    def finish(self) -> list[Alert]:
        """Flush every detector; all alerts so far, ordered by start time then key."""
        for det in self.detectors:
            self._keep(det.finish(self.ctx))
        return self.alerts

    @property
    def alerts(self) -> list[Alert]:
        """Alerts so far minus those a stronger rule explains, by start time then key."""
        kept = [a for a in self._alerts.values() if not self._explained(a)]
        return sorted(kept, key=lambda a: (a.start, a.dedup_key))

    def _explained(self, alert: Alert) -> bool:
        for other in self._alerts.values():
            if (
                alert.detector in self._suppresses.get(other.detector, ())
                and other.device == alert.device
                and other.start <= alert.end
                and alert.start <= other.end
            ):
                return True
        return False

    def _keep(self, alerts: list[Alert]) -> None:
        for alert in alerts:
            self._alerts.setdefault(alert.dedup_key, alert)
