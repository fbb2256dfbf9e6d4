"""Rule test cases: a small real (or replayed) input beside the rules, and the alerts expected.

A case is a folder holding ``case.yaml`` and its input file::

    input: sshguess.pcap            # capture or Zeek conn.log, in this folder
    home_net: [192.168.56.0/24]     # optional, default RFC 1918...
    intel: [feed.stix.json]         # optional indicator files, in this folder
    source: "zeek/zeek testing/btest/Traces/ssh/sshguess.pcap (BSD-3-Clause, see LICENSE)"
    exact: true                     # no alerts besides the expected ones
    expect:
      - {detector: bruteforce.ssh, device: 192.168.56.1, direction: internal}

Example:
    >>> from hedgerow.detect.ruleload import builtin_rules_dir
    >>> cases = find_cases(builtin_rules_dir())
    >>> any(c.name == "zeek-sshguess" for c in cases)
    True
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from hedgerow.detect.engine import DetectionEngine
from hedgerow.detect.ruleload import RuleError
from hedgerow.flows.source import FlowReader
from hedgerow.model import Alert, LocalNetworks

CASE_FILE = "case.yaml"


class ExpectedAlert(BaseModel):
    """What an expected alert must match (unset fields match anything)."""

    model_config = ConfigDict(extra="forbid")

    detector: str
    device: str | None = None
    direction: str | None = None
    kind: str | None = None
    peer: str | None = None

    def matches(self, alert: Alert) -> bool:
        return (
            alert.detector == self.detector
            and (self.device is None or alert.device == self.device)
            and (self.direction is None or alert.direction == self.direction)
            and (self.kind is None or alert.kind.value == self.kind)
            and (self.peer is None or self.peer in alert.peers)
        )


class Case(BaseModel):
    """One ``case.yaml``."""

    model_config = ConfigDict(extra="forbid")

    input: str
    source: str
    home_net: list[str] = Field(default_factory=list)
    intel: list[str] = Field(default_factory=list)
    exact: bool = True
    expect: list[ExpectedAlert] = Field(default_factory=list)


@dataclass
class CaseResult:
    """How one case went."""

    name: str
    path: Path
    passed: bool
    alerts: list[Alert] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    error: str | None = None


@dataclass(frozen=True)
class CaseDir:
    """A folder with a ``case.yaml``."""

    path: Path

    @property
    def name(self) -> str:
        return self.path.name


def find_cases(root: Path) -> list[CaseDir]:
    """Every case folder under ``root`` (sorted)."""
    return [CaseDir(p.parent) for p in sorted(Path(root).rglob(CASE_FILE))]


def load_case(case: CaseDir) -> Case:
    path = case.path / CASE_FILE
    try:
        return Case.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
    except (OSError, yaml.YAMLError) as exc:
        raise RuleError(f"{path}: {exc}") from None
    except ValidationError as exc:
        err = exc.errors()[0]
        key = ".".join(str(p) for p in err["loc"])
        raise RuleError(f"{path}: {key}: {err['msg']}") from None


def run_case(case: CaseDir, rule_dirs: list[Path], read: FlowReader) -> CaseResult:
    """Run the built-in rules plus ``rule_dirs`` over the case's input; compare results."""
    try:
        spec = load_case(case)
        networks = LocalNetworks.parse(spec.home_net) if spec.home_net else None
        engine = DetectionEngine.from_rule_dirs(
            rule_dirs, networks=networks, intel_files=[case.path / f for f in spec.intel]
        )
        for batch in read(case.path / spec.input, engine.packet_observers):
            engine.process(batch)
        alerts = engine.finish()
    except (RuleError, ValueError, OSError) as exc:
        return CaseResult(case.name, case.path, False, error=str(exc).splitlines()[0])
    missing = [
        f"{e.detector} {e.device or '*'} {e.direction or '*'}"
        for e in spec.expect
        if not any(e.matches(a) for a in alerts)
    ]
    unexpected = []
    if spec.exact:
        unexpected = [
            f"{a.detector} {a.device} {a.direction}"
            for a in alerts
            if not any(e.matches(a) for e in spec.expect)
        ]
    passed = not missing and not unexpected
    return CaseResult(case.name, case.path, passed, alerts, missing, unexpected)
