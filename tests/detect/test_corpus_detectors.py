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
