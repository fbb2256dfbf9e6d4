"""Detectors on real traffic from the corpus, beyond the rule cases."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from hedgerow.detect.base import DetectContext
from hedgerow.detect.beacon import BeaconDetector
from hedgerow.detect.engine import DetectionEngine
from hedgerow.detect.names import name_from_payload
from hedgerow.detect.ruleschema import BeaconRule
from hedgerow.flows.source import iter_flows
from hedgerow.model import Alert, LocalNetworks


def _scan(path: Path, home: list[str] | None = None) -> list[Alert]:
    nets = LocalNetworks.parse(home) if home else None
    engine = DetectionEngine.from_rule_dirs(networks=nets)
    for batch in iter_flows([path]):
        engine.process(batch)
    return engine.finish()


def test_hide_and_seek_is_a_telnet_scanner_and_a_p2p_bot(corpus: Path) -> None:
    alerts = _scan(corpus / "slips/dataset/test7-malicious.pcap")
    got = {(a.detector, a.device, a.direction) for a in alerts}
    assert ("scan.horizontal.telnet", "192.168.2.16", "outbound") in got
    assert ("c2.p2p", "192.168.2.16", "outbound") in got
    assert all(a.device == "192.168.2.16" for a in alerts)


def test_internet_scanning_of_an_exposed_host_is_inbound(corpus: Path) -> None:
    log = corpus / "stratosphere/008-zeek-mixed/data/conn.log.labeled"
    alerts = _scan(log, ["147.32.81.167/32"])
    assert alerts and all(a.direction == "inbound" and a.device == "147.32.81.167" for a in alerts)
    probed = [a for a in alerts if a.detector == "scan.inbound.probed"]
    assert {a.evidence["group"]["id.resp_p"] for a in probed} >= {23}
    vertical = [a for a in alerts if a.detector == "scan.vertical"]
    assert "104.156.155.13" in {p for a in vertical for p in a.peers}


def test_nmap_syn_scan_is_a_scan_not_a_flood(corpus: Path) -> None:
    alerts = _scan(corpus / "ndpi/pcap/synscan.pcap")
    assert [(a.detector, a.device, a.peers) for a in alerts] == [
        ("scan.vertical", "172.16.0.8", ("64.13.134.52",))
    ]


@pytest.mark.parametrize(
    "name",
    [
        "telnet.pcap",
        "mqtt.pcap",
        "coap_mqtt.pcap",
        "upnp.pcap",
        "ssdp-m-search.pcap",
        "tplink_shp.pcap",
        "alexa-app.pcapng",
    ],
)
def test_benign_iot_protocols_raise_nothing(corpus: Path, name: str) -> None:
    assert _scan(corpus / "ndpi/pcap" / name) == []


def test_server_names_from_real_payloads(corpus: Path) -> None:
    flows = pl.concat(list(iter_flows([corpus / "ndpi/pcap/alexa-app.pcapng"])))
    names = {
        name_from_payload(p, port, proto)
        for p, port, proto in flows.select("orig_payload", "id.resp_p", "proto").iter_rows()
    }
    names.discard(None)
    assert any(n.endswith("amazon.com") for n in names if n), names


def test_beacon_detector_stays_quiet_on_a_real_day_and_finds_a_regular_one(corpus: Path) -> None:
    rule = BeaconRule.model_validate(
        {
            "id": "c2.beacon.test",
            "type": "beacon",
            "kind": "c2",
            "severity": "low",
            "meaning": "beaconing",
            "min_connections": 12,
            "max_cv": 0.1,
            "min_period": 10,
            "max_period": 3600,
        }
    )
    ctx = DetectContext(networks=LocalNetworks.parse(["147.32.81.167/32"]))
    det = BeaconDetector(rule)
    day = list(iter_flows([corpus / "stratosphere/008-zeek-mixed/data/conn.log.labeled"]))
    out = [a for b in day for a in det.process(b, ctx)] + det.finish(ctx)
    assert out == []
    # the same day with one host calling home every 300 s (+-2 s) added
    start = float(day[0]["ts"].min())  # type: ignore[arg-type]
    rows = pl.concat([day[0].head(1)] * 20).with_columns(
        (pl.lit(start) + pl.int_range(0, 20) * 300.0 + (pl.int_range(0, 20) % 3) * 2.0).alias("ts"),
        pl.lit("147.32.81.167").alias("id.orig_h"),
        pl.lit("203.0.113.50").alias("id.resp_h"),
        pl.lit(8081).cast(pl.Int32).alias("id.resp_p"),
        pl.format("B{}", pl.int_range(0, 20)).alias("uid"),
    )
    det = BeaconDetector(rule)
    merged = pl.concat([*day, rows]).sort("ts")
    alerts = det.process(merged, ctx) + det.finish(ctx)
    assert [(a.device, a.peers, a.evidence["period_s"]) for a in alerts] == [
        ("147.32.81.167", ("203.0.113.50",), 300.1)
    ]


def _mirai_like_capture(path: Path, fingerprint: bool) -> None:
    """Five telnet SYNs built with dpkt; the sequence number is the target address or not."""
    import socket
    import struct

    import dpkt

    with path.open("wb") as fh:
        writer = dpkt.pcap.Writer(fh)
        for i in range(5):
            dst = f"198.51.100.{10 + i}"
            seq = struct.unpack("!I", socket.inet_aton(dst))[0] if fingerprint else 12345 + i
            tcp = dpkt.tcp.TCP(sport=40000 + i, dport=23, seq=seq, flags=dpkt.tcp.TH_SYN)
            ip = dpkt.ip.IP(src=socket.inet_aton("192.168.1.50"), dst=socket.inet_aton(dst),
                            p=6, data=tcp, ttl=64)
            ip.len = len(ip)
            eth = dpkt.ethernet.Ethernet(src=b"\x00\x11\x22\x33\x44\x55",
                                         dst=b"\x66\x77\x88\x99\xaa\xbb", data=ip)
            writer.writepkt(bytes(eth), ts=1000.0 + i * 0.1)


@pytest.mark.parametrize("fingerprint", [True, False])
def test_mirai_syn_fingerprint_through_the_flow_meter(tmp_path: Path, fingerprint: bool) -> None:
    pcap = tmp_path / "syns.pcap"
    _mirai_like_capture(pcap, fingerprint)
    fired = {a.detector for a in _scan(pcap)}
    assert ("scan.mirai-syn" in fired) is fingerprint


def _flood_capture(path: Path, kind: str, packets: int = 1500) -> None:
    """A flood at 192.168.1.20 from random outside sources, 500 packets/s, built with dpkt."""
    import random
    import socket

    import dpkt

    rnd = random.Random(7)
    with path.open("wb") as fh:
        writer = dpkt.pcap.Writer(fh)
        for i in range(packets):
            src = socket.inet_aton(f"203.0.{rnd.randrange(256)}.{rnd.randrange(1, 255)}")
            sport = rnd.randrange(1024, 65535)
            l4: dpkt.Packet
            if kind == "udp":
                l4, proto = dpkt.udp.UDP(sport=sport, dport=rnd.randrange(1, 65535),
                                         data=b"x" * 64), 17
                l4.ulen = len(l4)
            elif kind == "icmp":
                l4, proto = dpkt.icmp.ICMP(type=8, data=dpkt.icmp.ICMP.Echo(id=i, seq=i)), 1
            elif kind == "gre":
                l4, proto = dpkt.gre.GRE(data=b"\x00" * 64), 47
            else:
                flag = dpkt.tcp.TH_ACK if kind == "ack" else dpkt.tcp.TH_RST
                l4, proto = dpkt.tcp.TCP(sport=sport, dport=80, seq=rnd.randrange(2**32),
                                         flags=flag), 6
            ip = dpkt.ip.IP(src=src, dst=socket.inet_aton("192.168.1.20"), p=proto, data=l4)
            ip.len = len(ip)
            eth = dpkt.ethernet.Ethernet(src=b"\x00\x11\x22\x33\x44\x55",
                                         dst=b"\x66\x77\x88\x99\xaa\xbb", data=ip)
            writer.writepkt(bytes(eth), ts=1000.0 + i * 0.002)


@pytest.mark.parametrize(("kind", "rule"), [("udp", "dos.udp-flood"), ("icmp", "dos.icmp-flood"),
                                            ("ack", "dos.ack-flood"), ("rst", "dos.rst-flood"),
                                            ("gre", "dos.gre-flood")])
def test_floods_through_the_flow_meter(tmp_path: Path, kind: str, rule: str) -> None:
    pcap = tmp_path / f"{kind}.pcap"
    _flood_capture(pcap, kind)
    alerts = _scan(pcap)
    assert [(a.detector, a.direction, a.device) for a in alerts] == [
        (rule, "inbound", "192.168.1.20")]
