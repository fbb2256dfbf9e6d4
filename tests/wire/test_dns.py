"""DNS answers from the first bytes of real responses, crafted edge cases, and fuzzing."""

from __future__ import annotations

import struct
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hedgerow.flows.source import iter_flows
from hedgerow.wire.dns import MAX_RECORDS, TYPE_A, TYPE_AAAA, TYPE_CNAME, dns_answers

HEADER = struct.Struct("!HHHHHH")
QUESTION = b"\x03www\x04evil\x07example\x00\x00\x01\x00\x01"


def _record(owner: bytes, rtype: int, ttl: int, rdata: bytes) -> bytes:
    return owner + struct.pack("!HHIH", rtype, 1, ttl, len(rdata)) + rdata


def _response(*records: bytes, flags: int = 0x8180) -> bytes:
    return HEADER.pack(7, flags, 1, len(records), 0, 0) + QUESTION + b"".join(records)


def _dns_responses(pcap: Path) -> list[bytes]:
    flows = pl.concat(list(iter_flows([pcap])))
    dns = flows.filter((pl.col("id.resp_p") == 53) & pl.col("resp_payload").is_not_null())
    return dns.sort("ts")["resp_payload"].to_list()


def test_real_answer_and_the_message_after_it(corpus: Path) -> None:
    # the flow's first 128 server bytes hold one whole response and the start of the next
    first = _dns_responses(corpus / "ndpi/pcap/nest_log_sink.pcap")[0]
    ans = dns_answers(first)
    assert ans.question == "weave-logsink.nest.com"
    assert [(r.rtype, r.value, r.ttl) for r in ans.records] == [(TYPE_A, "35.188.154.186", 120)]


def test_real_cname_chains(corpus: Path) -> None:
    chains = [dns_answers(p) for p in _dns_responses(corpus / "ndpi/pcap/alexa-app.pcapng")]
    www = next(a for a in chains if a.question == "www.amazon.com")
    assert [(r.name, r.rtype, r.value) for r in www.records] == [
        ("www.amazon.com", TYPE_CNAME, "www.cdn.amazon.com"),
        ("www.cdn.amazon.com", TYPE_CNAME, "d3ag4hukkh62yn.cloudfront.net"),
        ("d3ag4hukkh62yn.cloudfront.net", TYPE_A, www.records[2].value),
    ]
    assert www.records[2].value.startswith("52.85.209.")


def test_every_cut_of_real_responses_gives_the_records_complete_before_it(
    corpus: Path,
) -> None:
    payloads = _dns_responses(corpus / "ndpi/pcap/alexa-app.pcapng")
    assert payloads
    for payload in payloads:
        whole = dns_answers(payload).records
        for cut in range(len(payload) + 1):
            part = dns_answers(payload[:cut]).records
            assert part == whole[: len(part)]


def test_tcp_length_prefix(corpus: Path) -> None:
    udp = _dns_responses(corpus / "ndpi/pcap/nest_log_sink.pcap")[0]
    message = udp[: 12 + len(b"\rweave-logsink\x04nest\x03com\x00") + 4 + 16]
    tcp = struct.pack("!H", len(message)) + message + b"\x00\x30next message"
    assert dns_answers(tcp, length_prefixed=True) == dns_answers(udp)
    assert dns_answers(tcp[:-30], length_prefixed=True).records == ()  # A record cut off
    assert dns_answers(b"\x00", length_prefixed=True).records == ()


