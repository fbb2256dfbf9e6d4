"""The live gateway's hub link: send alerts and decisions, block the community blocklist.

``hedgerow sense --hub URL --hub-credential FILE`` spools every alert and the decisions taken
for it, drains the spool when due, and pulls the hub's blocklist when due; each listed address
becomes a ``block`` decision with reason ``community blocklist`` that goes through the decision
engine like the policy's own (management addresses refused, logged, dry-run respected).

Example:
    >>> from hedgerow.respond.decisions import DecisionEngine          # doctest: +SKIP
    >>> gateway = GatewayHub(open_hub_link(None, "hub.json", "spool.db"), engine,
    ...                      block_duration_s=3600)                    # doctest: +SKIP
    >>> gateway.on_alert(alert, outcomes); gateway.tick()             # doctest: +SKIP
"""

from __future__ import annotations

import time
from collections.abc import Callable

from hedgerow.model import Alert, Decision, DecisionAction
from hedgerow.respond.decisions import DecisionEngine, Outcome
from hedgerow.telemetry.client import HubError
from hedgerow.telemetry.publish import BLOCKLIST_REASON, BlockTracker, HubLink, default_spool_path

RULE = "hub-community-blocklist"


class GatewayHub:
    """Glue between the sensor's callbacks and a :class:`HubLink`."""

    def __init__(self, link: HubLink, engine: DecisionEngine, block_duration_s: float = 3600.0,
                 clock: Callable[[], float] = time.time) -> None:
        self.link = link
        self.engine = engine
        self.block_duration_s = block_duration_s
        self.clock = clock
        self.tracker = BlockTracker(block_duration_s)

    def on_alert(self, alert: Alert, outcomes: list[Outcome]) -> None:
        """Spool an alert and the decisions taken for it (called by the decision thread)."""
        self.link.put_alerts([alert])
        self.link.put_decisions(o.decision for o in outcomes)

    def tick(self) -> list[Outcome]:
        """Drain and pull when due; returns the outcomes of new blocklist decisions."""
        _, listed = self.link.tick()
        if not listed:
            return []
        now = self.clock()
        decisions = [Decision(action=DecisionAction.BLOCK, scope="ip", value=address,
                              duration_s=self.block_duration_s, reason=BLOCKLIST_REASON,
                              alert_id=f"hub-blocklist-{address}", created=now)
                     for address in self.tracker.due(listed, now)]
        outcomes = self.engine.decide(decisions, RULE) if decisions else []
        self.link.put_decisions(o.decision for o in outcomes if o.status != "refused")
        return outcomes


def open_hub_link(url: str | None, credential: str | None,
                  spool: str | None) -> HubLink | None:
    """The gateway's hub link from its options, or None without ``--hub-credential``.

    Raises :class:`~hedgerow.telemetry.client.HubError` or
    :class:`~hedgerow.telemetry.spool.SpoolError` (one line) when it cannot be opened.
    """
    if credential is None:
        if url:
            raise HubError("--hub needs --hub-credential FILE "
                           "(written by `hedgerow hub enrol --save`)")
        return None
    return HubLink.open(url, credential, spool or default_spool_path())
