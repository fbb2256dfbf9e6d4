"""Guess a flow's application protocol (Zeek's ``service``): first payload bytes, then ports.

Vectorised over a FlowBatch with polars binary expressions. Payload evidence wins; the port
table is used only for flows that carried payload (Zeek names a service only after its
analyzer saw the protocol, so a bare SYN to port 80 stays without service).

Example:
    >>> import polars as pl
    >>> frame = pl.DataFrame({"orig_payload": [b"GET / HTTP/1.1\\r\\n", b"\\x01"],
    ...     "resp_payload": [b"", b""], "proto": ["tcp", "udp"], "id.orig_p": [40000, 5353],
    ...     "id.resp_p": [8081, 53]})
    >>> frame.select(guess_service()).to_series().to_list()
    ['http', 'dns']
"""

from __future__ import annotations

import polars as pl

_HTTP_METHODS = (
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

_PORTS_TCP = {
    80: "http",
    8080: "http",
    8000: "http",
    8008: "http",
    8081: "http",
    443: "ssl",
    8443: "ssl",
    993: "ssl",
    995: "ssl",
    465: "ssl",
    8883: "ssl",
    22: "ssh",
    21: "ftp",
    25: "smtp",
    587: "smtp",
    23: "telnet",
    2323: "telnet",
    1883: "mqtt",
    53: "dns",
    554: "rtsp",
    5060: "sip",
    6667: "irc",
    6697: "irc",
    110: "pop3",
    143: "imap",
    3389: "rdp",
    445: "smb",
    139: "smb",
    502: "modbus",
    5900: "rfb",
    1723: "pptp",
}
_PORTS_UDP = {
    53: "dns",
    5353: "dns",
    5355: "dns",
    137: "dns",
    67: "dhcp",
    68: "dhcp",
    123: "ntp",
    161: "snmp",
    162: "snmp",
    5060: "sip",
    1900: "ssdp",
    5683: "coap",
    69: "tftp",
    514: "syslog",
    3389: "rdpeudp",
    443: "quic",
    500: "ipsec",
    4500: "ipsec",
}


def _starts(col: str, *prefixes: bytes) -> pl.Expr:
    expr = pl.lit(False)
    for prefix in prefixes:
        expr = expr | pl.col(col).bin.starts_with(prefix)
    return expr


def _port_service(table: dict[int, str], port_col: str) -> pl.Expr:
    return pl.col(port_col).replace_strict(table, default=None, return_dtype=pl.String)


def guess_service() -> pl.Expr:
    """Expression giving ``service`` from ``orig_payload``, ``resp_payload``, ports, proto."""
    orig = "orig_payload"
    resp = "resp_payload"
    any_payload = (pl.col(orig).bin.size() > 0) | (pl.col(resp).bin.size() > 0)
    is_tcp = pl.col("proto") == "tcp"
    is_udp = pl.col("proto") == "udp"
    tls = pl.col(orig).bin.starts_with(b"\x16\x03") | pl.col(resp).bin.starts_with(b"\x16\x03")
    telnet = (
        pl.col(orig).bin.starts_with(b"\xff") | pl.col(resp).bin.starts_with(b"\xff")
    ) & is_tcp
    mqtt = pl.col(orig).bin.starts_with(b"\x10") & (
        pl.col(orig).bin.contains(b"MQTT") | pl.col(orig).bin.contains(b"MQIsdp")
    )
    by_port = (
        pl.when(is_tcp)
        .then(
            pl.coalesce(
                _port_service(_PORTS_TCP, "id.resp_p"), _port_service(_PORTS_TCP, "id.orig_p")
            )
        )
        .when(is_udp)
        .then(
            pl.coalesce(
                _port_service(_PORTS_UDP, "id.resp_p"), _port_service(_PORTS_UDP, "id.orig_p")
            )
        )
        .otherwise(None)
    )
    return (
        pl.when(_starts(orig, b"SSH-") | _starts(resp, b"SSH-"))
        .then(pl.lit("ssh"))
        .when(_starts(orig, b"M-SEARCH * ", b"NOTIFY * "))
        .then(pl.lit("ssdp"))
        .when(
            _starts(orig, b"OPTIONS rtsp:", b"DESCRIBE rtsp:", b"SETUP rtsp:")
            | _starts(resp, b"RTSP/1.")
        )
        .then(pl.lit("rtsp"))
        .when(
            _starts(orig, b"INVITE sip:", b"REGISTER sip:", b"OPTIONS sip:", b"SIP/2.0")
            | _starts(resp, b"SIP/2.0")
        )
        .then(pl.lit("sip"))
        .when(_starts(orig, *_HTTP_METHODS) | _starts(resp, b"HTTP/1."))
        .then(pl.lit("http"))
        .when(tls)
        .then(pl.lit("ssl"))
        .when(pl.col(orig).bin.contains(b'"mining.'))
        .then(pl.lit("stratum"))
        .when(mqtt)
        .then(pl.lit("mqtt"))
        .when(
            _starts(orig, b"NICK ", b"CAP LS", b"PASS ")
            | (_starts(orig, b"USER ") & ~_starts(resp, b"220"))
        )
        .then(pl.lit("irc"))
        .when(_starts(resp, b"220") & _starts(orig, b"EHLO", b"HELO", b"ehlo", b"helo"))
        .then(pl.lit("smtp"))
        .when(_starts(resp, b"220") & _starts(orig, b"USER ", b"user ", b"AUTH ", b"FEAT"))
        .then(pl.lit("ftp"))
        .when(_starts(resp, b"+OK"))
        .then(pl.lit("pop3"))
        .when(_starts(resp, b"* OK"))
        .then(pl.lit("imap"))
        .when(_starts(resp, b"RFB 00"))
        .then(pl.lit("rfb"))
        .when(pl.col(orig).bin.contains(b"\xffSMB") | pl.col(orig).bin.contains(b"\xfeSMB"))
        .then(pl.lit("smb"))
        .when(telnet)
        .then(pl.lit("telnet"))
        .when(any_payload)
        .then(by_port)
        .otherwise(None)
        .alias("service")
    )
