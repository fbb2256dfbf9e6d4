"""Summaries of capture scores: per source, the figures ``hedgerow eval`` prints.

Example:
    >>> s = summarize("demo", [])
    >>> s.attacks, s.detected, s.alert_precision
    (0, 0, None)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hedgerow.evaluate.score import CaptureScore, FlowCounts


@dataclass
class SourceSummary:
    """Host- and flow-level figures for one ground-truth source."""

    source: str
    captures: int = 0
    attacks: int = 0
    detected: int = 0
    detected_any_kind: int = 0
    not_scorable: int = 0
    alerts: int = 0
    false_alerts: int = 0
    benign_captures: int = 0
    benign_with_alerts: int = 0
    errors: int = 0
    flows: FlowCounts = field(default_factory=FlowCounts)
    missed: list[str] = field(default_factory=list)

    @property
    def host_recall(self) -> float | None:
        scorable = self.attacks - self.not_scorable
        return self.detected / scorable if scorable else None

    @property
    def alert_precision(self) -> float | None:
        return (self.alerts - self.false_alerts) / self.alerts if self.alerts else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "captures": self.captures,
            "attacks": self.attacks,
            "detected": self.detected,
            "detected_any_kind": self.detected_any_kind,
            "not_scorable": self.not_scorable,
            "host_recall": self.host_recall,
            "alerts": self.alerts,
            "false_alerts": self.false_alerts,
            "alert_precision": self.alert_precision,
            "benign_captures": self.benign_captures,
            "benign_with_alerts": self.benign_with_alerts,
            "errors": self.errors,
            "flows": {
                "tp": self.flows.tp,
                "fp": self.flows.fp,
                "fn": self.flows.fn,
                "tn": self.flows.tn,
                "precision": self.flows.precision,
                "recall": self.flows.recall,
            },
            "missed": self.missed,
        }


def summarize(source: str, scores: list[CaptureScore]) -> SourceSummary:
    """Fold the capture scores of one source."""
    out = SourceSummary(source)
    for score in scores:
        out.captures += 1
        if score.error:
            out.errors += 1
            out.missed.append(f"{score.path}: {score.error}")
            continue
        out.alerts += score.alerts
        out.false_alerts += score.false_alerts
        out.flows.add(score.flows)
        if score.benign:
            out.benign_captures += 1
            out.benign_with_alerts += score.alerts > 0
        for res in score.attacks:
            out.attacks += 1
            if not res.scorable:
                out.not_scorable += 1
                continue
            out.detected += res.detected
            out.detected_any_kind += res.detected_any_kind
            if not res.detected:
                a = res.attack
                out.missed.append(
                    f"{score.path}: {a.attacker} -> {a.victim} {a.kind.value} {a.direction}"
                )
    return out
