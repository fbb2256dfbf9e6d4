"""Per-credential token buckets kept in the database, so the limit holds across workers.

Each request costs one token per event (at least one, at most the burst). A credential's
bucket is one row of ``rate_buckets`` (level, time of last update); :func:`take` refills and
debits it with one ``INSERT ... ON CONFLICT DO UPDATE ... WHERE <enough tokens> RETURNING``
inside the caller's open transaction, so every worker process (and every host) sharing the
database shares the bucket, and the debit commits or rolls back with the ingest it pays for.
On PostgreSQL the statement locks the credential's row until that transaction ends, so two
workers serving the same credential at once cannot both spend the same tokens; SQLite
serialises writers anyway. Only a refused request costs a second statement (the ``SELECT``
that computes ``Retry-After``). Times are the hub's epoch clock; a clock that steps back
(another worker's) refills nothing rather than draining the bucket.

Example:
    >>> from hedgerow.hub.db import make_engine, session_factory
    >>> from hedgerow.hub.models import Base
    >>> from hedgerow.hub.tenants import create_tenant, issue_credential
    >>> engine = make_engine("sqlite://"); Base.metadata.create_all(engine)
    >>> limit = BucketLimit(rate=10.0, burst=20.0)
    >>> with session_factory(engine)() as s:
    ...     cred, _ = issue_credential(s, create_tenant(s, "home", "household", 0.0).id,
    ...                                "cam", "agent", 0.0)
    ...     (take(s, limit, cred.id, 15, now=0.0), take(s, limit, cred.id, 15, now=0.0),
    ...      take(s, limit, cred.id, 15, now=2.0))
    (0.0, 1.0, 0.0)
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy import ColumnElement, Float, bindparam, case, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from hedgerow.hub.models import RateBucket
from hedgerow.hub.sqlutil import dialect


@dataclass(frozen=True)
class BucketLimit:
    """``rate`` tokens (events) per second, holding at most ``burst``."""

    rate: float
    burst: float


def take(session: Session, limit: BucketLimit, key: int, cost: float, now: float) -> float:
    """Debit ``cost`` tokens from ``key``'s bucket; 0 when allowed, else seconds to wait.

    Runs in ``session``'s transaction and does not commit: the caller commits the debit with
    the work it allows (and should roll back when refused, releasing the row lock)."""
    cost = max(1.0, min(float(cost), limit.burst))
    params = {"key": key, "cost": cost, "now": now, "rate": limit.rate, "burst": limit.burst}
    taken = session.execute(_statement(dialect(session)), params).first()
    if taken is not None:
        return 0.0
    level, updated = session.execute(
        select(RateBucket.level, RateBucket.updated).where(RateBucket.credential_id == key)
    ).one()
    available = _refilled(float(level), float(updated), now, limit)
    return max(cost - available, 0.0) / limit.rate if limit.rate > 0 else float("inf")


def _refilled(level: float, updated: float, now: float, limit: BucketLimit) -> float:
    return min(limit.burst, level + max(now - updated, 0.0) * limit.rate)


@lru_cache(maxsize=2)
def _statement(name: str) -> Any:
    """The take statement for dialect ``name``, built once (its text never changes)."""
    table = RateBucket.__table__
    now, cost = bindparam("now", type_=Float), bindparam("cost", type_=Float)
    rate, burst = bindparam("rate", type_=Float), bindparam("burst", type_=Float)
    module: Any = postgresql if name == "postgresql" else sqlite
    insert = module.insert(table).values(credential_id=bindparam("key"), level=burst - cost,
                                         updated=now)
    level, updated = table.c.level, table.c.updated
    elapsed = case((now > updated, now - updated), else_=0.0)
    grown: ColumnElement[Any] = level + elapsed * rate
    refilled = case((grown > burst, burst), else_=grown)
    return insert.on_conflict_do_update(
        index_elements=[table.c.credential_id],
        set_={"level": refilled - cost, "updated": case((now > updated, now), else_=updated)},
        where=refilled >= cost,
    ).returning(table.c.level)
