"""DHCP (BOOTP) client messages: hostname, vendor class and the parameter-request fingerprint.

Options read: 12 host name, 50 requested address, 53 message type, 55 parameter request list
(the classic OS/firmware fingerprint, kept as the ordered option numbers), 60 vendor class
identifier, 81 client FQDN.

Example:
    >>> import struct
    >>> fixed = struct.pack("!BBBB4xHH4s4s4s4s16s64s128s", 1, 1, 6, 0, 0, 0, bytes(4),
    ...     bytes(4), bytes(4), bytes(4), bytes.fromhex("5ccf7f06d902") + bytes(10),
    ...     bytes(64), bytes(128))
    >>> opts = b"\\x63\\x82\\x53\\x63" + b"\\x35\\x01\\x01" + b"\\x0c\\x0aESP_06D902"
    >>> opts += b"\\x37\\x03\\x01\\x03\\x06\\xff"
    >>> info = parse_dhcp(fixed + opts)
    >>> info.hostname, info.client_mac, info.prl, info.message_type
    ('ESP_06D902', '5c:cf:7f:06:d9:02', (1, 3, 6), 1)
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from hedgerow.wire.base import MalformedPayload, printable

_FIXED = 236
_COOKIE = b"\x63\x82\x53\x63"
_MAX_OPTIONS = 128


@dataclass(frozen=True, slots=True)
class DhcpInfo:
    """The identifying parts of one DHCP message."""

    op: int
    message_type: int | None
    client_mac: str
    client_ip: str | None
    your_ip: str | None
    requested_ip: str | None
    hostname: str | None
    vendor_class: str | None
    fqdn: str | None
    prl: tuple[int, ...]

    @property
    def fingerprint(self) -> str:
        """The parameter request list as Fingerbank writes it (``1,3,6,15``)."""
        return ",".join(str(o) for o in self.prl)


def _ip(raw: bytes) -> str | None:
    return None if raw == b"\x00\x00\x00\x00" else str(ipaddress.IPv4Address(raw))


def _text(raw: bytes | None) -> str | None:
    return (printable(raw) or None) if raw else None


def parse_dhcp(payload: bytes) -> DhcpInfo:
    """Parse a BOOTP/DHCP message; raises :class:`MalformedPayload` when it is not one."""
    if len(payload) < _FIXED + 4:
        raise MalformedPayload("dhcp", "length", len(payload), "shorter than the fixed header")
    op, htype, hlen = payload[0], payload[1], payload[2]
    if op not in (1, 2):
        raise MalformedPayload("dhcp", "op", 0, f"{op} is neither request nor reply")
    if htype != 1 or hlen != 6:
        raise MalformedPayload("dhcp", "htype", 1, "not an Ethernet client address")
    if payload[_FIXED : _FIXED + 4] != _COOKIE:
        raise MalformedPayload("dhcp", "magic cookie", _FIXED)
    values: dict[int, bytes] = {}
    pos = _FIXED + 4
    for _ in range(_MAX_OPTIONS):
        if pos >= len(payload):
            break
        code = payload[pos]
        if code == 255:
            break
        if code == 0:
            pos += 1
            continue
        if pos + 1 >= len(payload):
            raise MalformedPayload("dhcp", f"option {code} length", pos + 1, "truncated")
        length = payload[pos + 1]
        end = pos + 2 + length
        if end > len(payload):
            raise MalformedPayload("dhcp", f"option {code}", pos, "runs past the end")
        values.setdefault(code, payload[pos + 2 : end])
        pos = end
    msg_type = values.get(53)
    requested = values.get(50)
    fqdn = values.get(81)
    return DhcpInfo(
        op=op,
        message_type=msg_type[0] if msg_type else None,
        client_mac=payload[28:34].hex(":"),
        client_ip=_ip(payload[12:16]),
        your_ip=_ip(payload[16:20]),
        requested_ip=_ip(requested) if requested is not None and len(requested) == 4 else None,
        hostname=_text(values.get(12)),
        vendor_class=_text(values.get(60)),
        fqdn=_text(fqdn[3:] if fqdn is not None else None),
        prl=tuple(values.get(55, b"")),
    )
