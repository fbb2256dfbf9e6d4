"""The agent's hub link: send its spool to the hub and block the community blocklist.

The agent already spools every alert, finding and action; with a hub configured
(``[hub]`` table or ``hedgerow agent run --hub``) each cycle drains that spool when due and
pulls the blocklist when due, blocking each listed address with the agent's own nftables table
(reason ``community blocklist``). Management addresses are refused by the table itself, and a
dry-run agent only logs what it would block.

Example:
    >>> import tempfile
    >>> from hedgerow.agent.config import AgentConfig
    >>> from hedgerow.agent.protect import Protector
    >>> from hedgerow.telemetry.publish import BlockTracker, Listed
    >>> cfg = AgentConfig.from_dict({"state_dir": tempfile.mkdtemp(),
    ...     "protect": {"dry_run": True, "management": ["45.95.147.2"]}})
    >>> records = block_listed(Protector(cfg), [Listed("45.95.147.1", 9e9),
    ...     Listed("45.95.147.2", 9e9)], BlockTracker(3600), now=0.0)
    >>> [(r["target"], r["ok"], r["reason"]) for r in records]
    [('45.95.147.1', True, 'community blocklist'), ('45.95.147.2', False, 'community blocklist')]
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from hedgerow.agent.core import Agent
from hedgerow.agent.protect import Protector
from hedgerow.respond.nftables import NftError
from hedgerow.telemetry.client import HubClient, HubError, client_from_file
from hedgerow.telemetry.publish import BLOCKLIST_REASON, BlockTracker, HubLink, Listed


def block_listed(protector: Protector, listed: Iterable[Listed], tracker: BlockTracker,
                 now: float) -> list[dict[str, Any]]:
    """Block the listed addresses that are due; returns the action-log records written."""
    p = protector.cfg.protect
    if not p.enabled:
        return []
    records: list[dict[str, Any]] = []
    todo = tracker.due(listed, now)
    if not todo:
        return records
    error = protector.prepare()
    for address in todo:
        common: dict[str, Any] = {"ts": now, "reason": BLOCKLIST_REASON, "dry_run": p.dry_run}
        try:
            if error:
                raise NftError(error)
            entry = protector.nft.block(address, p.block_duration_s, reason=BLOCKLIST_REASON)
        except NftError as exc:
            records.append(protector.log.write("block", address, ok=False, error=str(exc),
                                               **common))
            continue
        records.append(protector.log.write("block", address, ok=True, set=entry.set_name,
                                           duration_s=p.block_duration_s,
                                           table=protector.nft.table, **common))
    return records


def attach(agent: Agent, url: str | None = None, credentials: str | None = None) -> HubLink | None:
    """Connect ``agent`` to its hub (``[hub]`` table, overridden by ``url``/``credentials``).

    Returns the link, or None when no hub is configured. Raises
    :class:`~hedgerow.telemetry.client.HubError` when the credentials file is unusable.
    """
    hub = agent.config.hub
    cred = credentials or hub.credentials
    if not cred:
        if url or hub.url:
            raise HubError("a hub URL needs credentials: --hub-credential FILE or "
                           "[hub] credentials (from `hedgerow hub enrol --save`)")
        return None
    link = HubLink(_client(url or hub.url or None, cred), agent.spool,
                   drain_every_s=hub.drain_interval_s,
                   blocklist_every_s=hub.blocklist_interval_s if hub.block else 0.0)
    tracker = BlockTracker(agent.config.protect.block_duration_s)

    def cycle() -> None:
        _, listed = link.tick()
        if listed is not None:
            for record in block_listed(agent.protector, listed, tracker, agent.clock()):
                agent.record_action(record)
        if link.last_error:
            message = f"hub: {link.last_error}"
            if message not in agent.errors[-5:]:
                agent.errors.append(message)

    agent.on_cycle(cycle)
    return link


def _client(url: str | None, credentials: str) -> HubClient:
    client = client_from_file(credentials)
    return HubClient(url, client.token) if url else client
