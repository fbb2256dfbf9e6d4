"""Score alerts against ground truth: per attack (host level) and per flow.

Host level: an attack counts as detected when an alert has its kind and direction and its
attacker/victim on the alert's actor/target sides (``*`` matches anything; a side the alert
only samples matches any host). Alert precision: the share of alerts that explain some listed
attack; on a benign capture every alert is a false one. Flow level: a flow is predicted
malicious when an alert covers it (its endpoints on the alert's two sides, its start inside
the alert's time span); truth comes from the label column or from the listed attacks.

Example:
    >>> import polars as pl
    >>> from hedgerow.evaluate.truth import CaptureTruth
    >>> from hedgerow.model import Alert, AlertKind, Severity
    >>> truth = CaptureTruth.model_validate({"path": "x", "reference": "r", "attacks": [
    ...     {"attacker": "10.0.0.5", "kind": "scan", "direction": "outbound"}]})
    >>> alert = Alert(kind=AlertKind.SCAN, detector="scan.x", detector_version="1",
    ...     direction="outbound", device="10.0.0.5", peers=("1.1.1.1",), severity=Severity.HIGH,
    ...     confidence=0.9, start=0.0, end=5.0, summary="", evidence={})
    >>> flows = pl.DataFrame({"ts": [1.0, 2.0], "id.orig_h": ["10.0.0.5", "10.0.0.9"],
    ...     "id.resp_h": ["1.1.1.1", "1.1.1.1"], "label": [None, None]})
    >>> s = score_capture("x", truth, [alert], flows, flows_present={"tcp"})
    >>> s.attacks[0].detected, s.false_alerts, (s.flows.tp, s.flows.fp, s.flows.fn, s.flows.tn)
    (True, 0, (1, 0, 0, 1))
"""

from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl

from hedgerow.evaluate.truth import Attack, CaptureTruth
from hedgerow.model import Alert

TIME_SLACK = 1.0


@dataclass(frozen=True)
class AttackResult:
    """One listed attack and whether the alerts found it."""

    attack: Attack
    scorable: bool
    detected: bool
    detected_any_kind: bool
    alert_ids: tuple[str, ...] = ()
    reason: str = ""


@dataclass
class FlowCounts:
    """Confusion counts over flows."""

    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0

    def add(self, other: FlowCounts) -> None:
        self.tp += other.tp
        self.fp += other.fp
        self.fn += other.fn
        self.tn += other.tn

    @property
    def precision(self) -> float | None:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else None

    @property
    def recall(self) -> float | None:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else None


@dataclass
class CaptureScore:
    """The score of one capture file."""

    path: str
    benign: bool
    alerts: int
    false_alerts: int
    attacks: list[AttackResult] = field(default_factory=list)
    flows: FlowCounts = field(default_factory=FlowCounts)
    error: str | None = None


def alert_sides(alert: Alert) -> tuple[set[str] | None, set[str] | None]:
    """(actors, targets) of an alert; ``None`` for a side it only samples."""
    local = {alert.device, *alert.evidence.get("other_devices", [])}
    peers = None if alert.evidence.get("peers_sampled") else set(alert.peers)
    if alert.direction == "inbound":
        return peers, local
    return local, peers


def _on(side: set[str] | None, host: str) -> bool:
    return host == "*" or side is None or host in side


def _overlaps(attack: Attack, alert: Alert) -> bool:
    if attack.start is not None and alert.end < attack.start - TIME_SLACK:
        return False
    return not (attack.end is not None and alert.start > attack.end + TIME_SLACK)


def explains(attack: Attack, alert: Alert, *, any_kind: bool = False) -> bool:
    """Whether ``alert`` reports ``attack`` (kind and direction too unless ``any_kind``)."""
    actors, targets = alert_sides(alert)
    if not (_on(actors, attack.attacker) and _on(targets, attack.victim)):
        return False
    if not _overlaps(attack, alert):
        return False
    return any_kind or (alert.kind == attack.kind and alert.direction == attack.direction)


