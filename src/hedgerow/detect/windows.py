"""Event-time windowed aggregation shared by the threshold detectors (columnar, bounded).

Flows are bucketed into tumbling windows of ``window`` seconds per group key. A window is
judged once the event-time watermark has passed its end plus ``lateness`` (flows are reported
when they end, so their start ``ts`` can lag). A window is *hot* when the measure over it and
the window before it reaches the capacity (so a burst straddling a boundary still counts).
Hot windows of one key form one episode, reported as one alert, until the key has stayed cold
for ``quiet`` seconds (CrowdSec's "blackhole"): a scan that spans several batches or windows,
or pauses, stays one alert.

Example:
    >>> import polars as pl
    >>> agg = WindowAggregator(keys=["id.orig_h"], distinct="id.resp_h", sum_col=None,
    ...     window=60.0, capacity=3, min_flows=1, actor="id.orig_h", target="id.resp_h")
    >>> batch = pl.DataFrame({"ts": [1.0, 2.0, 3.0], "uid": ["a", "b", "c"],
    ...     "id.orig_h": ["10.0.0.1"] * 3, "id.resp_h": ["1.1.1.1", "1.1.1.2", "1.1.1.3"],
    ...     "id.resp_p": [23, 23, 23]})
    >>> agg.update(batch, watermark=3.0, lateness=0.0)
    []
    >>> [(e.key, e.distinct_count, e.flows) for e in agg.flush()]
    [(('10.0.0.1',), 3, 3)]
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import polars as pl

DISTINCT_CAP = 10_000
SAMPLE = 20
UID_SAMPLE = 50
EVIDENCE_PASS_ROWS = 20_000
"""Up to this many rows a window judgement gathers the evidence in the pass that takes the
measures; above it (a flood's rows), only for the keys that may take an episode."""


def _order(key: tuple[object, ...]) -> tuple[str, ...]:
    """Sort key for group keys that may mix types and nulls."""
    return tuple("" if v is None else str(v) for v in key)


def _pair_set(frame: pl.DataFrame) -> set[tuple[tuple[object, ...], int]]:
    """(key, window) pairs of a frame of key columns and ``_w``."""
    return {(tuple(r[:-1]), int(r[-1])) for r in frame.iter_rows()}


@dataclass
class Episode:
    """Hot windows of one group key (with the cold ones between them), with bounded evidence."""

    key: tuple[object, ...]
    first_window: int
    last_window: int
    start: float = math.inf
    """The earliest flow start."""
    end: float = -math.inf
    """The latest flow end (start plus duration, where the flow has one)."""
    flows: int = 0
    total: float = 0.0
    distinct: dict[str, None] = field(default_factory=dict)
    """Distinct values (up to ``DISTINCT_CAP``) in the order added: each window's come sorted,
    so sorting them all takes a merge of a few runs."""
    distinct_overflow: int = 0
    uids: list[str] = field(default_factory=list)
    actors: set[str] = field(default_factory=set)
    targets: set[str] = field(default_factory=set)
    ports: set[int] = field(default_factory=set)
    counted_through: int = -(2**62)

    @property
    def distinct_count(self) -> int:
        return max(len(self.distinct), self.distinct_overflow)

    def add(self, row: dict[str, object]) -> None:
        """Fold one window's aggregate row (see ``WindowAggregator._window_stats``) in."""
        self.start = min(self.start, float(row["t0"]))  # type: ignore[arg-type]
        self.end = max(self.end, float(row["t1"]))  # type: ignore[arg-type]
        self.flows += int(row["n"])  # type: ignore[call-overload]
        self.total += float(row["s"] or 0)  # type: ignore[arg-type]
        if len(self.distinct) < DISTINCT_CAP:  # the window's values: no nulls, sorted
            dvals = row["dvals"][: DISTINCT_CAP - len(self.distinct)]  # type: ignore[index]
            self.distinct.update(dict.fromkeys(dvals))
        self.distinct_overflow = max(self.distinct_overflow, int(row["nd"]))  # type: ignore[call-overload]
        room = UID_SAMPLE - len(self.uids)
        if room > 0:
            self.uids.extend(u for u in row["uids"][:room] if u is not None)  # type: ignore[index]
        self.actors.update(a for a in row["actors"] if a is not None)  # type: ignore[attr-defined]
        self.targets.update(t for t in row["targets"] if t is not None)  # type: ignore[attr-defined]
        if len(self.ports) < SAMPLE:
            self.ports.update(int(p) for p in row["ports"] if p is not None)  # type: ignore[attr-defined]


class WindowAggregator:
    """Bounded per-key, per-window partial aggregates, merged batch after batch.

    State is the batch rows of windows still open (each buffered batch whole, with the range
    of windows it spans, split only at the closing boundary) plus the rows of the last closed
    window (for the two-window measure). When windows close, a count (and sum) over hash
    buckets of the keys drops the rows of keys that certainly cannot be hot; a group-by over
    the rest gives each (key, window) its counts and distinct count (with the evidence
    samples, when the rows are few); the hot test pairs each window with the one before; the
    evidence of hot keys and keys with an episode open (gathered then, for many rows) is
    folded into their episodes.
    """

    def __init__(
        self,
        *,
        keys: list[str],
        distinct: str | None,
        sum_col: str | None,
        window: float,
        capacity: float,
        min_flows: int,
        actor: str,
        target: str,
        quiet: float = 0.0,
    ) -> None:
        self.keys = keys
        self.quiet_windows = max(0, math.ceil(quiet / window))
        self.distinct = distinct
        self.sum_col = sum_col
        self.window = window
        self.capacity = capacity
        self.min_flows = min_flows
        self.actor = actor
        self.target = target
        self._kw = [*keys, "_w"]
        self._last: pl.DataFrame | None = None
        self._pending: list[tuple[int, int, float, pl.DataFrame]] = []
        self._pending_rows = 0
        self._next_window: int | None = None
        self._episodes: dict[tuple[object, ...], Episode] = {}

    def update(
        self, flows: pl.DataFrame, *, watermark: float, lateness: float, defer_rows: int = 0
    ) -> list[Episode]:
        """Add filtered flows; return episodes that ended in windows now closed.

        With ``defer_rows`` the closed windows are judged only once that many rows are
        buffered (or at :meth:`flush`): fewer, larger judgements with the same episodes, for
        offline reading where nobody waits for an alert."""
        if flows.height:
            self._buffer(flows)
        if not math.isfinite(watermark) or self._pending_rows < defer_rows:
            return []
        closed_through = math.floor((watermark - lateness) / self.window) - 1
        return self._judge(closed_through)

    def open_since(self) -> float:
        """Earliest flow start an episode not reported yet may still include (``inf``: none).

        Open episodes, buffered rows of open windows (a lower bound once a buffer was split)
        and the last closed window's rows (an episode may begin with it).
        """
        starts = [ep.start for ep in self._episodes.values()]
        starts += [t0 for _, _, t0, _ in self._pending]
        if self._last is not None and self._last.height:
            starts.append(float(self._last["ts"].min()))  # type: ignore[arg-type]
        return min(starts, default=math.inf)

    def flush(self) -> list[Episode]:
        """Judge every remaining window and close all episodes."""
        windows = [hi for _, hi, _, _ in self._pending]
        if self._last is not None and self._last.height:
            windows.append(int(self._last["_w"].max()))  # type: ignore[arg-type]
        if not windows:
            return self._close_episodes(None)
        out = self._judge(max(windows) + 1)
        out.extend(self._close_episodes(None))
        return out

    def _buffer(self, flows: pl.DataFrame) -> None:
        """Keep the batch's rows (with their window number) until their windows close."""
        w = (pl.col("ts") / self.window).floor().cast(pl.Int64)
        if self._next_window is not None:
            w = pl.max_horizontal(w, pl.lit(self._next_window, dtype=pl.Int64))
        s = (
            pl.col(self.sum_col).cast(pl.Float64).fill_null(0.0) if self.sum_col else pl.lit(0.0)
        ).alias("_s")
        cols = [
            *[pl.col(k) for k in self.keys],
            w.alias("_w"),
            s,
            pl.col("ts"),
            # a flow's last packet: a flood or session carried in one long flow ends there
            (pl.col("ts") + pl.col("duration").fill_null(0.0) if "duration" in flows.columns
             else pl.col("ts")).alias("_te"),
            pl.col("uid"),
            pl.col(self.actor).alias("_a"),
            pl.col(self.target).alias("_t"),
            pl.col("id.resp_p").alias("_p"),
        ]
        if self.distinct:
            cols.append(pl.col(self.distinct).cast(pl.String).alias("_d"))
        if flows["ts"].null_count():
            flows = flows.filter(pl.col("ts").is_not_null())
        frame = flows.select(cols)
        if frame.height:
            lo, hi, t0 = frame["_w"].min(), frame["_w"].max(), frame["ts"].min()
            self._pending.append((int(lo), int(hi), float(t0), frame))  # type: ignore[arg-type]
            self._pending_rows += frame.height

    def _take_closed(self, closed_through: int) -> list[pl.DataFrame]:
        """Remove and return the buffered rows of windows up to ``closed_through``."""
        taken: list[pl.DataFrame] = []
        kept: list[tuple[int, int, float, pl.DataFrame]] = []
        for lo, hi, t0, frame in self._pending:
            if hi <= closed_through:
                taken.append(frame)
            elif lo > closed_through:
                kept.append((lo, hi, t0, frame))
            else:
                closed = pl.col("_w") <= closed_through
                taken.append(frame.filter(closed))
                kept.append((closed_through + 1, hi, t0, frame.filter(~closed)))
        self._pending = kept
        self._pending_rows = sum(frame.height for *_, frame in kept)
        return taken

    def _measures(self) -> list[pl.Expr]:
        """The flow count ``n``, sum ``s`` and distinct count ``nd`` of a (key, window)."""
        return [
            pl.len().cast(pl.Int64).alias("n"),
            pl.col("_s").sum().alias("s"),
            (pl.col("_d").drop_nulls().n_unique() if self.distinct else pl.lit(0)).alias("nd"),
        ]

    def _counts(self, rows: pl.DataFrame) -> pl.DataFrame:
        """Per (key, window): only the measures the hot test reads (cheap on many groups)."""
        return rows.group_by(self._kw).agg(self._measures())

    def _window_stats(self, rows: pl.DataFrame) -> pl.DataFrame:
        """Per (key, window): the measures with the evidence (earliest start, latest end,
        samples of uids, targets, ports, actors and the distinct values). An actor or target among
        the key columns has no sample (the key names it)."""
        distinct = pl.col("_d").drop_nulls()
        nothing = pl.lit([], dtype=pl.List(pl.String))
        aggs = [
            *self._measures(),
            pl.col("ts").min().alias("t0"),
            pl.col("_te").max().alias("t1"),
            pl.col("uid").drop_nulls().sort().head(UID_SAMPLE).alias("uids"),
            pl.col("_p").drop_nulls().unique().sort().head(SAMPLE).alias("ports"),
            nothing.alias("targets")
            if self.target in self.keys
            else pl.col("_t").drop_nulls().unique().sort().head(SAMPLE).alias("targets"),
        ]
        # the actors' sample is the distinct values' first ones when both are the same text
        # column (sources counted by a reflection or inbound-scan rule): not sorted twice
        same = self.distinct == self.actor and rows.schema["_a"] == pl.String()
        if self.actor in self.keys:
            same = False
            aggs.append(nothing.alias("actors"))
        elif not same:
            aggs.append(pl.col("_a").drop_nulls().unique().sort().head(SAMPLE).alias("actors"))
        if self.distinct:
            aggs.append(distinct.unique().sort().head(DISTINCT_CAP).alias("dvals"))
        else:
            aggs.append(nothing.alias("dvals"))
        stats = rows.group_by(self._kw).agg(aggs)
        if same:
            stats = stats.with_columns(pl.col("dvals").list.head(SAMPLE).alias("actors"))
        return stats

    def _judge(self, closed_through: int) -> list[Episode]:
        if self._next_window is None:
            if not self._pending:
                return self._close_episodes(closed_through)
            self._next_window = min(lo for lo, _, _, _ in self._pending)
        first = self._next_window
        if closed_through < first:
            return []
        parts = self._take_closed(closed_through)
        if self._last is not None:
            parts.insert(0, self._last)
        parts = [p for p in parts if p.height]
        self._next_window = closed_through + 1
        if not parts:
            self._last = None
            return self._close_episodes(closed_through)
        rows = pl.concat(parts, how="vertical_relaxed") if len(parts) > 1 else parts[0]
        last = rows.filter(pl.col("_w") == closed_through)
        self._last = last if last.height else None
        sub = self._sketch(rows)
        hot_set: set[tuple[tuple[object, ...], int]] = set()
        stats = None
        if sub.height:
            # few rows: the evidence in the same pass as the measures; many (a flood's):
            # measures first, evidence for the keys that may take an episode only
            stats = self._window_stats(sub) if sub.height <= EVIDENCE_PASS_ROWS else None
            measures = self._eligible(self._counts(sub) if stats is None else stats)
            hot_set = self._hot(measures, sub, first, closed_through)
        keys = {k for k, _ in hot_set} | set(self._episodes)
        out: list[Episode] = []
        if keys:
            by_key: dict[tuple[object, ...], list[dict[str, object]]] = {}
            if sub.height:
                chosen = (stats if stats is not None else sub).join(
                    self._key_frame(keys, sub), on=self.keys, how="semi", nulls_equal=True
                )
                if stats is None and chosen.height:
                    chosen = self._window_stats(chosen)
                for r in chosen.sort(self._kw).iter_rows(named=True):
                    by_key.setdefault(tuple(r[k] for k in self.keys), []).append(r)
            for key in sorted(keys, key=_order):
                out.extend(self._advance(key, by_key.get(key, []), hot_set, first))
        out.extend(self._close_episodes(closed_through))
        return out

    def _key_frame(self, keys: Iterable[tuple[object, ...]], like: pl.DataFrame) -> pl.DataFrame:
        """Group keys as a frame with the key columns of ``like``."""
        return pl.DataFrame(
            [list(k) for k in sorted(keys, key=_order)],
            schema=like.select(self.keys).schema,
            orient="row",
        )

    def _eligible(self, stats: pl.DataFrame) -> pl.DataFrame:
        """For a sum, the windows of keys whose flows over all the judged windows reach the
        minimum flow count and the capacity, or that have an episode open (with values
        below zero a sum over two windows may exceed the one over all; a count or a
        distinct count over two windows never exceeds the flows over all)."""
        if not self.sum_col:
            return stats
        totals = stats.group_by(self.keys).agg(pl.col("n").sum(), pl.col("s").sum())
        ok = (pl.col("n") >= self.min_flows) & (pl.col("s") >= self.capacity)
        cand = totals.filter(ok).select(self.keys)
        if self._episodes:
            cand = pl.concat([cand, self._key_frame(self._episodes, cand)]).unique()
        return stats.join(cand, on=self.keys, how="semi", nulls_equal=True)

    def _sketch(self, rows: pl.DataFrame) -> pl.DataFrame:
        """Rows whose key may reach the minimum flow count (and the capacity, for a count or
        a sum) or has an episode open, by a count over hash buckets of the keys: a bucket
        holds at least its keys' flows, so a row in a bucket below the bound (and without an
        open key) certainly belongs to a key that cannot be hot. Cheap where most keys are
        rare (spoofed flood sources); every row of a key that may be hot is kept."""
        need = float(self.min_flows)
        if not self.sum_col:
            need = max(need, self.capacity)
        buckets = 1 << min(22, max(10, (4 * rows.height).bit_length()))
        low = np.uint64(buckets - 1)
        slot = (rows[self.keys].hash_rows().to_numpy() & low).astype(np.intp)
        keep = np.bincount(slot, minlength=buckets) >= need
        values = rows["_s"].to_numpy()
        if self.sum_col and values.min() >= 0:
            # a sum bound holds for non-negative values; the slack covers float rounding
            sums = np.bincount(slot, weights=values, minlength=buckets)
            keep &= sums >= self.capacity * (1 - 1e-9) - 1e-9
        if self._episodes:
            open_keys = self._key_frame(self._episodes, rows).hash_rows().to_numpy()
            keep[(open_keys & low).astype(np.intp)] = True
        kept = keep[slot]
        return rows if kept.all() else rows.filter(pl.Series(kept))

    def _hot(
        self, stats: pl.DataFrame, rows: pl.DataFrame, first: int, closed_through: int
    ) -> set[tuple[tuple[object, ...], int]]:
        """(key, window) pairs whose measure over the window and the one before hits capacity,
        from each (key, window)'s own flow count, sum and distinct count (``stats``).

        A count or sum over two windows is the sum of the two windows' own, so those rules
        pair up one row per (key, window). A distinct count over two windows lies between the
        larger of the two windows' own and their sum: only pairs between those bounds need
        the union of the ``rows`` themselves.
        """
        per = self._pairs(stats.select(*self._kw, "n", "s", "nd"), first, closed_through)
        if not self.distinct:
            sums = per.group_by(self._kw).agg(pl.col("n").sum(), pl.col("s").sum())
            measure = pl.col("s") if self.sum_col else pl.col("n").cast(pl.Float64)
            hot = sums.filter((measure >= self.capacity) & (pl.col("n") >= self.min_flows))
            return _pair_set(hot.select(self._kw))
        bounds = per.group_by(self._kw).agg(
            pl.col("n").sum(),
            pl.col("nd").max().alias("lo"),
            pl.col("nd").sum().alias("hi"),
        ).filter(pl.col("n") >= self.min_flows)
        sure = _pair_set(bounds.filter(pl.col("lo") >= self.capacity).select(self._kw))
        maybe = bounds.filter((pl.col("lo") < self.capacity) & (pl.col("hi") >= self.capacity))
        if maybe.height == 0:
            return sure
        wanted = pl.concat([maybe.select(self._kw),
                            maybe.select(*self.keys, pl.col("_w") - 1)], how="vertical_relaxed")
        sub = rows.select(*self._kw, "_d").join(wanted.unique(), on=self._kw, how="semi",
                                                nulls_equal=True)
        exact = (
            self._pairs(sub, first, closed_through)
            .group_by(self._kw)
            .agg(pl.col("_d").drop_nulls().n_unique().alias("nd"))
            .filter(pl.col("nd") >= self.capacity)
            .join(maybe.select(self._kw), on=self._kw, how="semi", nulls_equal=True)
            .select(self._kw)
        )
        return sure | _pair_set(exact)

    @staticmethod
    def _pairs(frame: pl.DataFrame, first: int, closed_through: int) -> pl.DataFrame:
        """Each row of ``frame`` under its own window and, shifted, under the next one: rows
        of window ``w`` are then the rows of windows ``w - 1`` and ``w`` (from ``first`` on)."""
        current = frame.filter(pl.col("_w") >= first)
        shifted = frame.filter(pl.col("_w") < closed_through).with_columns(pl.col("_w") + 1)
        return pl.concat([current, shifted], how="vertical_relaxed").filter(pl.col("_w") >= first)

    def _advance(
        self,
        key: tuple[object, ...],
        rows: list[dict[str, object]],
        hot_set: set[tuple[tuple[object, ...], int]],
        first: int,
    ) -> list[Episode]:
        """Walk one key's windows in order: open, extend, or end its episode."""
        out = []
        ep = self._episodes.get(key)
        prev: dict[str, object] | None = None
        for row in rows:
            w = int(row["_w"])  # type: ignore[call-overload]
            if ep is not None and w - ep.last_window > self.quiet_windows:
                out.append(self._episodes.pop(key))
                ep = None
            if w >= first and (key, w) in hot_set:
                if ep is None:
                    ep = Episode(key=key, first_window=w, last_window=w)
                    self._episodes[key] = ep
                    if prev is not None and int(prev["_w"]) == w - 1:  # type: ignore[call-overload]
                        ep.add(prev)
                        ep.first_window = w - 1
                ep.last_window = w
            if ep is not None and w > ep.counted_through:
                ep.add(row)
                ep.counted_through = w
            prev = row
        return out

    def _close_episodes(self, closed_through: int | None) -> list[Episode]:
        done = [
            k
            for k, ep in self._episodes.items()
            if closed_through is None or closed_through - ep.last_window > self.quiet_windows
        ]
        return [self._episodes.pop(k) for k in sorted(done, key=_order)]
