"""The rule schema: what a YAML rule file may say (unknown keys are rejected).

CrowdSec scenarios are the model: a rule filters flows, groups them (``groupby``), counts
``distinct`` values or sums a column within an event-time ``window``, and alerts when the
measure reaches ``capacity``. ``labels`` carry MITRE ATT&CK ids. Code detectors (beaconing,
peer-to-peer, intel) take their parameters from rules of their own ``type``.

Example:
    >>> rule = ThresholdRule.model_validate({
    ...     "id": "scan.telnet", "type": "threshold", "kind": "scan", "severity": "high",
    ...     "meaning": "scans others for telnet", "groupby": ["id.orig_h"], "actor": "id.orig_h",
    ...     "target": "id.resp_h", "distinct": "id.resp_h", "capacity": 20, "window": 300,
    ...     "filter": [{"field": "id.resp_p", "in": [23, 2323]}]})
    >>> rule.capacity, rule.labels.mitre
    (20.0, [])
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from hedgerow.detect.match import Condition
from hedgerow.flows.schema import DERIVED_SCHEMA, FLOW_SCHEMA
from hedgerow.model import AlertKind, Severity

HOST_COLUMNS = ("id.orig_h", "id.resp_h")
DirectionName = Literal["inbound", "outbound", "internal", "external"]
DIRECTIONS: tuple[DirectionName, ...] = ("inbound", "outbound", "internal", "external")


class Labels(BaseModel):
    """Classification labels (MITRE ATT&CK technique ids, free tags)."""

    model_config = ConfigDict(extra="forbid")

    mitre: list[str] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)


class RuleBase(BaseModel):
    """Fields every rule has."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_.-]*$")
    version: str = "1"
    description: str = ""
    meaning: str
    kind: AlertKind
    severity: Severity
    confidence: float = Field(default=0.7, ge=0.0, le=1.0)
    directions: list[DirectionName] = Field(default_factory=lambda: list(DIRECTIONS))
    labels: Labels = Field(default_factory=Labels)
    references: list[str] = Field(default_factory=list)
    enabled: bool = True
    suppresses: list[str] = Field(default_factory=list)
    """Rule ids whose alerts about the same device and overlapping time this rule's alert
    explains (a SYN flood also looks like many sources probing one port): they are dropped."""


class ThresholdRule(RuleBase):
    """Group filtered flows per ``groupby`` and event-time window; alert at ``capacity``.

    The measure is the number of distinct ``distinct`` values if given, else the sum of ``sum``
    if given, else the number of flows. ``min_flows`` adds a floor on the flow count.
    """

    type: Literal["threshold"]
    filter: list[Condition] = Field(default_factory=list)
    groupby: list[str] = Field(min_length=1)
    actor: Literal["id.orig_h", "id.resp_h"]
    target: Literal["id.orig_h", "id.resp_h"]
    distinct: str | None = None
    sum: str | None = None
    capacity: float = Field(gt=0)
    min_flows: int = Field(default=1, ge=1)
    window: float = Field(gt=0)
    blackhole: float = Field(default=3600.0, ge=0)
    """Seconds a group must stay below capacity before its episode (alert) ends."""

    @model_validator(mode="after")
    def _check(self) -> ThresholdRule:
        if self.distinct and self.sum:
            raise ValueError("use either `distinct` or `sum`, not both")
        if self.actor == self.target:
            raise ValueError("`actor` and `target` must be different columns")
        for name in (*self.groupby, self.distinct, self.sum):
            if name is not None and name not in FLOW_SCHEMA:
                raise ValueError(f"unknown flow column {name!r}")
        for cond in self.filter:
            unknown = cond.columns() - set(FLOW_SCHEMA) - set(DERIVED_SCHEMA)
            if unknown:
                raise ValueError(f"filter uses unknown flow column(s) {sorted(unknown)}")
        return self


class BeaconRule(RuleBase):
    """Regular, low-jitter connections from one host to one peer and port."""

    type: Literal["beacon"]
    filter: list[Condition] = Field(default_factory=list)
    min_connections: int = Field(ge=4)
    max_cv: float = Field(gt=0, le=1)
    min_period: float = Field(gt=0)
    max_period: float = Field(gt=0)
    history: int = Field(default=64, ge=8, le=1024)


class P2PRule(RuleBase):
    """Many UDP peers receiving datagrams of one and the same size (a P2P botnet's overlay)."""

    type: Literal["p2p"]
    filter: list[Condition] = Field(default_factory=list)
    min_peers: int = Field(ge=2)
    window: float = Field(gt=0)
    blackhole: float = Field(default=3600.0, ge=0)


class IntelRule(RuleBase):
    """Flows to or from addresses, networks or domains on loaded indicator lists."""

    type: Literal["intel"]
    window: float = Field(default=3600.0, gt=0)
    blackhole: float = Field(default=3600.0, ge=0)
    match_payload_names: bool = True
    match_dns_answers: bool = True
    """Match the names and addresses DNS responses give, and attribute later flows to them."""
    resolution_cap: int = Field(default=4096, ge=0)
    """(device, address) pairs remembered from answers to listed names (0: no attribution)."""
    resolution_max_ttl: float = Field(default=3600.0, gt=0)
    """Longest an answer is trusted (seconds of event time), whatever its TTL says."""
    resolution_min_ttl: float = Field(default=60.0, ge=0)
    """Shortest an answer is trusted: a device connects right after it, even at TTL 0."""
    late_answer_flows: int = Field(default=100_000, ge=0)
    """Flows of the last ``lateness`` seconds kept for answers reported after them."""

    @model_validator(mode="after")
    def _check(self) -> IntelRule:
        if self.resolution_min_ttl > self.resolution_max_ttl:
            raise ValueError("`resolution_min_ttl` must not exceed `resolution_max_ttl`")
        return self


class ArpSpoofRule(RuleBase):
    """A second MAC claiming, again and again, an address whose owner still answers for it."""

    type: Literal["arp-spoof"]
    min_claims: int = Field(ge=1)
    window: float = Field(gt=0)
    """Longest gap (seconds) between one MAC's claims within one episode."""
    hold: float = Field(gt=0)
    """Seconds an address stays its first MAC's after that MAC was last heard for it."""
    max_addresses: int = Field(default=65_536, ge=1)


class DnsSpoofRule(RuleBase):
    """Two different answers to one DNS query from one server: a forger racing the resolver."""

    type: Literal["dns-spoof"]
    window: float = Field(default=2.0, gt=0)
    """Seconds after a response that another one to the same query counts as a race."""
    dedup_s: float = Field(default=3600.0, gt=0)
    max_pending: int = Field(default=65_536, ge=1)


Rule = Annotated[
    ThresholdRule | BeaconRule | P2PRule | IntelRule | ArpSpoofRule | DnsSpoofRule,
    Field(discriminator="type"),
]


class RuleFile(BaseModel):
    """One YAML file: a list of rules."""

    model_config = ConfigDict(extra="forbid")

    rules: list[Rule]
