"""MAC address vendors from the IEEE registries, offline.

Reads the IEEE's own assignment lists as Debian's ``ieee-data`` package ships them
(``/usr/share/ieee-data/oui.csv`` for MA-L, ``mam.csv`` MA-M, ``oui36.csv`` MA-S, ``iab.csv``),
or from ``$HEDGEROW_IEEE_DATA``. The longest assignment wins (MA-S 36 bits, then MA-M 28,
then MA-L 24). Locally administered addresses (the randomised MACs of phones, and
virtual interfaces) have no vendor and are reported as such.

Example:
    >>> db = OuiDatabase.load()
    >>> db.lookup("00:17:88:24:76:ff").organization
    'Philips Lighting BV'
    >>> db.lookup("da:a1:19:00:00:01").randomized
    True
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

DEFAULT_DIRS = (Path("/usr/share/ieee-data"),)
_FILES = (("oui.csv", 24), ("mam.csv", 28), ("oui36.csv", 36), ("iab.csv", 36))


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
    tables: dict[int, dict[int, str]] = {}
    used: list[str] = []
    for directory in dirs:
        for name, bits in _FILES:
            path = Path(directory) / name
            if not path.is_file():
                continue
            used.append(str(path))
            table = tables.setdefault(bits, {})
            with path.open(newline="", encoding="utf-8", errors="replace") as handle:
                for line_no, row in enumerate(csv.reader(handle), start=1):
                    if line_no == 1 or len(row) < 3:
                        continue
                    try:
                        prefix = int(row[1], 16)
                    except ValueError:
                        continue
                    if len(row[1]) * 4 == bits and row[2].strip().lower() != "private":
                        table.setdefault(prefix, row[2].strip())
    if not used:
        raise OuiDataMissing(
            f"no IEEE OUI registry in {', '.join(dirs)}: install Debian's ieee-data "
            "or set HEDGEROW_IEEE_DATA"
        )
    return OuiDatabase(tables, ", ".join(used))
