"""Bursts of failed logins per source address: text auth logs, ``btmp``, the journal.

Sources: text logs (tailed from the last offset; a rotated or truncated file is read from the
start; at most ``max_bytes`` per cycle), ``btmp`` records, and the systemd journal
(``journalctl -o json`` after a saved cursor, when ``detect.journald`` is on). Understands
OpenSSH (``Failed password``, ``Invalid user``), PAM (``authentication failure ... rhost=``)
and Dropbear (``Bad password attempt``). Lines that look like a failure but do not parse (or
name no source address, like busybox ``login``) are skipped and counted in
:attr:`FailedLogins.malformed`.

Example:
    >>> parse_failure("Nov 25 02:41:07 dev sshd[9]: Failed password for invalid user bob "
    ...               "from 10.77.1.2 port 40022 ssh2")
    ('10.77.1.2', 'bob')
"""

from __future__ import annotations

import json
import re
import shutil
import struct
import subprocess
from collections import defaultdict, deque
from pathlib import Path

from hedgerow.agent.observe import Snapshot
from hedgerow.model import Alert, AlertKind, Severity

_PATTERNS = [
    re.compile(r"Failed (?:password|publickey|none|keyboard-interactive/pam) for "
               r"(?:invalid user )?(?P<user>\S*) from (?P<ip>[0-9a-fA-F.:]+)"),
    re.compile(r"Invalid user (?P<user>\S*) from (?P<ip>[0-9a-fA-F.:]+)"),
    re.compile(r"authentication failure;.*rhost=(?P<ip>[0-9a-fA-F.:]+)(?:.*user=(?P<user>\S+))?"),
    re.compile(r"Bad password attempt for '(?P<user>[^']*)' from (?P<ip>[0-9a-fA-F.:]+?):\d+"),
    re.compile(r"(?:Login attempt for nonexistent user|Exit before auth) .*from "
               r"(?P<ip>[0-9a-fA-F.:]+?):\d+"),
]
_FAILURE_HINT = re.compile(r"Failed password|Invalid user|authentication failure|"
                           r"Bad password|invalid password", re.IGNORECASE)
# struct utmp (glibc, x86-64/ARM): type, pid, line[32], id[4], user[32], host[256], exit[2h],
# session, tv_sec, tv_usec, addr_v6[4], unused[20] = 384 bytes.
_UTMP = struct.Struct("<hi32s4s32s256shhiii4i20s")


def parse_failure(line: str) -> tuple[str, str] | None:
    """``(source ip, user)`` of a failed-login line, or None."""
    for pat in _PATTERNS:
        m = pat.search(line)
        if m:
            return m.group("ip").rstrip(":"), (m.groupdict().get("user") or "")
    return None


class JournalSource:
    """New auth messages from the systemd journal, read after the last seen cursor."""

    def __init__(self, journalctl: str = "journalctl", max_lines: int = 5000,
                 timeout_s: float = 5.0) -> None:
        self.journalctl = shutil.which(journalctl)
        self.max_lines = max_lines
        self.timeout_s = timeout_s
        self.cursor: str | None = None
        self.errors = 0

    def messages(self) -> list[str]:
        """Messages since the last call; the first call only records the journal's end."""
        if self.journalctl is None:
            return []
        args = [self.journalctl, "-q", "--no-pager", "-o", "json"]
        if self.cursor is None:
            args += ["-n", "1"]
        else:
            args += [f"--after-cursor={self.cursor}", "-n", str(self.max_lines)]
        try:
            out = subprocess.run(args, capture_output=True, text=True, timeout=self.timeout_s,
                                 check=False).stdout
        except (OSError, subprocess.SubprocessError):
            self.errors += 1
            return []
        first = self.cursor is None
        messages: list[str] = []
        for line in out.splitlines():
            try:
                entry = json.loads(line)
            except ValueError:
                self.errors += 1
                continue
            self.cursor = entry.get("__CURSOR", self.cursor)
            message = entry.get("MESSAGE")
            if isinstance(message, str) and not first:
                messages.append(message)
        if first and self.cursor is None:
            self.cursor = ""  # empty journal: read everything from now on
        return messages


