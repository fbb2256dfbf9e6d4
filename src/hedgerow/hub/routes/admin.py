"""Administration: tenants, enrolment tokens, credential revocation, allow-list, bundles."""

from __future__ import annotations

import ipaddress
from typing import Any

from fastapi import APIRouter, HTTPException, status
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from hedgerow.hub import bundles
from hedgerow.hub.consensus import canonical_address
from hedgerow.hub.deps import DB, Admin, State, not_found
from hedgerow.hub.models import AllowEntry, BlocklistEntry, Tenant
from hedgerow.hub.schemas import (
    AllowIn,
    AllowOut,
    BundleIn,
    EnrolmentTokenIn,
    EnrolmentTokenOut,
    TenantIn,
    TenantOut,
)
from hedgerow.hub.tenants import (
    create_enrolment_token,
    create_tenant,
    revoke_credential,
    tenant_vendors,
)

router = APIRouter(prefix="/v1/admin", tags=["admin"])


@router.post("/tenants", status_code=status.HTTP_201_CREATED)
def add_tenant(body: TenantIn, _: Admin, session: DB, state: State) -> TenantOut:
    """Create a household/organisation, manufacturer, regulator or admin tenant."""
    try:
        tenant = create_tenant(session, body.name, body.role, state.clock(), body.vendors)
    except IntegrityError:
        session.rollback()
        raise HTTPException(status.HTTP_409_CONFLICT, f"tenant {body.name!r} exists") from None
    except ValueError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None
    return TenantOut(id=tenant.id, name=tenant.name, role=tenant.role,
                     vendors=tenant_vendors(session, tenant.id))


@router.get("/tenants")
def list_tenants(_: Admin, session: DB) -> list[TenantOut]:
    return [TenantOut(id=t.id, name=t.name, role=t.role, vendors=tenant_vendors(session, t.id))
            for t in session.scalars(select(Tenant).order_by(Tenant.id))]


@router.post("/tenants/{tenant_id}/enrolment-tokens", status_code=status.HTTP_201_CREATED)
def new_enrolment_token(tenant_id: int, body: EnrolmentTokenIn, _: Admin, session: DB,
                        state: State) -> EnrolmentTokenOut:
    """A one-time token an agent/gateway/user of ``tenant_id`` exchanges at ``/v1/enrol``."""
    if session.get(Tenant, tenant_id) is None:
        raise not_found(f"tenant {tenant_id}")
    secret, row = create_enrolment_token(session, tenant_id, body.ttl_s, state.clock())
    return EnrolmentTokenOut(token=secret, tenant_id=tenant_id, expires=row.expires)


@router.post("/credentials/{credential_id}/revoke")
def revoke(credential_id: int, _: Admin, session: DB, state: State) -> dict[str, Any]:
    if not revoke_credential(session, credential_id):
        raise not_found(f"credential {credential_id}")
    state.auth.forget()
    return {"credential_id": credential_id, "revoked": True}


@router.post("/allowlist", status_code=status.HTTP_201_CREATED)
def allow(body: AllowIn, _: Admin, session: DB, state: State) -> AllowOut:
    """Never list addresses in ``network``; existing listings inside it are removed."""
    try:
        network = ipaddress.ip_network(body.network.strip(), strict=False)
    except ValueError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"network: {exc}") from None
    entry = AllowEntry(network=str(network), reason=body.reason, created=state.clock())
    session.add(entry)
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        raise HTTPException(status.HTTP_409_CONFLICT, f"{network} is already allowed") from None
    listed = session.scalars(select(BlocklistEntry.address)).all()
    inside = [a for a in listed
              if ipaddress.ip_address(canonical_address(a) or "0.0.0.0") in network]
    if inside:
        session.execute(delete(BlocklistEntry).where(BlocklistEntry.address.in_(inside)))
    session.commit()
    state.allow.invalidate()
    return AllowOut(id=entry.id, network=entry.network, reason=entry.reason)


@router.get("/allowlist")
def allowed(_: Admin, session: DB) -> list[AllowOut]:
    return [AllowOut(id=e.id, network=e.network, reason=e.reason)
            for e in session.scalars(select(AllowEntry).order_by(AllowEntry.id))]


@router.post("/bundles/{kind}", status_code=status.HTTP_201_CREATED)
def publish_bundle(kind: str, body: BundleIn, _: Admin, session: DB,
                   state: State) -> dict[str, Any]:
    """Sign ``content`` with the hub's key as the next version of ``kind``."""
    try:
        return bundles.publish(session, state.signing_key, kind, body.content, state.clock())
    except ValueError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None
