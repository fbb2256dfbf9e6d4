"""Guess a flow's application protocol (Zeek's ``service``): first payload bytes, then ports.

The payload rules are data (:data:`PAYLOAD_RULES`: which side, prefix or substring, which
service; first match wins), matched in compiled code over the flows' kept payload prefixes.
The port tables are used only for flows that carried payload (Zeek names a service only after
its analyzer saw the protocol, so a bare SYN to port 80 stays without service). The matching
loop is compiled (``_service.pyx``).

Example:
    >>> import numpy as np
    >>> pool = np.zeros((2, 2, 128), np.uint8)
    >>> pool[0, 0, :4] = list(b"GET ")
    >>> pool[1, 0, :2] = [1, 0]
    >>> codes = service_codes(pool, np.array([0, 1], np.int32),
    ...     np.array([[4, 0], [2, 0]], np.int32), np.array([6, 17], np.int32),
    ...     np.array([40000, 5353], np.int32), np.array([8081, 53], np.int32))
    >>> service_names(codes).to_list()
    ['http', 'dns']
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from hedgerow.flows._service import classify as _classify

if TYPE_CHECKING:
    import polars as pl

ORIG, RESP, EITHER = 0, 1, 2
PREFIX, CONTAINS = 0, 1

PAYLOAD_RULES: list[tuple[str, int, int, bytes, tuple[int, int, bytes] | None]] = [
    # (service, side, how, bytes, and-also (side, how, bytes) or None); first match wins
    ("ssh", EITHER, PREFIX, b"SSH-", None),
    ("ssdp", ORIG, PREFIX, b"M-SEARCH * ", None),
    ("ssdp", ORIG, PREFIX, b"NOTIFY * ", None),
    ("rtsp", ORIG, PREFIX, b"OPTIONS rtsp:", None),
    ("rtsp", ORIG, PREFIX, b"DESCRIBE rtsp:", None),
    ("rtsp", ORIG, PREFIX, b"SETUP rtsp:", None),
    ("rtsp", RESP, PREFIX, b"RTSP/1.", None),
    ("sip", ORIG, PREFIX, b"INVITE sip:", None),
    ("sip", ORIG, PREFIX, b"REGISTER sip:", None),
    ("sip", ORIG, PREFIX, b"OPTIONS sip:", None),
    ("sip", EITHER, PREFIX, b"SIP/2.0", None),
    *[
        ("http", ORIG, PREFIX, method, None)
        for method in (
            b"GET ",
            b"POST ",
            b"HEAD ",
            b"PUT ",
            b"DELETE ",
            b"OPTIONS ",
            b"PATCH ",
            b"CONNECT ",
            b"TRACE ",
        )
    ],
    ("http", RESP, PREFIX, b"HTTP/1.", None),
    ("ssl", EITHER, PREFIX, b"\x16\x03", None),
    ("stratum", ORIG, CONTAINS, b'"mining.', None),
    ("mqtt", ORIG, PREFIX, b"\x10", (ORIG, CONTAINS, b"MQTT")),
    ("mqtt", ORIG, PREFIX, b"\x10", (ORIG, CONTAINS, b"MQIsdp")),
    ("irc", ORIG, PREFIX, b"NICK ", None),
    ("irc", ORIG, PREFIX, b"CAP LS", None),
    ("smtp", RESP, PREFIX, b"220", (ORIG, PREFIX, b"EHLO")),
    ("smtp", RESP, PREFIX, b"220", (ORIG, PREFIX, b"HELO")),
    ("smtp", RESP, PREFIX, b"220", (ORIG, PREFIX, b"ehlo")),
    ("smtp", RESP, PREFIX, b"220", (ORIG, PREFIX, b"helo")),
    ("ftp", RESP, PREFIX, b"220", (ORIG, PREFIX, b"USER ")),
    ("ftp", RESP, PREFIX, b"220", (ORIG, PREFIX, b"AUTH ")),
    ("ftp", RESP, PREFIX, b"220", (ORIG, PREFIX, b"FEAT")),
    ("irc", ORIG, PREFIX, b"USER ", None),
    ("irc", ORIG, PREFIX, b"PASS ", None),
    ("pop3", RESP, PREFIX, b"+OK", None),
    ("imap", RESP, PREFIX, b"* OK", None),
    ("rfb", RESP, PREFIX, b"RFB 00", None),
    ("smb", ORIG, CONTAINS, b"\xffSMB", None),
    ("smb", ORIG, CONTAINS, b"\xfeSMB", None),
    ("telnet", EITHER, PREFIX, b"\xff", None),
]
"""Payload signatures. ``telnet`` (IAC option negotiation) applies to TCP only."""

PORTS_TCP = {
    80: "http", 8080: "http", 8000: "http", 8008: "http", 8081: "http", 443: "ssl",
    8443: "ssl", 993: "ssl", 995: "ssl", 465: "ssl", 8883: "ssl", 22: "ssh", 21: "ftp",
    25: "smtp", 587: "smtp", 23: "telnet", 2323: "telnet", 1883: "mqtt", 53: "dns",
    554: "rtsp", 5060: "sip", 6667: "irc", 6697: "irc", 110: "pop3", 143: "imap",
    3389: "rdp", 445: "smb", 139: "smb", 502: "modbus", 5900: "rfb", 1723: "pptp",
}  # fmt: skip
PORTS_UDP = {
    53: "dns", 5353: "dns", 5355: "dns", 137: "dns", 67: "dhcp", 68: "dhcp", 123: "ntp",
    161: "snmp", 162: "snmp", 5060: "sip", 1900: "ssdp", 5683: "coap", 69: "tftp",
    514: "syslog", 3389: "rdpeudp", 443: "quic", 500: "ipsec", 4500: "ipsec",
}  # fmt: skip

_NAMES = sorted({r[0] for r in PAYLOAD_RULES} | set(PORTS_TCP.values()) | set(PORTS_UDP.values()))
_CODE = {name: i for i, name in enumerate(_NAMES)}
SERVICE_NAMES: tuple[str, ...] = tuple(_NAMES)
"""``service`` text by the codes of :func:`service_codes`."""


def _compile_rules() -> tuple[npt.NDArray[np.int32], npt.NDArray[np.uint8]]:
    """Rules as an int table (code, side, how, off, len, side2, how2, off2, len2) + bytes."""
    rows = []
    blob = bytearray()
    for name, side, how, needle, also in PAYLOAD_RULES:
        off = len(blob)
        blob += needle
        row = [_CODE[name], side, how, off, len(needle), -1, 0, 0, 0]
        if also is not None:
            row[5:9] = [also[0], also[1], len(blob), len(also[2])]
            blob += also[2]
        rows.append(row)
    return np.array(rows, np.int32), np.frombuffer(bytes(blob), np.uint8).copy()


def _port_table(ports: dict[int, str]) -> npt.NDArray[np.int16]:
    table = np.full(65536, -1, np.int16)
    for port, name in ports.items():
        table[port] = _CODE[name]
    return table


def _candidate_masks() -> npt.NDArray[np.uint64]:
    """Which rules can match, as bit masks: row ``d * 256 + b`` holds the prefix rules of side
    ``d`` whose bytes start with ``b``; row 512 the substring rules (always candidates)."""
    if len(PAYLOAD_RULES) > 64:
        raise ValueError("at most 64 payload rules (one bit each)")
    masks = np.zeros(513, np.uint64)
    for r, (_, side, how, needle, _also) in enumerate(PAYLOAD_RULES):
        bit = np.uint64(1 << r)
        if how == CONTAINS:
            masks[512] |= bit
            continue
        for d in (ORIG, RESP):
            if side in (d, EITHER):
                masks[d * 256 + needle[0]] |= bit
    return masks


_RULES, _BLOB = _compile_rules()
_CANDIDATES = _candidate_masks()
_TCP_PORTS = _port_table(PORTS_TCP)
_UDP_PORTS = _port_table(PORTS_UDP)
_TELNET = _CODE["telnet"]


def service_codes(
    pool: npt.NDArray[np.uint8],
    pl_slot: npt.NDArray[np.int32],
    payload_len: npt.NDArray[np.int32],
    proto: npt.NDArray[np.int32],
    orig_p: npt.NDArray[np.int32],
    resp_p: npt.NDArray[np.int32],
) -> npt.NDArray[np.int16]:
    """``service`` per flow as an index into :data:`SERVICE_NAMES` (-1: none).

    ``pool[pl_slot[f]]`` holds flow ``f``'s payload prefixes (``payload_len[f, side]`` bytes per
    side; ``pl_slot`` -1 when none).
    """
    return _classify(
        pool, pl_slot, payload_len, proto.astype(np.int32), orig_p.astype(np.int32),
        resp_p.astype(np.int32), _RULES, _BLOB, _TCP_PORTS, _UDP_PORTS, _TELNET, _CANDIDATES,
    )  # fmt: skip


def service_names(codes: npt.NDArray[np.int16]) -> pl.Series:
    """``service`` text per code of :func:`service_codes` (null for -1: unknown or no payload)."""
    import polars as pl

    known = codes >= 0
    names = pl.Series("service", SERVICE_NAMES, dtype=pl.String).gather(np.where(known, codes, 0))
    return names.set(pl.Series(~known), None) if not known.all() else names
