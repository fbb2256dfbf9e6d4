"""Response policy: which alerts get which action, on whom, for how long.

A policy is a YAML file validated by pydantic (unknown keys are rejected). Rules are tried in
order; the first rule whose ``match`` fits an alert decides. A match names alert kinds, a
minimum severity, directions and device kinds; an omitted field matches anything. The action
says what to do (``block`` the peer, ``quarantine`` the device, ``rate_limit``, ``notify``),
``target`` says on whom (``peer`` = the other side of the alert, ``device`` = the local device),
and ``duration`` for how long (``90s``, ``30m``, ``1h``, ``2d`` or seconds).

Errors name the file, the line and the key: ``policy.yaml:12: rules.0.match.kindz: Extra
inputs are not permitted``.

Example:
    >>> policy = Policy.model_validate({"rules": [
    ...     {"name": "cut-off-scanners", "action": "quarantine", "target": "device",
    ...      "duration": "1h", "match": {"kind": ["scan"], "direction": ["outbound"],
    ...                                  "min_severity": "medium"}}]})
    >>> rule = policy.rules[0]
    >>> rule.duration_s, rule.match.fits("scan", "high", "outbound", None)
    (3600.0, True)
    >>> rule.match.fits("scan", "low", "outbound", None)
    False
"""

from __future__ import annotations

import ipaddress
import re
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from hedgerow.model import AlertKind, DecisionAction, Direction, Severity

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$")
_UNIT_S = {"": 1.0, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


class PolicyError(ValueError):
    """A policy file could not be read; the message is one line naming file, line and key."""


def parse_duration(value: str | float | int) -> float:
    """Seconds from ``90``, ``"90s"``, ``"30m"``, ``"1h"`` or ``"2d"``.

    >>> parse_duration("30m"), parse_duration(45)
    (1800.0, 45.0)
    """
    if isinstance(value, int | float) and not isinstance(value, bool):
        seconds = float(value)
    else:
        found = _DURATION.match(str(value))
        if found is None:
            raise ValueError(f"duration {value!r}: use a number with s, m, h or d (e.g. 30m)")
        seconds = float(found.group(1)) * _UNIT_S[found.group(2)]
    if seconds <= 0:
        raise ValueError(f"duration {value!r} must be positive")
    return seconds


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Match(_Strict):
    """Which alerts a rule applies to; an omitted field matches everything."""

    kind: tuple[AlertKind, ...] | None = None
    min_severity: Severity = Severity.INFO
    direction: tuple[Direction, ...] | None = None
    device_kind: tuple[str, ...] | None = None

    def fits(self, kind: str, severity: str, direction: str, device_kind: str | None) -> bool:
        """Does an alert with these attributes match? ``device_kind=None`` is ``unknown``."""
        if self.kind is not None and AlertKind(kind) not in self.kind:
            return False
        if Severity(severity).rank < self.min_severity.rank:
            return False
        if self.direction is not None and Direction(direction) not in self.direction:
            return False
        return self.device_kind is None or (device_kind or "unknown") in self.device_kind


class Rule(_Strict):
    """One line of policy: match → action on a target for a duration."""

    name: str = Field(min_length=1)
    match: Match = Match()
    action: DecisionAction
    target: Literal["peer", "device"] = "peer"
    duration: str | float = "1h"

    @field_validator("duration")
    @classmethod
    def _check_duration(cls, value: str | float) -> str | float:
        parse_duration(value)
        return value

    @property
    def duration_s(self) -> float:
        return parse_duration(self.duration)


class RateLimit(_Strict):
    """What ``rate_limit`` means: packets per second (and burst) allowed from a target."""

    packets_per_second: int = Field(default=100, ge=1, le=10_000_000)
    burst: int = Field(default=50, ge=0, le=10_000_000)


class Policy(_Strict):
    """A whole policy file."""

    version: Literal[1] = 1
    management: tuple[str, ...] = ()
    """Addresses/CIDRs never blocked, quarantined or rate-limited (besides the gateway's own)."""
    max_peers_per_alert: int = Field(default=16, ge=1, le=4096)
    """At most this many peer addresses are blocked for one alert (a scan has many)."""
    rate_limit: RateLimit = RateLimit()
    rules: tuple[Rule, ...] = ()

    @field_validator("management")
    @classmethod
    def _check_management(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for entry in value:
            try:
                ipaddress.ip_network(entry, strict=False)
            except ValueError:
                raise ValueError(f"{entry!r} is not an IP address or CIDR") from None
        return value

    def rule_for(
        self, kind: str, severity: str, direction: str, device_kind: str | None
    ) -> Rule | None:
        """The first rule whose match fits, else ``None``."""
        for rule in self.rules:
            if rule.match.fits(kind, severity, direction, device_kind):
                return rule
        return None


def default_policy_path() -> Path:
    """The policy shipped with Hedgerow (``hedgerow/respond/policies/default.yaml``)."""
    return Path(str(resources.files("hedgerow.respond") / "policies" / "default.yaml"))


def load_policy(path: str | Path | None = None) -> Policy:
    """Read and validate a policy file (the shipped default when ``path`` is None).

    Raises :class:`PolicyError` with a one-line message naming the file, line and key.
    """
    source = Path(path) if path is not None else default_policy_path()
    try:
        text = source.read_text(encoding="utf-8")
    except OSError as exc:
        raise PolicyError(f"{source}: cannot read policy: {exc.strerror or exc}") from None
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise PolicyError(f"{source}{line}: not valid YAML: {problem}") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise PolicyError(f"{source}:1: a policy is a mapping with a 'rules' list")
    try:
        return Policy.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = tuple(err["loc"])
        key = ".".join(str(part) for part in loc) or "(top)"
        raise PolicyError(f"{source}:{_line_of(node, loc)}: {key}: {_short(err['msg'])}") from None


def _short(message: str) -> str:
    return message.replace("\n", " ")


def _line_of(node: yaml.Node | None, loc: tuple[Any, ...]) -> int:
    """1-based line of the deepest YAML node reachable along a pydantic error location."""
    line = node.start_mark.line + 1 if node is not None else 1
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            child = None
            for key_node, value_node in node.value:
                if key_node.value == part:
                    line = key_node.start_mark.line + 1
                    child = value_node
                    break
            if child is None:
                return line
            node = child
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            if part >= len(node.value):
                return line
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            return line
    return line
