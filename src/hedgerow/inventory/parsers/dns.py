"""DNS and mDNS messages: names with compression pointers, and the PTR/SRV/TXT model hints.

Bounds: at most 64 records per section, 128 labels and 255 bytes per name, 32 pointer jumps,
and every pointer must point backwards (so a crafted loop ends).

Example:
    >>> q = bytes.fromhex("000201000001000000000000") + b"\\x03www\\x06fitbit\\x03com\\x00"
    >>> q += b"\\x00\\x01\\x00\\x01"
    >>> msg = parse_dns(q)
    >>> msg.is_response, msg.questions
    (False, (('www.fitbit.com', 1),))
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from hedgerow.inventory.parsers.base import MalformedPayload, printable

MAX_RECORDS = 64
_MAX_JUMPS = 32
_MAX_NAME = 255

TYPE_A, TYPE_PTR, TYPE_TXT, TYPE_AAAA, TYPE_SRV = 1, 12, 16, 28, 33


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


def _name(buf: bytes, pos: int) -> tuple[str, int]:
    """Read a possibly compressed name at ``pos``; returns (name, offset after it)."""
    labels: list[str] = []
    total = 0
    jumps = 0
    end: int | None = None
    cursor = pos
    while True:
        if cursor >= len(buf):
            raise MalformedPayload("dns", "name", cursor, "runs past the end")
        length = buf[cursor]
        if length & 0xC0 == 0xC0:
            if cursor + 1 >= len(buf):
                raise MalformedPayload("dns", "compression pointer", cursor, "truncated")
            target = ((length & 0x3F) << 8) | buf[cursor + 1]
            if end is None:
                end = cursor + 2
            if target >= cursor or jumps >= _MAX_JUMPS:
                raise MalformedPayload("dns", "compression pointer", cursor, "loops")
            jumps += 1
            cursor = target
            continue
        if length & 0xC0:
            raise MalformedPayload("dns", "label length", cursor, f"reserved bits in {length}")
        if length == 0:
            return ".".join(labels), end if end is not None else cursor + 1
        total += length + 1
        if total > _MAX_NAME:
            raise MalformedPayload("dns", "name", pos, "longer than 255 bytes")
        label = buf[cursor + 1 : cursor + 1 + length]
        if len(label) < length:
            raise MalformedPayload("dns", "label", cursor, "runs past the end")
        labels.append(label.decode("utf-8", errors="replace"))
        cursor += 1 + length


def _rdata(
    buf: bytes, rtype: int, start: int, length: int
) -> tuple[str | tuple[str, ...], int | None]:
    raw = buf[start : start + length]
    if rtype == TYPE_A and length == 4:
        return "%d.%d.%d.%d" % tuple(raw), None  # noqa: UP031 (as IPv4Address prints it)
    if rtype == TYPE_AAAA and length == 16:
        return str(ipaddress.IPv6Address(raw)), None
    if rtype in (TYPE_PTR, 5, 2):
        return _name(buf, start)[0], None
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


def parse_dns(payload: bytes) -> DnsMessage:
    """Parse a DNS or mDNS message; raises :class:`MalformedPayload` naming field and offset."""
    if len(payload) < 12:
        raise MalformedPayload("dns", "header", len(payload), "shorter than 12 bytes")
    txid = int.from_bytes(payload[0:2], "big")
    flags = int.from_bytes(payload[2:4], "big")
    counts = [int.from_bytes(payload[i : i + 2], "big") for i in (4, 6, 8, 10)]
    if (flags >> 11) & 0xF not in (0, 1, 2, 4, 5):
        raise MalformedPayload("dns", "opcode", 2, f"{(flags >> 11) & 0xF}")
    if counts[0] > MAX_RECORDS or sum(counts[1:]) > 3 * MAX_RECORDS:
        raise MalformedPayload("dns", "record counts", 4, f"{counts}")
    pos = 12
    questions: list[tuple[str, int]] = []
    for _ in range(counts[0]):
        name, pos = _name(payload, pos)
        if pos + 4 > len(payload):
            raise MalformedPayload("dns", "question type", pos, "truncated")
        questions.append((name, int.from_bytes(payload[pos : pos + 2], "big")))
        pos += 4
    records: list[DnsRecord] = []
    for _ in range(sum(counts[1:])):
        name, pos = _name(payload, pos)
        if pos + 10 > len(payload):
            raise MalformedPayload("dns", "record header", pos, "truncated")
        rtype = int.from_bytes(payload[pos : pos + 2], "big")
        rdlength = int.from_bytes(payload[pos + 8 : pos + 10], "big")
        start = pos + 10
        if start + rdlength > len(payload):
            raise MalformedPayload("dns", "rdata", start, "runs past the end")
        value, port = _rdata(payload, rtype, start, rdlength)
        if len(records) < MAX_RECORDS:
            records.append(DnsRecord(name, rtype, value, port))
        pos = start + rdlength
    return DnsMessage(txid, bool(flags & 0x8000), tuple(questions), tuple(records))


_TYPE_ANY = 255
_MODEL_KEYS = ("md", "model", "mn", "modelname", "ty", "product", "usb_mdl", "am")
_VENDOR_KEYS = ("manufacturer", "mf", "usb_mfg", "vendor")


@dataclass(frozen=True, slots=True)
class MdnsHints:
    """What an mDNS message announces: services, instance names, host names, model, maker."""

    services: tuple[str, ...]
    instances: tuple[str, ...]
    hostnames: tuple[str, ...]
    model: str | None
    manufacturer: str | None


def _service_of(name: str) -> str | None:
    parts = name.split(".")
    for i in range(len(parts) - 1):
        if parts[i].startswith("_") and parts[i + 1] in ("_tcp", "_udp"):
            return f"{parts[i]}.{parts[i + 1]}"
    return None


def mdns_hints(msg: DnsMessage) -> MdnsHints:
    """The service types, instance names, host names and TXT model/maker in an mDNS message.

    Example:
        >>> rec = DnsRecord("DCS-930LB._http._tcp.local", TYPE_TXT, ("model=DCS-930LB",))
        >>> mdns_hints(DnsMessage(0, True, (), (rec,))).model
        'DCS-930LB'
    """
    services: dict[str, None] = {}
    instances: dict[str, None] = {}
    hosts: dict[str, None] = {}
    model: str | None = None
    maker: str | None = None
    # Probes (qtype ANY) claim the sender's own names; plain queries browse for others'.
    names = [name for name, qtype in msg.questions if qtype == _TYPE_ANY]
    for rec in msg.records:
        names.append(rec.name)
        if rec.rtype == TYPE_PTR and isinstance(rec.value, str):
            names.append(rec.value)
        if rec.rtype in (TYPE_A, TYPE_AAAA) and rec.name.endswith(".local"):
            hosts[rec.name.removesuffix(".local")] = None
        if rec.rtype == TYPE_SRV and isinstance(rec.value, str) and rec.value.endswith(".local"):
            hosts[rec.value.removesuffix(".local")] = None
        if rec.rtype == TYPE_TXT and isinstance(rec.value, tuple):
            for item in rec.value:
                key, _, val = item.partition("=")
                key = key.lower()
                if val and model is None and key in _MODEL_KEYS:
                    model = val
                if val and maker is None and key in _VENDOR_KEYS:
                    maker = val
    for name in names:
        service = _service_of(name)
        if service is None or name.startswith("_services._dns-sd"):
            continue
        services[service] = None
        head = name.split("._", 1)[0]
        if head and not head.startswith("_"):
            instances[head] = None
    return MdnsHints(tuple(services), tuple(instances), tuple(hosts), model, maker)
