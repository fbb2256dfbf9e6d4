"""Enrolment and telemetry ingest."""

from __future__ import annotations

import math

from fastapi import APIRouter, HTTPException, status

from hedgerow.hub.deps import DB, BearerToken, Household, State, unauthorised
from hedgerow.hub.ingest import ingest
from hedgerow.hub.ratelimit import take
from hedgerow.hub.schemas import EnrolIn, EnrolOut, IngestResult, TelemetryBatch
from hedgerow.hub.tenants import EnrolmentError, enrol

router = APIRouter(prefix="/v1", tags=["telemetry"])


@router.post("/enrol", status_code=status.HTTP_201_CREATED)
def exchange(body: EnrolIn, token: BearerToken, session: DB, state: State) -> EnrolOut:
    """Exchange a one-time enrolment token (as the bearer token) for a credential."""
    try:
        credential, secret = enrol(session, token, body.name, body.kind, state.clock())
    except EnrolmentError as exc:
        raise unauthorised(str(exc)) from None
    return EnrolOut(tenant_id=credential.tenant_id, credential_id=credential.id, token=secret)


@router.post("/telemetry")
def telemetry(batch: TelemetryBatch, who: Household, state: State) -> IngestResult:
    """Store a batch of alerts, findings, devices and decisions (idempotent by event id)."""
    # The session is opened and closed here, in the handler's worker thread: the shared
    # ``DB`` dependency would close it with a second hop to the thread pool per request.
    limit = state.settings.max_batch_events
    if len(batch.events) > limit:
        raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE,
                            f"batch of {len(batch.events)} events; at most {limit} per request")
    background = state.consensus.mark if state.consensus is not None else None
    with state.sessions() as session:
        # The bucket is debited in the transaction the ingest commits (shared by every worker).
        wait = take(session, state.limiter, who.credential_id, len(batch.events), state.clock())
        if wait > 0:
            session.rollback()
            raise HTTPException(status.HTTP_429_TOO_MANY_REQUESTS, "rate limit exceeded",
                                headers={"Retry-After": str(max(1, math.ceil(wait)))})
        return ingest(session, who, batch, state.policy, state.clock(),
                      state.allow.get(session), on_sighted=background, recent=state.recent)
