"""The SQL behind the manufacturer and regulator reports (SQLite and PostgreSQL).

Every figure is counted in the database; what comes back is one row per cell, never a row
per device, finding or alert. A cell is (group, family, clause): the group is a listed row of
the manufacturer report (see :func:`display_key`) or ``""`` for the whole fleet; ``family``
is ``total`` (the devices the group is about), ``compromised``, ``finding`` (clause: check
id), ``etsi`` (clause: ETSI EN 303 645 provision), ``psti`` (clause: UK PSTI requirement) or
``nested`` (clause: ``"<requirement> <provision>"``: the devices failing the requirement but
not that provision). Per cell the database counts devices, finding rows and distinct
participants (tenants); for a cell that is part of its group's total and close to covering
it, a second statement counts the participants of the rest (total minus cell).

A device string in an alert or finding (a device key or an address) names the device of the
same tenant with that key or address, the lowest device id when several match (what a scan
of the devices in id order resolves to); the regulator report counts an unmatched string as
a device of its own, the manufacturer report ignores it.

Example:
    >>> from hedgerow.hub.db import make_engine, session_factory
    >>> from hedgerow.hub.models import Base
    >>> engine = make_engine("sqlite://"); Base.metadata.create_all(engine)
    >>> with session_factory(engine)() as s:
    ...     market_cells(s, 5), alert_cells(s)
    ([], [])
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    CTE,
    Float,
    Integer,
    String,
    and_,
    case,
    cast,
    func,
    literal,
    null,
    or_,
    select,
    text,
    true,
    tuple_,
    union_all,
)
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.selectable import CompoundSelect, FromClause, Select, TableValuedAlias

from hedgerow.hub.models import AlertRow, DeviceRow, FindingRow
from hedgerow.hub.sqlutil import dialect
from hedgerow.hub.standards import ETSI_KEY, PSTI_KEY, PSTI_REQUIREMENTS, psti_markers
from hedgerow.hub.suppression import Display, Row, Tally

COMPROMISE_KINDS = ("scan", "bruteforce", "dos", "c2", "mining", "malware", "exploit")
NESTED = tuple((req, p) for req, (_title, provisions) in PSTI_REQUIREMENTS.items()
               for p in provisions)


@dataclass(frozen=True)
class Cell:
    """One counted cell: ``rows`` counts finding rows (family ``finding``), ``tally`` the
    devices, with ``rest`` filled in when the cell is part of its group's total."""

    group: str
    family: str
    clause: str
    rows: int
    tally: Tally


def _elements(kind: str, doc: ColumnElement[Any], key: str | None) -> TableValuedAlias:
    """The strings of a JSON array (``doc``, or its member ``key``) as rows ``value``."""
    if kind == "postgresql":
        arg = doc if key is None else doc.op("->")(literal(key, String))
        return func.jsonb_array_elements_text(arg).table_valued("value")
    if key is None:
        return func.json_each(doc).table_valued("value")
    return func.json_each(doc, f"$.{key}").table_valued("value")


def _states(kind: str, doc: ColumnElement[Any], marker: str) -> ColumnElement[bool]:
    """Whether a clause of the finding's ``uk_psti`` list contains ``marker``.

    Searched in the list's JSON text: a marker holds no quote, comma or backslash, so it can
    only match inside one clause, and no JSON escape can make or break a match."""
    if kind == "postgresql":
        return func.strpos(doc.op("->>")(literal(PSTI_KEY, String)), marker) > 0
    return func.instr(func.json_extract(doc, f"$.{PSTI_KEY}"), marker) > 0


def without_jit(session: Session) -> None:
    """Run the rest of this transaction's statements without PostgreSQL's JIT compilation.

    The report statements' cost estimates are large, so PostgreSQL compiles them, which takes
    longer than it saves for work that is hashing and sorting (docs/hub.md: the benchmark's
    hand-written statements with and without it). SQLite: nothing to do."""
    if dialect(session) == "postgresql":
        session.execute(text("SET LOCAL jit = off"))


def day_of(session: Session, epoch: Any) -> ColumnElement[int]:
    """Days since 1970-01-01 (UTC) of an epoch-seconds column."""
    if dialect(session) == "postgresql":
        return cast(func.floor(epoch / 86400.0), Integer)
    return cast(cast(epoch, Float) / 86400.0, Integer)


def _group_key(device: Any) -> tuple[ColumnElement[str], ColumnElement[str], ColumnElement[str]]:
    """A device's (vendor, model, firmware) as the report names it: missing parts are
    ``""``, ``unknown``, ``unknown``."""
    return (func.coalesce(func.nullif(device.vendor, ""), ""),
            func.coalesce(func.nullif(device.model, ""), "unknown"),
            func.coalesce(func.nullif(device.firmware, ""), "unknown"))


