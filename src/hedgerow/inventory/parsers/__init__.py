"""Bounded parsers for the payloads that reveal what a device is.

Each parser takes the raw L4 payload bytes of one packet and returns a small frozen record,
or raises :class:`MalformedPayload` naming the field and byte offset. They never read past
the bytes given and never loop without a bound, so a hostile packet costs a few microseconds
and is counted, never fatal.

Example:
    >>> from hedgerow.inventory.parsers import parse_ssdp
    >>> msg = b"NOTIFY * HTTP/1.1\\r\\nSERVER: Linux UPnP/1.0 IpBridge/1.13\\r\\n\\r\\n"
    >>> parse_ssdp(msg).server
    'Linux UPnP/1.0 IpBridge/1.13'
"""

from hedgerow.inventory.parsers.dhcp import DhcpInfo, parse_dhcp
from hedgerow.inventory.parsers.http import (
    HttpRequest,
    HttpResponse,
    parse_http_request,
    parse_http_response,
)
from hedgerow.inventory.parsers.mdns import mdns_hints
from hedgerow.inventory.parsers.ssdp import SsdpMessage, parse_ssdp
from hedgerow.inventory.parsers.tls import TlsHello, parse_tls_hello
from hedgerow.wire.base import MalformedPayload
from hedgerow.wire.dns import DnsMessage, DnsRecord, parse_dns

__all__ = [
    "DhcpInfo",
    "DnsMessage",
    "DnsRecord",
    "HttpRequest",
    "HttpResponse",
    "MalformedPayload",
    "SsdpMessage",
    "TlsHello",
    "mdns_hints",
    "parse_dhcp",
    "parse_dns",
    "parse_http_request",
    "parse_http_response",
    "parse_ssdp",
    "parse_tls_hello",
]