class FailedLogins:
    name = "agent.failed-logins"
    version = "1"

    def __init__(self, device: str, logs: list[Path], btmp: Path | None, threshold: int = 5,
                 window_s: float = 120.0, max_bytes: int = 1 << 20,
                 journal: JournalSource | None = None) -> None:
        self.device = device
        self.logs = logs
        self.btmp = btmp
        self.threshold = threshold
        self.window_s = window_s
        self.max_bytes = max_bytes
        self.journal = journal
        self.malformed = 0
        self._offsets: dict[Path, tuple[int, int]] = {}
        self._events: dict[str, deque[tuple[float, str]]] = defaultdict(deque)
        self._alerted: dict[str, float] = {}
        self._primed = False

    def _read_new(self, path: Path, record: int = 1) -> bytes:
        try:
            st = path.stat()
        except OSError:
            return b""
        ino, offset = self._offsets.get(path, (st.st_ino, 0 if self._primed else st.st_size))
        if ino != st.st_ino or st.st_size < offset:
            offset = 0
        offset -= offset % record
        try:
            with open(path, "rb") as fh:
                fh.seek(offset)
                data = fh.read(self.max_bytes - self.max_bytes % record)
        except OSError:
            return b""
        if record == 1:
            cut = data.rfind(b"\n") + 1
            data = data[:cut]
        else:
            data = data[: len(data) - len(data) % record]
        self._offsets[path] = (st.st_ino, offset + len(data))
        return data

    def _parse_lines(self, lines: list[str], out: list[tuple[str, str]]) -> None:
        for line in lines:
            hit = parse_failure(line)
            if hit:
                out.append(hit)
            elif _FAILURE_HINT.search(line) and "from" in line:
                self.malformed += 1

    def _failures(self) -> list[tuple[str, str]]:
        out: list[tuple[str, str]] = []
        for path in self.logs:
            lines = [raw.decode("utf-8", "replace") for raw in self._read_new(path).splitlines()]
            self._parse_lines(lines, out)
        if self.journal is not None:
            self._parse_lines(self.journal.messages(), out)
        if self.btmp is not None:
            data = self._read_new(self.btmp, _UTMP.size)
            for off in range(0, len(data), _UTMP.size):
                rec = _UTMP.unpack_from(data, off)
                host = rec[5].split(b"\0", 1)[0].decode("ascii", "replace")
                user = rec[4].split(b"\0", 1)[0].decode("utf-8", "replace")
                if host:
                    out.append((host, user))
                else:
                    self.malformed += 1
        return out

    def observe(self, snap: Snapshot, prev: Snapshot | None) -> list[Alert]:
        """Failures read this cycle are stamped with the cycle time (when the agent saw them).

        The first call only records where each file ends (old history is not re-alerted).
        """
        failures = self._failures()
        self._primed = True
        for ip, user in failures:
            self._events[ip].append((snap.t, user))
        alerts: list[Alert] = []
        for ip in list(self._events):
            q = self._events[ip]
            while q and q[0][0] < snap.t - self.window_s:
                q.popleft()
            if not q:
                del self._events[ip]
                continue
            if len(q) < self.threshold or snap.t - self._alerted.get(ip, -1e18) < self.window_s:
                continue
            self._alerted[ip] = snap.t
            users = sorted({u for _, u in q if u})
            alerts.append(Alert(
                kind=AlertKind.BRUTEFORCE, detector=self.name, detector_version=self.version,
                direction="inbound", device=self.device, peers=(ip,), severity=Severity.HIGH,
                confidence=0.9, start=q[0][0], end=snap.t,
                summary=f"{len(q)} failed logins from {ip} within {self.window_s:.0f}s "
                        f"(users: {', '.join(users[:5]) or '?'})",
                evidence={"failures": len(q), "users": users[:20], "source": ip,
                          "malformed_lines": self.malformed},
                mitre=("T1110.001",), window_key=int(snap.t // self.window_s)))
        if len(self._alerted) > 65536:
            self._alerted.clear()
        return alerts