def _cell_row(family: str | ColumnElement[str], clause: str | ColumnElement[str],
              *ref: ColumnElement[Any]) -> Select[Any]:
    """A counted row; ``ref`` is (tenant_id, device_id, unmatched)."""
    parts = [literal(v) if isinstance(v, str) else v for v in (family, clause)]
    names = ("family", "clause", "tenant_id", "device_id", "unmatched")
    return select(*(c.label(n) for c, n in zip([*parts, *ref], names, strict=True)))


def _names(kind: str, devices: FromClause) -> CTE:
    """(tenant_id, name, device_id): every device key and address, with the lowest device id
    of the tenant's devices that have it."""
    ips = _elements(kind, devices.c.ips, None)
    named = union_all(
        select(devices.c.tenant_id, devices.c.device_key.label("name"),
               devices.c.id.label("device_id")),
        select(devices.c.tenant_id, ips.c.value.label("name"), devices.c.id)
        .select_from(devices.join(ips, true()))).subquery("named")
    return (select(named.c.tenant_id, named.c.name, func.min(named.c.device_id)
                   .label("device_id"))
            .group_by(named.c.tenant_id, named.c.name).cte("names"))


def _clauses(kind: str, fx: CTE, checks: bool) -> list[Select[Any]]:
    """Rows (family, clause, tenant_id, device_id, unmatched) of each finding in ``fx``: its
    check (when ``checks``), its ETSI provisions and the PSTI requirements it breaches."""
    keep = (fx.c.tenant_id, fx.c.device_id, fx.c.unmatched)
    provisions = _elements(kind, fx.c.standards, ETSI_KEY)
    etsi = (select(provisions.c.value.label("clause"), *keep)
            .select_from(fx.join(provisions, true())).cte("etsi_rows"))
    etsi_keep = (etsi.c.tenant_id, etsi.c.device_id, etsi.c.unmatched)
    out = [_cell_row("etsi", etsi.c.clause, *etsi_keep)]
    if checks:
        out.append(_cell_row("finding", fx.c.check_id, *keep))
    for req, (_title, mapped) in PSTI_REQUIREMENTS.items():
        out.append(_cell_row("psti", req, *etsi_keep).where(etsi.c.clause.in_(mapped)))
        out.append(_cell_row("psti", req, *keep)
                   .where(or_(*(_states(kind, fx.c.standards, m) for m in psti_markers(req)))))
    return out


def _nested(clauses: CTE) -> list[Select[Any]]:
    """Rows ('nested', '<requirement> <provision>', ...) per device failing the requirement
    but not that provision (what requirement minus provision counts)."""
    ref = (clauses.c.tenant_id, clauses.c.device_id, clauses.c.unmatched)

    def has(family: str, clause: str) -> ColumnElement[int]:
        return func.max(case((and_(clauses.c.family == family, clauses.c.clause == clause), 1),
                             else_=0))

    reqs = list(PSTI_REQUIREMENTS)
    flags = (select(*ref, *(has("psti", req).label(f"r{i}") for i, req in enumerate(reqs)),
                    *(has("etsi", p).label(f"p{i}") for i, (_r, p) in enumerate(NESTED)))
             .where(or_(clauses.c.family == "psti",
                        and_(clauses.c.family == "etsi",
                             clauses.c.clause.in_(sorted({p for _r, p in NESTED})))))
             .group_by(*ref).cte("flags"))
    return [_cell_row("nested", f"{req} {p}", flags.c.tenant_id, flags.c.device_id,
                      flags.c.unmatched)
            .where(flags.c[f"r{reqs.index(req)}"] == 1, flags.c[f"p{i}"] == 0)
            for i, (req, p) in enumerate(NESTED)]


def _ref_counts(rows: Any) -> tuple[ColumnElement[int], ColumnElement[int],
                                      ColumnElement[int]]:
    """Distinct devices (a device row, or an unmatched string of one tenant), rows, and
    distinct participants of ``rows`` (a selectable of cell rows)."""
    unmatched = case((rows.c.device_id.is_(None),
                      cast(rows.c.tenant_id, String) + ":" + rows.c.unmatched))
    devices = func.count(rows.c.device_id.distinct()) + func.count(unmatched.distinct())
    return devices, func.count(), func.count(rows.c.tenant_id.distinct())