def score_capture(
    path: str,
    truth: CaptureTruth,
    alerts: list[Alert],
    flows: pl.DataFrame,
    *,
    flows_present: set[str],
) -> CaptureScore:
    """Score one capture's alerts; ``flows`` has ``ts``, ``id.orig_h``, ``id.resp_h``, ``label``.

    ``flows_present`` is the set of ``proto`` values seen, to decide whether attacks that
    ``require`` a capability (``arp``) can be scored at all.
    """
    results = []
    for attack in truth.attacks:
        missing = [r for r in attack.requires if r not in flows_present]
        if missing:
            results.append(
                AttackResult(
                    attack, False, False, False, reason=f"flows lack {', '.join(missing)} rows"
                )
            )
            continue
        hits = tuple(a.id for a in alerts if explains(attack, a))
        near = any(explains(attack, a, any_kind=True) for a in alerts)
        results.append(AttackResult(attack, True, bool(hits), near, hits))
    if truth.flow_labels and not truth.attacks:
        # only per-flow labels: an alert is false when none of the flows it covers is malicious
        malicious = flows.filter(_labelled_malicious())
        false_alerts = sum(1 for a in alerts if malicious.filter(_alert_expr(a)).height == 0)
    else:
        false_alerts = sum(
            1 for a in alerts if not any(explains(t, a, any_kind=True) for t in truth.attacks)
        )
    counts = _flow_counts(truth, alerts, flows)
    return CaptureScore(path, truth.benign, len(alerts), false_alerts, results, counts)


def _flow_counts(truth: CaptureTruth, alerts: list[Alert], flows: pl.DataFrame) -> FlowCounts:
    if flows.height == 0:
        return FlowCounts()
    if truth.flow_labels:
        actual = _labelled_malicious()
    else:
        actual = pl.any_horizontal([_attack_expr(a) for a in truth.attacks] or [pl.lit(False)])
    predicted = pl.any_horizontal([_alert_expr(a) for a in alerts] or [pl.lit(False)])
    row = flows.select(
        (actual & predicted).sum().alias("tp"),
        (~actual & predicted).sum().alias("fp"),
        (actual & ~predicted).sum().alias("fn"),
        (~actual & ~predicted).sum().alias("tn"),
    ).row(0, named=True)
    return FlowCounts(**{k: int(v) for k, v in row.items()})


def _labelled_malicious() -> pl.Expr:
    return pl.col("label").fill_null("").str.to_lowercase().str.starts_with("malicious")


def _host_in(col: str, side: set[str] | None) -> pl.Expr:
    return pl.lit(True) if side is None else pl.col(col).is_in(sorted(side))


def _host_is(col: str, host: str) -> pl.Expr:
    return pl.lit(True) if host == "*" else pl.col(col) == host


def _alert_expr(alert: Alert) -> pl.Expr:
    actors, targets = alert_sides(alert)
    forward = _host_in("id.orig_h", actors) & _host_in("id.resp_h", targets)
    backward = _host_in("id.resp_h", actors) & _host_in("id.orig_h", targets)
    when = pl.col("ts").is_between(alert.start - TIME_SLACK, alert.end + TIME_SLACK)
    return ((forward | backward) & when).fill_null(False)


def _attack_expr(attack: Attack) -> pl.Expr:
    forward = _host_is("id.orig_h", attack.attacker) & _host_is("id.resp_h", attack.victim)
    backward = _host_is("id.resp_h", attack.attacker) & _host_is("id.orig_h", attack.victim)
    expr = forward | backward
    if attack.start is not None:
        expr = expr & (pl.col("ts") >= attack.start - TIME_SLACK)
    if attack.end is not None:
        expr = expr & (pl.col("ts") <= attack.end + TIME_SLACK)
    return expr.fill_null(False)
