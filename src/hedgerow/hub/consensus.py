"""The community blocklist: attacker addresses that enough distinct participants reported.

An address is listed when at least ``min_reporters`` distinct credentials belonging to at least
``min_tenants`` distinct tenants reported it within ``window_s``; a listing expires ``ttl_s``
after consensus was last confirmed. Many reporters of one tenant count as one tenant, so one
tenant alone can never list an address. Private, loopback, link-local, multicast, reserved,
shared (CGNAT), documentation and other non-global addresses, and allow-listed networks, are
never recorded nor listed.

A sighting's time is when the hub received it (the hub's clock), and only alerts whose own
event-time end lies within the window of that moment count, so replaying an old capture does
not vote.

Example:
    >>> listable("8.8.8.8", []), listable("192.168.1.9", []), listable("224.0.0.1", [])
    (True, False, False)
    >>> import ipaddress
    >>> listable("8.8.8.8", [ipaddress.ip_network("8.8.8.0/24")])
    False
"""

from __future__ import annotations

import ipaddress
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy import delete, distinct, func, select
from sqlalchemy.orm import Session

from hedgerow.hub.models import AllowEntry, BlocklistEntry, Sighting
from hedgerow.hub.sqlutil import upsert

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# Inbound alerts of these kinds name the attacker among their peers; outbound C2 alerts name
# the controller.
INBOUND_ATTACK_KINDS = frozenset({"scan", "bruteforce", "dos", "exploit", "malware", "intel"})
OUTBOUND_HOSTILE_KINDS = frozenset({"c2"})


@dataclass(frozen=True)
class ConsensusPolicy:
    """Thresholds; ``min_reporters`` counts credentials, ``min_tenants`` distinct tenants.

    A listed entry is re-confirmed (expiry pushed back, counts refreshed) at most once per
    ``refresh_s``, so a popular attacker does not make every ingest rewrite its row.
    """

    min_reporters: int = 3
    min_tenants: int = 2
    window_s: float = 86400.0
    ttl_s: float = 7 * 86400.0
    min_confidence: float = 0.5
    refresh_s: float = 60.0

    def __post_init__(self) -> None:
        if self.min_tenants < 1 or self.min_reporters < self.min_tenants:
            raise ValueError("consensus: need min_tenants >= 1 and min_reporters >= min_tenants")
        if self.window_s <= 0 or self.ttl_s <= 0:
            raise ValueError("consensus: window_s and ttl_s must be positive")


@lru_cache(maxsize=131_072)
def canonical_address(address: str) -> str | None:
    """The address as ``ipaddress`` prints it (IPv4-mapped IPv6 unwrapped), or None."""
    try:
        ip = ipaddress.ip_address(address.strip())
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return str(ip)


