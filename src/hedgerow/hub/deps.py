"""Request dependencies: database session, authenticated principal, role and tenant checks.

Status codes: 401 when the bearer token is missing or unknown; 403 when the caller's role may
not use the endpoint at all; 404 when the tenant asked for is not the caller's own (the hub
does not reveal whether another tenant exists).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from hedgerow.hub.auth import Principal
from hedgerow.hub.models import Tenant
from hedgerow.hub.state import HubState

bearer = HTTPBearer(auto_error=False, description="credential or enrolment token")


async def hub_state(request: Request) -> HubState:
    state: HubState = request.app.state.hub
    return state


async def db_session(state: Annotated[HubState, Depends(hub_state)]) -> AsyncIterator[Session]:
    """A session for the request (it connects lazily, in the handler's worker thread)."""
    session = state.sessions()
    try:
        yield session
    finally:
        await run_in_threadpool(session.close)


def unauthorised(detail: str = "missing or invalid bearer token") -> HTTPException:
    return HTTPException(status.HTTP_401_UNAUTHORIZED, detail,
                         headers={"WWW-Authenticate": "Bearer"})


async def bearer_token(
        creds: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]) -> str:
    if creds is None or not creds.credentials:
        raise unauthorised()
    return creds.credentials


async def principal(token: Annotated[str, Depends(bearer_token)],
                    state: Annotated[HubState, Depends(hub_state)]) -> Principal:
    hit, who = state.auth.cached(token)
    if not hit:
        who = await run_in_threadpool(state.auth.resolve, token)
    if who is None:
        raise unauthorised()
    return who


def forbidden(detail: str) -> HTTPException:
    return HTTPException(status.HTTP_403_FORBIDDEN, detail)


def not_found(what: str) -> HTTPException:
    return HTTPException(status.HTTP_404_NOT_FOUND, f"{what} not found")


async def require_admin(who: Annotated[Principal, Depends(principal)]) -> Principal:
    if not who.is_admin:
        raise forbidden("administrators only")
    return who


async def require_household(who: Annotated[Principal, Depends(principal)]) -> Principal:
    if not who.is_household:
        raise forbidden("only household/organisation credentials send telemetry")
    return who


async def require_regulator(who: Annotated[Principal, Depends(principal)]) -> Principal:
    if who.role not in ("regulator", "admin"):
        raise forbidden("regulators and administrators only")
    return who


def own_tenant(session: Session, who: Principal, tenant_id: int, roles: tuple[str, ...]) -> Tenant:
    """The tenant ``tenant_id`` if the caller may read it as one of ``roles``, else raise."""
    if not who.is_admin and who.role not in roles:
        raise forbidden(f"only {' / '.join(roles)} tenants may use this endpoint")
    if not who.is_admin and who.tenant_id != tenant_id:
        raise not_found(f"tenant {tenant_id}")
    tenant = session.get(Tenant, tenant_id)
    if tenant is None or tenant.role not in roles:
        raise not_found(f"tenant {tenant_id}")
    return tenant


BearerToken = Annotated[str, Depends(bearer_token)]
Who = Annotated[Principal, Depends(principal)]
Admin = Annotated[Principal, Depends(require_admin)]
Household = Annotated[Principal, Depends(require_household)]
Regulator = Annotated[Principal, Depends(require_regulator)]
DB = Annotated[Session, Depends(db_session)]
State = Annotated[HubState, Depends(hub_state)]
