"""SSH allowing root or password logins: OpenSSH ``sshd_config`` (with ``Include``) or Dropbear.

OpenSSH semantics: for each keyword the first value wins, ``Include`` globs (relative to
``/etc/ssh``) are read in place, and ``Match`` blocks are conditional so they are not counted
as the global setting. Unset keywords take OpenSSH's defaults (``PermitRootLogin
prohibit-password``, ``PasswordAuthentication yes``).

Example:
    >>> settings = parse_sshd("PermitRootLogin yes\\nPermitRootLogin no\\n", lambda p: [])
    >>> settings["permitrootlogin"]
    'yes'
"""

from __future__ import annotations

import glob
import os
from collections.abc import Callable

from hedgerow.agent.config import AgentConfig
from hedgerow.assess.standards import make_finding
from hedgerow.model import Finding

DEFAULTS = {"permitrootlogin": "prohibit-password", "passwordauthentication": "yes",
            "kbdinteractiveauthentication": "yes"}
MAX_INCLUDE_DEPTH = 8


def parse_sshd(text: str, include: Callable[[str], list[str]], depth: int = 0,
               settings: dict[str, str] | None = None) -> dict[str, str]:
    """Global keyword -> first value; ``include(pattern)`` returns the texts of included files."""
    out = settings if settings is not None else {}
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        key, _, value = line.replace("=", " ", 1).partition(" ")
        key, value = key.lower(), value.strip().strip('"')
        if key == "match":
            break
        if key == "include" and depth < MAX_INCLUDE_DEPTH:
            for pattern in value.split():
                for sub in include(pattern):
                    parse_sshd(sub, include, depth + 1, out)
            continue
        out.setdefault(key, value.lower())
    return out


def _openssh(cfg: AgentConfig) -> tuple[dict[str, str], list[str]] | None:
    main = cfg.path("/etc/ssh/sshd_config")
    if not main.is_file():
        return None
    files = ["/etc/ssh/sshd_config"]

    def include(pattern: str) -> list[str]:
        device_pattern = pattern if pattern.startswith("/") else f"/etc/ssh/{pattern}"
        texts = []
        for path in sorted(glob.glob(str(cfg.path(device_pattern)))):
            try:
                with open(path, encoding="utf-8", errors="replace") as fh:
                    texts.append(fh.read())
            except OSError:
                continue
            files.append("/" + os.path.relpath(path, cfg.root))
        return texts

    text = main.read_text(encoding="utf-8", errors="replace")
    return {**DEFAULTS, **parse_sshd(text, include)}, files


def _dropbear(cfg: AgentConfig) -> dict[str, str] | None:
    """OpenWrt's ``/etc/config/dropbear`` (uci): PasswordAuth / RootPasswordAuth / RootLogin."""
    path = cfg.path("/etc/config/dropbear")
    if not path.is_file():
        return None
    opts = {"passwordauth": "on", "rootpasswordauth": "on", "rootlogin": "on"}
    for raw in path.read_text(encoding="utf-8", errors="replace").splitlines():
        parts = raw.split()
        if len(parts) >= 3 and parts[0] == "option":
            opts[parts[1].lower()] = parts[2].strip("'\"").lower()
    return opts


def check_ssh(cfg: AgentConfig) -> list[Finding]:
    findings: list[Finding] = []
    openssh = _openssh(cfg)
    if openssh is not None:
        settings, files = openssh
        root = settings["permitrootlogin"]
        # "prohibit-password"/"without-password" allow root with keys only: not reported.
        if root == "yes":
            findings.append(make_finding("ssh.root-login", cfg.device,
                                         {"PermitRootLogin": root, "files": files}))
        if settings["passwordauthentication"] == "yes":
            findings.append(make_finding("ssh.password-auth", cfg.device,
                                         {"PasswordAuthentication": "yes", "files": files}))
    dropbear = _dropbear(cfg)
    if dropbear is not None:
        on = ("on", "1", "yes")
        if dropbear["rootlogin"] in on and dropbear["rootpasswordauth"] in on:
            findings.append(make_finding("ssh.root-login", cfg.device,
                                         {"dropbear": dropbear, "files": ["/etc/config/dropbear"]}))
        if dropbear["passwordauth"] in on:
            findings.append(make_finding("ssh.password-auth", cfg.device,
                                         {"dropbear": dropbear, "files": ["/etc/config/dropbear"]}))
    return findings
