"""Dialect-aware ``INSERT ... ON CONFLICT`` for SQLite and PostgreSQL.

Example:
    >>> from hedgerow.hub.db import make_engine, session_factory
    >>> from hedgerow.hub.models import Base, AllowEntry
    >>> engine = make_engine("sqlite://"); Base.metadata.create_all(engine)
    >>> with session_factory(engine)() as s:
    ...     row = {"network": "192.0.2.0/24", "reason": "docs", "created": 0.0}
    ...     first = insert_ignore(s, AllowEntry, [row], ["network"], AllowEntry.network)
    ...     again = insert_ignore(s, AllowEntry, [row], ["network"], AllowEntry.network)
    ...     (first, again)
    (['192.0.2.0/24'], [])
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, case
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import InstrumentedAttribute, Session


def _insert(session: Session, model: type[Any]) -> Any:
    name = session.get_bind().dialect.name
    if name == "postgresql":
        return postgresql.insert(model)
    if name == "sqlite":
        return sqlite.insert(model)
    raise ValueError(f"database dialect {name!r}: the hub supports sqlite and postgresql")


def insert_ignore(session: Session, model: type[Any], rows: Sequence[dict[str, Any]],
                  keys: list[str], returning: InstrumentedAttribute[Any]) -> list[Any]:
    """Insert rows, skipping conflicts on ``keys``; returns ``returning`` of inserted rows."""
    if not rows:
        return []
    stmt = _insert(session, model).on_conflict_do_nothing(index_elements=keys)
    result = session.execute(stmt.returning(returning), list(rows))
    return list(result.scalars())


def upsert(session: Session, model: type[Any], rows: Sequence[dict[str, Any]], keys: list[str],
           update: dict[str, str]) -> int:
    """Insert or update on ``keys``; ``update`` maps column -> ``new``/``max``/``min``/``keep``.

    ``new`` takes the incoming value, ``max``/``min`` keep the larger/smaller of old and new,
    ``keep`` leaves the stored value. Rows must be unique on ``keys`` within one call.
    """
    if not rows:
        return 0
    stmt = _insert(session, model)
    table = model.__table__
    values: dict[str, ColumnElement[Any]] = {}
    for column, how in update.items():
        old, new = table.c[column], stmt.excluded[column]
        if how == "new":
            values[column] = new
        elif how == "max":
            values[column] = case((new > old, new), else_=old)
        elif how == "min":
            values[column] = case((new < old, new), else_=old)
        elif how != "keep":
            raise ValueError(f"upsert {column}: unknown rule {how!r}")
    session.execute(stmt.on_conflict_do_update(index_elements=keys, set_=values), list(rows))
    return len(rows)
