"""Rule filters evaluated once per batch for all rules: each distinct condition is computed once.

Many rules share conditions (``proto == tcp`` in 19 of them, the same ``conn_state`` lists,
``orig_pkts > 0``...). :class:`FilterPlan` is a rule's filter compiled into a tree whose every
node has a canonical key; :class:`BatchMasks` evaluates plans against one batch and keeps the
boolean mask of every node it computed, so a condition the next rule shares costs nothing.
Nulls never match (as in :func:`hedgerow.detect.match.compile_filter`).

Example:
    >>> import polars as pl
    >>> from hedgerow.detect.match import Condition
    >>> tcp = Condition.model_validate({"field": "proto", "eq": "tcp"})
    >>> telnet = Condition.model_validate({"field": "id.resp_p", "in": [23, 2323]})
    >>> frame = pl.DataFrame({"proto": ["tcp", "udp", "tcp", None], "id.resp_p": [23, 23, 80, 23]})
    >>> masks = BatchMasks(frame)
    >>> masks.mask(FilterPlan.of([tcp, telnet])).to_list()
    [True, False, False, False]
    >>> masks.mask(FilterPlan.of([tcp])).to_list(), masks.computed
    ([True, False, True, False], 3)
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import polars as pl

from hedgerow.detect.match import Condition, compile_filter, content_filter

WORD_COLUMNS = frozenset({"proto", "conn_state", "history", "service"})
"""Text columns of few distinct values per batch: their tests are answered per value..."""
WORDS_BY_VALUE_ROWS = 8192
"""...in batches of at least this many rows (below, one pass over the rows costs less)."""


@dataclass(frozen=True)
class FilterPlan:
    """A filter as a tree of nodes: ``op`` is ``leaf`` (one condition), ``all``/``any``/``none``
    (a group of ``parts``) or ``col`` (a boolean column or expression); ``key`` names the node's
    meaning, so equal conditions of different rules share one mask."""

    op: str
    key: str
    parts: tuple[FilterPlan, ...] = ()
    expr: pl.Expr | None = None
    payload: str | None = None
    """The binary column a payload test reads (tested once per distinct value, see
    :meth:`BatchMasks.prefetch`)."""
    word: str | None = None
    """The text column of few values (protocol, state, history, service) a test reads:
    tested once per distinct value in every batch."""

    @classmethod
    def of(
        cls, conditions: list[Condition], binary_columns: frozenset[str] = frozenset()
    ) -> FilterPlan:
        """The AND of ``conditions`` (a rule's ``filter:`` list)."""
        return cls._group("all", [cls._node(c, binary_columns) for c in conditions])

    @classmethod
    def column(cls, name: str) -> FilterPlan:
        """A boolean column of the batch (nulls count as false)."""
        return cls("col", f"col:{name}", expr=pl.col(name))

    @classmethod
    def content(cls, columns: set[str], binary_columns: frozenset[str]) -> FilterPlan:
        """True where every one of ``columns`` holds a non-empty value."""
        key = "content:" + ",".join(sorted(columns))
        return cls("col", key, expr=content_filter(columns, binary_columns))

    @classmethod
    def negated(cls, plan: FilterPlan) -> FilterPlan:
        """True where ``plan`` is not."""
        return cls._group("none", [plan])

    @classmethod
    def both(cls, *plans: FilterPlan) -> FilterPlan:
        """The AND of several plans."""
        return cls._group("all", list(plans))

    @classmethod
    def _node(cls, cond: Condition, binary: frozenset[str]) -> FilterPlan:
        for op in ("any", "all", "none"):
            group = getattr(cond, op)
            if group is not None:
                return cls._group(op, [cls._node(c, binary) for c in group])
        key = cond.model_dump_json(exclude_none=True, by_alias=True)
        payload = cond.field if cond.field in binary else None
        word = cond.field if cond.field in WORD_COLUMNS else None
        expr = compile_filter([cond], binary)
        return cls("leaf", f"leaf:{key}", expr=expr, payload=payload, word=word)

    @classmethod
    def _group(cls, op: str, parts: list[FilterPlan]) -> FilterPlan:
        if op == "all" and len(parts) == 1:
            return parts[0]
        unique = tuple({p.key: p for p in parts}.values())
        key = f"{op}(" + ",".join(sorted(p.key for p in unique)) + ")"
        return cls(op, key, unique)


class BatchMasks:
    """Boolean masks of filter nodes over one frame, each node evaluated at most once."""

    def __init__(self, frame: pl.DataFrame, *, per_payload: bool = False) -> None:
        self.frame = frame
        self.per_payload = per_payload
        """Payload tests once per distinct payload (in a subset of rows that carry one)."""
        self._done: dict[str, pl.Series] = {}
        self._subsets: dict[tuple[str, ...], tuple[pl.Series, BatchMasks]] = {}
        self._newest: list[float | None] = []

    @property
    def newest(self) -> float | None:
        """The batch's latest flow start (``ts``), looked up once for all rules."""
        if not self._newest:
            top = self.frame["ts"].max() if "ts" in self.frame.columns else None
            self._newest.append(None if top is None else float(top))  # type: ignore[arg-type]
        return self._newest[0]

    @property
    def computed(self) -> int:
        """How many distinct nodes were evaluated so far."""
        return len(self._done)

    def mask(self, plan: FilterPlan) -> pl.Series:
        """``plan`` over the frame: one boolean per row, no nulls."""
        hit = self._done.get(plan.key)
        if hit is not None:
            return hit
        if plan.op in ("leaf", "col"):
            assert plan.expr is not None
            out = self.frame.select(plan.expr.fill_null(False)).to_series()
        else:
            parts = [self.mask(p) for p in plan.parts]
            out = self._combine(plan.op, parts)
        self._done[plan.key] = out
        return out

    def prefetch(self, plans: Iterable[tuple[FilterPlan | None, FilterPlan]]) -> None:
        """Evaluate the conditions of many filters in one pass over the frame (one ``select``
        instead of one per condition). Each pair is a rule's content filter (``None``: all
        rows) and its filter, whose conditions are then evaluated in that subset. There the
        payload tests (many literals each) are evaluated once per distinct payload when
        payloads repeat (the same requests and banners again and again), each row then
        taking its payload's answers; in a large batch, so are the tests on the protocol,
        state, history and service texts (a few dozen distinct values)."""
        by_content: dict[str, tuple[FilterPlan | None, list[FilterPlan]]] = {}
        for content, plan in plans:
            entry = by_content.setdefault(content.key if content else "", (content, []))
            entry[1].append(plan)
        for content, group in by_content.values():
            target = self if content is None else self.subset(content)[1]
            target._evaluate_leaves(group)

    def _evaluate_leaves(self, plans: list[FilterPlan]) -> None:
        leaves: dict[str, pl.Expr] = {}
        by_value: dict[str, dict[str, pl.Expr]] = {}
        stack = list(plans)
        while stack:
            node = stack.pop()
            if node.key in self._done:
                continue
            if node.expr is not None:
                leaves[node.key] = node.expr
                column = node.payload if self.per_payload else None
                if node.word in self.frame.columns and self.frame.height >= WORDS_BY_VALUE_ROWS:
                    column = node.word
                if column is not None:
                    by_value.setdefault(column, {})[node.key] = node.expr
            stack.extend(node.parts)
        if not leaves or self.frame.height == 0:
            return
        for column, tests in by_value.items():
            if self._by_value(column, tests):
                for key in tests:
                    del leaves[key]
        if not leaves:
            return
        names = {key: f"_m{i}" for i, key in enumerate(leaves)}
        values = self.frame.select(e.fill_null(False).alias(names[k]) for k, e in leaves.items())
        for key, name in names.items():
            self._done[key] = values[name]

    def _by_value(self, column: str, tests: dict[str, pl.Expr]) -> bool:
        """Evaluate ``tests`` (each reading only ``column``) on the column's distinct values
        and give each row its value's answers. False (nothing done) when most values are
        distinct or two distinct values share a hash (the rows are matched to their value by
        hash)."""
        values = self.frame[column]
        distinct = values.unique()
        if 2 * distinct.len() > values.len():
            return False
        hashes = distinct.hash().to_numpy()
        order = np.argsort(hashes)
        ranked = hashes[order]
        if (ranked[1:] == ranked[:-1]).any():
            return False
        rows = order[np.searchsorted(ranked, values.hash().to_numpy())]
        names = {key: f"_m{i}" for i, key in enumerate(tests)}
        answers = distinct.to_frame().select(
            e.fill_null(False).alias(names[k]) for k, e in tests.items()
        )
        for key, name in names.items():
            self._done[key] = pl.Series(name, answers[name].to_numpy()[rows])
        return True

    def subset(self, plan: FilterPlan) -> tuple[pl.Series, BatchMasks]:
        """The rows where ``plan`` holds, as masks of their own (for conditions that only a
        few rows can meet: payload patterns are searched in the rows that carry payload)."""
        key = (plan.key,)
        hit = self._subsets.get(key)
        if hit is None:
            keep = self.mask(plan)
            hit = (keep, BatchMasks(self.frame.filter(keep), per_payload=True))
            self._subsets[key] = hit
        return hit

    def _combine(self, op: str, parts: list[pl.Series]) -> pl.Series:
        if not parts:
            return pl.Series([op != "any"] * self.frame.height, dtype=pl.Boolean)
        out = parts[0]
        for part in parts[1:]:
            out = out & part if op == "all" else out | part
        return ~out if op == "none" else out