def test_aaaa_cname_compression_and_other_types() -> None:
    owner = b"\xc0\x0c"
    payload = _response(
        _record(owner, TYPE_CNAME, 30, b"\x02c2\xc0\x10"),  # c2.evil.example, compressed
        _record(b"\xc0\x2e", TYPE_AAAA, 30, bytes.fromhex("20010db8000000000000000000000001")),
        _record(owner, 16, 30, b"\x03txt"),  # TXT: skipped
        _record(owner, TYPE_A, 0x80000001, b"\xcb\x00\x71\x05"),  # TTL top bit: 0
        _record(owner, TYPE_A, 30, b"\x01\x02\x03"),  # wrong length: skipped
    )
    got = [(r.name, r.rtype, r.value, r.ttl) for r in dns_answers(payload).records]
    assert got == [
        ("www.evil.example", TYPE_CNAME, "c2.evil.example", 30),
        ("c2.evil.example", TYPE_AAAA, "2001:db8::1", 30),
        ("www.evil.example", TYPE_A, "203.0.113.5", 0),
    ]


def test_compression_loops_end_and_keep_the_records_before_them() -> None:
    good = _record(b"\xc0\x0c", TYPE_A, 60, b"\xcb\x00\x71\x05")
    self_loop = b"\xc0\x32"  # a pointer to itself, at offset 50 (12 + 22 + 16)
    assert len(HEADER.pack(0, 0, 0, 0, 0, 0) + QUESTION + good) == 0x32
    payload = _response(good, _record(self_loop, TYPE_A, 60, b"\x01\x02\x03\x04"))
    assert [r.value for r in dns_answers(payload).records] == ["203.0.113.5"]
    forward = _response(_record(b"\xc0\x40", TYPE_A, 60, b"\x01\x02\x03\x04"), good)
    assert dns_answers(forward).records == ()
    ring = HEADER.pack(0, 0x8180, 1, 1, 0, 0) + b"\xc0\x0c" + b"\x00\x01\x00\x01"
    assert dns_answers(ring).question is None and dns_answers(ring).records == ()


def test_queries_and_absurd_headers_give_nothing() -> None:
    good = _record(b"\xc0\x0c", TYPE_A, 60, b"\xcb\x00\x71\x05")
    assert dns_answers(_response(good, flags=0x0100)).records == ()
    too_many = HEADER.pack(0, 0x8180, 1, 65535, 65535, 0) + QUESTION + good
    assert dns_answers(too_many).records == ()
    assert dns_answers(b"").records == ()


def test_answer_count_is_bounded() -> None:
    record = _record(b"\xc0\x0c", TYPE_A, 60, b"\xcb\x00\x71\x05")
    payload = HEADER.pack(0, 0x8180, 1, 190, 0, 0) + QUESTION + record * 190
    assert len(dns_answers(payload).records) == MAX_RECORDS


@settings(max_examples=500, deadline=None)
@given(data=st.binary(max_size=300), tcp=st.booleans())
def test_fuzz_never_raises(data: bytes, tcp: bool) -> None:
    ans = dns_answers(data, length_prefixed=tcp)
    assert len(ans.records) <= MAX_RECORDS


@settings(max_examples=500, deadline=None)
@given(
    tail=st.binary(max_size=200),
    qd=st.integers(0, 3),
    an=st.integers(0, 70),
    cut=st.integers(0, 400),
)
def test_fuzz_with_a_response_header(tail: bytes, qd: int, an: int, cut: int) -> None:
    payload = HEADER.pack(1, 0x8180, qd, an, 0, 0) + tail
    ans = dns_answers(payload[:cut])
    assert len(ans.records) <= min(an, MAX_RECORDS)
    for rec in ans.records:
        assert rec.rtype in (TYPE_A, TYPE_AAAA, TYPE_CNAME) and 0 <= rec.ttl < 2**31


@pytest.mark.parametrize("cut", range(0, 80, 7))
def test_crafted_response_cut_anywhere(cut: int) -> None:
    payload = _response(
        _record(b"\xc0\x0c", TYPE_CNAME, 30, b"\x02c2\xc0\x10"),
        _record(b"\xc0\x2e", TYPE_A, 30, b"\xcb\x00\x71\x05"),
    )
    whole = dns_answers(payload).records
    part = dns_answers(payload[:cut]).records
    assert part == whole[: len(part)]
