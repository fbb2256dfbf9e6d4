"""The first packet of an HTTP request or response: User-Agent, Host, Server, UPnP model.

Only the first segment is looked at (what a device says about itself comes early): request
line and headers, or status line, headers and the start of the body, where a UPnP device
description names its manufacturer, model and device type.

Example:
    >>> req = parse_http_request(b"GET /scale/upload HTTP/1.1\\r\\nHost: www.fitbit.com\\r\\n"
    ...     b"User-Agent: Aria/1.0\\r\\n\\r\\n")
    >>> req.path, req.host, req.user_agent
    ('/scale/upload', 'www.fitbit.com', 'Aria/1.0')
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from hedgerow.wire.base import MAX_TEXT, MalformedPayload, printable

METHODS = (b"GET", b"POST", b"PUT", b"HEAD", b"DELETE", b"OPTIONS", b"PATCH", b"SUBSCRIBE",
           b"NOTIFY", b"CONNECT")
_MAX_HEADERS = 64
_UPNP_TAGS = ("manufacturer", "modelName", "modelDescription", "modelNumber", "deviceType",
              "friendlyName")
_TAG_RE = {tag: re.compile(rb"<" + tag.encode() + rb">([^<]{1,200})</" + tag.encode() + rb">")
           for tag in _UPNP_TAGS}


@dataclass(frozen=True, slots=True)
class HttpRequest:
    method: str
    path: str
    host: str | None
    user_agent: str | None
    authorization: str | None


@dataclass(frozen=True, slots=True)
class HttpResponse:
    status: int
    server: str | None
    www_authenticate: str | None
    upnp: dict[str, str]


def _headers(block: bytes, offset: int, protocol: str) -> dict[str, str]:
    headers: dict[str, str] = {}
    for line in block.split(b"\r\n")[:_MAX_HEADERS]:
        if not line:
            break
        name, colon, value = line.partition(b":")
        if not colon:
            raise MalformedPayload(protocol, "header", offset, repr(line[:40]))
        headers.setdefault(printable(name, 64).lower(), printable(value, MAX_TEXT))
        offset += len(line) + 2
    return headers


def parse_http_request(payload: bytes) -> HttpRequest:
    """Parse the request line and headers of one request segment."""
    line, sep, rest = payload.partition(b"\r\n")
    parts = line.split(b" ")
    if not sep or len(parts) != 3 or parts[0] not in METHODS or not parts[2].startswith(b"HTTP/"):
        raise MalformedPayload("http", "request line", 0, repr(line[:40]))
    headers = _headers(rest.split(b"\r\n\r\n", 1)[0], len(line) + 2, "http")
    return HttpRequest(
        method=parts[0].decode(),
        path=printable(parts[1], 512),
        host=headers.get("host"),
        user_agent=headers.get("user-agent"),
        authorization=headers.get("authorization"),
    )


def parse_http_response(payload: bytes) -> HttpResponse:
    """Parse the status line, headers and any UPnP description tags of one response segment."""
    line, sep, rest = payload.partition(b"\r\n")
    parts = line.split(b" ", 2)
    if not sep or len(parts) < 2 or not parts[0].startswith(b"HTTP/1.") or not parts[1].isdigit():
        raise MalformedPayload("http", "status line", 0, repr(line[:40]))
    head, _, body = rest.partition(b"\r\n\r\n")
    headers = _headers(head, len(line) + 2, "http")
    upnp: dict[str, str] = {}
    if b"<root" in body or b"<device" in body:
        for tag, pattern in _TAG_RE.items():
            found = pattern.search(body)
            if found:
                upnp[tag] = printable(found.group(1))
    return HttpResponse(int(parts[1]), headers.get("server"), headers.get("www-authenticate"), upnp)
