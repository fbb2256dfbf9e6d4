"""Send telemetry to a hub and pull what it shares, with the standard library only.

Agents, ``hedgerow scan`` and the live gateway use this module; it needs no server
dependencies (``urllib`` only). :class:`HubForwarder` queues every event in the local
:class:`~hedgerow.telemetry.spool.Spool` first and drains it in batches, so nothing is lost while
the hub is unreachable: a failed send backs off exponentially (with jitter) and the next
``drain`` after the back-off resends the same batch (the hub ingests idempotently by event id).

Example (against a hub you run yourself):
    >>> from hedgerow.telemetry.spool import Spool
    >>> client = HubClient("http://127.0.0.1:8750", token="hr_...")   # doctest: +SKIP
    >>> forwarder = HubForwarder(Spool("/var/lib/hedgerow/spool.db"), client)  # doctest: +SKIP
    >>> forwarder.put_alert(alert)                                     # doctest: +SKIP
    >>> forwarder.drain().sent                                         # doctest: +SKIP
    1
"""

from __future__ import annotations

import hashlib
import json
import random
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hedgerow.model import Alert, Decision, Device, Finding
from hedgerow.telemetry.spool import Spool

EVENT_KINDS = ("alert", "finding", "device", "decision", "action")
_RETRYABLE = {408, 425, 429, 500, 502, 503, 504}


