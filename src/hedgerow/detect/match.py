"""A small declarative match language over FlowBatch columns, compiled to polars expressions.

Rules say *what* to match as data; nothing is evaluated as code. A condition names one column
and one operator; a list of conditions means "all of them"; ``any``/``none`` group others.

Example:
    >>> import polars as pl
    >>> cond = Condition.model_validate({"field": "id.resp_p", "in": [23, 2323]})
    >>> frame = pl.DataFrame({"id.resp_p": [22, 23, 2323, None]})
    >>> frame.filter(compile_filter([cond]))["id.resp_p"].to_list()
    [23, 2323]
"""

from __future__ import annotations

from typing import Any

import polars as pl
from pydantic import BaseModel, ConfigDict, Field, model_validator

Scalar = str | int | float | bool

_VALUE_OPS = ("eq", "ne", "gt", "ge", "lt", "le")
_LIST_OPS = ("in_", "not_in", "contains_any", "startswith_any")


class Condition(BaseModel):
    """One test on one column, or a group (``any``/``all``/``none``) of conditions.

    Operators: ``eq ne gt ge lt le`` (scalar), ``in``/``not_in`` (list), ``regex`` (on text
    columns), ``contains_any``/``startswith_any`` (literal strings, on text or the binary
    payload columns), ``is_null`` (true/false). Nulls never match a value test, so columns a
    source lacks (payload, flag counts in Zeek logs) simply match nothing.
    """

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    field: str | None = None
    eq: Scalar | None = None
    ne: Scalar | None = None
    gt: float | None = None
    ge: float | None = None
    lt: float | None = None
    le: float | None = None
    in_: list[Scalar] | None = Field(default=None, alias="in")
    not_in: list[Scalar] | None = None
    regex: str | None = None
    contains_any: list[str] | None = None
    startswith_any: list[str] | None = None
    is_null: bool | None = None
    any: list[Condition] | None = None
    all: list[Condition] | None = None
    none: list[Condition] | None = None

    @model_validator(mode="after")
    def _one_operator(self) -> Condition:
        groups = [g for g in ("any", "all", "none") if getattr(self, g) is not None]
        ops = [
            o for o in (*_VALUE_OPS, *_LIST_OPS, "regex", "is_null") if getattr(self, o) is not None
        ]
        if groups:
            if self.field is not None or ops or len(groups) > 1:
                raise ValueError("a group (any/all/none) stands alone, without field or operator")
            return self
        if self.field is None:
            raise ValueError("a condition needs `field` (or a group any/all/none)")
        if len(ops) != 1:
            raise ValueError(f"condition on {self.field!r} needs exactly one operator, got {ops}")
        return self

    def columns(self) -> set[str]:
        """Every column this condition reads."""
        out = {self.field} if self.field else set()
        for group in (self.any, self.all, self.none):
            for cond in group or ():
                out |= cond.columns()
        return out


def compile_filter(
    conditions: list[Condition], binary_columns: frozenset[str] = frozenset()
) -> pl.Expr:
    """AND of the conditions as one polars boolean expression (nulls count as false)."""
    if not conditions:
        return pl.lit(True)
    expr = _compile(conditions[0], binary_columns)
    for cond in conditions[1:]:
        expr = expr & _compile(cond, binary_columns)
    return expr.fill_null(False)


def required_content(conditions: list[Condition]) -> set[str]:
    """Columns that must hold a non-empty value for the AND of the conditions to match.

    A ``contains_any``/``startswith_any`` of non-empty literals never matches an empty or null
    value, so rows without that content can be dropped before the whole filter is evaluated.

    Example:
        >>> conds = [Condition.model_validate(c) for c in ({"field": "proto", "eq": "tcp"},
        ...     {"field": "orig_payload", "contains_any": ["GET "]})]
        >>> sorted(required_content(conds))
        ['orig_payload']
    """
    out: set[str] = set()
    for cond in conditions:
        out |= _required(cond)
    return out


def content_filter(columns: set[str], binary_columns: frozenset[str]) -> pl.Expr:
    """True where every one of ``columns`` is non-empty (nulls count as false)."""
    parts = [
        pl.col(c).bin.size() > 0 if c in binary_columns else pl.col(c).str.len_bytes() > 0
        for c in sorted(columns)
    ]
    return pl.all_horizontal(parts).fill_null(False) if parts else pl.lit(True)


