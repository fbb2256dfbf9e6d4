"""Bearer-token authentication: tokens are random, only their SHA-256 is stored.

Tokens carry 256 bits of randomness, so a fast hash is enough (no password stretching); lookups
are cached for about ``ttl`` seconds per process (at most 1.5 x ``ttl``), which bounds how long a
revoked token still works.

Example:
    >>> token = new_token()
    >>> token.startswith("hr_"), len(hash_token(token))
    (True, 64)
"""

from __future__ import annotations

import hashlib
import random
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from hedgerow.hub.models import Credential, Tenant, TenantVendor


def new_token(prefix: str = "hr_") -> str:
    return prefix + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class Principal:
    """Who is calling: the credential, its tenant and the tenant's role."""

    credential_id: int
    credential_kind: str
    tenant_id: int
    role: str
    vendors: tuple[str, ...] = ()

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @property
    def is_household(self) -> bool:
        return self.role in ("household", "organisation")


class Authenticator:
    """Resolve bearer tokens to principals, with a short per-process cache."""

    def __init__(self, sessions: sessionmaker[Session], ttl: float = 30.0,
                 clock: Callable[[], float] = time.monotonic, max_entries: int = 100_000) -> None:
        self.sessions = sessions
        self.ttl = ttl
        self.clock = clock
        self.max_entries = max_entries
        self._cache: dict[str, tuple[float, Principal | None]] = {}
        self._lock = threading.Lock()

    def cached(self, token: str) -> tuple[bool, Principal | None]:
        """(found, principal) from the cache only: never touches the database."""
        with self._lock:
            hit = self._cache.get(hash_token(token))
        if hit is not None and hit[0] > self.clock():
            return True, hit[1]
        return False, None

    def resolve(self, token: str) -> Principal | None:
        found, who = self.cached(token)
        if found:
            return who
        digest = hash_token(token)
        now = self.clock()
        principal = self._lookup(digest)
        with self._lock:
            if len(self._cache) >= self.max_entries:
                self._cache.clear()
            # Spread expiries over [ttl/2, 3*ttl/2): credentials that all arrived together (a
            # fleet reconnecting) must not all be looked up again in the same second.
            self._cache[digest] = (now + self.ttl * (0.5 + random.random()), principal)
        return principal

    def forget(self) -> None:
        """Drop cached lookups (after revoking a credential in this process)."""
        with self._lock:
            self._cache.clear()

    def _lookup(self, digest: str) -> Principal | None:
        with self.sessions() as session:
            row = session.execute(
                select(Credential.id, Credential.kind, Tenant.id, Tenant.role)
                .join(Tenant, Tenant.id == Credential.tenant_id)
                .where(Credential.token_hash == digest, Credential.revoked.is_(False))
            ).first()
            if row is None:
                return None
            vendors = session.scalars(
                select(TenantVendor.vendor).where(TenantVendor.tenant_id == row[2])).all()
        return Principal(row[0], row[1], row[2], row[3], tuple(sorted(vendors)))
