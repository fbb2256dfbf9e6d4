"""Risk-assessment checks mapped to ETSI EN 303 645, NISTIR 8259A and the OWASP IoT Top 10.

The mapping is data (``standards.yaml`` beside this module); :func:`load_standards` validates it
(unknown or missing keys are one clear error naming the check) and :func:`make_finding` turns a
check id plus evidence into a :class:`hedgerow.model.Finding` carrying the clauses and fixes.

Example:
    >>> f = make_finding("svc.telnet-listening", device="cam-1", evidence={"port": 23})
    >>> f.severity.value, f.standards["owasp_iot_2018"]
    ('high', ['I2', 'I9'])
    >>> "5.6-1" in f.standards["etsi_en_303_645"]
    True
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from hedgerow.model import Finding, Severity

STANDARDS = ("etsi_en_303_645", "nistir_8259a", "owasp_iot_2018")
_REQUIRED = {"title", "severity", *STANDARDS, "fix_household", "fix_manufacturer"}
_ALLOWED = _REQUIRED | {"notes"}
DEFAULT_PATH = Path(__file__).with_name("standards.yaml")


class StandardsError(ValueError):
    """The mapping file is malformed (message names the file and the check)."""


@dataclass(frozen=True)
class CheckInfo:
    """What a check means: title, default severity, clauses per standard, fixes."""

    check_id: str
    title: str
    severity: Severity
    standards: dict[str, list[str]]
    fix_household: str
    fix_manufacturer: str


def load_standards(path: str | os.PathLike[str] | None = None) -> dict[str, CheckInfo]:
    """Check id -> :class:`CheckInfo`, from ``path`` or the packaged mapping (cached)."""
    return _load(str(path or DEFAULT_PATH))


@lru_cache(maxsize=8)
def _load(path: str) -> dict[str, CheckInfo]:
    try:
        with open(path, encoding="utf-8") as fh:
            # libyaml's parser when PyYAML has it: the same data for a fraction of the CPU
            doc = yaml.load(fh, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except (OSError, yaml.YAMLError) as exc:
        raise StandardsError(f"{path}: {str(exc).splitlines()[0]}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("checks"), dict):
        raise StandardsError(f"{path}: expected a mapping with a 'checks' mapping")
    out: dict[str, CheckInfo] = {}
    for check_id, spec in doc["checks"].items():
        out[check_id] = _parse(path, str(check_id), spec)
    return out


def _parse(path: str, check_id: str, spec: Any) -> CheckInfo:
    where = f"{path}: check {check_id!r}"
    if not isinstance(spec, dict):
        raise StandardsError(f"{where}: expected a mapping")
    unknown = set(spec) - _ALLOWED
    missing = _REQUIRED - set(spec)
    if unknown:
        raise StandardsError(f"{where}: unknown key(s) {sorted(unknown)}")
    if missing:
        raise StandardsError(f"{where}: missing key(s) {sorted(missing)}")
    try:
        severity = Severity(spec["severity"])
    except ValueError:
        raise StandardsError(f"{where}: severity {spec['severity']!r} is not one of "
                             f"{[s.value for s in Severity]}") from None
    clauses: dict[str, list[str]] = {}
    for std in STANDARDS:
        value = spec[std]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise StandardsError(f"{where}: {std} must be a list of clause strings")
        clauses[std] = list(value)
    return CheckInfo(check_id, str(spec["title"]), severity, clauses,
                     str(spec["fix_household"]), str(spec["fix_manufacturer"]))


def make_finding(check_id: str, device: str, evidence: dict[str, Any] | None = None,
                 title: str | None = None, severity: Severity | None = None,
                 mapping: dict[str, CheckInfo] | None = None) -> Finding:
    """A Finding for ``check_id`` with its clauses and fixes; raises KeyError for unknown ids."""
    table = mapping if mapping is not None else load_standards()
    try:
        info = table[check_id]
    except KeyError:
        raise KeyError(f"check {check_id!r} is not in the standards mapping") from None
    return Finding(check_id=check_id, device=device, severity=severity or info.severity,
                   title=title or info.title, evidence=dict(evidence or {}),
                   fix_household=info.fix_household, fix_manufacturer=info.fix_manufacturer,
                   standards={k: list(v) for k, v in info.standards.items()})
