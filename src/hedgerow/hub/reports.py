"""Reports for each audience, built from what participants reported.

* household: its own devices, risks, alerts and the actions taken;
* manufacturer: per model and firmware of its own vendors' devices — how many seen, how many
  compromised, findings and failing ETSI EN 303 645 provisions — never household identities,
  addresses or device identifiers;
* regulator: anonymised market aggregates — compliance per ETSI provision and UK PSTI
  requirement, the fleet's outbound:inbound attack ratio, and trends per day.

Example:
    >>> from hedgerow.hub.db import make_engine, session_factory
    >>> from hedgerow.hub.models import Base
    >>> engine = make_engine("sqlite://"); Base.metadata.create_all(engine)
    >>> with session_factory(engine)() as s:
    ...     regulator_report(s)["attacks"]
    {'inbound': 0, 'outbound': 0, 'outbound_to_inbound': None, 'compromised_devices': 0}
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Float, Integer, cast, func, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from hedgerow.hub.models import AlertRow, BlocklistEntry, DecisionRow, DeviceRow, FindingRow, Tenant
from hedgerow.hub.standards import (
    ETSI_KEY,
    PSTI_REQUIREMENTS,
    etsi_category,
    psti_requirements,
)

COMPROMISE_KINDS = ("scan", "bruteforce", "dos", "c2", "mining", "malware", "exploit")
_SEVERITY_ORDER = {"critical": 0, "high": 1, "medium": 2, "low": 3, "info": 4}
DeviceRef = tuple[int, str]


def _alert_out(a: AlertRow) -> dict[str, Any]:
    return {"id": a.event_id, "kind": a.kind, "direction": a.direction, "device": a.device,
            "peers": a.peers, "severity": a.severity, "confidence": a.confidence,
            "start": a.start, "end": a.end, "detector": a.detector, "summary": a.summary,
            "mitre": a.mitre}


def _device_out(d: DeviceRow) -> dict[str, Any]:
    return {"device_key": d.device_key, "mac": d.mac, "ips": d.ips, "vendor": d.vendor,
            "model": d.model, "firmware": d.firmware, "kind": d.kind, "name": d.name,
            "first_seen": d.first_seen, "last_seen": d.last_seen}


def household_report(session: Session, tenant_id: int, recent: int = 100) -> dict[str, Any]:
    """Everything a household may see about itself."""
    devices = session.scalars(select(DeviceRow).where(DeviceRow.tenant_id == tenant_id)
                              .order_by(DeviceRow.device_key)).all()
    findings = session.scalars(select(FindingRow).where(FindingRow.tenant_id == tenant_id)).all()
    ordered = sorted(findings, key=lambda f: (_SEVERITY_ORDER.get(f.severity, 9), f.device,
                                              f.check_id))
    risks = [{"device": f.device, "check_id": f.check_id, "severity": f.severity,
              "title": f.title, "fix": f.fix_household, "standards": f.standards,
              "last_seen": f.last_seen} for f in ordered]
    counts = session.execute(
        select(AlertRow.direction, AlertRow.kind, func.count())
        .where(AlertRow.tenant_id == tenant_id)
        .group_by(AlertRow.direction, AlertRow.kind)).all()
    latest = session.scalars(select(AlertRow).where(AlertRow.tenant_id == tenant_id)
                             .order_by(AlertRow.start.desc(), AlertRow.id.desc())
                             .limit(recent)).all()
    actions = session.scalars(select(DecisionRow).where(DecisionRow.tenant_id == tenant_id)
                              .order_by(DecisionRow.created.desc()).limit(recent)).all()
    return {
        "tenant_id": tenant_id,
        "devices": [_device_out(d) for d in devices],
        "risks": risks,
        "alerts": {
            "counts": [{"direction": d, "kind": k, "count": n} for d, k, n in sorted(counts)],
            "recent": [_alert_out(a) for a in latest],
        },
        "actions": [{"action": a.action, "scope": a.scope, "value": a.value,
                     "duration_s": a.duration_s, "reason": a.reason, "alert_id": a.alert_id,
                     "created": a.created} for a in actions],
    }


class _DeviceIndex:
    """Resolve the device strings alerts/findings carry (key or address) to device rows."""

    def __init__(self, devices: Iterable[DeviceRow]) -> None:
        self.by_name: dict[tuple[int, str], DeviceRow] = {}
        for d in devices:
            for name in (d.device_key, *(d.ips or [])):
                self.by_name.setdefault((d.tenant_id, name), d)

    def get(self, tenant_id: int, name: str) -> DeviceRow | None:
        return self.by_name.get((tenant_id, name))


def _compromised(session: Session, tenants: Sequence[int] | None) -> set[DeviceRef]:
    stmt = (select(AlertRow.tenant_id, AlertRow.device).distinct()
            .where(AlertRow.direction == "outbound", AlertRow.kind.in_(COMPROMISE_KINDS)))
    if tenants is not None:
        stmt = stmt.where(AlertRow.tenant_id.in_(tenants))
    return {(t, d) for t, d in session.execute(stmt)}


def _findings(session: Session, tenants: Sequence[int] | None) -> list[FindingRow]:
    stmt = select(FindingRow)
    if tenants is not None:
        stmt = stmt.where(FindingRow.tenant_id.in_(tenants))
    return list(session.scalars(stmt))


def manufacturer_report(session: Session, vendors: Sequence[str]) -> dict[str, Any]:
    """Aggregates per (vendor, model, firmware) of the given vendors' devices."""
    devices = list(session.scalars(select(DeviceRow).where(DeviceRow.vendor_norm.in_(vendors))))
    tenants = sorted({d.tenant_id for d in devices})
    index = _DeviceIndex(devices)
    groups: dict[tuple[str, str, str], dict[str, Any]] = {}

    def group(d: DeviceRow) -> dict[str, Any]:
        key = (d.vendor or "", d.model or "unknown", d.firmware or "unknown")
        if key not in groups:
            groups[key] = {"vendor": key[0], "model": key[1], "firmware": key[2], "seen": 0,
                           "compromised": 0, "findings": Counter(), "failing_etsi": Counter(),
                           "failing_psti": Counter()}
        return groups[key]

    for d in devices:
        group(d)["seen"] += 1
    compromised: set[int] = set()
    for tenant_id, name in _compromised(session, tenants):
        hit = index.get(tenant_id, name)
        if hit is not None and hit.id not in compromised:
            compromised.add(hit.id)
            group(hit)["compromised"] += 1
    seen_pairs: set[tuple[int, str]] = set()
    for f in _findings(session, tenants):
        found = index.get(f.tenant_id, f.device)
        if found is None:
            continue
        d = found
        g = group(d)
        g["findings"][f.check_id] += 1
        for provision in f.standards.get(ETSI_KEY, []):
            if (d.id, provision) not in seen_pairs:
                seen_pairs.add((d.id, provision))
                g["failing_etsi"][provision] += 1
        for req in psti_requirements(f.standards):
            if (d.id, req) not in seen_pairs:
                seen_pairs.add((d.id, req))
                g["failing_psti"][req] += 1
    rows = []
    for key in sorted(groups):
        g = groups[key]
        rows.append({**g, "findings": dict(sorted(g["findings"].items())),
                     "failing_etsi": dict(sorted(g["failing_etsi"].items())),
                     "failing_psti": dict(sorted(g["failing_psti"].items()))})
    return {"vendors": list(vendors), "devices": len(devices), "models": rows}


