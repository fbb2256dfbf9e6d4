"""DNS and mDNS messages: names with compression pointers, records, and the answers to a query.

:func:`parse_dns` reads a whole message (questions and every answer-like record) and refuses
one that does not hold together; :func:`dns_answers` reads what a response answered (A, AAAA
and CNAME records, with their TTLs) from the first bytes of one, keeping the records that are
complete when the bytes run out, and never raises.

Bounds: at most 64 records per section, 128 labels and 255 bytes per name, 32 pointer jumps,
and every pointer must point backwards (so a crafted loop ends).

Example:
    >>> q = bytes.fromhex("000201000001000000000000") + b"\\x03www\\x06fitbit\\x03com\\x00"
    >>> q += b"\\x00\\x01\\x00\\x01"
    >>> msg = parse_dns(q)
    >>> msg.is_response, msg.questions
    (False, (('www.fitbit.com', 1),))
    >>> r = bytes.fromhex("00028180000100010000000003") + b"www\\x06fitbit\\x03com\\x00"
    >>> r += bytes.fromhex("00010001c00c000100010000012c000468c5b70f")
    >>> ans = dns_answers(r)
    >>> ans.question, [(a.name, a.rtype, a.value, a.ttl) for a in ans.records]
    ('www.fitbit.com', [('www.fitbit.com', 1, '104.197.183.15', 300)])
    >>> dns_answers(r[:-3]).records  # cut inside the A record: nothing complete
    ()
"""

from __future__ import annotations

import ipaddress
import struct
from contextlib import suppress
from dataclasses import dataclass

from hedgerow.wire.base import MalformedPayload, printable

MAX_RECORDS = 64
_MAX_JUMPS = 32
_MAX_NAME = 255

TYPE_A, TYPE_CNAME, TYPE_PTR, TYPE_TXT, TYPE_AAAA, TYPE_SRV = 1, 5, 12, 16, 28, 33
_ANSWER_TYPES = (TYPE_A, TYPE_CNAME, TYPE_AAAA)
_HEADER = struct.Struct("!6H")
_RECORD = struct.Struct("!HHIH")


@dataclass(frozen=True, slots=True)
class DnsRecord:
    """One resource record; ``value`` is the address, target name, SRV target or TXT strings."""

    name: str
    rtype: int
    value: str | tuple[str, ...]
    port: int | None = None


@dataclass(frozen=True, slots=True)
class DnsMessage:
    """A parsed DNS/mDNS message: questions as (name, qtype), and all answer-like records."""

    txid: int
    is_response: bool
    questions: tuple[tuple[str, int], ...]
    records: tuple[DnsRecord, ...]


@dataclass(frozen=True, slots=True)
class DnsAnswer:
    """One A, AAAA or CNAME answer: owner name (lower case), type, address or target, TTL."""

    name: str
    rtype: int
    value: str
    ttl: int


@dataclass(frozen=True, slots=True)
class DnsAnswers:
    """What a response answered: the first question's name (lower case) and the records."""

    question: str | None
    records: tuple[DnsAnswer, ...]


def _name(buf: bytes, pos: int, known: dict[int, str] | None = None) -> tuple[str, int]:
    """Read a possibly compressed name at ``pos``; returns (name, offset after it).

    ``known`` maps offsets to the names read there before (and gets this one): a pointer to
    one ends the walk (answers point back at the question's name over and over)."""
    parts: list[bytes] = []
    tail: str | None = None
    total = 0
    jumps = 0
    end: int | None = None
    cursor = pos
    size = len(buf)
    while True:
        if cursor >= size:
            raise MalformedPayload("dns", "name", cursor, "runs past the end")
        length = buf[cursor]
        if length >= 0xC0:
            if cursor + 1 >= size:
                raise MalformedPayload("dns", "compression pointer", cursor, "truncated")
            target = ((length & 0x3F) << 8) | buf[cursor + 1]
            if end is None:
                end = cursor + 2
            if target >= cursor or jumps >= _MAX_JUMPS:
                raise MalformedPayload("dns", "compression pointer", cursor, "loops")
            if known is not None and target in known:
                tail = known[target]
                total += len(tail) + 1
                if total > _MAX_NAME:
                    raise MalformedPayload("dns", "name", pos, "longer than 255 bytes")
                break
            jumps += 1
            cursor = target
            continue
        if length & 0xC0:
            raise MalformedPayload("dns", "label length", cursor, f"reserved bits in {length}")
        if length == 0:
            break
        total += length + 1
        if total > _MAX_NAME:
            raise MalformedPayload("dns", "name", pos, "longer than 255 bytes")
        after = cursor + 1 + length
        if after > size:
            raise MalformedPayload("dns", "label", cursor, "runs past the end")
        parts.append(buf[cursor + 1 : after])
        cursor = after
    name = b".".join(parts).decode("utf-8", errors="replace")
    if tail is not None:
        name = f"{name}.{tail}" if name else tail
    if known is not None:
        known[pos] = name
    return name, end if end is not None else cursor + 1


