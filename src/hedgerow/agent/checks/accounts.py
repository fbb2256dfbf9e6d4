"""Accounts with an empty or well-known default password, verified against the real hashes.

Reads ``/etc/passwd`` and ``/etc/shadow`` under the configured root; each account's hash is
tried with the default passwords paired with its user name first, then every other known
password, up to ``assess.max_guesses_per_account`` guesses.

Example:
    >>> from hedgerow.agent.config import AgentConfig
    >>> import tempfile, pathlib
    >>> root = pathlib.Path(tempfile.mkdtemp()); (root / "etc").mkdir()
    >>> _ = (root / "etc/passwd").write_text("root:x:0:0:root:/root:/bin/sh\\n")
    >>> _ = (root / "etc/shadow").write_text("root::19000:0:99999:7:::\\n")
    >>> [f.check_id for f in check_accounts(AgentConfig(root=str(root)))]
    ['acct.empty-password']
"""

from __future__ import annotations

from hedgerow.agent import passwords
from hedgerow.agent.config import AgentConfig
from hedgerow.assess.standards import make_finding
from hedgerow.model import Finding


def read_accounts(cfg: AgentConfig) -> tuple[dict[str, str], int, list[str]]:
    """User -> password hash (shadow overrides passwd's ``x``), the malformed line count, and
    the account files that exist but cannot be read (not root)."""
    hashes: dict[str, str] = {}
    malformed = 0
    unreadable: list[str] = []
    for name, min_fields in (("/etc/passwd", 7), ("/etc/shadow", 2)):
        try:
            text = cfg.path(name).read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            continue
        except OSError:
            unreadable.append(name)
            continue
        for line in text.splitlines():
            if not line.strip() or line.startswith("#"):
                continue
            parts = line.split(":")
            if len(parts) < min_fields:
                malformed += 1
                continue
            user, field = parts[0], parts[1]
            if name == "/etc/passwd" and field in ("x", "*"):
                continue
            hashes[user] = field
    return hashes, malformed, unreadable


def check_accounts(cfg: AgentConfig) -> list[Finding]:
    hashes, malformed, unreadable = read_accounts(cfg)
    creds = passwords.load_credentials(cfg.assess.credentials_file or None,
                                       cfg.assess.credentials)
    all_passwords = list(dict.fromkeys(p for _, p in creds))
    findings: list[Finding] = []
    unverifiable: dict[str, str] = {}
    for user, hashed in sorted(hashes.items()):
        scheme = passwords.scheme_of(hashed)
        if scheme == "empty":
            findings.append(make_finding("acct.empty-password", cfg.device,
                                         {"user": user, "file": "/etc/shadow"},
                                         title=f"Account {user!r} has no password"))
            continue
        if scheme == "locked":
            continue
        if not passwords.supported(scheme):
            unverifiable[user] = scheme
            continue
        paired = [p for u, p in creds if u == user]
        guesses = list(dict.fromkeys([*paired, *all_passwords]))
        guesses = guesses[: cfg.assess.max_guesses_per_account]
        hit = next((p for p in guesses if p and passwords.verify(hashed, p)), None)
        if hit is not None:
            findings.append(make_finding(
                "acct.default-password", cfg.device,
                {"user": user, "scheme": scheme, "password_in_list": "mirai+vendor",
                 "password_hint": hit[:1] + "*" * (len(hit) - 1)},
                title=f"Account {user!r} uses a well-known default password"))
    if unverifiable or malformed or unreadable:
        findings.append(make_finding("acct.unverifiable-hash", cfg.device,
                                     {"accounts": unverifiable, "malformed_lines": malformed,
                                      "unreadable_files": unreadable}))
    return findings
