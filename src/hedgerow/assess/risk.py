"""Risk scores, 0-100, per device and per household, each explained in one sentence.

A device's score combines everything that drives it as independent risks:
``100 * (1 - prod(1 - w_i))`` over its findings and alerts, where ``w_i`` is the weight of the
item's severity (``FINDING_WEIGHTS`` / ``ALERT_WEIGHTS``). An alert where the device is the
attacker (outbound) weighs more than one where it is the target: it is already compromised.
The household score is the riskiest device's, raised a little for every other device that
needs attention.

Example:
    >>> from hedgerow.model import Finding, Severity
    >>> f = Finding("net.telnet-offered", "cam", Severity.HIGH, "Telnet is open")
    >>> risk = score_devices({"cam": "Garage camera"}, [f], [])["cam"]
    >>> risk.score, risk.band
    (30, 'moderate')
    >>> risk.explanation
    'Garage camera: risk 30/100 (moderate) because telnet is open.'
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from hedgerow.model import Alert, Finding, Severity

FINDING_WEIGHTS = {Severity.INFO: 0.0, Severity.LOW: 0.05, Severity.MEDIUM: 0.15,
                   Severity.HIGH: 0.30, Severity.CRITICAL: 0.50}
ALERT_WEIGHTS = {Severity.INFO: 0.02, Severity.LOW: 0.08, Severity.MEDIUM: 0.20,
                 Severity.HIGH: 0.40, Severity.CRITICAL: 0.60}
OUTBOUND_FACTOR = 1.5
BANDS = ((80, "critical"), (50, "high"), (20, "moderate"), (0, "low"))
ATTENTION = 20


def band(score: int) -> str:
    return next(name for floor, name in BANDS if score >= floor)


@dataclass(frozen=True)
class Driver:
    """One finding or alert behind a score, and how much it weighs."""

    source: str
    ref: str
    title: str
    severity: str
    weight: float

    def to_dict(self) -> dict[str, Any]:
        return {"source": self.source, "ref": self.ref, "title": self.title,
                "severity": self.severity, "weight": round(self.weight, 3)}


@dataclass(frozen=True)
class RiskScore:
    """A score with its band, the drivers (heaviest first) and a one-sentence explanation."""

    subject: str
    score: int
    band: str
    explanation: str
    drivers: tuple[Driver, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, Any]:
        return {"subject": self.subject, "score": self.score, "band": self.band,
                "explanation": self.explanation, "drivers": [d.to_dict() for d in self.drivers]}


def _combine(weights: Iterable[float]) -> int:
    rest = 1.0
    for w in weights:
        rest *= 1.0 - min(w, 0.95)
    return round(100 * (1.0 - rest))


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:] if text[:2] != text[:2].upper() else text


def _alert_title(alert: Alert) -> str:
    if alert.direction == "outbound":
        return f"it is attacking others ({alert.kind.value}: {alert.summary})"
    return f"it was attacked ({alert.kind.value}: {alert.summary})"


def score_devices(names: Mapping[str, str], findings: Iterable[Finding],
                  alerts: Iterable[Alert],
                  device_of: Mapping[str, str] | None = None) -> dict[str, RiskScore]:
    """Score every device in ``names`` (key -> display name) from its findings and alerts.

    ``device_of`` maps addresses used in alerts (IPs) to device keys.
    """
    lookup = device_of or {}
    drivers: dict[str, list[Driver]] = {key: [] for key in names}
    for f in findings:
        key = lookup.get(f.device, f.device)
        drivers.setdefault(key, []).append(
            Driver("finding", f.check_id, f.title, f.severity.value, FINDING_WEIGHTS[f.severity]))
    for a in alerts:
        key = lookup.get(a.device, a.device)
        weight = ALERT_WEIGHTS[a.severity] * (OUTBOUND_FACTOR if a.direction == "outbound"
                                              else 1.0)
        drivers.setdefault(key, []).append(
            Driver("alert", a.id, _alert_title(a), a.severity.value, weight))
    out: dict[str, RiskScore] = {}
    for key, items in drivers.items():
        items.sort(key=lambda d: -d.weight)
        score = _combine(d.weight for d in items)
        label = names.get(key, key)
        if not items or score == 0:
            text = f"{label}: risk {score}/100 ({band(score)}), nothing risky was seen."
        else:
            more = len([d for d in items[1:] if d.weight > 0])
            tail = f" and {more} more issue{'s' if more > 1 else ''}" if more else ""
            text = (f"{label}: risk {score}/100 ({band(score)}) because "
                    f"{_lower_first(items[0].title)}{tail}.")
        out[key] = RiskScore(key, score, band(score), text, tuple(items))
    return out


def score_household(device_scores: Mapping[str, RiskScore],
                    names: Mapping[str, str] | None = None) -> RiskScore:
    """The household's score: the riskiest device's, plus 5 per other device needing attention.

    Example:
        >>> a = RiskScore("a", 60, "high", "")
        >>> b = RiskScore("b", 55, "high", "")
        >>> score_household({"a": a, "b": b}).score
        65
    """
    label = names or {}
    if not device_scores:
        return RiskScore("household", 0, "low", "No devices were seen.")
    ranked = sorted(device_scores.values(), key=lambda s: -s.score)
    worst = ranked[0]
    attention = [s for s in ranked if s.score >= ATTENTION]
    score = min(100, worst.score + 5 * max(0, len(attention) - 1))
    drivers = tuple(Driver("device", s.subject, label.get(s.subject, s.subject), s.band,
                           s.score / 100) for s in ranked if s.score > 0)
    if worst.score == 0:
        text = (f"Your network's risk is 0/100 (low): none of its {len(ranked)} devices "
                "showed a risk.")
    else:
        text = (f"Your network's risk is {score}/100 ({band(score)}): {len(attention)} of "
                f"{len(ranked)} devices need attention; the riskiest is "
                f"{label.get(worst.subject, worst.subject)} at {worst.score}/100.")
    return RiskScore("household", score, band(score), text, drivers)
