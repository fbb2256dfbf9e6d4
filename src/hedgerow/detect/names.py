"""Server names seen in the first payload bytes: TLS SNI, HTTP Host, DNS query name.

Only a flow's first 128 client bytes are kept, so a name is found when it fits there (most
ClientHellos put the SNI early; a long one may be cut off, then nothing is returned).

Example:
    >>> name_from_payload(b"GET / HTTP/1.1\\r\\nHost: Pool.Example:3333\\r\\n\\r\\n", 80, "tcp")
    'pool.example'
    >>> q = bytes(12) + b"\\x04pool\\x07example\\x00\\x00\\x01\\x00\\x01"
    >>> name_from_payload(q, 53, "udp")
    'pool.example'
"""

from __future__ import annotations

import re

DNS_PORTS = (53, 5353, 5355)
"""UDP ports of DNS, mDNS and LLMNR."""
_HOST = re.compile(rb"\r\nHost:\s*([A-Za-z0-9.-]+)", re.IGNORECASE)


def name_from_payload(
    payload: bytes | None, resp_port: int | None, proto: str | None
) -> str | None:
    """The server name a client asked for, if its first bytes carry one."""
    if not payload:
        return None
    if proto == "udp" and resp_port in DNS_PORTS:
        return _dns_qname(payload)
    if payload[:1] == b"\x16" and payload[1:2] == b"\x03":
        return _tls_sni(payload)
    m = _HOST.search(payload)
    return m.group(1).decode("ascii").lower().rstrip(".") if m else None


def _dns_qname(data: bytes) -> str | None:
    if len(data) < 13 or data[2] & 0x80:
        return None
    labels: list[str] = []
    i = 12
    while i < len(data):
        n = data[i]
        if n == 0:
            return ".".join(labels).lower() if labels else None
        if n > 63 or i + 1 + n > len(data):
            return None
        labels.append(data[i + 1 : i + 1 + n].decode("ascii", "replace"))
        i += 1 + n
    return None


def _tls_sni(data: bytes) -> str | None:
    # record(5) handshake type(1) len(3) version(2) random(32) -> session id
    if len(data) < 44 or data[5] != 1:
        return None
    i = 43
    i += 1 + data[i]
    if i + 2 > len(data):
        return None
    i += 2 + int.from_bytes(data[i : i + 2], "big")
    if i + 1 > len(data):
        return None
    i += 1 + data[i]
    if i + 2 > len(data):
        return None
    end = min(len(data), i + 2 + int.from_bytes(data[i : i + 2], "big"))
    i += 2
    while i + 4 <= end:
        ext_type = int.from_bytes(data[i : i + 2], "big")
        ext_len = int.from_bytes(data[i + 2 : i + 4], "big")
        body = data[i + 4 : i + 4 + ext_len]
        if ext_type == 0 and len(body) >= 5:
            name_len = int.from_bytes(body[3:5], "big")
            name = body[5 : 5 + name_len]
            if len(name) == name_len:
                return name.decode("ascii", "replace").lower()
            return None
        i += 4 + ext_len
    return None
