"""Verify shadow-file hashes against well-known default passwords.

Hashes are checked with libpass (the maintained passlib fork) for ``md5_crypt`` ($1$),
``sha256_crypt`` ($5$), ``sha512_crypt`` ($6$), ``bcrypt`` ($2a$/$2b$/$2y$), classic DES crypt
and ``apr_md5_crypt``. ``yescrypt`` ($y$) and ``gost-yescrypt`` ($gy$), which libpass does not
implement, and ``bcrypt`` when libpass has no bcrypt backend installed, go to the system's
libxcrypt (``crypt(3)``) through ctypes when it is present. A hash no backend can verify is
reported as unverifiable, never guessed.

Example:
    >>> from passlib.hash import sha512_crypt
    >>> h = sha512_crypt.using(rounds=5000).hash("xc3511")
    >>> verify(h, "xc3511"), verify(h, "vizxv")
    (True, False)
    >>> scheme_of(h), scheme_of("$y$j9T$abc$def"), scheme_of("!")
    ('sha512_crypt', 'yescrypt', 'locked')
"""

from __future__ import annotations

import ctypes
import ctypes.util
import hmac
from functools import lru_cache
from importlib import resources
from pathlib import Path

_PREFIX_SCHEME = (
    ("$6$", "sha512_crypt"),
    ("$5$", "sha256_crypt"),
    ("$1$", "md5_crypt"),
    ("$apr1$", "apr_md5_crypt"),
    ("$2a$", "bcrypt"),
    ("$2b$", "bcrypt"),
    ("$2y$", "bcrypt"),
    ("$y$", "yescrypt"),
    ("$gy$", "gost_yescrypt"),
)
_XCRYPT_SCHEMES = {"yescrypt", "gost_yescrypt"}  # libpass has no implementation


def scheme_of(hash_text: str) -> str:
    """``sha512_crypt``..., ``empty`` (no password), ``locked`` (``!``/``*``), or ``unknown``."""
    if hash_text == "":
        return "empty"
    if hash_text[0] in "!*":
        return "locked"
    for prefix, scheme in _PREFIX_SCHEME:
        if hash_text.startswith(prefix):
            return scheme
    if len(hash_text) == 13 and not hash_text.startswith("$"):
        return "des_crypt"
    return "unknown"


@lru_cache(maxsize=1)
def _xcrypt() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("crypt")
    if name is None:
        return None
    try:
        lib = ctypes.CDLL(name)
    except OSError:
        return None
    lib.crypt.restype = ctypes.c_char_p
    lib.crypt.argtypes = (ctypes.c_char_p, ctypes.c_char_p)
    return lib


_PROBES = {"yescrypt": "$y$j9T$F5Jx5fExrKuPp53xLKQ..1$",
           "gost_yescrypt": "$gy$j9T$F5Jx5fExrKuPp53xLKQ..1$",
           "bcrypt": "$2b$04$abcdefghijklmnopqrstuu"}


@lru_cache(maxsize=16)
def supported(scheme: str) -> bool:
    """Whether this machine can verify ``scheme`` (libpass, else libxcrypt)."""
    if scheme in {"sha512_crypt", "sha256_crypt", "md5_crypt", "apr_md5_crypt", "des_crypt"}:
        return True
    if scheme == "bcrypt" and _libpass_has_backend("bcrypt"):
        return True
    probe = _PROBES.get(scheme)
    lib = _xcrypt()
    if probe is None or lib is None:
        return False
    out = lib.crypt(b"x", probe.encode())
    return bool(out) and out.startswith(probe.encode())


@lru_cache(maxsize=4)
def _libpass_has_backend(scheme: str) -> bool:
    from passlib import hash as ph

    handler = getattr(ph, scheme)
    return bool(getattr(handler, "has_backend", lambda: True)())


def verify(hash_text: str, password: str) -> bool:
    """True when ``password`` matches ``hash_text``; False for locked/unknown/unsupported."""
    scheme = scheme_of(hash_text)
    if scheme == "empty":
        return password == ""
    if scheme in ("locked", "unknown"):
        return False
    if scheme in _XCRYPT_SCHEMES or (scheme == "bcrypt" and not _libpass_has_backend(scheme)):
        lib = _xcrypt()
        if lib is None:
            return False
        out = lib.crypt(password.encode(), hash_text.encode())
        return bool(out) and hmac.compare_digest(out, hash_text.encode())
    from passlib import hash as ph

    handler = getattr(ph, scheme)
    try:
        return bool(handler.verify(password, hash_text))
    except ValueError:
        return False


def load_credentials(path: str | Path | None = None,
                     extra: list[str] | None = None) -> list[tuple[str, str]]:
    """``(user, password)`` pairs from the packaged list (or ``path``) plus ``extra`` entries.

    Lines are ``user:password``; ``<empty>`` means an empty password; ``#`` starts a comment.
    Duplicates are dropped, order kept (Mirai's order first).
    """
    if path:
        text = Path(path).read_text(encoding="utf-8")
    else:
        text = (resources.files("hedgerow.agent") / "data" / "default_credentials.txt"
                ).read_text(encoding="utf-8")
    seen: dict[tuple[str, str], None] = {}
    for lineno, raw in enumerate([*text.splitlines(), *(extra or [])], start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        user, sep, password = line.partition(":")
        if not sep:
            raise ValueError(f"{path or 'default_credentials.txt'}:{lineno}: expected "
                             f"user:password, got {line!r}")
        seen[(user, "" if password == "<empty>" else password)] = None
    return list(seen)
