"""The ground-truth labels format (JSON, pydantic-validated; see ``docs/ground-truth.md``).

One file lists captures (paths relative to a corpus root, globs allowed) with the attacks
each contains: attacker, victim (``*`` for "many"), kind, direction, optional time window.
``benign: true`` means no alert at all is acceptable; ``flow_labels: true`` means the file is
a labelled conn.log whose ``label`` column gives per-flow truth (IoT-23/Stratosphere).

Example:
    >>> gt = GroundTruth.model_validate({"schema_version": "1", "source": "demo", "captures": [
    ...     {"path": "x.pcap", "reference": "README", "attacks": [{"attacker": "10.0.0.5",
    ...      "victim": "*", "kind": "scan", "direction": "outbound"}]}]})
    >>> gt.captures[0].attacks[0].kind.value
    'scan'
"""

from __future__ import annotations

import glob
import json
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from hedgerow.model import AlertKind

Direction = Literal["inbound", "outbound", "internal", "external"]


class Attack(BaseModel):
    """One attack in a capture: who did what to whom, which way, and when (epoch seconds)."""

    model_config = ConfigDict(extra="forbid")

    attacker: str
    victim: str = "*"
    kind: AlertKind
    direction: Direction
    start: float | None = None
    end: float | None = None
    requires: list[str] = Field(default_factory=list)
    """Flow-source capabilities the detection needs (e.g. ``arp``: ARP rows in the flows);
    the attack is reported as not scorable while the flows lack them."""
    note: str = ""


class CaptureTruth(BaseModel):
    """One capture (or a glob of captures sharing the same truth)."""

    model_config = ConfigDict(extra="forbid")

    path: str
    reference: str
    home_net: list[str] = Field(default_factory=list)
    benign: bool = False
    flow_labels: bool = False
    attacks: list[Attack] = Field(default_factory=list)

    @model_validator(mode="after")
    def _check(self) -> CaptureTruth:
        if self.benign and self.attacks:
            raise ValueError("a benign capture lists no attacks")
        if not self.benign and not self.attacks and not self.flow_labels:
            raise ValueError("list the attacks, or mark the capture benign")
        return self

    def files(self, root: Path) -> list[Path]:
        """The capture files this entry names under ``root`` (sorted)."""
        return sorted(Path(p) for p in glob.glob(str(root / self.path), recursive=True))


class GroundTruth(BaseModel):
    """A ground-truth file."""

    model_config = ConfigDict(extra="forbid")

    schema_version: Literal["1"]
    source: str
    description: str = ""
    captures: list[CaptureTruth]


class TruthError(ValueError):
    """A ground-truth file is invalid (one line: file, key, problem)."""


def load_ground_truth(path: Path) -> GroundTruth:
    """Read and validate one ground-truth JSON file."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise TruthError(f"{path}: cannot read: {exc}") from None
    except json.JSONDecodeError as exc:
        raise TruthError(f"{path}:{exc.lineno}: JSON: {exc.msg}") from None
    try:
        return GroundTruth.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        key = ".".join(str(p) for p in err["loc"])
        raise TruthError(f"{path}: {key}: {err['msg']}") from None