def _tallies(session: Session, rows: Select[Any], k: int, parts: Sequence[str]) -> list[Cell]:
    """Count ``rows`` (family, clause, group, tenant_id, device_id, unmatched) per cell.

    Cells of the families in ``parts`` are parts of their group's total (family ``total``):
    for them ``rest`` is filled in, exactly when the bound "participants of the total minus
    those of the cell" is below ``k`` (one more statement, for those cells only), else as that
    bound."""
    every = rows.subquery("cell_rows")
    key = (every.c.group, every.c.family, every.c.clause)
    stmt = select(*key, *_ref_counts(every)).group_by(*key)
    counted = {(g, fam, clause): (int(n), int(r), int(p))
               for g, fam, clause, n, r, p in session.execute(stmt)}
    totals = {g: p for (g, fam, _c), (_n, _r, p) in counted.items() if fam == "total"}
    bound = {cell: totals.get(cell[0], 0) - p for cell, (_n, _r, p) in counted.items()
             if cell[1] in parts}
    wholes = _wholes(session, every, [cell for cell, b in bound.items() if b < k])
    exact = {cell: totals[cell[0]] - w for cell, w in wholes.items()}
    return [Cell(g, fam, clause, r, Tally(n, p, rest=exact.get((g, fam, clause),
                                                                bound.get((g, fam, clause)))))
            for (g, fam, clause), (n, r, p) in counted.items()]


def _wholes(session: Session, every: Any, cells: list[tuple[str, str, str]],
            ) -> dict[tuple[str, str, str], int]:
    """Per cell: the participants all of whose devices of the group's total are in it."""
    if not cells:
        return {}
    wanted = cells + sorted({(g, "total", "") for g, _f, _c in cells})
    key = (every.c.group, every.c.family, every.c.clause)
    devices, _rows, _participants = _ref_counts(every)
    per_tenant = (select(*key, every.c.tenant_id, devices.label("n"))
                  .where(tuple_(*key).in_(wanted))
                  .group_by(*key, every.c.tenant_id).cte("per_tenant"))
    total = per_tenant.alias("total")
    whole = func.sum(case((per_tenant.c.n == total.c.n, 1), else_=0))
    stmt = (select(per_tenant.c.group, per_tenant.c.family, per_tenant.c.clause, whole)
            .join(total, and_(total.c.family == "total", total.c.group == per_tenant.c.group,
                              total.c.tenant_id == per_tenant.c.tenant_id))
            .where(per_tenant.c.family != "total")
            .group_by(per_tenant.c.group, per_tenant.c.family, per_tenant.c.clause))
    return {(g, fam, clause): int(w) for g, fam, clause, w in session.execute(stmt)}


def model_rows(session: Session, vendors: Sequence[str], k: int) -> dict[Row, Tally]:
    """Per (vendor, model, firmware) of the vendors' devices: devices and participants, and
    the participants' ids where there are fewer than ``k`` (for pooling)."""
    key = _group_key(DeviceRow)
    ours = DeviceRow.vendor_norm.in_(vendors)
    stmt = (select(*key, func.count(), func.count(DeviceRow.tenant_id.distinct()))
            .where(ours).group_by(*key))
    counted = {(v, m, f): (int(n), int(p)) for v, m, f, n, p in session.execute(stmt)}
    small = sorted(row for row, (_n, p) in counted.items() if p < k)
    ids: dict[Row, set[int]] = {row: set() for row in small}
    if small:
        members = (select(*key, DeviceRow.tenant_id).where(ours, tuple_(*key).in_(small))
                   .group_by(*key, DeviceRow.tenant_id))
        for v, m, f, tenant in session.execute(members):
            ids[(v, m, f)].add(int(tenant))
    return {row: Tally(n, p, frozenset(ids.get(row, ()))) for row, (n, p) in counted.items()}


def display_key(display: Display) -> str:
    """The text a listed row's devices are grouped by: its named parts, length-prefixed so
    that no two rows share one (whatever their names hold).

    >>> display_key(("Acme", "cam", None))
    '24:Acme3:cam'
    """
    parts = [part for part in display if part is not None]
    return str(len(parts)) + "".join(f"{len(part)}:{part}" for part in parts)


def _display_key_sql(parts: Sequence[ColumnElement[str]]) -> ColumnElement[str]:
    key: ColumnElement[str] = literal(str(len(parts)))
    for part in parts:
        key = key + cast(func.length(part), String) + ":" + part
    return key