class HubError(RuntimeError):
    """A request to the hub failed; ``status`` is the HTTP status, or None if unreachable."""

    def __init__(self, message: str, status: int | None = None,
                 retry_after: float | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after

    @property
    def retryable(self) -> bool:
        """True when sending the same request later may succeed."""
        return self.status is None or self.status in _RETRYABLE


@dataclass(frozen=True)
class Credential:
    """What enrolment returns: the tenant, this credential's id and its secret token."""

    tenant_id: int
    credential_id: int
    token: str


def event_id_for(kind: str, payload: dict[str, Any]) -> str:
    """Stable id for a payload: its own ``id`` if it has one, else a hash of its content."""
    if isinstance(payload.get("id"), str) and payload["id"]:
        return str(payload["id"])
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(f"{kind}|{text}".encode()).hexdigest()[:32]


class HubClient:
    """Minimal JSON-over-HTTP client for the hub API (bearer-token authentication)."""

    def __init__(self, url: str, token: str | None = None, timeout: float = 10.0) -> None:
        self.url = url.rstrip("/")
        self.token = token
        self.timeout = timeout

    def request(self, method: str, path: str, body: Any = None,
                query: dict[str, str] | None = None, token: str | None = None) -> Any:
        """Send one request; returns parsed JSON (or text for non-JSON replies)."""
        target = self.url + path
        if query:
            target += "?" + urllib.parse.urlencode(query)
        data = None if body is None else json.dumps(body, default=str).encode()
        req = urllib.request.Request(target, data=data, method=method)
        req.add_header("Accept", "application/json")
        if data is not None:
            req.add_header("Content-Type", "application/json")
        bearer = token or self.token
        if bearer:
            req.add_header("Authorization", f"Bearer {bearer}")
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                raw = resp.read()
                ctype = resp.headers.get("Content-Type", "")
        except urllib.error.HTTPError as exc:
            detail = _error_detail(exc)
            retry = exc.headers.get("Retry-After") if exc.headers else None
            raise HubError(f"{method} {path}: HTTP {exc.code}: {detail}", exc.code,
                           float(retry) if retry else None) from None
        except (urllib.error.URLError, OSError, TimeoutError) as exc:
            reason = getattr(exc, "reason", exc)
            raise HubError(f"{method} {path}: hub {self.url} unreachable: {reason}") from None
        if "json" in ctype:
            return json.loads(raw)
        return raw.decode()

    def send_events(self, events: list[dict[str, Any]]) -> dict[str, Any]:
        """POST a batch of ``{"id", "kind", "payload"}`` events; returns the hub's counts."""
        result: dict[str, Any] = self.request("POST", "/v1/telemetry", {"events": events})
        return result

    def blocklist(self, fmt: str = "json") -> Any:
        """The community blocklist: ``json`` (dict), ``text`` (str) or ``stix`` (bundle dict)."""
        suffix = {"json": "", "text": ".txt", "stix": ".stix"}[fmt]
        return self.request("GET", f"/v1/blocklist{suffix}")

    def report(self, kind: str, tenant_id: int | None = None) -> Any:
        """A report: ``household``/``manufacturer`` (own tenant unless given) or ``regulator``."""
        if kind == "regulator":
            return self.request("GET", "/v1/reports/regulator")
        path = f"/v1/reports/{kind}" + (f"/{tenant_id}" if tenant_id is not None else "")
        return self.request("GET", path)

    def bundle(self, kind: str, trusted_keys: Iterable[str]) -> Any:
        """Fetch the latest signed ``kind`` bundle and return its content once verified.

        Raises :class:`hedgerow.signing.BundleError` for an unsigned or tampered bundle.
        """
        from hedgerow.signing import verify_bundle

        return verify_bundle(self.request("GET", f"/v1/bundles/{kind}/latest"), trusted_keys)


def enrol(url: str, enrolment_token: str, name: str, kind: str = "agent",
          timeout: float = 10.0) -> Credential:
    """Exchange a one-time enrolment token for this agent's/gateway's own credential."""
    reply = HubClient(url, timeout=timeout).request(
        "POST", "/v1/enrol", {"name": name, "kind": kind}, token=enrolment_token)
    return Credential(int(reply["tenant_id"]), int(reply["credential_id"]), str(reply["token"]))


def client_from_file(path: str | Path, timeout: float = 10.0) -> HubClient:
    """A client from the JSON file ``hedgerow hub enrol --save`` writes (``hub``, ``token``).

    This is how ``hedgerow agent``, ``hedgerow scan`` and the live gateway reach their hub.
    """
    try:
        saved = json.loads(Path(path).read_text())
        return HubClient(str(saved["hub"]), str(saved["token"]), timeout=timeout)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise HubError(f"{path}: cannot read hub credentials: {exc}") from None


@dataclass(frozen=True)
class DrainResult:
    """Outcome of one :meth:`HubForwarder.drain`: sent and rejected counts, and why it stopped."""

    sent: int
    rejected: int
    batches: int
    remaining: int
    error: str | None = None


class HubForwarder:
    """Spool telemetry locally and deliver it to the hub in batches, with back-off on failure.

    ``clock`` is only used for back-off scheduling (monotonic seconds), never for event times.
    A batch the hub rejects as malformed or oversized (422/413) is split in halves until the
    offending single event is found; that event is dropped and counted in ``rejected``.
    """

    def __init__(self, spool: Spool, client: HubClient, batch_size: int = 500,
                 backoff_base: float = 1.0, backoff_max: float = 300.0,
                 clock: Callable[[], float] = time.monotonic,
                 jitter: Callable[[], float] = random.random) -> None:
        self.spool = spool
        self.client = client
        self.batch_size = batch_size
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.clock = clock
        self.jitter = jitter
        self.failures = 0
        self.next_attempt = 0.0

    def put(self, kind: str, payload: dict[str, Any], event_id: str | None = None) -> bool:
        if kind not in EVENT_KINDS:
            raise ValueError(f"telemetry kind {kind!r}: expected one of {', '.join(EVENT_KINDS)}")
        return self.spool.put(kind, payload, event_id or event_id_for(kind, payload))

    def put_alert(self, alert: Alert) -> bool:
        return self.put("alert", alert.to_dict(), alert.id)

    def put_finding(self, finding: Finding) -> bool:
        return self.put("finding", finding.to_dict())

    def put_device(self, device: Device) -> bool:
        return self.put("device", device.to_dict())

    def put_decision(self, decision: Decision) -> bool:
        return self.put("decision", decision.to_dict())

    def drain(self, max_batches: int = 1000) -> DrainResult:
        """Send queued items until the spool is empty, the hub fails, or ``max_batches``."""
        sent = rejected = batches = 0
        if self.clock() < self.next_attempt:
            wait = self.next_attempt - self.clock()
            return DrainResult(0, 0, 0, len(self.spool), f"backing off for {wait:.1f} s")
        while batches < max_batches:
            items = self.spool.peek(self.batch_size)
            if not items:
                break
            events = [{"id": i.event_id, "kind": i.kind, "payload": i.payload} for i in items]
            try:
                ok, bad = self._deliver(events)
            except HubError as exc:
                if not exc.retryable:
                    raise
                self._back_off(exc.retry_after)
                return DrainResult(sent, rejected, batches, len(self.spool), str(exc))
            self.spool.ack(ok + bad)
            sent += len(ok)
            rejected += len(bad)
            batches += 1
        self.failures = 0
        self.next_attempt = 0.0
        return DrainResult(sent, rejected, batches, len(self.spool))

    def _deliver(self, events: list[dict[str, Any]]) -> tuple[list[str], list[str]]:
        """Send ``events``; returns (delivered ids, ids the hub refuses as invalid)."""
        try:
            self.client.send_events(events)
        except HubError as exc:
            if exc.status not in (413, 422):
                raise
            if len(events) == 1:
                return [], [events[0]["id"]]
            half = len(events) // 2
            ok1, bad1 = self._deliver(events[:half])
            ok2, bad2 = self._deliver(events[half:])
            return ok1 + ok2, bad1 + bad2
        return [e["id"] for e in events], []

    def _back_off(self, retry_after: float | None) -> None:
        self.failures += 1
        delay = min(self.backoff_max, self.backoff_base * 2 ** (self.failures - 1))
        delay *= 0.5 + self.jitter() / 2
        if retry_after is not None:
            delay = max(delay, retry_after)
        self.next_attempt = self.clock() + delay


def _error_detail(exc: urllib.error.HTTPError) -> str:
    try:
        body = json.loads(exc.read() or b"{}")
    except (ValueError, OSError):
        return exc.reason if isinstance(exc.reason, str) else str(exc.reason)
    detail = body.get("detail", body) if isinstance(body, dict) else body
    return json.dumps(detail)[:300] if not isinstance(detail, str) else detail[:300]
