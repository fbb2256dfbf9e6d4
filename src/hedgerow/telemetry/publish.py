"""One producer's link to its hub: spool what it saw, drain on a schedule, pull the blocklist.

``hedgerow scan``, ``hedgerow sense`` and ``hedgerow agent run`` share this glue (standard
library only, so the agent stays light). Every event goes into the local
:class:`~hedgerow.telemetry.spool.Spool` first; :meth:`HubLink.tick` drains it and pulls the
community blocklist when each is due, and :meth:`HubLink.drain` sends what is queued within a
time budget (``scan`` calls it once at the end). Nothing is lost while the hub is down: the
events wait in the spool and go with the next drain.

Example (against a hub you run yourself):
    >>> link = HubLink.open("http://127.0.0.1:8750", "/etc/hedgerow/hub.json",
    ...                     "/var/lib/hedgerow/hub-spool.db")        # doctest: +SKIP
    >>> link.put_alerts(alerts)                                      # doctest: +SKIP
    >>> print(link.drain(budget_s=10).message)                       # doctest: +SKIP
    hub: sent 12 events to http://127.0.0.1:8750
"""

from __future__ import annotations

import hashlib
import ipaddress
import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hedgerow.model import Alert, Decision, Device, Finding
from hedgerow.telemetry.client import HubClient, HubError, HubForwarder, client_from_file
from hedgerow.telemetry.spool import Spool

BLOCKLIST_REASON = "community blocklist"


def default_spool_path() -> Path:
    """``$HEDGEROW_STATE_DIR/hub-spool.db``, else ``/var/lib/hedgerow`` (root) or ~/.local/state."""
    state = os.environ.get("HEDGEROW_STATE_DIR")
    if state:
        return Path(state) / "hub-spool.db"
    if os.geteuid() == 0:
        return Path("/var/lib/hedgerow/hub-spool.db")
    return Path.home() / ".local/state/hedgerow/hub-spool.db"


@dataclass(frozen=True)
class Delivery:
    """Outcome of one :meth:`HubLink.drain`: what was sent, what still waits, and why."""

    sent: int
    rejected: int
    remaining: int
    error: str | None
    spool: Path
    url: str

    @property
    def message(self) -> str:
        """One line for the user."""
        if self.error is None:
            dropped = f" ({self.rejected} refused as invalid)" if self.rejected else ""
            return f"hub: sent {self.sent} events to {self.url}{dropped}"
        return (f"hub: {self.remaining} events spooled in {self.spool}; they will be sent "
                f"next time ({self.error})")


@dataclass(frozen=True)
class Listed:
    """One community-blocklist address and when its listing expires (hub wall clock)."""

    address: str
    expires: float


