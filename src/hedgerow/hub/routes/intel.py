"""Shared intelligence: the consensus blocklist (JSON, text, STIX 2.1) and signed bundles."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import PlainTextResponse

from hedgerow.hub import bundles, consensus
from hedgerow.hub.deps import DB, State, Who, not_found
from hedgerow.hub.schemas import Blocklist, BlocklistItem
from hedgerow.hub.stix import blocklist_bundle

router = APIRouter(prefix="/v1", tags=["intel"])


@router.get("/blocklist")
def blocklist(_: Who, session: DB, state: State) -> Blocklist:
    """Addresses that reached consensus and have not expired."""
    now = state.clock()
    policy = state.policy
    return Blocklist(
        generated=now, min_reporters=policy.min_reporters, min_tenants=policy.min_tenants,
        window_s=policy.window_s,
        entries=[BlocklistItem(address=e.address, first_listed=e.first_listed,
                               last_confirmed=e.last_confirmed, expires=e.expires,
                               reporters=e.reporters, tenants=e.tenants, kinds=e.kinds)
                 for e in consensus.current(session, now)])


@router.get("/blocklist.txt", response_class=PlainTextResponse)
def blocklist_text(_: Who, session: DB, state: State) -> str:
    """One address per line (for ipset/nftables loaders)."""
    return "".join(f"{e.address}\n" for e in consensus.current(session, state.clock()))


@router.get("/blocklist.stix")
def blocklist_stix(_: Who, session: DB, state: State) -> dict[str, Any]:
    """The blocklist as a STIX 2.1 bundle: feed identity, indicators and sightings."""
    now = state.clock()
    entries = [(e.address, e.first_listed, e.last_confirmed, e.expires, e.reporters, e.kinds)
               for e in consensus.current(session, now)]
    return blocklist_bundle(entries, now)


@router.get("/bundles/{kind}/latest")
def latest_bundle(kind: str, _: Who, session: DB) -> dict[str, Any]:
    """The newest signed bundle of ``kind`` (verify it with ``/v1/signing-key``)."""
    document = bundles.latest(session, kind)
    if document is None:
        raise not_found(f"bundle {kind!r}")
    return document


@router.get("/signing-key")
def signing_key(_: Who, state: State) -> dict[str, str]:
    """The hub's Ed25519 public key that signs bundles (pin it in agent configuration)."""
    return {"key_id": state.signing_key.key_id, "public_key_pem": state.signing_key.public_pem()}
