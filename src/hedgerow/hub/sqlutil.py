"""Bulk ``INSERT ... ON CONFLICT`` for SQLite and PostgreSQL.

On PostgreSQL a batch is one statement whose text does not depend on the batch size:
``INSERT ... SELECT FROM jsonb_to_recordset(:rows)`` with the whole batch as one JSON
parameter, so the driver caches and prepares the statement and sends one string (a multi-row
``VALUES`` list would be re-parsed for every batch, and per-column arrays of text cost more to
escape than the database needs to insert them). The JSON is written by pydantic-core's
serializer (about 5x faster than the standard library's for these rows). SQLite uses
SQLAlchemy's own ``INSERT ... ON CONFLICT`` with executemany.

Example:
    >>> from hedgerow.hub.db import make_engine, session_factory
    >>> from hedgerow.hub.models import Base, AllowEntry
    >>> engine = make_engine("sqlite://"); Base.metadata.create_all(engine)
    >>> with session_factory(engine)() as s:
    ...     row = {"network": "192.0.2.0/24", "reason": "docs", "created": 0.0}
    ...     first = insert_ignore(s, AllowEntry, [row], ["network"], "network")
    ...     again = insert_ignore(s, AllowEntry, [row], ["network"], "network")
    ...     (first, again)
    (['192.0.2.0/24'], [])
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from pydantic_core import to_json
from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ColumnElement,
    Float,
    Integer,
    TextClause,
    case,
    text,
)
from sqlalchemy.dialects import sqlite
from sqlalchemy.orm import Session

from hedgerow.hub.models import Base

RULES = ("new", "max", "min", "keep")


def dialect(session: Session) -> str:
    """``"postgresql"`` or ``"sqlite"``; any other database is refused with one clear line."""
    name = session.get_bind().dialect.name
    if name not in ("postgresql", "sqlite"):
        raise ValueError(f"database dialect {name!r}: the hub supports sqlite and postgresql")
    return name


def insert_ignore(session: Session, model: type[Any], rows: Sequence[dict[str, Any]],
                  keys: list[str], returning: str) -> list[Any]:
    """Insert rows, skipping conflicts on ``keys``; returns column ``returning`` of new rows."""
    if not rows:
        return []
    if dialect(session) == "postgresql":
        sql = _pg_statement(model.__table__.name, tuple(rows[0]), tuple(keys), None, returning)
        inserted = session.execute(sql, {"rows": to_json(rows).decode()}).scalar()
        return list(inserted or [])
    stmt = sqlite.insert(model).on_conflict_do_nothing(index_elements=keys)
    result = session.execute(stmt.returning(model.__table__.c[returning]), list(rows))
    return list(result.scalars())


def upsert(session: Session, model: type[Any], rows: Sequence[dict[str, Any]], keys: list[str],
           update: dict[str, str]) -> int:
    """Insert or update on ``keys``; ``update`` maps column -> ``new``/``max``/``min``/``keep``.

    ``new`` takes the incoming value, ``max``/``min`` keep the larger/smaller of old and new,
    ``keep`` leaves the stored value. Rows must be unique on ``keys`` within one call.
    """
    if not rows:
        return 0
    bad = [f"{c}={r}" for c, r in update.items() if r not in RULES]
    if bad:
        raise ValueError(f"upsert {model.__table__.name}: unknown rule {bad[0]!r}")
    if dialect(session) == "postgresql":
        sql = _pg_statement(model.__table__.name, tuple(rows[0]), tuple(keys),
                            tuple(sorted(update.items())), None)
        session.execute(sql, {"rows": to_json(rows).decode()})
        return len(rows)
    stmt = sqlite.insert(model)
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
    session.execute(stmt.on_conflict_do_update(index_elements=keys, set_=values), list(rows))
    return len(rows)


def _pg_type(column_type: Any) -> str:
    if isinstance(column_type, JSON) or "JSON" in type(column_type).__name__.upper():
        return "jsonb"
    if isinstance(column_type, BigInteger | Integer):
        return "bigint"
    if isinstance(column_type, Float):
        return "float8"
    if isinstance(column_type, Boolean):
        return "boolean"
    return "text"


@lru_cache(maxsize=256)
def _pg_types(table: str, columns: tuple[str, ...]) -> tuple[str, ...]:
    """Per column: the PostgreSQL type ``jsonb_to_recordset`` reads it as."""
    model_table = Base.metadata.tables[table]
    out = []
    for c in columns:
        col_type = model_table.c[c].type
        variant = getattr(col_type, "_variant_mapping", {}).get("postgresql", col_type)
        out.append(_pg_type(variant))
    return tuple(out)


@lru_cache(maxsize=256)
def _pg_statement(table: str, columns: tuple[str, ...], keys: tuple[str, ...],
                  update: tuple[tuple[str, str], ...] | None, returning: str | None) -> TextClause:
    types = _pg_types(table, columns)
    quoted = ", ".join(f'"{c}"' for c in columns)
    record = ", ".join(f'"{c}" {t}' for c, t in zip(columns, types, strict=True))
    conflict = ", ".join(f'"{k}"' for k in keys)
    sql = (f'INSERT INTO "{table}" ({quoted}) SELECT {quoted} FROM '
           f"jsonb_to_recordset(CAST(:rows AS jsonb)) AS u({record}) "
           f"ON CONFLICT ({conflict}) ")
    if update is None:
        sql += "DO NOTHING"
    else:
        sets = []
        for column, how in update:
            old, new = f'"{table}"."{column}"', f'EXCLUDED."{column}"'
            if how == "new":
                sets.append(f'"{column}" = {new}')
            elif how == "max":
                sets.append(f'"{column}" = GREATEST({old}, {new})')
            elif how == "min":
                sets.append(f'"{column}" = LEAST({old}, {new})')
        sql += "DO UPDATE SET " + ", ".join(sets) if sets else "DO NOTHING"
    if returning is not None:
        # One row holding an array, rather than one result row per inserted row.
        sql = (f'WITH inserted AS ({sql} RETURNING "{returning}") '
               f'SELECT array_agg("{returning}") FROM inserted')
    # Built once per statement shape: text() parses the bind parameters out of the string.
    return text(sql)
