"""Read indicator files: plain lists, CSV and STIX 2.1 bundles (format from content/suffix).

Plain: one indicator per line, ``#`` comments, an optional ``# category: mining`` header.
CSV: a header row with a value column (``indicator``, ``value``, ``ioc``, ``ip``, ``domain``,
``cidr`` or ``dst_ip``) and optionally ``category``/``type``/``threat`` and ``description``.
STIX 2.1: ``indicator`` objects whose ``pattern`` compares ``ipv4-addr:value``,
``ipv6-addr:value``, ``domain-name:value`` or ``url:value``, plus bare SCO objects.

Example:
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "bad.txt"
    >>> _ = p.write_text("# category: c2\\n198.51.100.7\\nevil.example\\n")
    >>> s = load_indicators(p)
    >>> len(s), s.lookup_ip("198.51.100.7").category
    (2, 'c2')
"""

from __future__ import annotations

import csv
import io
import json
import re
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from hedgerow.intel.indicators import CATEGORIES, IndicatorSet

_VALUE_COLUMNS = (
    "indicator",
    "value",
    "ioc",
    "ip",
    "ip_address",
    "domain",
    "cidr",
    "dst_ip",
    "host",
)
_CATEGORY_COLUMNS = ("category", "type", "threat", "threat_type", "malware")
_STIX_COMPARISON = re.compile(
    r"(ipv4-addr|ipv6-addr|domain-name|url):value\s*(?:=|ISSUBSET)\s*'((?:[^'\\]|\\.)*)'"
)


class IntelError(ValueError):
    """An indicator file cannot be read; one line naming the file and the place."""


def builtin_intel_files() -> list[Path]:
    """Indicator lists shipped with the package (e.g. mining-pool domains)."""
    root = Path(str(resources.files("hedgerow.intel") / "data"))
    return sorted(p for p in root.iterdir() if p.suffix in (".txt", ".csv", ".json"))


def load_indicators(path: Path, source: str | None = None) -> IndicatorSet:
    """Load one indicator file of any supported format."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise IntelError(f"{path}: cannot read: {exc}") from None
    src = source or path.name
    stripped = text.lstrip()
    if path.suffix == ".json" or stripped.startswith("{"):
        return _load_stix(path, text, src)
    if path.suffix == ".csv":
        return _load_csv(path, text, src)
    return _load_plain(path, text, src)


def _category(text: str) -> str:
    low = text.lower()
    for cat in CATEGORIES:
        if cat in low:
            return cat
    if "miner" in low or "pool" in low or "crypto" in low:
        return "mining"
    if "command" in low or "botnet" in low or "cnc" in low:
        return "c2"
    return "intel"


def _load_plain(path: Path, text: str, src: str) -> IndicatorSet:
    out = IndicatorSet()
    category = "intel"
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if line.startswith("#"):
            m = re.match(r"#\s*category\s*:\s*(\S+)", line)
            if m:
                category = _category(m.group(1))
            continue
        value = line.split("#", 1)[0].split()[0] if line.split("#", 1)[0].strip() else ""
        if not value:
            continue
        try:
            out.add(value, category=category, source=src)
        except ValueError as exc:
            raise IntelError(f"{path}:{lineno}: {exc}") from None
    return out


def _load_csv(path: Path, text: str, src: str) -> IndicatorSet:
    lines = [ln for ln in text.splitlines() if not ln.startswith("#")]
    reader = csv.DictReader(io.StringIO("\n".join(lines)))
    fields = [f.strip().lower() for f in reader.fieldnames or []]
    value_col = next((f for f in _VALUE_COLUMNS if f in fields), None)
    if value_col is None:
        raise IntelError(f"{path}:1: CSV needs a value column, one of {', '.join(_VALUE_COLUMNS)}")
    cat_col = next((f for f in _CATEGORY_COLUMNS if f in fields), None)
    out = IndicatorSet()
    for lineno, row in enumerate(reader, 2):
        norm = {(k or "").strip().lower(): (v or "").strip() for k, v in row.items()}
        value = _host_of(norm.get(value_col, ""))
        if not value:
            continue
        try:
            out.add(
                value,
                category=_category(norm.get(cat_col, "") if cat_col else ""),
                source=src,
                description=norm.get("description", ""),
            )
        except ValueError as exc:
            raise IntelError(f"{path}:{lineno}: {value_col}: {exc}") from None
    return out


def _load_stix(path: Path, text: str, src: str) -> IndicatorSet:
    try:
        bundle = json.loads(text)
    except json.JSONDecodeError as exc:
        raise IntelError(f"{path}:{exc.lineno}: JSON: {exc.msg}") from None
    objects = bundle.get("objects") if isinstance(bundle, dict) else None
    if not isinstance(objects, list):
        raise IntelError(f"{path}: not a STIX 2.1 bundle (no `objects` list)")
    out = IndicatorSet()
    for i, obj in enumerate(objects):
        if not isinstance(obj, dict):
            continue
        kind = obj.get("type")
        where = f"{path}: objects[{i}]"
        if kind == "indicator":
            _stix_indicator(out, obj, where, src)
        elif kind in ("ipv4-addr", "ipv6-addr", "domain-name") and obj.get("value"):
            _add(out, str(obj["value"]), "intel", src, "", where)
    return out


def _stix_indicator(out: IndicatorSet, obj: dict[str, Any], where: str, src: str) -> None:
    if obj.get("pattern_type", "stix") != "stix":
        return
    pattern = obj.get("pattern")
    if not isinstance(pattern, str):
        raise IntelError(f"{where}.pattern: missing")
    hints = " ".join(
        [
            *map(str, obj.get("indicator_types", [])),
            *map(str, obj.get("labels", [])),
            str(obj.get("name", "")),
            str(obj.get("description", "")),
        ]
    )
    category = _category(hints)
    for kind, value in _STIX_COMPARISON.findall(pattern):
        value = value.replace("\\'", "'")
        _add(
            out,
            _host_of(value) if kind == "url" else value,
            category,
            src,
            str(obj.get("name", "")),
            where,
        )


def _add(out: IndicatorSet, value: str, category: str, src: str, desc: str, where: str) -> None:
    try:
        out.add(value, category=category, source=src, description=desc)
    except ValueError as exc:
        raise IntelError(f"{where}: {exc}") from None


def _host_of(value: str) -> str:
    if "://" in value:
        return urlsplit(value).hostname or ""
    return value
