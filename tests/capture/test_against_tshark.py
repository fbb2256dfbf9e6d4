"""Per-packet fields of our reader against tshark's dissection of the same corpus captures."""

from __future__ import annotations

import ipaddress
import subprocess
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from conftest import require_tool
from hedgerow.capture import L3, DecodeStatus, Frag, PacketBatch, open_capture

FIELDS = [
    "frame.time_epoch",
    "frame.len",
    "frame.cap_len",
    "eth.src",
    "sll.src.eth",
    "vlan.id",
    "ip.src",
    "ip.dst",
    "ip.proto",
    "ip.ttl",
    "ip.len",
    "ip.id",
    "ip.flags.mf",
    "ip.frag_offset",
    "ipv6.src",
    "ipv6.dst",
    "ipv6.hlim",
    "ipv6.plen",
    "tcp.srcport",
    "tcp.dstport",
    "tcp.flags",
    "tcp.seq_raw",
    "tcp.ack_raw",
    "tcp.window_size_value",
    "tcp.len",
    "udp.srcport",
    "udp.dstport",
    "icmp.type",
    "icmp.code",
    "icmpv6.type",
    "icmpv6.code",
    "arp.opcode",
    "arp.src.proto_ipv4",
    "arp.dst.proto_ipv4",
]

CAPTURES = [
    "ndpi/pcap/synscan.pcap",  # TCP SYN scan, Ethernet
    "ndpi/pcap/alexa-app.pcapng",  # pcapng, mixed TCP/UDP, IPv6
    "ndpi/pcap/rtsp.pcap",  # pcapng, Linux cooked
    "ndpi/pcap/dns2tcp_tunnel.pcap",  # pcap, Linux cooked
    "ndpi/pcap/icmp-tunnel.pcap",  # ICMP
    "ndpi/pcap/telnet.pcap",  # IP length beyond the frame (malformed)
    "ndpi/pcap/coap_mqtt.pcap",  # UDP + TCP
    "zeek-conn/scripts.base.protocols.ftp.ftp-ipv6/ipv6.pcap",  # IPv6 TCP
    "zeek-conn/scripts.base.protocols.syslog.tcp-framing/tcp-syslog.pcap",  # raw IPv4 (228)
    "zeek-conn/core.pcapng-pktsrc/pcapng-multi-interface.pcapng",  # ns + us interfaces
    "zeek-conn/core.q-in-q/q-in-q.pcap",  # 802.1ad + 802.1Q
    "iot-sentinel/HueSwitch/Setup-A-1-STA.pcap",  # ARP, DHCP, IoT traffic
    "slips/dataset/test12-icmp-portscan.pcap",  # ICMP errors quoting TCP
    "slips/dataset/test7-malicious.pcap",  # IPv6 hop-by-hop (MLD), IPv4 options
    "iot-sentinel/D-LinkSiren/Setup-C-1-STA.pcap",  # IPv4 options (IGMP router alert)
    "stopddos/amp.TCP.reflection.SYNACK.pcap",  # IPv4 fragments
]


def tshark_table(path: Path) -> dict[str, list[str]]:
    """Column -> per-packet values (first occurrence; '' when absent), defragmentation off."""
    command = ["tshark", "-n", "-r", str(path), "-o", "ip.defragment:FALSE"]
    command += ["-o", "ipv6.defragment:FALSE", "-T", "fields", "-E", "separator=/t"]
    command += ["-E", "occurrence=f"]
    for name in FIELDS:
        command += ["-e", name]
    out = subprocess.run(command, capture_output=True, text=True, check=True, timeout=120).stdout
    rows = [line.split("\t") for line in out.splitlines()]
    return {name: [row[i] for row in rows] for i, name in enumerate(FIELDS)}


def concat(batches: list[PacketBatch]) -> dict[str, npt.NDArray[np.generic]]:
    return {
        name: np.concatenate([getattr(b, name) for b in batches])
        for name in PacketBatch.column_names()
    }


def ints(values: list[str], base: int = 10) -> npt.NDArray[np.int64]:
    return np.array([int(v, base) if v else -1 for v in values], dtype=np.int64)


def ns(value: str) -> int:
    sec, _, frac = value.partition(".")
    return int(sec) * 1_000_000_000 + int(frac.ljust(9, "0")[:9])


def address(hi: int, lo: int, l3: int) -> str:
    if l3 == L3.IPV6:
        return str(ipaddress.IPv6Address((hi << 64) | lo))
    return str(ipaddress.IPv4Address(lo & 0xFFFFFFFF))


def mac(value: int) -> str:
    return ":".join(f"{b:02x}" for b in value.to_bytes(6, "big"))


@pytest.mark.parametrize("rel", CAPTURES)
def test_fields_agree_with_tshark(corpus: Path, rel: str) -> None:
    assert_agrees_with_tshark(corpus / rel)


