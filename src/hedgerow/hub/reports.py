"""Reports for each audience, built from what participants reported.

* household: its own devices, risks, alerts and the actions taken (its own data: nothing is
  withheld);
* manufacturer: per model and firmware of its own vendors' devices — how many seen, how many
  compromised, findings and failing ETSI EN 303 645 provisions and UK PSTI requirements —
  never household identities, addresses or device identifiers;
* regulator: anonymised market aggregates — compliance per ETSI provision and UK PSTI
  requirement, the fleet's outbound:inbound attack ratio, and trends per day.

The manufacturer and regulator figures are counted in the database (:mod:`.aggregates`) and
every count from fewer than ``min_participants`` participants is withheld as null, with the
secondary suppression and pooling of :mod:`.suppression`.

Example:
    >>> from hedgerow.hub.db import make_engine, session_factory
    >>> from hedgerow.hub.models import Base
    >>> engine = make_engine("sqlite://"); Base.metadata.create_all(engine)
    >>> with session_factory(engine)() as s:
    ...     regulator_report(s, min_participants=5)["attacks"]
    {'inbound': 0, 'outbound': 0, 'outbound_to_inbound': None, 'compromised_devices': 0}
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hedgerow.hub.aggregates import (
    NESTED,
    Cell,
    alert_cells,
    day_of,
    display_key,
    maker_cells,
    market_cells,
    model_rows,
    without_jit,
)
from hedgerow.hub.models import AlertRow, BlocklistEntry, DecisionRow, DeviceRow, FindingRow, Tenant
from hedgerow.hub.standards import PSTI_REQUIREMENTS, etsi_category
from hedgerow.hub.suppression import (
    Display,
    Row,
    Tally,
    display_order,
    enough,
    nested_ok,
    pool,
    safe,
    withhold_partition,
)

_SEVERITY_ORDER = {"critical": 0, "high": 1, "medium": 2, "low": 3, "info": 4}


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


def _published(cells: dict[tuple[str, str], Cell], family: str,
               k: int) -> dict[str, int | None]:
    """Per clause of ``family``: its count, or None where the cell or the rest of its total
    comes from too few participants."""
    out: dict[str, int | None] = {}
    for (fam, clause), cell in cells.items():
        if fam == family:
            count = cell.rows if family == "finding" else cell.tally.count
            out[clause] = count if safe(cell.tally, k) else None
    return out


def _withhold_nested(cells: dict[tuple[str, str], Cell], etsi: dict[str, int | None],
                     psti: dict[str, int | None], k: int) -> None:
    """Withhold a provision whose requirement is published when requirement minus provision
    comes from too few participants."""
    for req, provision in NESTED:
        if etsi.get(provision) is None or psti.get(req) is None:
            continue
        rest = cells.get(("nested", f"{req} {provision}"))
        if not nested_ok(rest.tally if rest else None, k):
            etsi[provision] = None


def _by_group(cells: list[Cell]) -> dict[str, dict[tuple[str, str], Cell]]:
    out: dict[str, dict[tuple[str, str], Cell]] = defaultdict(dict)
    for cell in cells:
        out[cell.group][(cell.family, cell.clause)] = cell
    return out


def manufacturer_report(session: Session, vendors: Sequence[str],
                        min_participants: int) -> dict[str, Any]:
    """Aggregates per (vendor, model, firmware) of the given vendors' devices.

    Rows from fewer than ``min_participants`` participants are pooled (firmware, then model,
    then vendor null) and counts from too few participants are null."""
    k = min_participants
    without_jit(session)
    rows = model_rows(session, vendors, k)
    placed = pool(rows, k)
    listed: dict[Row, Display] = {row: d for row, d in placed.items() if d is not None}
    shown = sorted(set(listed.values()), key=display_order)
    cells = _by_group(maker_cells(session, vendors, listed, k)) if listed else {}
    models = []
    for vendor, model, firmware in shown:
        group = cells[display_key((vendor, model, firmware))]
        etsi = _published(group, "etsi", k)
        psti = _published(group, "psti", k)
        _withhold_nested(group, etsi, psti, k)
        compromised = _published(group, "compromised", k).get("", 0)
        models.append({"vendor": vendor, "model": model, "firmware": firmware,
                       "seen": group[("total", "")].tally.count, "compromised": compromised,
                       "findings": dict(sorted(_published(group, "finding", k).items())),
                       "failing_etsi": dict(sorted(etsi.items())),
                       "failing_psti": dict(sorted(psti.items()))})
    devices = sum(t.count for t in rows.values())
    return {"vendors": list(vendors), "devices": devices if shown or not rows else None,
            "models": models, "suppression": {"min_participants": k}}


def _trends(session: Session, k: int) -> tuple[dict[str, Tally], list[dict[str, Any]]]:
    """Alert totals per direction, and the daily rows with the partition rule applied."""
    totals: dict[str, Tally] = {}
    daily: dict[str, dict[int, Tally]] = {"inbound": {}, "outbound": {}}
    days: set[int] = set()
    for day, direction, tally in alert_cells(session):
        if day is None:
            totals[direction] = tally
            continue
        days.add(day)
        if direction in daily:
            daily[direction][day] = tally
    listed_day = day_of(session, BlocklistEntry.first_listed)
    listed = {int(d): int(n) for d, n in session.execute(
        select(listed_day, func.count()).group_by(listed_day))}
    days |= set(listed)
    shown: dict[str, dict[int, int | None]] = {}
    for direction, cells in daily.items():
        withheld = withhold_partition(cells, k)
        shown[direction] = {d: None if d in withheld else t.count for d, t in cells.items()}
    trends = [{"day": _iso_day(d), "inbound_alerts": shown["inbound"].get(d, 0),
               "outbound_alerts": shown["outbound"].get(d, 0),
               "newly_blocklisted": listed.get(d, 0)} for d in sorted(days)]
    return totals, trends


def regulator_report(session: Session, min_participants: int) -> dict[str, Any]:
    """Anonymised market aggregates (no tenant, device, vendor identity or address); counts
    from fewer than ``min_participants`` participants are null."""
    k = min_participants
    without_jit(session)
    cells = _by_group(market_cells(session, k)).get("", {})
    assessed = cells.get(("total", ""))
    population = assessed.tally if assessed else Tally(0, 0)
    etsi = _published(cells, "etsi", k)
    psti = {req: 0 for req in PSTI_REQUIREMENTS} | _published(cells, "psti", k)
    _withhold_nested(cells, etsi, psti, k)

    def rate(failing: int | None) -> float | None:
        if failing is None or not population.count:
            return None
        return round(1.0 - failing / population.count, 4)

    etsi_rows = [{"provision": p, "category": etsi_category(p), "failing_devices": n,
                  "compliance": rate(n)} for p, n in sorted(etsi.items())]
    psti_rows = [{"requirement": key, "title": title, "etsi_provisions": list(provisions),
                  "failing_devices": psti[key], "compliance": rate(psti[key])}
                 for key, (title, provisions) in PSTI_REQUIREMENTS.items()]
    totals, trends = _trends(session, k)

    def total(direction: str) -> int | None:
        tally = totals.get(direction, Tally(0, 0))
        return tally.count if enough(tally.participants, k) else None

    inbound, outbound = total("inbound"), total("outbound")
    ratio = (round(outbound / inbound, 4) if inbound and outbound is not None else None)
    compromised = _published(cells, "compromised", k).get("", 0)
    households = session.scalar(select(func.count()).select_from(Tenant).where(
        Tenant.role.in_(("household", "organisation"))))
    return {
        "population": {"participants": int(households or 0),
                       "devices": population.count if enough(population.participants, k)
                       else None},
        "etsi_en_303_645": etsi_rows,
        "uk_psti": psti_rows,
        "attacks": {"inbound": inbound, "outbound": outbound, "outbound_to_inbound": ratio,
                    "compromised_devices": compromised},
        "trends": trends,
        "suppression": {"min_participants": k},
    }


def _iso_day(day: int) -> str:
    return datetime.fromtimestamp(day * 86400, tz=UTC).strftime("%Y-%m-%d")
