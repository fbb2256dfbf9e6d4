"""Tenants, one-time enrolment tokens and credentials.

An administrator creates a tenant and an enrolment token for it; an agent, gateway or person
exchanges that token once for its own credential. Only token hashes are stored.

Example:
    >>> from hedgerow.hub.db import make_engine, session_factory
    >>> from hedgerow.hub.models import Base
    >>> engine = make_engine("sqlite://"); Base.metadata.create_all(engine)
    >>> with session_factory(engine)() as s:
    ...     home = create_tenant(s, "home-1", "household", now=0.0)
    ...     token, _ = create_enrolment_token(s, home.id, ttl_s=60, now=0.0)
    ...     cred, secret = enrol(s, token, "camera", "agent", now=1.0)
    ...     (cred.tenant_id == home.id, secret.startswith("hr_"))
    (True, True)
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from hedgerow.hub.auth import hash_token, new_token
from hedgerow.hub.models import (
    CREDENTIAL_KINDS,
    ROLES,
    Credential,
    EnrolmentToken,
    Tenant,
    TenantVendor,
)


class EnrolmentError(ValueError):
    """The enrolment token is unknown, used or expired (one message for all: no oracle)."""


def create_tenant(session: Session, name: str, role: str, now: float,
                  vendors: list[str] | None = None) -> Tenant:
    """Add a tenant (commits); ``vendors`` only for manufacturers."""
    if role not in ROLES:
        raise ValueError(f"role {role!r}: expected one of {', '.join(ROLES)}")
    if vendors and role != "manufacturer":
        raise ValueError("vendors: only a manufacturer tenant has vendor names")
    tenant = Tenant(name=name, role=role, created=now)
    session.add(tenant)
    session.flush()
    for vendor in sorted({v.strip().lower() for v in vendors or [] if v.strip()}):
        session.add(TenantVendor(tenant_id=tenant.id, vendor=vendor))
    session.commit()
    return tenant


def tenant_vendors(session: Session, tenant_id: int) -> list[str]:
    return list(session.scalars(
        select(TenantVendor.vendor).where(TenantVendor.tenant_id == tenant_id)
        .order_by(TenantVendor.vendor)))


def create_enrolment_token(session: Session, tenant_id: int, ttl_s: float,
                           now: float) -> tuple[str, EnrolmentToken]:
    """A one-time token for ``tenant_id``; returns the secret (shown once) and its row."""
    secret = new_token("hre_")
    row = EnrolmentToken(tenant_id=tenant_id, token_hash=hash_token(secret), created=now,
                         expires=now + ttl_s)
    session.add(row)
    session.commit()
    return secret, row


def enrol(session: Session, enrolment_token: str, name: str, kind: str,
          now: float) -> tuple[Credential, str]:
    """Exchange a one-time token for a new credential; the token can never be used again."""
    if kind not in CREDENTIAL_KINDS:
        raise ValueError(f"kind {kind!r}: expected one of {', '.join(CREDENTIAL_KINDS)}")
    digest = hash_token(enrolment_token)
    row = session.scalars(select(EnrolmentToken).where(EnrolmentToken.token_hash == digest)).first()
    if row is None or row.used_at is not None or row.expires <= now:
        raise EnrolmentError("enrolment token is unknown, already used or expired")
    credential, secret = issue_credential(session, row.tenant_id, name, kind, now, commit=False)
    # Conditional update: of two concurrent exchanges of one token, exactly one wins.
    claimed = _rowcount(session.execute(
        update(EnrolmentToken)
        .where(EnrolmentToken.id == row.id, EnrolmentToken.used_at.is_(None))
        .values(used_at=now, used_by=credential.id)))
    if claimed != 1:
        session.rollback()
        raise EnrolmentError("enrolment token is unknown, already used or expired")
    session.commit()
    return credential, secret


def issue_credential(session: Session, tenant_id: int, name: str, kind: str, now: float,
                     commit: bool = True) -> tuple[Credential, str]:
    """Create a credential directly (the CLI's bootstrap path for the first admin)."""
    secret = new_token()
    credential = Credential(tenant_id=tenant_id, name=name, kind=kind,
                            token_hash=hash_token(secret), created=now, revoked=False)
    session.add(credential)
    session.flush()
    if commit:
        session.commit()
    return credential, secret


def revoke_credential(session: Session, credential_id: int) -> bool:
    done = _rowcount(session.execute(update(Credential).where(Credential.id == credential_id)
                                     .values(revoked=True)))
    session.commit()
    return bool(done)


def _rowcount(result: Any) -> int:
    """Rows an UPDATE changed (``CursorResult.rowcount``)."""
    return int(result.rowcount)