@lru_cache(maxsize=131_072)
def _global_unicast(address: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    text = canonical_address(address)
    if text is None:
        return None
    ip = ipaddress.ip_address(text)
    if (not ip.is_global or ip.is_multicast or ip.is_private or ip.is_reserved
            or ip.is_loopback or ip.is_link_local or ip.is_unspecified):
        return None
    return ip


def listable(address: str, allow: Sequence[IPNetwork]) -> bool:
    """May ``address`` ever be on the blocklist? (global unicast and not allow-listed)."""
    ip = _global_unicast(address)
    if ip is None:
        return False
    return not any(ip.version == net.version and ip in net for net in allow)


def allow_networks(session: Session) -> list[IPNetwork]:
    return [ipaddress.ip_network(n, strict=False)
            for n in session.scalars(select(AllowEntry.network))]


class AllowCache:
    """The allow-list for ingest, re-read at most every ``ttl`` seconds (one query saved per
    batch). Serving the blocklist always reads it afresh, so an allow-listed address
    disappears from the published list at once."""

    def __init__(self, ttl: float = 5.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl
        self.clock = clock
        self._value: list[IPNetwork] = []
        self._until = float("-inf")
        self._lock = threading.Lock()

    def get(self, session: Session) -> list[IPNetwork]:
        with self._lock:
            if self.clock() < self._until:
                return self._value
        value = allow_networks(session)
        with self._lock:
            self._value, self._until = value, self.clock() + self.ttl
        return value

    def invalidate(self) -> None:
        with self._lock:
            self._until = float("-inf")


def hostile_peers(alert: Mapping[str, Any], policy: ConsensusPolicy) -> list[str]:
    """The addresses an alert row accuses (attackers of inbound alerts, C2 of outbound ones)."""
    if alert["confidence"] < policy.min_confidence:
        return []
    kind, direction = alert["kind"], alert["direction"]
    inbound = direction == "inbound" and kind in INBOUND_ATTACK_KINDS
    outbound = direction == "outbound" and kind in OUTBOUND_HOSTILE_KINDS
    if not (inbound or outbound):
        return []
    return [a for a in (canonical_address(p) for p in alert["peers"]) if a is not None]


class RecentSightings:
    """The sightings this process wrote lately, so a credential that keeps reporting the same
    attacker does not rewrite its row with every batch.

    A row is rewritten at most once per ``refresh_s`` (the policy's): its ``seen_at`` then
    trails the latest report by less than ``refresh_s``, so it may leave the consensus window
    up to ``refresh_s`` early. Bounded: cleared when it reaches ``max_entries``.

    Example:
        >>> recent = RecentSightings(refresh_s=60.0)
        >>> recent.due([("8.8.8.8", 1)], now=0.0), recent.due([("8.8.8.8", 1)], now=30.0)
        ([('8.8.8.8', 1)], [])
        >>> recent.due([("8.8.8.8", 1)], now=61.0)
        [('8.8.8.8', 1)]
    """

    def __init__(self, refresh_s: float, max_entries: int = 500_000) -> None:
        self.refresh_s = refresh_s
        self.max_entries = max_entries
        self._written: dict[tuple[str, int], float] = {}
        self._lock = threading.Lock()

    def due(self, keys: Iterable[tuple[str, int]], now: float) -> list[tuple[str, int]]:
        """The keys not written within ``refresh_s`` of ``now``; they count as written now."""
        out = []
        with self._lock:
            for key in keys:
                written = self._written.get(key)
                if written is None or now - written >= self.refresh_s or now < written:
                    out.append(key)
            if len(self._written) + len(out) > self.max_entries:
                self._written.clear()
            self._written.update((key, now) for key in out)
        return out

    def clear(self) -> None:
        """Forget every write (after a transaction that recorded sightings failed)."""
        with self._lock:
            self._written.clear()


def record_sightings(session: Session, alerts: Iterable[Mapping[str, Any]],
                     policy: ConsensusPolicy, allow: Sequence[IPNetwork],
                     now: float, recent: RecentSightings | None = None) -> list[str]:
    """Upsert one sighting per (address, credential) for new alert rows; returns addresses.

    With ``recent``, rows this process wrote within ``policy.refresh_s`` are not rewritten
    (the addresses are still returned, as sighted)."""
    rows: dict[tuple[str, int], dict[str, object]] = {}
    for alert in alerts:
        if alert["end"] < now - policy.window_s:
            continue
        for address in hostile_peers(alert, policy):
            if listable(address, allow):
                rows[(address, alert["credential_id"])] = {
                    "address": address, "credential_id": alert["credential_id"],
                    "tenant_id": alert["tenant_id"], "seen_at": now, "kind": alert["kind"]}
    keys = sorted(rows) if recent is None else recent.due(sorted(rows), now)
    upsert(session, Sighting, [rows[k] for k in keys], ["address", "credential_id"],
           {"seen_at": "max", "kind": "new", "tenant_id": "keep"})
    return sorted({k[0] for k in rows})


def recompute(session: Session, addresses: Sequence[str], policy: ConsensusPolicy,
              now: float, confirmed: dict[str, float] | None = None) -> list[str]:
    """Re-evaluate consensus for ``addresses``; list those that reach it, and re-confirm
    listed ones not confirmed within ``refresh_s``. Returns the addresses written.

    ``confirmed`` (address -> when its listing was last confirmed) is a memo the caller keeps
    between calls: addresses it shows confirmed within ``refresh_s`` are not looked up, and
    it is updated with what this call read and wrote."""
    if confirmed is not None:
        addresses = [a for a in addresses
                     if confirmed.get(a, float("-inf")) <= now - policy.refresh_s]
    if not addresses:
        return []
    since = now - policy.window_s
    if session.get_bind().dialect.name == "postgresql":
        kinds = func.string_agg(distinct(Sighting.kind), ",")
    else:
        kinds = func.group_concat(distinct(Sighting.kind))
    reporters, tenants = func.count(distinct(Sighting.credential_id)), \
        func.count(distinct(Sighting.tenant_id))
    # Listed addresses confirmed within refresh_s are dropped before counting (a look-up by
    # primary key): a popular attacker is sighted by every batch, and its sightings need not
    # be counted each time.
    fresh: dict[str, float] = {a: t for a, t in session.execute(
        select(BlocklistEntry.address, BlocklistEntry.last_confirmed)
        .where(BlocklistEntry.address.in_(addresses),
               BlocklistEntry.last_confirmed > now - policy.refresh_s))}
    if confirmed is not None:
        confirmed.update(fresh)
    due = [a for a in addresses if a not in fresh]
    if not due:
        return []
    counts = session.execute(
        select(Sighting.address, reporters, tenants, kinds)
        .where(Sighting.address.in_(due), Sighting.seen_at >= since)
        .group_by(Sighting.address)
        .having(reporters >= policy.min_reporters, tenants >= policy.min_tenants)
        .order_by(Sighting.address)
    ).all()
    rows = [{"address": a, "first_listed": now, "last_confirmed": now,
             "expires": now + policy.ttl_s, "reporters": r, "tenants": t,
             "kinds": sorted(set(k.split(",")))} for a, r, t, k in counts]
    if not rows:
        return []
    upsert(session, BlocklistEntry, rows, ["address"],
           {"first_listed": "keep", "last_confirmed": "new", "expires": "new",
            "reporters": "new", "tenants": "new", "kinds": "new"})
    written = [str(row["address"]) for row in rows]
    if confirmed is not None:
        confirmed.update((a, now) for a in written)
    return written


class ConsensusWorker:
    """Recompute consensus in one background thread for the addresses ingests sighted.

    Ingest requests only record sightings and :meth:`mark` the addresses; every
    ``interval`` seconds the worker recomputes them in one transaction, so the blocklist rows
    every tenant shares are written by one writer per process instead of by each request.
    Listing is delayed by at most ``interval`` (plus the recompute itself). The worker
    remembers when each listing was last confirmed, so a listed attacker that every batch
    sights costs no query until its listing is due for re-confirmation (``refresh_s``).
    """

    def __init__(self, sessions: Callable[[], Session], policy: ConsensusPolicy,
                 clock: Callable[[], float], interval: float = 1.0, chunk: int = 500,
                 max_confirmed: int = 500_000) -> None:
        self.sessions = sessions
        self.max_confirmed = max_confirmed
        self.chunk = chunk
        self.policy = policy
        self.clock = clock
        self.interval = interval
        self._dirty: set[str] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._confirmed: dict[str, float] = {}  # used by the flushing thread only

    def mark(self, addresses: Iterable[str]) -> None:
        with self._lock:
            self._dirty.update(addresses)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="hub-consensus",
                                                daemon=True)
                self._thread.start()

    def flush(self) -> list[str]:
        """Recompute every marked address now; returns the addresses written."""
        with self._lock:
            pending, self._dirty = sorted(self._dirty), set()
        written: list[str] = []
        if len(self._confirmed) > self.max_confirmed:
            self._confirmed.clear()
        with self.sessions() as session:
            # Short transactions of bounded size keep row locks and pauses small.
            for start in range(0, len(pending), self.chunk):
                chunk = pending[start:start + self.chunk]
                written += recompute(session, chunk, self.policy, self.clock(),
                                     self._confirmed)
                session.commit()
        return written

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.flush()

    def stop(self) -> None:
        """Stop the thread after a last flush (called at application shutdown)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
        self.flush()


def current(session: Session, now: float) -> list[BlocklistEntry]:
    """Unexpired entries not covered by the allow-list, ordered by address."""
    allow = allow_networks(session)
    rows = session.scalars(select(BlocklistEntry).where(BlocklistEntry.expires > now)
                           .order_by(BlocklistEntry.address)).all()
    return [r for r in rows if listable(r.address, allow)]


def prune(session: Session, policy: ConsensusPolicy, now: float) -> tuple[int, int]:
    """Delete expired entries and sightings older than the window; returns both counts."""
    entries = session.execute(delete(BlocklistEntry).where(BlocklistEntry.expires <= now))
    old = session.execute(delete(Sighting).where(Sighting.seen_at < now - policy.window_s))
    session.commit()
    return int(getattr(entries, "rowcount", 0)), int(getattr(old, "rowcount", 0))
