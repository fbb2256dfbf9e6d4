"""Container and link-layer variants absent from the corpus, built around real corpus packets.

Each variant must decode to the same network/transport fields as the original capture, and
where tshark can read the variant, agree with tshark packet by packet.
"""

from __future__ import annotations

import gzip
import shutil
import subprocess
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from capture.containers import (
    Record,
    epb,
    ethertype,
    idb,
    opb,
    pcap_bytes,
    read_all,
    records,
    shb,
    spb,
    to_null,
    to_raw,
    to_sll,
    to_sll2,
    with_mpls,
    with_pppoe,
    with_vlans,
)
from capture.test_against_tshark import assert_agrees_with_tshark
from conftest import require_tool
from hedgerow.capture import DecodeStatus, Frag, open_capture

SOURCES = [
    "ndpi/pcap/synscan.pcap",  # IPv4 TCP
    "zeek-conn/scripts.base.protocols.ftp.ftp-ipv6/ipv6.pcap",  # IPv6 TCP
    "ndpi/pcap/coap_mqtt.pcap",  # UDP
    "ndpi/pcap/icmp-tunnel.pcap",  # ICMP
    "slips/dataset/test7-malicious.pcap",  # IPv6 hop-by-hop, ICMPv6, ARP
]
NETWORK_FIELDS = [
    "l3", "src_hi", "src_lo", "dst_hi", "dst_lo", "proto", "ttl", "ip_len", "ip_id", "frag",
    "sport", "dport", "tcp_flags", "seq", "ack", "window", "payload_len", "payload_cap", "status",
]  # fmt: skip


@pytest.fixture(scope="module")
def ethernet(corpus: Path) -> list[Record]:
    recs: list[Record] = []
    for rel in SOURCES:
        recs += records(corpus / rel, limit=200)
    return recs


@pytest.fixture(scope="module")
def ip_only(ethernet: list[Record]) -> list[Record]:
    return [r for r in ethernet if ethertype(r.frame) in (0x0800, 0x86DD)]


