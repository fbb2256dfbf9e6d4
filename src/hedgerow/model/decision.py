"""Decisions: what to do about an alert; made by policy, carried out by enforcers.

Example:
    >>> d = Decision(action=DecisionAction.BLOCK, scope="ip", value="203.0.113.9",
    ...     duration_s=3600, reason="bruteforce inbound", alert_id="abc", created=0.0)
    >>> d.expires
    3600.0
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any


class DecisionAction(StrEnum):
    BLOCK = "block"
    QUARANTINE = "quarantine"
    RATE_LIMIT = "rate_limit"
    NOTIFY = "notify"


@dataclass(frozen=True)
class Decision:
    """A reversible action with a scope (``ip``, ``device``, ``process``...) and a duration."""

    action: DecisionAction
    scope: str
    value: str
    duration_s: float
    reason: str
    alert_id: str
    created: float

    @property
    def expires(self) -> float:
        return self.created + self.duration_s

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["action"] = self.action.value
        out["expires"] = self.expires
        return out
