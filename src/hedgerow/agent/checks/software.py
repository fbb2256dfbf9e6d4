"""Installed software against known-vulnerable versions, and how long since the last update.

Package databases: dpkg (``/var/lib/dpkg/status``) and opkg (``/usr/lib/opkg/status``,
``/var/lib/opkg/status``). Without a package database the check reports nothing:
it never guesses versions from binaries.

Example:
    >>> pkgs = parse_status("Package: busybox\\nStatus: install ok installed\\n"
    ...                     "Version: 1:1.30.1-6\\n")
    >>> pkgs[0].name, pkgs[0].version
    ('busybox', '1:1.30.1-6')
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

import yaml

from hedgerow.agent.config import AgentConfig
from hedgerow.agent.versions import compare, compare_full, upstream
from hedgerow.assess.standards import make_finding
from hedgerow.model import Finding

PACKAGE_DBS = ("/var/lib/dpkg/status", "/usr/lib/opkg/status", "/var/lib/opkg/status")


@dataclass(frozen=True)
class Package:
    name: str
    version: str
    installed_time: float | None = None


def parse_status(text: str) -> list[Package]:
    """Installed packages of a dpkg/opkg status file (stanzas separated by blank lines)."""
    out: list[Package] = []
    for stanza in text.split("\n\n"):
        fields: dict[str, str] = {}
        for line in stanza.splitlines():
            if line[:1].isspace() or ":" not in line:
                continue
            key, _, value = line.partition(":")
            fields[key.strip().lower()] = value.strip()
        if "package" not in fields or "version" not in fields:
            continue
        if "installed" not in fields.get("status", "install ok installed"):
            continue
        when = fields.get("installed-time")
        out.append(Package(fields["package"], fields["version"],
                           float(when) if when and when.isdigit() else None))
    return out


@lru_cache(maxsize=1)
def load_advisories() -> list[dict[str, Any]]:
    text = (resources.files("hedgerow.agent") / "data" / "vulnerable_versions.yaml").read_text(
        encoding="utf-8")
    return list(yaml.safe_load(text)["advisories"])


def vulnerable(packages: list[Package]) -> list[dict[str, Any]]:
    hits: list[dict[str, Any]] = []
    for adv in load_advisories():
        names = set(adv["package"])
        for pkg in packages:
            if pkg.name not in names:
                continue
            v = upstream(pkg.version)
            introduced = str(adv["introduced"])
            backported = any(upstream(b) == v and compare_full(pkg.version, b) >= 0
                             for b in adv.get("backports", []))
            if (introduced == "0" or compare(v, introduced) >= 0) and \
                    compare(v, str(adv["fixed"])) < 0 and not backported:
                hits.append({"package": pkg.name, "version": pkg.version,
                             "fixed": str(adv["fixed"]), "cves": list(adv["cves"]),
                             "summary": adv["summary"]})
    return hits


def check_software(cfg: AgentConfig, now: float | None = None) -> list[Finding]:
    findings: list[Finding] = []
    for db in PACKAGE_DBS:
        path = cfg.path(db)
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
            mtime = path.stat().st_mtime
        except OSError:
            continue
        packages = parse_status(text)
        hits = vulnerable(packages)
        if hits:
            findings.append(make_finding(
                "sw.known-vulnerable", cfg.device,
                {"package_db": db, "packages": hits},
                title=f"{len(hits)} installed package(s) with known vulnerabilities: "
                      f"{', '.join(sorted({h['package'] for h in hits}))}"))
        times = [p.installed_time for p in packages if p.installed_time]
        last_update = max(times) if times else mtime
        age_days = ((now if now is not None else time.time()) - last_update) / 86400.0
        if age_days > cfg.assess.max_software_age_days:
            findings.append(make_finding(
                "sw.outdated", cfg.device,
                {"package_db": db, "last_update": last_update, "age_days": round(age_days, 1),
                 "max_age_days": cfg.assess.max_software_age_days,
                 "packages": len(packages)},
                title=f"No software update for {int(age_days)} days"))
        break
    return findings
