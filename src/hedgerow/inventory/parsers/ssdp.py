"""SSDP (UPnP discovery) messages: start line and the SERVER/USN/LOCATION/NT/ST headers.

Example:
    >>> msg = parse_ssdp(b"HTTP/1.1 200 OK\\r\\nST: urn:Belkin:device:controllee:1\\r\\n"
    ...     b"USN: uuid:Socket-1_0-221517K0101769::urn:Belkin:device:controllee:1\\r\\n\\r\\n")
    >>> msg.kind, msg.headers["st"]
    ('response', 'urn:Belkin:device:controllee:1')
"""

from __future__ import annotations

from dataclasses import dataclass, field

from hedgerow.wire.base import MAX_TEXT, MalformedPayload, printable

MAX_HEADERS = 48
_MAX_BYTES = 8192


@dataclass(frozen=True, slots=True)
class SsdpMessage:
    """``kind`` is ``notify``, ``search`` or ``response``; header names are lower-case."""

    kind: str
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def server(self) -> str | None:
        return self.headers.get("server")

    @property
    def device_type(self) -> str | None:
        """The ``urn:...:device:...`` type announced in NT, ST or USN, if any."""
        for key in ("nt", "st", "usn"):
            value = self.headers.get(key, "")
            idx = value.find("urn:")
            if idx >= 0 and ":device:" in value[idx:]:
                return value[idx:]
        return None


def parse_ssdp(payload: bytes) -> SsdpMessage:
    """Parse an SSDP datagram; raises :class:`MalformedPayload` when it is not one."""
    text = payload[:_MAX_BYTES]
    head, sep, _ = text.partition(b"\r\n")
    if not sep:
        head, sep, _ = text.partition(b"\n")
    if not sep:
        raise MalformedPayload("ssdp", "start line", 0, "no line end")
    upper = head.upper()
    if upper.startswith(b"NOTIFY "):
        kind = "notify"
    elif upper.startswith(b"M-SEARCH "):
        kind = "search"
    elif upper.startswith(b"HTTP/1."):
        kind = "response"
    else:
        raise MalformedPayload("ssdp", "start line", 0, repr(head[:40]))
    headers: dict[str, str] = {}
    offset = len(head) + len(sep)
    for line in text[offset:].splitlines()[: MAX_HEADERS + 1]:
        if not line.strip():
            break
        name, colon, value = line.partition(b":")
        if not colon:
            raise MalformedPayload("ssdp", "header", offset, repr(line[:40]))
        headers.setdefault(printable(name, 64).lower(), printable(value, MAX_TEXT))
        offset += len(line) + 2
    return SsdpMessage(kind, headers)
