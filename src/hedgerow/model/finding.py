"""Findings: risk-assessment results about a device (a weakness, not an attack).

Example:
    >>> f = Finding(check_id="net.telnet-open", device="192.168.1.30",
    ...     severity=Severity.HIGH, title="Telnet is open",
    ...     evidence={"port": 23}, fix_household="Turn off telnet in the app.",
    ...     fix_manufacturer="Ship with telnet disabled.",
    ...     standards={"etsi_en_303_645": ["5.1-1"], "nistir_8259a": ["Device Security"],
    ...                "owasp_iot_2018": ["I2"]})
    >>> Finding.from_dict(f.to_dict()) == f
    True
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hedgerow.model.alert import Severity
from hedgerow.model.plain import fields_dict


@dataclass(frozen=True)
class Finding:
    """One check's result about one device, with fixes and the standards clauses it bears on."""

    check_id: str
    device: str
    severity: Severity
    title: str
    evidence: dict[str, Any] = field(default_factory=dict)
    fix_household: str = ""
    fix_manufacturer: str = ""
    standards: dict[str, list[str]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        out = fields_dict(self)
        out["severity"] = self.severity.value
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Finding:
        fields = dict(data)
        fields["severity"] = Severity(fields["severity"])
        return cls(**fields)