def assert_agrees_with_tshark(path: Path) -> None:
    """Every packet of ``path`` decodes to the fields tshark shows for it."""
    require_tool("tshark")
    ref = tshark_table(path)
    with open_capture(path, batch_size=4096) as reader:
        ours = concat(list(reader))
    n = len(ref["frame.len"])
    assert len(ours["ts_ns"]) == n > 0

    assert ours["ts_ns"].tolist() == [ns(v) for v in ref["frame.time_epoch"]]
    assert ours["wire_len"].tolist() == ints(ref["frame.len"]).tolist()
    assert ours["cap_len"].tolist() == ints(ref["frame.cap_len"]).tolist()
    macs = [a or b for a, b in zip(ref["eth.src"], ref["sll.src.eth"], strict=True)]
    ours_mac = [mac(int(m)) if m else "" for m in ours["eth_src"].tolist()]
    arp = ours["l3"] == L3.ARP
    for i in np.nonzero(~arp)[0]:
        assert ours_mac[i] == macs[i], f"packet {i + 1}: eth src"
    vlan = np.where(ours["vlan"] > 0, ours["vlan"].astype(np.int64), -1)
    assert np.array_equal(vlan, ints(ref["vlan.id"]))

    v4 = ours["l3"] == L3.IPV4
    v6 = ours["l3"] == L3.IPV6
    cut = ours["status"] == DecodeStatus.TRUNCATED

    def same(column: str, field: str, mask: npt.NDArray[np.bool_], base: int = 10) -> None:
        """Equal on ``mask``; a packet the snap length cut may lack fields tshark lacks too."""
        expected = ints(ref[field], base)
        rows = mask & ((expected != -1) | ~cut)
        got = ours[column][rows].astype(np.int64)
        if field == "tcp.flags":
            expected = expected & 0xFF
        bad = np.nonzero(got != expected[rows])[0]
        assert not len(bad), f"{column} vs {field}: packet {np.nonzero(rows)[0][bad[0]] + 1}"

    assert np.array_equal(v4, np.array([bool(v) for v in ref["ip.src"]]))
    only_v6 = [bool(v) and not s for v, s in zip(ref["ipv6.src"], ref["ip.src"], strict=True)]
    assert np.array_equal(v6, np.array(only_v6))
    for i in np.nonzero(v4 | v6)[0]:
        l3 = int(ours["l3"][i])
        src = address(int(ours["src_hi"][i]), int(ours["src_lo"][i]), l3)
        dst = address(int(ours["dst_hi"][i]), int(ours["dst_lo"][i]), l3)
        key = "ip" if l3 == L3.IPV4 else "ipv6"
        expected = (ref[f"{key}.src"][i], ref[f"{key}.dst"][i])
        if cut[i]:
            src, dst = (src if expected[0] else ""), (dst if expected[1] else "")
        assert (src, dst) == expected, f"packet {i + 1}"
    same("ttl", "ip.ttl", v4)
    same("ttl", "ipv6.hlim", v6)
    same("ip_len", "ip.len", v4)
    same("ip_id", "ip.id", v4, 16)
    plen = ints(ref["ipv6.plen"])
    assert np.array_equal(ours["ip_len"][v6 & (plen >= 0)], plen[v6 & (plen >= 0)] + 40)
    same("proto", "ip.proto", v4)
    mf = ints(ref["ip.flags.mf"])[v4 & ~cut]
    offset = ints(ref["ip.frag_offset"])[v4 & ~cut]
    expected_frag = np.where(offset > 0, Frag.LATER, np.where(mf == 1, Frag.FIRST, Frag.NONE))
    assert np.array_equal(ours["frag"][v4 & ~cut], expected_frag)
    has = {name: np.array([bool(v) for v in ref[name]]) for name in FIELDS}
    no_icmp = ~has["icmp.type"] & ~has["icmpv6.type"]
    for proto, layer, others in (
        (6, "tcp.srcport", "udp.srcport"),
        (17, "udp.srcport", "tcp.srcport"),
    ):
        only = (v4 | v6) & has[layer] & ~has[others] & no_icmp & (ours["frag"] != Frag.LATER)
        assert (ours["proto"][only] == proto).all()
    assert (ours["proto"][v6 & has["icmpv6.type"]] == 58).all()

    whole = ours["frag"] != Frag.LATER
    tcp = (v4 | v6) & (ours["proto"] == 6) & whole
    same("sport", "tcp.srcport", tcp)
    same("dport", "tcp.dstport", tcp)
    same("tcp_flags", "tcp.flags", tcp, 16)
    same("seq", "tcp.seq_raw", tcp)
    same("ack", "tcp.ack_raw", tcp)
    same("window", "tcp.window_size_value", tcp)
    unfragmented = ours["frag"] == Frag.NONE  # tshark has no tcp.len for a fragment
    same("payload_len", "tcp.len", tcp & unfragmented & (ours["status"] == DecodeStatus.OK))

    udp = (v4 | v6) & (ours["proto"] == 17) & whole
    same("sport", "udp.srcport", udp)
    same("dport", "udp.dstport", udp)
    same("sport", "icmp.type", v4 & (ours["proto"] == 1) & whole)
    same("dport", "icmp.code", v4 & (ours["proto"] == 1) & whole)
    same("sport", "icmpv6.type", v6 & (ours["proto"] == 58) & whole)
    same("dport", "icmpv6.code", v6 & (ours["proto"] == 58) & whole)

    same("sport", "arp.opcode", arp)
    for i in np.nonzero(arp & ~cut)[0]:
        src = address(0, int(ours["src_lo"][i]), L3.IPV4)
        dst = address(0, int(ours["dst_lo"][i]), L3.IPV4)
        assert (src, dst) == (ref["arp.src.proto_ipv4"][i], ref["arp.dst.proto_ipv4"][i])

    assert (ours["payload_cap"] <= ours["payload_len"]).all()
    end = ours["payload_off"] + ours["payload_cap"]
    assert (end <= ours["pkt_off"] + ours["cap_len"]).all()
