"""Payload parsers: real packets from the corpus, crafted edge cases, and fuzzing."""

from __future__ import annotations

import contextlib
import struct
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hedgerow.capture import open_capture
from hedgerow.inventory.parsers import (
    MalformedPayload,
    mdns_hints,
    parse_dhcp,
    parse_dns,
    parse_http_request,
    parse_http_response,
    parse_ssdp,
    parse_tls_hello,
)

PARSERS = [parse_dhcp, parse_dns, parse_ssdp, parse_http_request, parse_http_response,
           parse_tls_hello]


def _payloads(pcap: Path, port: int) -> list[bytes]:
    out = []
    with open_capture(pcap) as reader:
        for batch in reader:
            for row in range(len(batch)):
                ports = (int(batch.sport[row]), int(batch.dport[row]))
                if port in ports and batch.payload_cap[row]:
                    out.append(batch.payload(row))
    return out


def test_dhcp_from_real_tp_link_plug(corpus: Path) -> None:
    pcap = next((corpus / "iot-sentinel" / "TP-LinkPlugHS100").glob("*.pcap"))
    infos = [parse_dhcp(p) for p in _payloads(pcap, 67)]
    client = next(i for i in infos if i.op == 1 and i.client_mac == "50:c7:bf:00:fc:a3")
    assert client.hostname == "HS100(EU)"
    assert client.vendor_class == "udhcp 0.9.9-pre"
    assert client.prl and client.fingerprint.startswith("1,")


def test_mdns_from_real_dlink_siren(corpus: Path) -> None:
    pcap = next((corpus / "iot-sentinel" / "D-LinkSiren").glob("*.pcap"))
    services: set[str] = set()
    instances: set[str] = set()
    for payload in _payloads(pcap, 5353):
        hints = mdns_hints(parse_dns(payload))
        services.update(hints.services)
        instances.update(hints.instances)
    assert "_dhnap._tcp" in services
    assert "D-Link DCH-S220 Configuration Utility" in instances


def test_ssdp_and_upnp_from_real_wemo(corpus: Path) -> None:
    pcap = next((corpus / "iot-sentinel" / "WeMoSwitch2").glob("*.pcap"))
    msgs = [parse_ssdp(p) for p in _payloads(pcap, 1900)]
    types = {m.device_type for m in msgs if m.kind != "search"}
    assert "urn:Belkin:device:controllee:1" in types


def test_tls_client_hello_from_real_wemo(corpus: Path) -> None:
    pcap = next((corpus / "iot-sentinel" / "WeMoLink").glob("*.pcap"))
    hellos = []
    for p in _payloads(pcap, 8443):
        try:
            hellos.append(parse_tls_hello(p))
        except MalformedPayload:
            continue
    assert any(h.is_client and h.sni == "api.xbcs.net" for h in hellos)


def test_dns_compression_pointer_loop_is_refused() -> None:
    header = bytes.fromhex("00000000000100000000 0000".replace(" ", ""))
    loop = header + b"\xc0\x0c" + b"\x00\x01\x00\x01"
    with pytest.raises(MalformedPayload, match="compression pointer"):
        parse_dns(loop)


def test_dns_compressed_answer_names() -> None:
    question = b"\x03www\x06fitbit\x03com\x00\x00\x01\x00\x01"
    answer = b"\xc0\x0c\x00\x01\x00\x01\x00\x00\x00\x3c\x00\x04\x0a\x00\x00\x01"
    msg = parse_dns(bytes.fromhex("1234818000010001 00000000".replace(" ", "")) + question + answer)
    assert msg.records[0].name == "www.fitbit.com"
    assert msg.records[0].value == "10.0.0.1"


def test_http_request_and_upnp_response() -> None:
    req = parse_http_request(b"GET /setup.xml HTTP/1.1\r\nHost: 10.0.0.5:49153\r\n"
                             b"User-Agent: Dalvik/2.1.0 (Linux; U; Android 7.0)\r\n\r\n")
    assert req.path == "/setup.xml" and req.user_agent and "Android" in req.user_agent
    resp = parse_http_response(
        b"HTTP/1.1 200 OK\r\nSERVER: Unspecified, UPnP/1.0, Unspecified\r\n\r\n"
        b"<root><device><deviceType>urn:Belkin:device:controllee:1</deviceType>"
        b"<manufacturer>Belkin International Inc.</manufacturer>"
        b"<modelName>Socket</modelName></device></root>")
    assert resp.upnp["modelName"] == "Socket"
    assert resp.upnp["manufacturer"].startswith("Belkin")


def test_tls_server_hello_version_from_extension() -> None:
    ext = b"\x00\x2b\x00\x02\x03\x04"
    body = b"\x03\x03" + bytes(32) + b"\x00" + b"\x13\x01\x00" + struct.pack("!H", len(ext)) + ext
    hs = b"\x02" + len(body).to_bytes(3, "big") + body
    hello = parse_tls_hello(b"\x16\x03\x03" + struct.pack("!H", len(hs)) + hs)
    assert not hello.is_client and hello.version_name == "TLS 1.3"


@pytest.mark.parametrize("parser", PARSERS)
@settings(max_examples=300, deadline=None)
@given(data=st.binary(max_size=600))
def test_parsers_never_raise_anything_but_malformed(parser: object, data: bytes) -> None:
    with contextlib.suppress(MalformedPayload):
        parser(data)  # type: ignore[operator]


@settings(max_examples=300, deadline=None)
@given(tail=st.binary(max_size=300), qd=st.integers(0, 3), an=st.integers(0, 3))
def test_dns_fuzz_with_valid_header(tail: bytes, qd: int, an: int) -> None:
    payload = struct.pack("!HHHHHH", 1, 0x8400, qd, an, 0, 0) + tail
    with contextlib.suppress(MalformedPayload):
        mdns_hints(parse_dns(payload))


@settings(max_examples=300, deadline=None)
@given(options=st.binary(max_size=300))
def test_dhcp_fuzz_options(options: bytes) -> None:
    fixed = bytes([1, 1, 6, 0]) + bytes(232) + b"\x63\x82\x53\x63"
    with contextlib.suppress(MalformedPayload):
        parse_dhcp(fixed + options)


@settings(max_examples=300, deadline=None)
@given(body=st.binary(max_size=300), hs=st.sampled_from([1, 2]))
def test_tls_fuzz_hello_body(body: bytes, hs: int) -> None:
    record = bytes([hs]) + len(body).to_bytes(3, "big") + body
    with contextlib.suppress(MalformedPayload):
        parse_tls_hello(b"\x16\x03\x01" + struct.pack("!H", len(record)) + record)