class HubLink:
    """Spool + forwarder + blocklist pulls for one scan, gateway or agent.

    ``clock`` (monotonic seconds) only schedules drains and pulls; it is never an event time.
    """

    def __init__(self, client: HubClient, spool: Spool, drain_every_s: float = 10.0,
                 blocklist_every_s: float = 300.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.client = client
        self.spool = spool
        self.forwarder = HubForwarder(spool, client, clock=clock)
        self.drain_every_s = drain_every_s
        self.blocklist_every_s = blocklist_every_s
        self.clock = clock
        self._next_drain = 0.0
        self._next_pull = 0.0
        self.last_error: str | None = None

    @classmethod
    def open(cls, url: str | None, credential_file: str | os.PathLike[str],
             spool_path: str | os.PathLike[str], timeout: float = 10.0,
             **kwargs: Any) -> HubLink:
        """From ``hedgerow hub enrol --save`` output; ``url`` (if given) overrides its hub.

        Raises :class:`HubError` (one line naming the file) when the credentials are unusable.
        """
        client = client_from_file(Path(credential_file), timeout=timeout)
        if url:
            client = HubClient(url, client.token, timeout=timeout)
        return cls(client, Spool(spool_path), **kwargs)

    # -- what a producer saw ----------------------------------------------------------------
    def put_alerts(self, alerts: Iterable[Alert]) -> int:
        """Queue alerts; returns how many were new to the spool."""
        return sum(self.forwarder.put_alert(a) for a in alerts)

    def put_findings(self, findings: Iterable[Finding]) -> int:
        return sum(self.forwarder.put_finding(f) for f in findings)

    def put_devices(self, devices: Iterable[Device]) -> int:
        """Queue devices, one event per device key and sighting span (so a re-run of the same
        capture queues nothing new even if the inventory lists evidence in another order)."""
        return sum(self.forwarder.put("device", d.to_dict(), _device_event_id(d))
                   for d in devices)

    def put_decisions(self, decisions: Iterable[Decision]) -> int:
        return sum(self.forwarder.put_decision(d) for d in decisions)

    # -- delivery ---------------------------------------------------------------------------
    def drain(self, budget_s: float = 10.0) -> Delivery:
        """Send what is queued, giving up after about ``budget_s`` (one request may overrun
        it by at most the client timeout, itself capped to the budget)."""
        saved = self.client.timeout
        self.client.timeout = max(0.5, min(saved, budget_s))
        deadline = self.clock() + budget_s
        sent = rejected = 0
        error: str | None = None
        try:
            while True:
                result = self.forwarder.drain(max_batches=1)
                sent, rejected = sent + result.sent, rejected + result.rejected
                error = result.error
                if error is not None or result.remaining == 0 or self.clock() >= deadline:
                    break
            if error is None and len(self.spool):
                error = f"time budget of {budget_s:g} s used up"
        except HubError as exc:
            error = str(exc)
        finally:
            self.client.timeout = saved
        self.last_error = error
        return Delivery(sent, rejected, len(self.spool), error, self.spool.path,
                        self.client.url)

    def blocklist(self) -> list[Listed]:
        """The hub's community blocklist now (global unicast addresses only, re-checked here)."""
        reply = self.client.blocklist("json")
        entries = reply.get("entries", []) if isinstance(reply, dict) else []
        listed: list[Listed] = []
        for entry in entries:
            try:
                address = ipaddress.ip_address(str(entry["address"]))
                expires = float(entry["expires"])
            except (KeyError, TypeError, ValueError):
                continue
            if address.is_global:
                listed.append(Listed(str(address), expires))
        return listed

    def tick(self) -> tuple[Delivery | None, list[Listed] | None]:
        """Drain and pull when each is due; returns (delivery or None, blocklist or None).

        A failed pull returns None and is retried at the next due time; failures are kept
        in :attr:`last_error` and never raised, so a loop keeps running while the hub is down.
        """
        now = self.clock()
        delivery: Delivery | None = None
        listed: list[Listed] | None = None
        if now >= self._next_drain:
            self._next_drain = now + self.drain_every_s
            delivery = self.drain(budget_s=min(self.drain_every_s, 10.0))
        if self.blocklist_every_s > 0 and now >= self._next_pull:
            self._next_pull = now + self.blocklist_every_s
            try:
                listed = self.blocklist()
            except HubError as exc:
                self.last_error = str(exc)
        return delivery, listed

    def close(self) -> None:
        self.spool.close()


def _device_event_id(device: Device) -> str:
    text = f"{device.key}|{device.first_seen!r}|{device.last_seen!r}"
    return "device-" + hashlib.sha256(text.encode()).hexdigest()[:32]


class BlockTracker:
    """Which listed addresses still need a block: new ones, and ones whose block runs out.

    Example:
        >>> t = BlockTracker(duration_s=3600)
        >>> t.due([Listed("45.95.147.1", 9e9)], now=0.0)
        ['45.95.147.1']
        >>> t.due([Listed("45.95.147.1", 9e9)], now=60.0)
        []
        >>> t.due([Listed("45.95.147.1", 9e9)], now=3000.0)
        ['45.95.147.1']
    """

    def __init__(self, duration_s: float, renew_fraction: float = 0.8) -> None:
        self.duration_s = duration_s
        self.renew_fraction = renew_fraction
        self._until: dict[str, float] = {}

    def due(self, listed: Iterable[Listed], now: float) -> list[str]:
        """Addresses to (re)block now; marks them blocked for ``duration_s`` from ``now``."""
        todo: list[str] = []
        for item in listed:
            if now >= self._until.get(item.address, 0.0) - (1 - self.renew_fraction) * \
                    self.duration_s:
                todo.append(item.address)
                self._until[item.address] = now + self.duration_s
        return todo


def send_once(url: str | None, credential_file: str | os.PathLike[str],
              spool_path: str | os.PathLike[str], alerts: Iterable[Alert] = (),
              findings: Iterable[Finding] = (), devices: Iterable[Device] = (),
              budget_s: float = 15.0) -> Delivery:
    """Spool one run's telemetry and drain the spool once, within ``budget_s`` (``scan``).

    Earlier runs' events still waiting in the spool go first. Raises :class:`HubError`
    (one line) only for unusable credentials; an unreachable hub is in the result.
    """
    link = HubLink.open(url, credential_file, spool_path, timeout=min(10.0, budget_s))
    try:
        link.put_devices(devices)
        link.put_findings(findings)
        link.put_alerts(alerts)
        return link.drain(budget_s=budget_s)
    finally:
        link.close()
