"""Turn "these actors did this to these targets" into an :class:`Alert` with direction and device.

Direction comes from the local networks: a local actor against outside targets is
``outbound``; an outside actor against local targets ``inbound``; local to local ``internal``.
The alert's ``device`` is the local side (the attacker if it is ours, else the victim).

Example:
    >>> from hedgerow.model import AlertKind, LocalNetworks, Severity
    >>> a = make_alert(detector="scan.x", version="1", kind=AlertKind.SCAN, severity=Severity.HIGH,
    ...     confidence=0.9, mitre=("T1046",), meaning="telnet scanning",
    ...     networks=LocalNetworks.default(), actors=["192.168.2.16"],
    ...     targets=["1.2.3.4", "5.6.7.8"], start=10.0, end=70.0, window_key=0,
    ...     measure="2 targets", evidence={"flows": 2})
    >>> a.direction, a.device, a.peers
    ('outbound', '192.168.2.16', ('1.2.3.4', '5.6.7.8'))
    >>> a.summary
    '192.168.2.16 -> 2 hosts: telnet scanning (2 targets)'
"""

from __future__ import annotations

import operator
from collections.abc import Sequence
from typing import Any

from hedgerow.detect.ruleschema import RuleBase
from hedgerow.model import Alert, AlertKind, Direction, LocalNetworks, Severity

PEER_LIMIT = 20


def rule_fields(rule: RuleBase) -> dict[str, Any]:
    """The alert fields a rule decides: detector id, kind, severity, confidence, MITRE, meaning.

    Detectors pass them on with ``make_alert(**rule_fields(rule), ...)``.
    """
    return {
        "detector": rule.id,
        "kind": rule.kind,
        "severity": rule.severity,
        "confidence": rule.confidence,
        "mitre": tuple(rule.labels.mitre),
        "meaning": rule.meaning,
    }


def direction_of(
    networks: LocalNetworks, actors: Sequence[str], targets: Sequence[str]
) -> Direction:
    """Majority locality of the actors and of the targets decides the direction."""
    actor_local = _mostly_local(networks, actors)
    target_local = _mostly_local(networks, targets)
    if actor_local and target_local:
        return Direction.INTERNAL
    if actor_local:
        return Direction.OUTBOUND
    if target_local:
        return Direction.INBOUND
    return Direction.EXTERNAL


def _mostly_local(networks: LocalNetworks, hosts: Sequence[str]) -> bool:
    if not hosts:
        return False
    sample = list(hosts)[: PEER_LIMIT * 5]
    return sum(networks.is_local(h) for h in sample) * 2 > len(sample)


def _sorted_unique(values: Sequence[str]) -> list[str]:
    """``sorted(set(values))``; a list already sorted without repeats (a detector's distinct
    values, up to thousands) is checked in one pass instead of sorted again."""
    if isinstance(values, list) and all(map(operator.lt, values, values[1:])):
        return list(values)
    return sorted(set(values))


def make_alert(
    *,
    detector: str,
    version: str,
    kind: AlertKind,
    severity: Severity,
    confidence: float,
    mitre: tuple[str, ...],
    meaning: str,
    networks: LocalNetworks,
    actors: Sequence[str],
    targets: Sequence[str],
    start: float,
    end: float,
    window_key: int,
    measure: str,
    evidence: dict[str, Any],
    complete: bool = True,
) -> Alert:
    """Build one alert; ``actors``/``targets`` are sorted for determinism and bounded.

    ``complete`` is false when the peer list is a sample (then counts read "20+ hosts").
    """
    actors = _sorted_unique(actors)
    targets = _sorted_unique(targets)
    direction = direction_of(networks, actors, targets)
    if direction is Direction.INBOUND:
        local_targets = [t for t in targets if networks.is_local(t)] or targets
        device, peers, others = local_targets[0], actors, local_targets[1:]
    else:
        local_actors = [a for a in actors if networks.is_local(a)] or actors
        device = local_actors[0] if local_actors else (targets[0] if targets else "unknown")
        peers, others = targets, local_actors[1:]
    evidence = dict(evidence)
    sampled = len(peers) >= PEER_LIMIT and not complete
    evidence["peers_total"] = len(peers)
    evidence["peers_sampled"] = sampled
    if others:
        evidence["other_devices"] = others[:PEER_LIMIT]
    plus = "+" if sampled else ""
    if direction is Direction.INBOUND:
        who = peers[0] if len(peers) == 1 else f"{len(peers)}{plus} outside hosts"
        summary = f"{who} -> {device}: {meaning} ({measure})"
    else:
        whom = peers[0] if len(peers) == 1 else f"{len(peers)}{plus} hosts"
        summary = f"{device} -> {whom}: {meaning} ({measure})"
    return Alert(
        kind=kind,
        detector=detector,
        detector_version=version,
        direction=direction.value,
        device=device,
        peers=tuple(peers[:PEER_LIMIT]),
        severity=severity,
        confidence=confidence,
        start=round(start, 6),
        end=round(end, 6),
        summary=summary,
        evidence=evidence,
        mitre=mitre,
        window_key=window_key,
    )
