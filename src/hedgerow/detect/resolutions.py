"""Resolution attribution: which listed name a device resolved an address from, applied to the
device's flows to that address, and to the flows an answer reported late may still explain.
Bounded, in event time, deterministic.

:class:`ResolutionMap` keeps (device, address) -> listed name for as long as the answer's TTL
(clamped to ``[min_ttl, max_ttl]``), at most ``cap`` entries: expired ones go as the event
time passes them, and when the map is full the oldest goes. :class:`RecentFlows` keeps the
last ``lateness`` seconds of connection flows (at most ``max_rows``): a DNS flow is reported
when it ends (a UDP flow 60 s after its last packet), so a short connection to the answered
address is often reported before the answer itself. :class:`Attribution` puts them together.

Example:
    >>> m = ResolutionMap(cap=2, max_ttl=3600.0, min_ttl=60.0)
    >>> t = 100.0
    >>> m.add("192.168.1.4", "203.0.113.5", t, t + m.lifetime(0), "evil.example", "c2", "demo",
    ...       name="x.evil.example")
    >>> m.frame().select("id.resp_h", "_since", "_until", "_via").row(0)
    ('203.0.113.5', 100.0, 160.0, 'resolved x.evil.example')
    >>> m.expire(200.0); len(m)
    0
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

import polars as pl

_MAP_SCHEMA = {
    "id.orig_h": pl.String(),
    "id.resp_h": pl.String(),
    "_since": pl.Float64(),
    "_until": pl.Float64(),
    "_ind": pl.String(),
    "_cat": pl.String(),
    "_src": pl.String(),
    "_via": pl.String(),
    "_n": pl.String(),
}
RECENT_COLUMNS = ["ts", "uid", "id.orig_h", "id.resp_h", "id.resp_p"]


@dataclass(frozen=True, slots=True)
class Resolution:
    """A listed name a device was given an address for, valid from ``since`` to ``until``."""

    since: float
    until: float
    name: str
    indicator: str
    category: str
    source: str


class ResolutionMap:
    """Bounded event-time map (device, resolved address) -> :class:`Resolution`."""

    def __init__(self, *, cap: int, max_ttl: float, min_ttl: float) -> None:
        self.cap = cap
        self.max_ttl = max_ttl
        self.min_ttl = min_ttl
        self._entries: dict[tuple[str, str], Resolution] = {}
        self._horizon = -math.inf
        self._frame: pl.DataFrame | None = None

    def __len__(self) -> int:
        return len(self._entries)

    def lifetime(self, ttl: int) -> float:
        """Seconds an answer with this TTL is trusted."""
        return min(max(float(ttl), self.min_ttl), self.max_ttl)

    def add(
        self,
        device: str,
        address: str,
        since: float,
        until: float,
        indicator: str,
        category: str,
        source: str,
        *,
        name: str,
    ) -> None:
        """Remember an answer valid from ``since`` to ``until``; an overlapping one for the same
        pair is merged (earliest start, latest end), a disjoint older one does not replace a
        newer one."""
        if until < self._horizon or self.cap == 0:
            return
        key = (device, address)
        new = Resolution(since, until, name, indicator, category, source)
        old = self._entries.pop(key, None)
        if old is not None:
            if old.since <= until and since <= old.until:
                new = Resolution(min(old.since, since), max(old.until, until), old.name,
                                 old.indicator, old.category, old.source)
            elif old.until > until:
                new = old
        if len(self._entries) >= self.cap:
            self._make_room()
        self._entries[key] = new
        self._frame = None

    def expire(self, horizon: float) -> None:
        """Forget answers no flow starting at or after ``horizon`` can be attributed to."""
        self._horizon = max(self._horizon, horizon)
        gone = [k for k, r in self._entries.items() if r.until < self._horizon]
        for key in gone:
            del self._entries[key]
        if gone:
            self._frame = None

    def frame(self) -> pl.DataFrame:
        """The entries as rows to join flows with (built again only after a change)."""
        if self._frame is None:
            rows = [(d, a, r.since, r.until, r.indicator, r.category, r.source,
                     f"resolved {r.name}", r.name) for (d, a), r in self._entries.items()]
            self._frame = pl.DataFrame(rows, schema=_MAP_SCHEMA, orient="row")
        return self._frame

    def _make_room(self) -> None:
        while len(self._entries) >= self.cap:
            del self._entries[next(iter(self._entries))]


class RecentFlows:
    """The last ``lateness`` event-time seconds of flows (``RECENT_COLUMNS``), bounded."""

    def __init__(self, *, max_rows: int) -> None:
        self.max_rows = max_rows
        self._frames: deque[tuple[float, pl.DataFrame]] = deque()
        self._rows = 0

    def __len__(self) -> int:
        return self._rows

    def add(self, flows: pl.DataFrame, horizon: float) -> None:
        """Keep ``flows`` (already reduced to ``RECENT_COLUMNS``); drop what ``horizon`` (the
        earliest start a flow still to come may have) or the row bound leaves behind."""
        if flows.height and self.max_rows:
            newest = flows["ts"].max()
            if newest is not None and float(newest) >= horizon:  # type: ignore[arg-type]
                self._frames.append((float(newest), flows))  # type: ignore[arg-type]
                self._rows += flows.height
        while self._frames and (
            self._frames[0][0] < horizon or self._rows > self.max_rows
        ):
            self._rows -= self._frames.popleft()[1].height

    def frame(self) -> pl.DataFrame | None:
        """Every kept flow, or None."""
        if not self._frames:
            return None
        return pl.concat([f for _, f in self._frames], how="vertical_relaxed")


class Attribution:
    """Flows attributed to the listed names their device resolved the peer's address from.

    ``new`` answers (rows of ``device, address, _since, _until, _ind, _cat, _src, _via, _n``,
    event-time ordered) explain the batch's flows together with the answers remembered before;
    they also explain the recent flows reported before them. A flow is attributed once.
    """

    def __init__(self, *, cap: int, max_ttl: float, min_ttl: float, late_flows: int) -> None:
        self.resolved = ResolutionMap(cap=cap, max_ttl=max_ttl, min_ttl=min_ttl)
        self.recent = RecentFlows(max_rows=late_flows if cap else 0)
        self._done: dict[str, None] = {}
        self._done_max = max(late_flows, 1)

    def hits(
        self, flows: pl.DataFrame, new: pl.DataFrame | None, horizon: float
    ) -> pl.DataFrame | None:
        """Attributed rows of ``flows`` (``RECENT_COLUMNS``) and of the recent flows, with the
        answer's ``_ind``, ``_cat``, ``_src``, ``_via``; then ``new`` is remembered, the state
        expired at ``horizon`` (the earliest start a flow still to come may have), and
        ``flows`` kept for answers reported after them."""
        if self.resolved.cap == 0:
            return None
        parts = []
        known = self.resolved.frame() if len(self.resolved) else None
        lookup = [f for f in (known, new) if f is not None]
        if lookup:
            parts.append(_attribute(flows, pl.concat(lookup) if len(lookup) > 1 else lookup[0]))
        earlier = self.recent.frame() if new is not None else None
        if earlier is not None and new is not None:
            late = _attribute(earlier, new)
            parts.append(late.filter(~pl.col("uid").is_in(list(self._done))))
        if new is not None:
            for dev, addr, since, until, ind, cat, src, _via, name in new.iter_rows():
                self.resolved.add(dev, addr, since, until, ind, cat, src, name=name)
        self.resolved.expire(horizon)
        self.recent.add(flows, horizon)
        hits = pl.concat(parts, how="vertical_relaxed") if parts else None
        if hits is None or hits.height == 0:
            return None
        for uid in hits["uid"].to_list():
            self._done[uid] = None
        while len(self._done) > self._done_max:
            del self._done[next(iter(self._done))]
        return hits


def _attribute(flows: pl.DataFrame, resolved: pl.DataFrame) -> pl.DataFrame:
    ts = pl.col("ts")
    return (
        flows.join(resolved, on=["id.orig_h", "id.resp_h"], how="inner")
        .filter((ts >= pl.col("_since")) & (ts <= pl.col("_until")))
        .select(*RECENT_COLUMNS, "_ind", "_cat", "_src", "_via")
    )
