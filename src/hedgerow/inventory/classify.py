"""Who made a device and what it is, from evidence, by rules kept in data files.

``rules/vendors.yaml`` says how brands show in MAC registrations, domains and self-descriptions;
``rules/kinds.yaml`` votes for kinds from evidence fields. Both are validated on load (unknown
keys and bad regular expressions are refused with the file and rule named).

Example:
    >>> c = Classifier.load()
    >>> ev = {"oui": ["TP-LINK TECHNOLOGIES CO.,LTD."], "name": ["HS100(EU)"],
    ...       "domain": ["devs.tplinkcloud.com"]}
    >>> vendor = c.vendor(ev)
    >>> vendor.name
    'TP-Link'
    >>> verdict = c.kind({**ev, "vendor": [vendor.name]})
    >>> verdict.kind, verdict.confidence >= 0.9, verdict.evidence[0]
    ('plug', True, 'tplink-plug: name=HS100(EU)')
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
)

Evidence = Mapping[str, Iterable[str]]

FIELDS = ("vendor", "oui", "hostname", "dhcp_vendor_class", "dhcp_fingerprint", "domain",
          "mdns_service", "name", "upnp_type", "ssdp_server", "ssdp_usn", "user_agent",
          "http_path", "http_server", "service", "role", "maker_text", "ssdp_location")
_Field = Literal["vendor", "oui", "hostname", "dhcp_vendor_class", "dhcp_fingerprint", "domain",
                 "mdns_service", "name", "upnp_type", "ssdp_server", "ssdp_usn", "user_agent",
                 "http_path", "http_server", "service", "role", "maker_text", "ssdp_location"]

# Weights of each kind of vendor evidence (combined like the kind votes).
_OUI_WEIGHT, _MODULE_WEIGHT, _DOMAIN_WEIGHT, _TEXT_WEIGHT = 0.6, 0.2, 0.5, 0.6


class RuleError(ValueError):
    """A rule file that does not validate; the message names the file and the rule."""


def _check_regex(value: str, flags: int = 0) -> str:
    """``value`` if it compiles (with the ``flags`` the classifier uses, so its compiling
    again finds it in the ``re`` module's cache)."""
    try:
        re.compile(value, flags)
    except re.error as exc:
        raise ValueError(f"bad regular expression {value!r}: {exc}") from None
    return value


class KindRule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str
    field: _Field
    pattern: str
    kind: str
    weight: float = Field(gt=0.0, le=1.0)
    vendor: str | None = None

    @field_validator("pattern")
    @classmethod
    def _regex(cls, value: str) -> str:
        return _check_regex(value, re.I)


class KindRules(BaseModel):
    model_config = ConfigDict(extra="forbid")
    min_confidence: float = Field(ge=0.0, le=1.0)
    rules: list[KindRule]


class Brand(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str
    oui: list[str] = []
    domains: list[str] = []
    text: list[str] = []

    @field_validator("oui", "domains", "text")
    @classmethod
    def _regexes(cls, values: list[str], info: ValidationInfo) -> list[str]:
        flags = 0 if info.field_name == "text" else re.I
        return [_check_regex(v, flags) for v in values]


class VendorRules(BaseModel):
    model_config = ConfigDict(extra="forbid")
    module_makers: list[str]
    brands: list[Brand]


@dataclass(frozen=True, slots=True)
class VendorVerdict:
    """The maker: brand name (or the registered organisation), confidence, evidence."""

    name: str | None
    confidence: float
    evidence: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class KindVerdict:
    """The kind (``None`` when unknown), its confidence, and the rule hits behind it."""

    kind: str | None
    confidence: float
    evidence: tuple[str, ...]
    scores: dict[str, float]


def _load_yaml(text: str) -> object:
    """``yaml.safe_load`` with libyaml's parser when PyYAML has it (same data, less CPU)."""
    return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


def _read(path: Path | None, default: str) -> tuple[str, object]:
    if path is None:
        source = resources.files("hedgerow.inventory").joinpath("rules", default)
        return f"hedgerow/inventory/rules/{default}", _load_yaml(source.read_text("utf-8"))
    try:
        return str(path), _load_yaml(path.read_text("utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise RuleError(f"{path}: {exc}".splitlines()[0]) from None


def _validate(model: type[BaseModel], name: str, data: object) -> BaseModel:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"])
        raise RuleError(f"{name}: {where}: {err['msg']}") from None


def _noisy_or(weights: Iterable[float]) -> float:
    rest = 1.0
    for w in weights:
        rest *= 1.0 - w
    return 1.0 - rest


class Classifier:
    """Vendor and kind verdicts from an evidence mapping (field name -> observed strings)."""

    def __init__(self, kinds: KindRules, vendors: VendorRules) -> None:
        self.kinds = kinds
        self.vendors = vendors
        self._kind_re = [(r, re.compile(r.pattern, re.I)) for r in kinds.rules]
        self._modules = [re.compile(p, re.I) for p in vendors.module_makers]
        self._brands = [
            (b, [re.compile(p, re.I) for p in b.oui], [re.compile(p, re.I) for p in b.domains],
             [re.compile(p) for p in b.text])
            for b in vendors.brands
        ]

    @classmethod
    def load(cls, kinds_path: Path | None = None, vendors_path: Path | None = None) -> Classifier:
        """Load the shipped rule files, or the given ones (``RuleError`` names file and key)."""
        kname, kdata = _read(kinds_path, "kinds.yaml")
        vname, vdata = _read(vendors_path, "vendors.yaml")
        kinds = _validate(KindRules, kname, kdata)
        vendors = _validate(VendorRules, vname, vdata)
        assert isinstance(kinds, KindRules) and isinstance(vendors, VendorRules)
        return cls(kinds, vendors)

    def vendor(self, evidence: Evidence) -> VendorVerdict:
        """The brand best supported by MAC registration, domains and self-description."""
        votes: dict[str, list[tuple[float, str]]] = {}
        oui_orgs = list(evidence.get("oui", ()))
        for org in oui_orgs:
            module = any(p.search(org) for p in self._modules)
            owner = next((b.name for b, ouis, _, _ in self._brands
                          if any(p.search(org) for p in ouis)), None)
            weight = _MODULE_WEIGHT if module else _OUI_WEIGHT
            votes.setdefault(owner or org, []).append((weight, f"oui={org}"))
        domains = sorted(set(evidence.get("domain", ())))
        texts = sorted(set(evidence.get("maker_text", ())))
        for brand, _, dom_re, text_re in self._brands:
            for name in domains:
                if any(p.search(name) for p in dom_re):
                    votes.setdefault(brand.name, []).append((_DOMAIN_WEIGHT, f"domain={name}"))
            for text in texts:
                if any(p.search(text) for p in text_re):
                    votes.setdefault(brand.name, []).append((_TEXT_WEIGHT, f"text={text}"))
        if not votes:
            return VendorVerdict(None, 0.0, ())
        scored = {name: (_noisy_or(w for w, _ in hits[:4]), hits) for name, hits in votes.items()}
        best = max(scored, key=lambda n: (scored[n][0], n))
        score, hits = scored[best]
        return VendorVerdict(best, round(score, 3), tuple(e for _, e in hits[:6]))

    def kind(self, evidence: Evidence) -> KindVerdict:
        """The kind with the highest combined rule vote, with the hits that made it."""
        vendor = next(iter(evidence.get("vendor", ())), None)
        hits: dict[str, dict[str, tuple[float, str]]] = {}
        for rule, regex in self._kind_re:
            if rule.vendor is not None and rule.vendor != vendor:
                continue
            for value in evidence.get(rule.field, ()):
                if regex.search(value):
                    hits.setdefault(rule.kind, {}).setdefault(
                        rule.id, (rule.weight, f"{rule.id}: {rule.field}={value}"))
                    break
        scores = {k: round(_noisy_or(w for w, _ in v.values()), 3) for k, v in hits.items()}
        if not scores:
            return KindVerdict(None, 0.0, (), {})
        best = max(scores, key=lambda k: (scores[k], k))
        if scores[best] < self.kinds.min_confidence:
            return KindVerdict(None, scores[best], (), scores)
        ordered = sorted(hits[best].values(), key=lambda h: -h[0])
        return KindVerdict(best, scores[best], tuple(e for _, e in ordered), scores)