_REGEX_META = frozenset(".^$|?*+()[]{}\\")
_MAX_PREFIXES = 16


def literal_prefixes(pattern: str) -> list[str] | None:
    r"""The prefixes a ``^``-anchored regex of literal characters and classes of letters and
    digits stands for (``None`` for any other regex): a prefix test is several times cheaper
    than the regex engine, and the rules' history tests are all of this form.

    Example:
        >>> literal_prefixes("^\\^[hr]"), literal_prefixes("^S"), literal_prefixes("^S.*F")
        (['^h', '^r'], ['S'], None)
    """
    if not pattern.startswith("^"):
        return None
    prefixes = [""]
    i = 1
    while i < len(pattern):
        char = pattern[i]
        if char == "\\":
            if i + 1 == len(pattern) or pattern[i + 1].isalnum():
                return None  # a class such as \d or \w, not a literal
            options, i = pattern[i + 1], i + 2
        elif char == "[":
            end = pattern.find("]", i + 1)
            options = pattern[i + 1 : end]
            if end < 0 or not options or not options.isalnum():
                return None
            i = end + 1
        elif char in _REGEX_META:
            return None
        else:
            options, i = char, i + 1
        prefixes = [p + o for p in prefixes for o in options]
        if len(prefixes) > _MAX_PREFIXES:
            return None
    return prefixes


def _required(cond: Condition) -> set[str]:
    if cond.all is not None:
        return set().union(*(_required(c) for c in cond.all))
    if cond.any is not None:
        if not cond.any:
            return set()
        sets = [_required(c) for c in cond.any]
        return sets[0].intersection(*sets[1:])
    literals = cond.contains_any if cond.contains_any is not None else cond.startswith_any
    if cond.field is not None and literals and all(literals):
        return {cond.field}
    return set()


def _compile(cond: Condition, binary: frozenset[str]) -> pl.Expr:
    if cond.any is not None:
        parts = [_compile(c, binary).fill_null(False) for c in cond.any]
        return pl.any_horizontal(parts) if parts else pl.lit(False)
    if cond.all is not None:
        parts = [_compile(c, binary).fill_null(False) for c in cond.all]
        return pl.all_horizontal(parts) if parts else pl.lit(True)
    if cond.none is not None:
        parts = [_compile(c, binary).fill_null(False) for c in cond.none]
        return ~pl.any_horizontal(parts) if parts else pl.lit(True)
    assert cond.field is not None
    col = pl.col(cond.field)
    is_binary = cond.field in binary
    if cond.is_null is not None:
        return col.is_null() if cond.is_null else col.is_not_null()
    if cond.eq is not None:
        return col == _lit(cond.eq)
    if cond.ne is not None:
        return col != _lit(cond.ne)
    if cond.gt is not None:
        return col > cond.gt
    if cond.ge is not None:
        return col >= cond.ge
    if cond.lt is not None:
        return col < cond.lt
    if cond.le is not None:
        return col <= cond.le
    if cond.in_ is not None:
        return col.is_in(cond.in_)
    if cond.not_in is not None:
        return ~col.is_in(cond.not_in)
    if cond.regex is not None:
        prefixes = literal_prefixes(cond.regex)
        if prefixes is not None:
            return _any_of([_startswith(col, p, False) for p in prefixes])
        return col.str.contains(cond.regex)
    if cond.contains_any is not None:
        return _any_of([_contains(col, s, is_binary) for s in cond.contains_any])
    if cond.startswith_any is not None:
        return _any_of([_startswith(col, s, is_binary) for s in cond.startswith_any])
    raise ValueError(f"condition on {cond.field!r} has no operator")


def _lit(value: Any) -> pl.Expr:
    return pl.lit(value)


def _any_of(parts: list[pl.Expr]) -> pl.Expr:
    return pl.any_horizontal([p.fill_null(False) for p in parts]) if parts else pl.lit(False)


def _contains(col: pl.Expr, text: str, is_binary: bool) -> pl.Expr:
    if is_binary:
        return col.bin.contains(text.encode())
    return col.str.contains(text, literal=True)


def _startswith(col: pl.Expr, text: str, is_binary: bool) -> pl.Expr:
    if is_binary:
        return col.bin.starts_with(text.encode())
    return col.str.starts_with(text)
