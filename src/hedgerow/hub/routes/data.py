"""A tenant's own data and the reports for households, manufacturers and regulators."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from sqlalchemy import select

from hedgerow.hub.deps import DB, Regulator, State, Who, own_tenant
from hedgerow.hub.models import AlertRow, DeviceRow, Tenant
from hedgerow.hub.reports import household_report, manufacturer_report, regulator_report
from hedgerow.hub.schemas import AlertOut, DeviceOut, ManufacturerReport, RegulatorReport
from hedgerow.hub.tenants import tenant_vendors

router = APIRouter(prefix="/v1", tags=["data"])
HOUSEHOLD = ("household", "organisation")


@router.get("/me")
def me(who: Who, session: DB) -> dict[str, Any]:
    """The caller's credential, tenant and role."""
    tenant = session.get(Tenant, who.tenant_id)
    return {"credential_id": who.credential_id, "kind": who.credential_kind,
            "tenant_id": who.tenant_id, "tenant": tenant.name if tenant else None,
            "role": who.role, "vendors": list(who.vendors)}


@router.get("/tenants/{tenant_id}/devices")
def devices(tenant_id: int, who: Who, session: DB) -> list[DeviceOut]:
    """The tenant's devices (its own household/organisation only)."""
    own_tenant(session, who, tenant_id, HOUSEHOLD)
    rows = session.scalars(select(DeviceRow).where(DeviceRow.tenant_id == tenant_id)
                           .order_by(DeviceRow.device_key))
    return [DeviceOut.model_validate(r, from_attributes=True) for r in rows]


@router.get("/tenants/{tenant_id}/alerts")
def alerts(tenant_id: int, who: Who, session: DB,
           limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> list[AlertOut]:
    """The tenant's most recent alerts, newest first."""
    own_tenant(session, who, tenant_id, HOUSEHOLD)
    rows = session.scalars(select(AlertRow).where(AlertRow.tenant_id == tenant_id)
                           .order_by(AlertRow.start.desc(), AlertRow.id.desc()).limit(limit))
    return [AlertOut(id=r.event_id, kind=r.kind, direction=r.direction, device=r.device,
                     peers=r.peers, severity=r.severity, confidence=r.confidence, start=r.start,
                     end=r.end, detector=r.detector, summary=r.summary, mitre=r.mitre)
            for r in rows]


@router.get("/reports/household/{tenant_id}")
def household(tenant_id: int, who: Who, session: DB) -> dict[str, Any]:
    """Devices, risks, alerts and actions taken, for the household itself."""
    own_tenant(session, who, tenant_id, HOUSEHOLD)
    return household_report(session, tenant_id)


@router.get("/reports/manufacturer/{tenant_id}")
def manufacturer(tenant_id: int, who: Who, session: DB, state: State) -> ManufacturerReport:
    """Aggregates per model and firmware of the manufacturer's own products (counts from
    fewer than `report_min_participants` participants withheld as null, small rows pooled)."""
    own_tenant(session, who, tenant_id, ("manufacturer",))
    return ManufacturerReport.model_validate(manufacturer_report(
        session, tenant_vendors(session, tenant_id), state.settings.report_min_participants))


@router.get("/reports/regulator")
def regulator(_: Regulator, session: DB, state: State) -> RegulatorReport:
    """Anonymised market aggregates: ETSI/PSTI compliance, attack ratio, daily trends (counts
    from fewer than `report_min_participants` participants withheld as null)."""
    return RegulatorReport.model_validate(
        regulator_report(session, state.settings.report_min_participants))
