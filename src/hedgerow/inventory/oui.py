"""MAC address vendors from the IEEE registries, offline.

Reads the IEEE's own assignment lists as Debian's ``ieee-data`` package ships them
(``/usr/share/ieee-data/oui.csv`` for MA-L, ``mam.csv`` MA-M, ``oui36.csv`` MA-S, ``iab.csv``),
or from ``$HEDGEROW_IEEE_DATA``. The longest assignment wins (MA-S 36 bits, then MA-M 28,
then MA-L 24). Locally administered addresses (the randomised MACs of phones, and
virtual interfaces) have no vendor and are reported as such. The parsed tables are kept in the
user cache folder (:func:`cache_dir`), so later runs load them instead of parsing the CSV files.

Example:
    >>> db = OuiDatabase.load()
    >>> db.lookup("00:17:88:24:76:ff").organization
    'Philips Lighting BV'
    >>> db.lookup("da:a1:19:00:00:01").randomized
    True
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

DEFAULT_DIRS = (Path("/usr/share/ieee-data"),)
_FILES = (("oui.csv", 24), ("mam.csv", 28), ("oui36.csv", 36), ("iab.csv", 36))
_CACHE_FORMAT = 1


class OuiDataMissing(RuntimeError):
    """No IEEE registry files were found."""


@dataclass(frozen=True, slots=True)
class MacVendor:
    """What the MAC address says: the registered organisation, or that it is randomised."""

    mac: str
    organization: str | None
    randomized: bool
    multicast: bool


def mac_to_int(mac: str) -> int:
    """``'00:17:88:24:76:ff'`` (or ``-``/no separators) to a 48-bit integer."""
    digits = mac.replace(":", "").replace("-", "").replace(".", "")
    if len(digits) != 12:
        raise ValueError(f"MAC address {mac!r}: expected 12 hex digits")
    return int(digits, 16)


def int_to_mac(value: int) -> str:
    return value.to_bytes(6, "big").hex(":")


class OuiDatabase:
    """Prefix tables of the IEEE registries (``{bits: {prefix: organisation}}``)."""

    def __init__(self, tables: dict[int, dict[int, str]], source: str) -> None:
        self.tables = tables
        self.source = source

    @classmethod
    def load(cls, directory: str | os.PathLike[str] | None = None) -> OuiDatabase:
        """Load (cached) from ``directory``, ``$HEDGEROW_IEEE_DATA`` or ``/usr/share/ieee-data``."""
        env = os.environ.get("HEDGEROW_IEEE_DATA")
        chosen = directory or env
        dirs = (Path(chosen),) if chosen else DEFAULT_DIRS
        return _load(tuple(str(d) for d in dirs))

    def __len__(self) -> int:
        return sum(len(t) for t in self.tables.values())

    def lookup(self, mac: str | int) -> MacVendor:
        value = mac if isinstance(mac, int) else mac_to_int(mac)
        first = value >> 40
        text = int_to_mac(value)
        if first & 0x01:
            return MacVendor(text, None, False, True)
        if first & 0x02:
            return MacVendor(text, None, True, False)
        for bits in (36, 28, 24):
            org = self.tables.get(bits, {}).get(value >> (48 - bits))
            if org is not None:
                return MacVendor(text, org, False, False)
        return MacVendor(text, None, False, False)


@lru_cache(maxsize=4)
def _load(dirs: tuple[str, ...]) -> OuiDatabase:
    found = [
        (str(Path(directory) / name), bits)
        for directory in dirs
        for name, bits in _FILES
        if (Path(directory) / name).is_file()
    ]
    if not found:
        raise OuiDataMissing(
            f"no IEEE OUI registry in {', '.join(dirs)}: install Debian's ieee-data "
            "or set HEDGEROW_IEEE_DATA"
        )
    source = ", ".join(path for path, _ in found)
    cache = _cache_file(found)
    tables = _read_cache(cache) if cache is not None else None
    if tables is None:
        tables = _parse(found)
        if cache is not None:
            _write_cache(cache, tables)
    return OuiDatabase(tables, source)


def _parse(found: list[tuple[str, int]]) -> dict[int, dict[int, str]]:
    """The registries' CSV files: prefix -> organisation per prefix length (first row wins)."""
    tables: dict[int, dict[int, str]] = {}
    for path, bits in found:
        table = tables.setdefault(bits, {})
        with open(path, newline="", encoding="utf-8", errors="replace") as handle:
            for line_no, row in enumerate(csv.reader(handle), start=1):
                if line_no == 1 or len(row) < 3:
                    continue
                try:
                    prefix = int(row[1], 16)
                except ValueError:
                    continue
                if len(row[1]) * 4 == bits and row[2].strip().lower() != "private":
                    table.setdefault(prefix, row[2].strip())
    return tables


def cache_dir() -> Path:
    """Where parsed registries are kept: ``$HEDGEROW_CACHE_DIR``, else the user cache folder."""
    chosen = os.environ.get("HEDGEROW_CACHE_DIR")
    if chosen:
        return Path(chosen)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "hedgerow"


def _cache_file(found: list[tuple[str, int]]) -> Path | None:
    """The parsed form's file, named after the source files' paths, sizes and times (a
    changed registry gets a new one)."""
    try:
        stats = [(path, bits, os.stat(path)) for path, bits in found]
    except OSError:
        return None
    stamp = [(path, bits, st.st_size, st.st_mtime_ns) for path, bits, st in stats]
    digest = hashlib.sha256(repr((_CACHE_FORMAT, stamp)).encode()).hexdigest()[:24]
    return cache_dir() / f"oui-{digest}.json"


def _read_cache(path: Path) -> dict[int, dict[int, str]] | None:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        return {int(bits): dict(zip(prefixes, orgs, strict=True))
                for bits, (prefixes, orgs) in doc["tables"].items()}
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _write_cache(path: Path, tables: dict[int, dict[int, str]]) -> None:
    """Best effort (a read-only or missing home only costs the next run a parse); the
    parsed forms of older registry files are removed."""
    doc = {"format": _CACHE_FORMAT,
           "tables": {str(bits): [list(t), list(t.values())] for bits, t in tables.items()}}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(f".{os.getpid()}.tmp")
        partial.write_text(json.dumps(doc), encoding="utf-8")
        os.replace(partial, path)
        for old in path.parent.glob("oui-*.json"):
            if old != path:
                old.unlink(missing_ok=True)
    except OSError:
        return