def _rdata(
    buf: bytes, rtype: int, start: int, length: int, known: dict[int, str] | None = None
) -> tuple[str | tuple[str, ...], int | None]:
    raw = buf[start : start + length]
    if rtype == TYPE_A and length == 4:
        return "%d.%d.%d.%d" % tuple(raw), None  # noqa: UP031 (as IPv4Address prints it)
    if rtype == TYPE_AAAA and length == 16:
        return str(ipaddress.IPv6Address(raw)), None
    if rtype in (TYPE_PTR, TYPE_CNAME, 2):
        return _name(buf, start, known)[0], None
    if rtype == TYPE_SRV and length >= 7:
        return _name(buf, start + 6)[0], int.from_bytes(raw[4:6], "big")
    if rtype == TYPE_TXT:
        strings: list[str] = []
        pos = 0
        while pos < len(raw) and len(strings) < MAX_RECORDS:
            size = raw[pos]
            strings.append(printable(raw[pos + 1 : pos + 1 + size]))
            pos += 1 + size
        return tuple(s for s in strings if s), None
    return raw.hex(), None


def _header(payload: bytes) -> tuple[int, int, list[int]]:
    """(txid, flags, section counts) of a message; raises for a short or absurd header."""
    if len(payload) < 12:
        raise MalformedPayload("dns", "header", len(payload), "shorter than 12 bytes")
    txid, flags, *counts = _HEADER.unpack_from(payload)
    if (flags >> 11) & 0xF not in (0, 1, 2, 4, 5):
        raise MalformedPayload("dns", "opcode", 2, f"{(flags >> 11) & 0xF}")
    if counts[0] > MAX_RECORDS or sum(counts[1:]) > 3 * MAX_RECORDS:
        raise MalformedPayload("dns", "record counts", 4, f"{counts}")
    return txid, flags, counts


def _question(
    payload: bytes, pos: int, known: dict[int, str] | None = None
) -> tuple[str, int, int]:
    """(name, qtype, offset after the question) of the question at ``pos``."""
    name, pos = _name(payload, pos, known)
    if pos + 4 > len(payload):
        raise MalformedPayload("dns", "question type", pos, "truncated")
    return name, (payload[pos] << 8) | payload[pos + 1], pos + 4


def _record(
    payload: bytes, pos: int, known: dict[int, str] | None = None
) -> tuple[str, int, int, int, int]:
    """(owner name, type, TTL, rdata offset, rdata length) of the record at ``pos``."""
    name, pos = _name(payload, pos, known)
    if pos + 10 > len(payload):
        raise MalformedPayload("dns", "record header", pos, "truncated")
    rtype, _class, ttl, rdlength = _RECORD.unpack_from(payload, pos)
    if ttl >= 1 << 31:  # RFC 2181: a TTL with the top bit set means zero
        ttl = 0
    start = pos + 10
    if start + rdlength > len(payload):
        raise MalformedPayload("dns", "rdata", start, "runs past the end")
    return name, rtype, ttl, start, rdlength


def parse_dns(payload: bytes) -> DnsMessage:
    """Parse a DNS or mDNS message; raises :class:`MalformedPayload` naming field and offset."""
    txid, flags, counts = _header(payload)
    pos = 12
    questions: list[tuple[str, int]] = []
    for _ in range(counts[0]):
        name, qtype, pos = _question(payload, pos)
        questions.append((name, qtype))
    records: list[DnsRecord] = []
    for _ in range(sum(counts[1:])):
        name, rtype, _ttl, start, rdlength = _record(payload, pos)
        value, port = _rdata(payload, rtype, start, rdlength)
        if len(records) < MAX_RECORDS:
            records.append(DnsRecord(name, rtype, value, port))
        pos = start + rdlength
    return DnsMessage(txid, bool(flags & 0x8000), tuple(questions), tuple(records))


_NOTHING = DnsAnswers(None, ())


def dns_answers(payload: bytes, *, length_prefixed: bool = False) -> DnsAnswers:
    """The A, AAAA and CNAME records of a response's answer section (names in lower case).

    ``payload`` may be cut anywhere (a flow keeps only its first bytes): the records complete
    before the cut are returned. ``length_prefixed`` is DNS over TCP (a 2-byte length first).
    Queries and unreadable headers give no records; nothing here raises.
    """
    if length_prefixed:
        size = int.from_bytes(payload[:2], "big")
        payload = payload[2 : 2 + size]
    try:
        _txid, flags, counts = _header(payload)
    except MalformedPayload:
        return _NOTHING
    if not flags & 0x8000:
        return _NOTHING
    question: str | None = None
    records: list[DnsAnswer] = []
    known: dict[int, str] = {}
    pos = 12
    # a cut or malformed record ends the reading: the records complete before it stand
    with suppress(MalformedPayload):
        for i in range(counts[0]):
            name, _qtype, pos = _question(payload, pos, known)
            if i == 0:
                question = name.lower()
        for _ in range(min(counts[1], MAX_RECORDS)):
            name, rtype, ttl, start, rdlength = _record(payload, pos, known)
            pos = start + rdlength
            if rtype in _ANSWER_TYPES:
                value, _port = _rdata(payload, rtype, start, rdlength, known)
                if isinstance(value, str) and (rtype == TYPE_CNAME or "." in value or ":" in value):
                    records.append(DnsAnswer(name.lower(), rtype, value.lower(), ttl))
    return DnsAnswers(question, tuple(records))
