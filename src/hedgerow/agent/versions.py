"""Debian-style version comparison (dpkg's algorithm), used for dpkg and opkg packages.

Example:
    >>> compare("1.0.1f", "1.0.1g"), compare("9.2p1", "9.8p1"), compare("1.0~rc1", "1.0")
    (-1, -1, -1)
    >>> upstream("1:9.2p1-2+deb12u3")
    '9.2p1'
"""

from __future__ import annotations


def upstream(version: str) -> str:
    """The upstream part: epoch (``N:``) and revision (after the last ``-``) removed."""
    rest = version.split(":", 1)[1] if ":" in version else version
    return rest.rsplit("-", 1)[0] if "-" in rest else rest


def _order(ch: str) -> int:
    if ch == "~":
        return -1
    if ch.isdigit():
        return 0
    if ch.isalpha():
        return ord(ch)
    return ord(ch) + 256


def _cmp_part(a: str, b: str) -> int:
    i = j = 0
    while i < len(a) or j < len(b):
        first_diff = 0
        while (i < len(a) and not a[i].isdigit()) or (j < len(b) and not b[j].isdigit()):
            ac = _order(a[i]) if i < len(a) else 0
            bc = _order(b[j]) if j < len(b) else 0
            if ac != bc:
                return -1 if ac < bc else 1
            i += 1
            j += 1
        while i < len(a) and a[i] == "0":
            i += 1
        while j < len(b) and b[j] == "0":
            j += 1
        while i < len(a) and a[i].isdigit() and j < len(b) and b[j].isdigit():
            if not first_diff:
                first_diff = ord(a[i]) - ord(b[j])
            i += 1
            j += 1
        if i < len(a) and a[i].isdigit():
            return 1
        if j < len(b) and b[j].isdigit():
            return -1
        if first_diff:
            return -1 if first_diff < 0 else 1
    return 0


def compare(a: str, b: str) -> int:
    """-1, 0 or 1 as ``a`` sorts before, equal to or after ``b`` (upstream versions)."""
    return _cmp_part(a, b)


def compare_full(a: str, b: str) -> int:
    """dpkg's full comparison: epoch, then upstream, then revision.

    >>> compare_full("1:9.2p1-2+deb12u3", "1:9.2p1-2+deb12u2"), compare_full("2:1.0", "1:9.9")
    (1, 1)
    """

    def split(v: str) -> tuple[int, str, str]:
        epoch, _, rest = v.partition(":") if ":" in v else ("0", "", v)
        up, _, rev = rest.rpartition("-") if "-" in rest else (rest, "", "")
        return int(epoch or 0), up, rev

    ea, ua, ra = split(a)
    eb, ub, rb = split(b)
    if ea != eb:
        return -1 if ea < eb else 1
    return _cmp_part(ua, ub) or _cmp_part(ra, rb)