def convert(recs: list[Record], fn: Callable[[bytes], bytes]) -> list[Record]:
    out = []
    for rec in recs:
        frame = fn(rec.frame)
        out.append(Record(rec.ts_ns, frame, rec.wire_len - len(rec.frame) + len(frame)))
    return out


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def assert_same_network(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> None:
    for name in NETWORK_FIELDS:
        assert np.array_equal(a[name], b[name]), name


def payloads(path: Path) -> list[bytes]:
    with open_capture(path, batch_size=1_000_000) as reader:
        (batch,) = list(reader)
    return [batch.payload(i) for i in range(len(batch))]


# ---- pcap variants


@pytest.mark.parametrize(("nano", "big"), [(False, True), (True, False), (True, True)])
def test_pcap_resolution_and_byte_order(
    tmp_path: Path, ethernet: list[Record], nano: bool, big: bool
) -> None:
    base = read_all(write(tmp_path, "base.pcap", pcap_bytes(ethernet, 1)))
    variant = write(tmp_path, "v.pcap", pcap_bytes(ethernet, 1, nano=nano, big=big))
    cols = read_all(variant)
    for name in base:
        assert np.array_equal(base[name], cols[name]), name
    assert_agrees_with_tshark(variant)


def test_nanosecond_pcap_written_by_editcap(tmp_path: Path, corpus: Path) -> None:
    require_tool("editcap")
    source = corpus / "zeek-conn/core.pcapng-pktsrc/pcapng-multi-interface.pcapng"
    out = tmp_path / "ns.pcap"
    subprocess.run(["editcap", "-F", "nsecpcap", str(source), str(out)], check=True)
    with open_capture(out) as reader:
        ts = np.concatenate([b.ts_ns for b in reader])
    assert reader.format == "pcap"
    assert ts[0] % 1000 != 0  # nanosecond digits kept
    assert_agrees_with_tshark(out)


def test_gzip_compressed(tmp_path: Path, corpus: Path) -> None:
    for rel in ("ndpi/pcap/alexa-app.pcapng", "ndpi/pcap/synscan.pcap"):
        plain = corpus / rel
        packed = tmp_path / (plain.name + ".gz")
        packed.write_bytes(gzip.compress(plain.read_bytes()))
        with open_capture(packed) as reader:
            assert reader.compressed
        a, b = read_all(plain), read_all(packed)
        for name in a:
            assert np.array_equal(a[name], b[name]), name


def test_truncated_gzip_keeps_packets(tmp_path: Path, corpus: Path) -> None:
    raw = (corpus / "ndpi/pcap/synscan.pcap").read_bytes()
    packed = gzip.compress(raw)
    path = write(tmp_path, "cut.pcap.gz", packed[: len(packed) // 2])
    with open_capture(path) as reader:
        n = sum(len(b) for b in reader)
    # Every record wholly inside the decompressible prefix is kept.
    prefix = zlib.decompressobj(wbits=31).decompress(packed[: len(packed) // 2])
    at, complete = 24, 0
    while at + 16 <= len(prefix):
        at += 16 + int.from_bytes(prefix[at + 8 : at + 12], "little")
        complete += at <= len(prefix)
    assert 0 < n == complete < 2011
    assert len(reader.warnings) == 1
    assert "compressed stream ends early" in reader.warnings[0].message


def test_corrupt_gzip_keeps_packets_before_the_damage(tmp_path: Path, corpus: Path) -> None:
    raw = (corpus / "ndpi/pcap/alexa-app.pcapng").read_bytes()
    packed = bytearray(gzip.compress(raw))
    middle = len(packed) // 2
    packed[middle : middle + 64] = bytes(64)
    path = write(tmp_path, "corrupt.pcapng.gz", bytes(packed))
    with open_capture(path) as reader:
        n = sum(len(b) for b in reader)
    assert 0 < n < 3103
    (warning,) = reader.warnings
    assert "compressed stream ends early" in warning.message


# ---- pcapng variants


def test_pcapng_written_by_editcap(tmp_path: Path, corpus: Path) -> None:
    require_tool("editcap")
    source = corpus / "ndpi/pcap/synscan.pcap"
    out = tmp_path / "synscan.pcapng"
    subprocess.run(["editcap", "-F", "pcapng", str(source), str(out)], check=True)
    a, b = read_all(source), read_all(out)
    for name in ("ts_ns", "wire_len", "cap_len", "eth_src", *NETWORK_FIELDS):
        assert np.array_equal(a[name], b[name]), name


def test_pcapng_two_link_types_by_mergecap(tmp_path: Path, corpus: Path) -> None:
    require_tool("mergecap")
    sll = corpus / "ndpi/pcap/dns2tcp_tunnel.pcap"
    eth = corpus / "ndpi/pcap/synscan.pcap"
    out = tmp_path / "merged.pcapng"
    subprocess.run(
        ["mergecap", "-a", "-F", "pcapng", "-w", str(out), str(sll), str(eth)], check=True
    )
    with open_capture(out) as reader:
        cols = np.concatenate([b.iface for b in reader])
    assert reader.link_types == [113, 1]
    assert (cols[:50] == 0).all() and (cols[50:] == 1).all()
    assert_agrees_with_tshark(out)


def test_pcapng_sections_byte_orders_and_resolutions(
    tmp_path: Path, ethernet: list[Record]
) -> None:
    """Three sections: little-endian (ns and 2^-20 s interfaces), big-endian (ms), LE again."""
    first, second, third = ethernet[:300], ethernet[300:600], ethernet[600:]
    parts = [shb("<"), idb("<", 1, 0, 9), idb("<", 1, 0, 0x80 | 20)]
    parts += [epb("<", i % 2, rec, 9 if i % 2 == 0 else 0x94) for i, rec in enumerate(first)]
    parts += [shb(">"), idb(">", 1, 65535, 3)]
    parts += [epb(">", 0, rec, 3) for rec in second]
    parts += [shb("<"), idb("<", 1)]
    parts += [opb("<", 0, rec) for rec in third]
    path = write(tmp_path, "sections.pcapng", b"".join(parts))
    with open_capture(path) as reader:
        batches = list(reader)
    assert reader.warnings == []
    ts = np.concatenate([b.ts_ns for b in batches])
    expected_ts = np.array([r.ts_ns for r in ethernet])
    assert np.array_equal(ts[:300:2], expected_ts[:300:2])
    assert (np.abs(ts[1:300:2] - expected_ts[1:300:2]) < 1000).all()  # 2^-20 s ticks
    assert np.array_equal(ts[300:600], expected_ts[300:600] // 1_000_000 * 1_000_000)
    assert np.array_equal(ts[600:], expected_ts[600:] // 1000 * 1000)
    assert_agrees_with_tshark(path)


def test_pcapng_simple_packet_blocks_use_idb_snaplen(
    tmp_path: Path, ethernet: list[Record]
) -> None:
    parts = [shb("<"), idb("<", 1, 96), epb("<", 0, ethernet[0])]
    parts += [spb("<", rec) for rec in ethernet[1:]]
    path = write(tmp_path, "spb.pcapng", b"".join(parts))
    cols = read_all(path)
    base = read_all(write(tmp_path, "base.pcap", pcap_bytes(ethernet, 1)))
    assert np.array_equal(cols["cap_len"][1:], np.minimum(base["wire_len"][1:], 96))
    assert np.array_equal(cols["wire_len"], base["wire_len"])
    assert (cols["ts_ns"][1:] == base["ts_ns"][0]).all()  # no timestamp: the previous one
    for name in ("l3", "src_lo", "dst_lo", "proto", "sport", "dport", "ip_len", "payload_len"):
        assert np.array_equal(cols[name], base[name]), name
    room = np.maximum(0, 96 - (base["payload_off"] - base["pkt_off"]))
    assert np.array_equal(cols["payload_cap"], np.minimum(base["payload_cap"], room))


def test_pcapng_interface_time_offset(tmp_path: Path, ethernet: list[Record]) -> None:
    shifted = [Record(r.ts_ns - 3600 * 10**9, r.frame, r.wire_len) for r in ethernet[:20]]
    parts = [shb("<"), idb("<", 1, 0, 9, tsoffset=3600)]
    parts += [epb("<", 0, rec, 9) for rec in shifted]
    cols = read_all(write(tmp_path, "offset.pcapng", b"".join(parts)))
    assert cols["ts_ns"].tolist() == [r.ts_ns for r in ethernet[:20]]


def test_pcapng_unknown_blocks_are_skipped(tmp_path: Path, ethernet: list[Record]) -> None:
    from capture.containers import block

    unknown = block("<", 0x00000BAD, b"custom payload" * 10)
    statistics = block("<", 5, bytes(20))
    parts = [shb("<"), unknown, idb("<", 1), statistics]
    parts += [epb("<", 0, rec) + unknown for rec in ethernet[:50]]
    cols = read_all(write(tmp_path, "unknown.pcapng", b"".join(parts)))
    assert len(cols["ts_ns"]) == 50


# ---- link types


LINK_VARIANTS: list[tuple[str, int, Callable[[bytes], bytes]]] = [
    ("sll", 113, to_sll),
    ("sll2", 276, to_sll2),
    ("null-le", 0, lambda f: to_null(f, "<")),
    ("null-be", 0, lambda f: to_null(f, ">")),
    ("null-freebsd-v6", 0, lambda f: to_null(f, "<", v6_family=28)),
    ("null-netbsd-v6", 0, lambda f: to_null(f, "<", v6_family=24)),
    ("loop", 108, lambda f: to_null(f, ">")),
    ("raw", 101, to_raw),
    ("raw-dlt12", 12, to_raw),
    ("raw-dlt14", 14, to_raw),
]


@pytest.mark.parametrize(("name", "link", "fn"), LINK_VARIANTS, ids=[v[0] for v in LINK_VARIANTS])
def test_link_types(
    tmp_path: Path, ip_only: list[Record], name: str, link: int, fn: Callable[[bytes], bytes]
) -> None:
    base_path = write(tmp_path, "base.pcap", pcap_bytes(ip_only, 1))
    path = write(tmp_path, f"{name}.pcap", pcap_bytes(convert(ip_only, fn), link))
    base, cols = read_all(base_path), read_all(path)
    assert_same_network(base, cols)
    assert payloads(base_path) == payloads(path)
    assert (cols["link_type"] == link).all()
    if link in (113, 276):
        assert np.array_equal(cols["eth_src"], base["eth_src"])
    else:
        assert (cols["eth_src"] == 0).all()
    if link in (113, 276, 0, 108) and shutil.which("tshark"):
        assert_agrees_with_tshark(path)


def test_arp_sender_mac_when_the_link_has_no_address(
    tmp_path: Path, ethernet: list[Record]
) -> None:
    arp = [r for r in ethernet if ethertype(r.frame) == 0x0806]
    assert arp
    base = read_all(write(tmp_path, "b.pcap", pcap_bytes(arp, 1)))
    bare = convert(arp, lambda f: to_sll(f, with_address=False))
    cols = read_all(write(tmp_path, "v.pcap", pcap_bytes(bare, 113)))
    sender = [int.from_bytes(r.frame[22:28], "big") for r in arp]
    assert cols["eth_src"].tolist() == sender
    assert_same_network(base, cols)
    assert (cols["sport"] >= 1).all() and (cols["l3"] == 1).all()


def test_raw_ipv4_and_ipv6_link_types(tmp_path: Path, ip_only: list[Record]) -> None:
    for link, etype in ((228, 0x0800), (229, 0x86DD)):
        subset = [r for r in ip_only if ethertype(r.frame) == etype]
        base = read_all(write(tmp_path, "b.pcap", pcap_bytes(subset, 1)))
        cols = read_all(write(tmp_path, "v.pcap", pcap_bytes(convert(subset, to_raw), link)))
        assert_same_network(base, cols)


def test_vlan_tags(tmp_path: Path, ethernet: list[Record]) -> None:
    base = read_all(write(tmp_path, "b.pcap", pcap_bytes(ethernet, 1)))
    single = convert(ethernet, lambda f: with_vlans(f, [(0x8100, 0x2005)]))  # PCP 1, VID 5
    triple = convert(ethernet, lambda f: with_vlans(f, [(0x88A8, 300), (0x8100, 7), (0x9100, 9)]))
    for recs, vid in ((single, 5), (triple, 300)):
        path = write(tmp_path, "v.pcap", pcap_bytes(recs, 1))
        cols = read_all(path)
        assert (cols["vlan"] == vid).all()  # the outer tag, as Zeek's conn.log `vlan`
        assert_same_network(base, cols)
        if vid == 5:  # tshark names an 802.1ad outer tag ieee8021ad.id, not vlan.id
            assert_agrees_with_tshark(path)


@pytest.mark.parametrize(
    "wrap",
    [with_pppoe, lambda f: with_mpls(f, [16]), lambda f: with_mpls(f, [100, 200, 300])],
    ids=["pppoe", "mpls", "mpls-stack"],
)
def test_pppoe_and_mpls(
    tmp_path: Path, ip_only: list[Record], wrap: Callable[[bytes], bytes]
) -> None:
    base = read_all(write(tmp_path, "b.pcap", pcap_bytes(ip_only, 1)))
    path = write(tmp_path, "v.pcap", pcap_bytes(convert(ip_only, wrap), 1))
    cols = read_all(path)
    assert_same_network(base, cols)
    assert np.array_equal(cols["eth_src"], base["eth_src"])
    assert_agrees_with_tshark(path)


def test_unsupported_link_type_is_counted_and_warned_once(
    tmp_path: Path, ethernet: list[Record]
) -> None:
    path = write(tmp_path, "u.pcap", pcap_bytes(ethernet, 147))  # LINKTYPE_USER0
    with open_capture(path, batch_size=100) as reader:
        n = sum(len(b) for b in reader)
    assert n == len(ethernet) == reader.stats.status["UNSUPPORTED_LINK"]
    assert len(reader.warnings) == 1
    assert "unsupported link type 147" in str(reader.warnings[0])
    assert reader.warnings[0].offset == 24 + 16


# ---- snap length


@pytest.mark.parametrize("snaplen", [40, 54])
def test_snaplen_cut_headers_are_truncated(tmp_path: Path, corpus: Path, snaplen: int) -> None:
    require_tool("editcap")
    source = corpus / "ndpi/pcap/coap_mqtt.pcap"
    out = tmp_path / "cut.pcap"
    subprocess.run(["editcap", "-s", str(snaplen), str(source), str(out)], check=True)
    base, cols = read_all(source), read_all(out)
    assert (cols["cap_len"] <= snaplen).all()
    assert np.array_equal(cols["wire_len"], base["wire_len"])
    v4 = base["l3"] == 4
    # Ethernet + IPv4 fit in 34 bytes: addresses, lengths and ports (bytes 34..37) survive.
    for name in ("src_lo", "dst_lo", "proto", "ip_len", "sport", "dport"):
        assert np.array_equal(cols[name][v4], base[name][v4]), name
    header_end = base["payload_off"] - base["pkt_off"]
    cut = v4 & (header_end > snaplen)
    assert cut.any()
    assert (cols["status"][cut] == DecodeStatus.TRUNCATED).all()
    assert (cols["status"][v4 & ~cut] == DecodeStatus.OK).all()
    room = np.maximum(0, snaplen - header_end)
    assert np.array_equal(cols["payload_cap"], np.minimum(base["payload_cap"], room))
    known = v4 & ((base["proto"] != 6) | (snaplen >= 34 + 20))  # TCP: data offset needed
    assert np.array_equal(cols["payload_len"][known], base["payload_len"][known])
    assert_agrees_with_tshark(out)


def test_fragments_keep_ip_id_and_state(tmp_path: Path, corpus: Path) -> None:
    cols = read_all(corpus / "stopddos/amp.TCP.reflection.SYNACK.pcap")
    frags = np.nonzero(cols["frag"] != Frag.NONE)[0]
    assert len(frags) == 2
    assert (cols["ip_id"][frags] != 0).all()


# ---- IPv6 extension headers (none in the corpus) around real IPv6 TCP packets


def _ext(nh: int, kind: str, frag_offset: int = 0, more: bool = True) -> bytes:
    pad_n = b"\x01\x04\0\0\0\0"
    if kind in ("hop", "dst"):
        return bytes([nh, 0]) + pad_n
    if kind == "rt":  # type 2 routing header: one home address
        return bytes([nh, 2, 2, 1]) + bytes(4) + bytes.fromhex("20010db8" + "00" * 11 + "01")
    if kind == "ah":  # 24 bytes: SPI, sequence, 12-byte ICV
        return (
            bytes([nh, 4, 0, 0]) + (0x1000).to_bytes(4, "big") + (7).to_bytes(4, "big") + bytes(12)
        )
    assert kind == "frag"
    field = (frag_offset << 3) | int(more)
    return bytes([nh, 0]) + field.to_bytes(2, "big") + (0xDEADBEEF).to_bytes(4, "big")


def with_extensions(frame: bytes, chain: list[str], **frag: int) -> bytes:
    """Insert extension headers (in ``chain`` order) between the IPv6 header and its payload."""
    codes = {"hop": 0, "rt": 43, "frag": 44, "dst": 60, "ah": 51}
    ip = frame[14:54]
    upper = ip[6]
    headers = b""
    for i, kind in enumerate(chain):
        nh = codes[chain[i + 1]] if i + 1 < len(chain) else upper
        headers += _ext(nh, kind, **frag) if kind == "frag" else _ext(nh, kind)
    plen = int.from_bytes(ip[4:6], "big") + len(headers)
    ip = ip[:4] + plen.to_bytes(2, "big") + bytes([codes[chain[0]]]) + ip[7:]
    return frame[:14] + ip + headers + frame[54:]


def test_ipv6_extension_headers(tmp_path: Path, corpus: Path) -> None:
    source = records(corpus / "zeek-conn/scripts.base.protocols.ftp.ftp-ipv6/ipv6.pcap")
    v6 = [r for r in source if ethertype(r.frame) == 0x86DD and r.frame[20] == 6]
    assert len(v6) > 50
    base = read_all(write(tmp_path, "b.pcap", pcap_bytes(v6, 1)))
    chain = ["hop", "rt", "frag", "dst", "ah"]
    first = write(
        tmp_path, "first.pcap", pcap_bytes(convert(v6, lambda f: with_extensions(f, chain)), 1)
    )
    cols = read_all(first)
    extra = 8 + 24 + 8 + 8 + 24
    assert (cols["proto"] == 6).all()
    assert (cols["frag"] == Frag.FIRST).all()
    assert (cols["ip_id"] == 0xDEADBEEF).all()
    assert np.array_equal(cols["ip_len"], base["ip_len"] + extra)
    for name in (
        "src_lo",
        "dst_lo",
        "sport",
        "dport",
        "seq",
        "ack",
        "tcp_flags",
        "payload_len",
        "status",
    ):
        assert np.array_equal(cols[name], base[name]), name
    assert payloads(first) == payloads(write(tmp_path, "b.pcap", pcap_bytes(v6, 1)))
    assert_agrees_with_tshark(first)

    later = convert(v6, lambda f: with_extensions(f, ["hop", "frag"], frag_offset=185, more=False))
    cols = read_all(write(tmp_path, "later.pcap", pcap_bytes(later, 1)))
    assert (cols["frag"] == Frag.LATER).all()
    assert (cols["proto"] == 6).all() and (cols["sport"] == 0).all()
    assert np.array_equal(cols["payload_len"], base["ip_len"] - 40)  # the whole fragment payload

    cut = convert(v6, lambda f: with_extensions(f, chain)[: 14 + 40 + 20])
    cols = read_all(write(tmp_path, "cut.pcap", pcap_bytes(cut, 1)))
    assert (cols["status"] == DecodeStatus.TRUNCATED).all()


def test_gzip_with_several_members_and_progress(tmp_path: Path, corpus: Path) -> None:
    plain = corpus / "ndpi/pcap/synscan.pcap"
    raw = plain.read_bytes()
    path = write(
        tmp_path, "members.pcap.gz", gzip.compress(raw[:50_000]) + gzip.compress(raw[50_000:])
    )
    reader = open_capture(path, batch_size=500)
    seen = [reader.bytes_read for _ in reader]
    assert reader.stats.packets == 2011 and reader.warnings == []
    assert seen[-1] == reader.file_size == path.stat().st_size
    a, b = read_all(plain), read_all(path)
    for name in a:
        assert np.array_equal(a[name], b[name]), name
