"""The hub's FastAPI application.

Example:
    >>> from hedgerow.hub.config import HubSettings
    >>> from hedgerow.signing import SigningKey
    >>> app = create_app(HubSettings(database_url="sqlite://"), signing_key=SigningKey.generate(),
    ...                  create_schema=True)
    >>> app.title
    'Hedgerow hub'
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import anyio.to_thread
from fastapi import FastAPI
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import Engine
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hedgerow import __version__
from hedgerow.hub.auth import Authenticator
from hedgerow.hub.config import HubSettings
from hedgerow.hub.consensus import ConsensusPolicy, ConsensusWorker, RecentSightings
from hedgerow.hub.db import make_engine, session_factory
from hedgerow.hub.models import Base
from hedgerow.hub.ratelimit import BucketLimit
from hedgerow.hub.routes import admin, data, intel, telemetry
from hedgerow.hub.state import HubState
from hedgerow.signing import SigningKey


class BodyLimit:
    """Refuse request bodies over ``limit`` bytes with 413, before any handler runs."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            await self._refuse(send)
            return
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.limit:
                await self._refuse(send)
                return
            chunks.append(chunk)
            more = bool(message.get("more_body", False))
        body = b"".join(chunks)
        delivered = False

        async def replay() -> Message:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _refuse(self, send: Send) -> None:
        payload = json.dumps({"detail": f"request body larger than {self.limit} bytes"}).encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", str(len(payload)).encode()),
                                (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": payload})


def create_app(settings: HubSettings | None = None, *, engine: Engine | None = None,
               signing_key: SigningKey | None = None, clock: Callable[[], float] = time.time,
               create_schema: bool = False) -> FastAPI:
    """Build the app. ``create_schema`` creates tables directly (tests, in-memory SQLite);
    real deployments run ``hedgerow hub migrate`` instead."""
    settings = settings or HubSettings.from_env()
    engine = engine or make_engine(settings.database_url, settings.db_pool_size)
    if create_schema:
        Base.metadata.create_all(engine)
    sessions = session_factory(engine)
    state = HubState(
        settings=settings, engine=engine, sessions=sessions,
        auth=Authenticator(sessions, ttl=settings.auth_cache_s),
        limiter=BucketLimit(settings.rate_events_per_s, settings.rate_burst_events),
        policy=ConsensusPolicy(min_reporters=settings.min_reporters,
                               min_tenants=settings.min_tenants,
                               window_s=settings.consensus_window_s,
                               ttl_s=settings.blocklist_ttl_s),
        signing_key=signing_key or SigningKey.load_or_create(settings.signing_key_path),
        clock=clock,
    )
    state.recent = RecentSightings(state.policy.refresh_s)
    if settings.consensus_interval_s > 0:
        state.consensus = ConsensusWorker(sessions, state.policy, clock,
                                          settings.consensus_interval_s)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        anyio.to_thread.current_default_thread_limiter().total_tokens = settings.threads
        yield
        if state.consensus is not None:
            await run_in_threadpool(state.consensus.stop)

    app = FastAPI(title="Hedgerow hub", version=__version__, lifespan=lifespan,
                  description="Protection network: enrolment, telemetry ingest, consensus "
                              "blocklist, reports and signed content. Every endpoint needs a "
                              "bearer token.")
    app.state.hub = state
    for router in (telemetry.router, intel.router, data.router, admin.router):
        app.include_router(router)
    app.add_middleware(BodyLimit, limit=settings.max_body_bytes)
    return app


def openapi_spec() -> dict[str, Any]:
    """The API description, as served at ``/openapi.json`` (checked in as docs/hub-openapi.json)."""
    app = create_app(HubSettings(database_url="sqlite://"), signing_key=SigningKey.generate())
    try:
        return app.openapi()
    finally:
        app.state.hub.engine.dispose()