def _ref(index: _DeviceIndex, tenant_id: int, name: str) -> Any:
    """A device row id, or a stand-in for a device the inventory never reported."""
    d = index.get(tenant_id, name)
    return d.id if d is not None else ("unmapped", tenant_id, name)


def _day(session: Session, column: Any) -> ColumnElement[int]:
    if session.get_bind().dialect.name == "postgresql":
        return cast(func.floor(column / 86400.0), Integer)
    return cast(cast(column, Float) / 86400.0, Integer)


def regulator_report(session: Session) -> dict[str, Any]:
    """Anonymised market aggregates (no tenant, device, vendor identity or address)."""
    devices = list(session.scalars(select(DeviceRow)))
    index = _DeviceIndex(devices)
    assessed: set[Any] = {d.id for d in devices}
    failing_etsi: dict[str, set[Any]] = defaultdict(set)
    failing_psti: dict[str, set[Any]] = defaultdict(set)
    for f in _findings(session, None):
        ref = _ref(index, f.tenant_id, f.device)
        assessed.add(ref)
        for provision in f.standards.get(ETSI_KEY, []):
            failing_etsi[provision].add(ref)
        for req in psti_requirements(f.standards):
            failing_psti[req].add(ref)
    population = len(assessed)

    def rate(failing: int) -> float | None:
        return round(1.0 - failing / population, 4) if population else None

    etsi = [{"provision": p, "category": etsi_category(p), "failing_devices": len(refs),
             "compliance": rate(len(refs))} for p, refs in sorted(failing_etsi.items())]
    psti = [{"requirement": key, "title": title, "etsi_provisions": list(provisions),
             "failing_devices": len(failing_psti.get(key, ())),
             "compliance": rate(len(failing_psti.get(key, ())))}
            for key, (title, provisions) in PSTI_REQUIREMENTS.items()]
    by_direction = dict(session.execute(
        select(AlertRow.direction, func.count()).group_by(AlertRow.direction)).all())
    inbound, outbound = by_direction.get("inbound", 0), by_direction.get("outbound", 0)
    compromised = {_ref(index, t, n) for t, n in _compromised(session, None)}
    day = _day(session, AlertRow.start)
    trend_rows = session.execute(select(day, AlertRow.direction, func.count())
                                 .group_by(day, AlertRow.direction)).all()
    listed_day = _day(session, BlocklistEntry.first_listed)
    listed = dict(session.execute(select(listed_day, func.count()).group_by(listed_day)).all())
    days = sorted({int(d) for d, _, _ in trend_rows} | {int(d) for d in listed})
    trends = {d: {"inbound": 0, "outbound": 0} for d in days}
    for d, direction, n in trend_rows:
        if direction in ("inbound", "outbound"):
            trends[int(d)][direction] += int(n)
    households = session.scalar(select(func.count()).select_from(Tenant).where(
        Tenant.role.in_(("household", "organisation"))))
    return {
        "population": {"participants": int(households or 0), "devices": population},
        "etsi_en_303_645": etsi,
        "uk_psti": psti,
        "attacks": {"inbound": int(inbound), "outbound": int(outbound),
                    "outbound_to_inbound": round(outbound / inbound, 4) if inbound else None,
                    "compromised_devices": len(compromised)},
        "trends": [{"day": _iso_day(d), "inbound_alerts": v["inbound"],
                    "outbound_alerts": v["outbound"], "newly_blocklisted": int(listed.get(d, 0))}
                   for d, v in sorted(trends.items())],
    }


def _iso_day(day: int) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(day * 86400, tz=UTC).strftime("%Y-%m-%d")