def maker_cells(session: Session, vendors: Sequence[str], placed: dict[Row, Display],
                k: int) -> list[Cell]:
    """Cells per listed row of the vendors' devices, grouped by :func:`display_key`
    (``placed``: where each (vendor, model, firmware) row is listed; every row is). Family
    ``total`` is the devices seen."""
    kind = dialect(session)
    v, m, f = _group_key(DeviceRow)
    row = tuple_(v, m, f)
    whens = []
    for depth in (0, 1, 2):  # rows pooled into one for all, per vendor, per model
        members = sorted(r for r, d in placed.items()
                         if d != r and sum(part is not None for part in d) == depth)
        if members:
            whens.append((row.in_(members), _display_key_sql([v, m][:depth])))
    own = _display_key_sql([v, m, f])
    group = (case(*whens, else_=own) if whens else own).label("group")
    dev = (select(DeviceRow.id, DeviceRow.tenant_id, DeviceRow.device_key, DeviceRow.ips,
                  group).where(DeviceRow.vendor_norm.in_(vendors)).cte("dev"))
    names = _names(kind, dev)
    fx = (select(FindingRow.tenant_id, names.c.device_id, null().label("unmatched"),
                 FindingRow.check_id, FindingRow.standards)
          .select_from(FindingRow).join(names, and_(names.c.tenant_id == FindingRow.tenant_id,
                                                    names.c.name == FindingRow.device))
          .cte("fx"))
    compromised = (_cell_row("compromised", "", names.c.tenant_id, names.c.device_id, null())
                   .select_from(AlertRow).join(names, and_(
                       names.c.tenant_id == AlertRow.tenant_id, names.c.name == AlertRow.device))
                   .where(AlertRow.direction == "outbound", AlertRow.kind.in_(COMPROMISE_KINDS)))
    seen = _cell_row("total", "", dev.c.tenant_id, dev.c.id, null())
    clauses = union_all(*_clauses(kind, fx, checks=True)).cte("clauses")
    raw = union_all(seen, compromised, select(clauses), *_nested(clauses)).subquery("raw")
    owner = dev.alias("owner")
    rows = (select(raw.c.family, raw.c.clause, owner.c.group, raw.c.tenant_id,
                   raw.c.device_id, raw.c.unmatched)
            .join(owner, owner.c.id == raw.c.device_id))
    return _tallies(session, rows, k, ("compromised", "finding", "etsi", "psti"))


def market_cells(session: Session, k: int) -> list[Cell]:
    """Fleet-wide cells (group ""): family ``total`` is the assessed devices (every device,
    and every unmatched device string of a finding), ``compromised`` counts the devices (or
    unmatched strings) of outbound attack alerts."""
    kind = dialect(session)
    devices = select(DeviceRow.id, DeviceRow.tenant_id, DeviceRow.device_key,
                     DeviceRow.ips).cte("all_devices")
    names = _names(kind, devices)

    def resolved(table: Any) -> tuple[ColumnElement[Any], ColumnElement[Any]]:
        return (names.c.device_id,
                case((names.c.device_id.is_(None), table.device)).label("unmatched"))

    fx = (select(FindingRow.tenant_id, *resolved(FindingRow), FindingRow.check_id,
                 FindingRow.standards)
          .select_from(FindingRow).outerjoin(names, and_(
              names.c.tenant_id == FindingRow.tenant_id, names.c.name == FindingRow.device))
          .cte("fx"))
    attacks = (select(AlertRow.tenant_id, AlertRow.device)
               .where(AlertRow.direction == "outbound", AlertRow.kind.in_(COMPROMISE_KINDS))
               .distinct().subquery("attacks"))
    compromised = (_cell_row("compromised", "", attacks.c.tenant_id, *resolved(attacks.c))
                   .select_from(attacks).outerjoin(names, and_(
                       names.c.tenant_id == attacks.c.tenant_id,
                       names.c.name == attacks.c.device)))
    assessed = [_cell_row("total", "", devices.c.tenant_id, devices.c.id, null()),
                _cell_row("total", "", fx.c.tenant_id, fx.c.device_id, fx.c.unmatched)
                .where(fx.c.device_id.is_(None))]
    clauses = union_all(*_clauses(kind, fx, checks=False)).cte("clauses")
    raw = union_all(*assessed, compromised, select(clauses), *_nested(clauses)).subquery("raw")
    rows = select(raw.c.family, raw.c.clause, literal("").label("group"), raw.c.tenant_id,
                  raw.c.device_id, raw.c.unmatched)
    return _tallies(session, rows, k, ("etsi", "psti"))


def alert_cells(session: Session) -> list[tuple[int | None, str, Tally]]:
    """(day, or None for all days; direction; alerts and participants) over every alert."""
    day = day_of(session, AlertRow.start)
    participants = func.count(AlertRow.tenant_id.distinct())
    stmt: CompoundSelect[Any] = union_all(
        select(day, AlertRow.direction, func.count(), participants)
        .group_by(day, AlertRow.direction),
        select(null(), AlertRow.direction, func.count(), participants)
        .group_by(AlertRow.direction))
    return [(None if d is None else int(d), direction, Tally(int(n), int(p)))
            for d, direction, n, p in session.execute(stmt)]
