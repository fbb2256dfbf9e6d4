"""TLS ClientHello and ServerHello: versions and the server name (SNI).

The version a connection uses is the ServerHello's ``supported_versions`` extension if
present (TLS 1.3), else its legacy version; a ClientHello's best offer is the highest of its
``supported_versions`` (GREASE values ignored), else its legacy version.

Example:
    >>> name = b"\\x00\\x00\\x0capi.xbcs.net"
    >>> sni = b"\\x00\\x00\\x00\\x11\\x00\\x0f" + name
    >>> body = b"\\x03\\x03" + bytes(32) + b"\\x00" + b"\\x00\\x02\\x00\\x2f" + b"\\x01\\x00"
    >>> body += len(sni).to_bytes(2, "big") + sni
    >>> hs = b"\\x01" + len(body).to_bytes(3, "big") + body
    >>> hello = parse_tls_hello(b"\\x16\\x03\\x01" + len(hs).to_bytes(2, "big") + hs)
    >>> hello.is_client, hello.sni, hello.version_name
    (True, 'api.xbcs.net', 'TLS 1.2')
"""

from __future__ import annotations

from dataclasses import dataclass

from hedgerow.wire.base import MalformedPayload, printable

VERSION_NAMES = {0x0300: "SSL 3.0", 0x0301: "TLS 1.0", 0x0302: "TLS 1.1", 0x0303: "TLS 1.2",
                 0x0304: "TLS 1.3"}
_MAX_EXTENSIONS = 64


@dataclass(frozen=True, slots=True)
class TlsHello:
    """``version`` is the negotiated (server) or best offered (client) protocol version."""

    is_client: bool
    version: int
    sni: str | None

    @property
    def version_name(self) -> str:
        return VERSION_NAMES.get(self.version, f"0x{self.version:04x}")


def _u16(buf: bytes, pos: int, field: str) -> int:
    if pos + 2 > len(buf):
        raise MalformedPayload("tls", field, pos, "truncated")
    return int.from_bytes(buf[pos : pos + 2], "big")


def _skip_vector(buf: bytes, pos: int, size_bytes: int, field: str) -> int:
    if pos + size_bytes > len(buf):
        raise MalformedPayload("tls", field, pos, "truncated")
    length = int.from_bytes(buf[pos : pos + size_bytes], "big")
    return pos + size_bytes + length


def _is_grease(value: int) -> bool:
    return value & 0x0F0F == 0x0A0A and value >> 8 == value & 0xFF


def parse_tls_hello(payload: bytes) -> TlsHello:
    """Parse the first handshake record of a TLS connection (a Client- or ServerHello)."""
    if len(payload) < 9 or payload[0] != 0x16 or payload[1] != 0x03:
        raise MalformedPayload("tls", "record header", 0, "not a TLS handshake record")
    hs_type = payload[5]
    if hs_type not in (1, 2):
        raise MalformedPayload("tls", "handshake type", 5, str(hs_type))
    is_client = hs_type == 1
    pos = 9
    legacy = _u16(payload, pos, "hello version")
    pos += 2 + 32
    pos = _skip_vector(payload, pos, 1, "session id")
    if is_client:
        pos = _skip_vector(payload, pos, 2, "cipher suites")
        pos = _skip_vector(payload, pos, 1, "compression methods")
    else:
        pos += 3
    version, sni = legacy, None
    if pos + 2 > len(payload):
        return TlsHello(is_client, version, sni)
    ext_end = min(len(payload), pos + 2 + _u16(payload, pos, "extensions length"))
    pos += 2
    for _ in range(_MAX_EXTENSIONS):
        if pos + 4 > ext_end:
            break
        # in bounds: ext_end never passes the payload's end
        ext_type = (payload[pos] << 8) | payload[pos + 1]
        length = (payload[pos + 2] << 8) | payload[pos + 3]
        if ext_type == 0 and is_client:
            data = payload[pos + 4 : pos + 4 + length]
            if len(data) >= 5 and data[2] == 0:
                name_len = int.from_bytes(data[3:5], "big")
                sni = printable(data[5 : 5 + name_len]) or None
        elif ext_type == 43:
            data = payload[pos + 4 : pos + 4 + length]
            if is_client:
                offered = [int.from_bytes(data[i : i + 2], "big")
                           for i in range(1, len(data) - 1, 2)]
                real = [v for v in offered if not _is_grease(v)]
                version = max(real, default=version)
            elif len(data) >= 2:
                version = int.from_bytes(data[:2], "big")
        pos += 4 + length
    return TlsHello(is_client, version, sni)
