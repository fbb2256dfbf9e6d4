"""Telnet logins seen in traffic: who logged in, with which credentials, and whether it worked.

Telnet segments are chosen from each batch with array masks; each session keeps at most
``max_bytes`` per direction. The analysis strips telnet option negotiation, splits what the
client typed into lines (user, password, ...) and reads the server's answer after each
``Password:`` prompt: a shell prompt or banner means the login worked, "incorrect"/"failed"
means it did not.

Example:
    >>> s = TelnetSession("10.0.0.9", 40000, "10.0.0.5", 23)
    >>> s.add(False, b"\\xff\\xfd\\x01login: ")
    >>> s.add(True, b"root\\r\\n")
    >>> s.add(False, b"Password: ")
    >>> s.add(True, b"xc3511\\r\\n")
    >>> s.add(False, b"\\r\\nBusyBox v1.30 built-in shell (ash)\\r\\n# ")
    >>> [(a.user, a.password, a.success) for a in s.attempts()]
    [('root', 'xc3511', True)]
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from hedgerow.capture.batch import PacketBatch
from hedgerow.inventory.addresses import ip_text

_IAC = 255
_FAIL = re.compile(rb"(incorrect|fail|denied|invalid|bad password|wrong)", re.I)
_OK = re.compile(rb"(busybox|built-in shell|welcome|last login|[#$>%] ?$)", re.I | re.M)
_PASSWORD = re.compile(rb"pass(word)?\s*:", re.I)
_LOGIN = re.compile(rb"(login|user ?name|user)\s*:\s*$", re.I | re.M)


def strip_telnet(data: bytes) -> bytes:
    """Remove IAC command and sub-negotiation sequences (bounded by the input length)."""
    out = bytearray()
    i, n = 0, len(data)
    while i < n:
        byte = data[i]
        if byte != _IAC:
            out.append(byte)
            i += 1
            continue
        if i + 1 >= n:
            break
        cmd = data[i + 1]
        if cmd == _IAC:
            out.append(_IAC)
            i += 2
        elif cmd == 250:
            end = data.find(bytes([_IAC, 240]), i + 2)
            i = n if end < 0 else end + 2
        elif cmd in (251, 252, 253, 254):
            i += 3
        else:
            i += 2
    return bytes(out)


def _lines(typed: bytes) -> list[str]:
    text = typed.replace(b"\r\x00", b"\n").replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    return [line.decode("latin-1").strip() for line in text.split(b"\n")][:-1]


@dataclass(frozen=True)
class LoginAttempt:
    """One user/password pair typed into a telnet login, and the server's verdict."""

    client: str
    server: str
    port: int
    user: str
    password: str
    success: bool


@dataclass
class TelnetSession:
    """Both directions of one telnet connection (bounded)."""

    client: str
    client_port: int
    server: str
    server_port: int
    max_bytes: int = 4096
    typed: bytearray = field(default_factory=bytearray)
    shown: bytearray = field(default_factory=bytearray)

    def add(self, from_client: bool, payload: bytes) -> None:
        buf = self.typed if from_client else self.shown
        room = self.max_bytes - len(buf)
        if room > 0:
            buf += payload[:room]

    def attempts(self) -> list[LoginAttempt]:
        """The login attempts of this session, in order."""
        shown = strip_telnet(bytes(self.shown))
        if not _PASSWORD.search(shown):
            return []
        lines = _lines(strip_telnet(bytes(self.typed)))
        # Server text after each password prompt, up to the next login/password prompt.
        prompts = [m.end() for m in _PASSWORD.finditer(shown)]
        verdicts: list[bool] = []
        for idx, start in enumerate(prompts):
            stop = prompts[idx + 1] if idx + 1 < len(prompts) else len(shown)
            answer = shown[start:stop]
            relogin = _LOGIN.search(answer)
            answer = answer[: relogin.start()] if relogin else answer
            verdicts.append(not _FAIL.search(answer) and bool(_OK.search(answer)))
        out: list[LoginAttempt] = []
        for idx, ok in enumerate(verdicts):
            if 2 * idx + 1 >= len(lines):
                break
            out.append(LoginAttempt(self.client, self.server, self.server_port, lines[2 * idx],
                                    lines[2 * idx + 1], ok))
        return out


class TelnetSessions:
    """Collects telnet sessions from packet batches."""

    def __init__(self, ports: Iterable[int] = (23, 2323), max_sessions: int = 5000) -> None:
        self.ports = np.array(sorted(set(ports)), dtype=np.uint16)
        self.max_sessions = max_sessions
        self.sessions: dict[tuple[str, int, str, int], TelnetSession] = {}

    def add_batch(self, batch: PacketBatch) -> None:
        to_server = np.isin(batch.dport, self.ports)
        from_server = np.isin(batch.sport, self.ports)
        rows = np.nonzero((batch.proto == 6) & (batch.payload_cap > 0) &
                          (to_server | from_server))[0]
        if rows.size == 0:
            return
        for row in rows:
            client_side = bool(to_server[row])
            src = ip_text(int(batch.src_hi[row]), int(batch.src_lo[row]))
            dst = ip_text(int(batch.dst_hi[row]), int(batch.dst_lo[row]))
            sport, dport = int(batch.sport[row]), int(batch.dport[row])
            key = (src, sport, dst, dport) if client_side else (dst, dport, src, sport)
            session = self.sessions.get(key)
            if session is None:
                if len(self.sessions) >= self.max_sessions:
                    continue
                session = self.sessions[key] = TelnetSession(*key)
            session.add(client_side, batch.payload(int(row)))

    def attempts(self) -> list[LoginAttempt]:
        return [a for s in self.sessions.values() for a in s.attempts()]
