"""Telemetry ingest: one transaction per batch, idempotent by event id.

Alerts, decisions and agent actions are events (a repeated id is a duplicate and ignored);
findings and devices are state, upserted by (device, check) and device key. New alerts feed
the consensus blocklist.

Example:
    >>> from hedgerow.hub.auth import Principal
    >>> from hedgerow.hub.db import make_engine, session_factory
    >>> from hedgerow.hub.models import Base
    >>> from hedgerow.hub.schemas import TelemetryBatch
    >>> from hedgerow.hub.tenants import create_tenant
    >>> engine = make_engine("sqlite://"); Base.metadata.create_all(engine)
    >>> s = session_factory(engine)()
    >>> home = create_tenant(s, "home", "household", now=0.0)
    >>> who = Principal(credential_id=1, credential_kind="agent", tenant_id=home.id,
    ...                 role="household")
    >>> batch = TelemetryBatch.model_validate({"events": [{"id": "d1", "kind": "device",
    ...     "payload": {"mac": "aa:bb:cc:00:00:01", "ips": ["192.168.1.5"]}}]})
    >>> ingest(s, who, batch, ConsensusPolicy(), now=10.0)
    IngestResult(accepted=1, duplicates=0, sightings=0)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy.orm import Session

from hedgerow.hub.auth import Principal
from hedgerow.hub.consensus import (
    ConsensusPolicy,
    IPNetwork,
    RecentSightings,
    allow_networks,
    recompute,
    record_sightings,
)
from hedgerow.hub.models import AlertRow, DecisionRow, DeviceRow, FindingRow
from hedgerow.hub.schemas import (
    ActionEvent,
    AlertEvent,
    DecisionEvent,
    DeviceEvent,
    FindingEvent,
    IngestResult,
    TelemetryBatch,
)
from hedgerow.hub.sqlutil import insert_ignore, upsert


def ingest(session: Session, principal: Principal, batch: TelemetryBatch,
           policy: ConsensusPolicy, now: float,
           allow: Sequence[IPNetwork] | None = None,
           on_sighted: Callable[[list[str]], None] | None = None,
           recent: RecentSightings | None = None) -> IngestResult:
    """Store ``batch`` for the caller's tenant and update consensus; commits.

    ``allow`` is the allow-list (read from the database when not given). Consensus for the
    addresses this batch sighted is recomputed at once, or handed to ``on_sighted`` (a
    :class:`~hedgerow.hub.consensus.ConsensusWorker` recomputes them in the background).
    ``recent`` skips rewriting sightings this process wrote lately (see
    :class:`~hedgerow.hub.consensus.RecentSightings`)."""
    tenant, cred = principal.tenant_id, principal.credential_id
    alerts: dict[str, dict[str, Any]] = {}
    decisions: dict[str, dict[str, Any]] = {}
    findings: dict[tuple[str, str], dict[str, Any]] = {}
    devices: dict[str, dict[str, Any]] = {}
    for event in batch.events:
        if isinstance(event, AlertEvent):
            alerts[event.id] = _alert_row(event, tenant, cred, now)
        elif isinstance(event, DecisionEvent):
            decisions[event.id] = {"tenant_id": tenant, "event_id": event.id,
                                   **event.payload.model_dump(mode="json")}
        elif isinstance(event, ActionEvent):
            decisions[event.id] = _action_row(event, tenant)
        elif isinstance(event, FindingEvent):
            row = _finding_row(event, tenant, now)
            findings[(row["device"], row["check_id"])] = row
        elif isinstance(event, DeviceEvent):
            row = _device_row(event, tenant, now)
            devices[row["device_key"]] = row
    new_alert_ids = set(insert_ignore(session, AlertRow, list(alerts.values()),
                                      ["tenant_id", "event_id"], "event_id"))
    new_decisions = insert_ignore(session, DecisionRow, list(decisions.values()),
                                  ["tenant_id", "event_id"], "event_id")
    upsert(session, FindingRow, [findings[k] for k in sorted(findings)],
           ["tenant_id", "device", "check_id"],
           {c: "new" for c in ("event_id", "severity", "title", "fix_household",
                               "fix_manufacturer", "standards", "evidence", "last_seen")})
    upsert(session, DeviceRow, [devices[k] for k in sorted(devices)], ["tenant_id", "device_key"],
           {"mac": "new", "ips": "new", "vendor": "new", "vendor_norm": "new", "model": "new",
            "firmware": "new", "kind": "new", "name": "new", "first_seen": "min",
            "last_seen": "max", "received": "new"})
    sighted: list[str] = []
    if new_alert_ids:
        fresh = [alerts[i] for i in sorted(new_alert_ids)]
        if allow is None:
            allow = allow_networks(session)
        sighted = record_sightings(session, fresh, policy, allow, now, recent)
    try:
        session.commit()
    except BaseException:
        if recent is not None:
            recent.clear()  # what it counted as written was not
        raise
    if sighted and on_sighted is not None:
        on_sighted(sighted)
    elif sighted:
        # Its own short transaction: blocklist rows are shared by every tenant's ingest.
        recompute(session, sighted, policy, now)
        session.commit()
    duplicates = (len(alerts) - len(new_alert_ids)) + (len(decisions) - len(new_decisions))
    duplicates += len(batch.events) - len(alerts) - len(decisions) - len(findings) - len(devices)
    return IngestResult(accepted=len(batch.events) - duplicates, duplicates=duplicates,
                        sightings=len(sighted))


def _alert_row(event: AlertEvent, tenant: int, cred: int, now: float) -> dict[str, Any]:
    p = event.payload
    return {"tenant_id": tenant, "event_id": event.id, "credential_id": cred,
            "kind": p.kind.value, "direction": p.direction.value, "device": p.device,
            "peers": p.peers, "severity": p.severity.value, "confidence": p.confidence,
            "start": p.start, "end": p.end, "detector": p.detector, "summary": p.summary,
            "mitre": p.mitre, "evidence": p.evidence, "received": now}


def _action_row(event: ActionEvent, tenant: int) -> dict[str, Any]:
    """An agent's action-log record, stored beside policy decisions as an action taken."""
    p = event.payload
    reason = p.alert_kind or "agent action"
    if p.dry_run:
        reason += " (dry run)"
    if not p.ok:
        reason += " (failed)"
    return {"tenant_id": tenant, "event_id": event.id, "action": p.action, "scope": "agent",
            "value": p.target, "duration_s": p.duration_s, "reason": reason,
            "alert_id": p.alert_id, "created": p.ts}


def _finding_row(event: FindingEvent, tenant: int, now: float) -> dict[str, Any]:
    p = event.payload
    return {"tenant_id": tenant, "device": p.device, "check_id": p.check_id,
            "event_id": event.id, "severity": p.severity.value, "title": p.title,
            "fix_household": p.fix_household, "fix_manufacturer": p.fix_manufacturer,
            "standards": p.standards, "evidence": p.evidence, "first_seen": now,
            "last_seen": now}


def _device_row(event: DeviceEvent, tenant: int, now: float) -> dict[str, Any]:
    p = event.payload
    key = p.mac or (p.ips[0] if p.ips else "unknown")
    firmware = p.evidence.get("firmware")
    return {"tenant_id": tenant, "device_key": key, "mac": p.mac, "ips": p.ips,
            "vendor": p.vendor, "vendor_norm": p.vendor.strip().lower() if p.vendor else None,
            "model": p.model, "firmware": str(firmware)[:100] if firmware else None,
            "kind": p.kind, "name": p.name, "first_seen": p.first_seen or now,
            "last_seen": p.last_seen or now, "received": now}
