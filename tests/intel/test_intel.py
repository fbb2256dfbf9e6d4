"""Indicator lists (plain, CSV, STIX 2.1) and matching them against real flows."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hedgerow.detect.engine import DetectionEngine
from hedgerow.flows.source import iter_flows
from hedgerow.intel import IndicatorSet, IntelError, builtin_intel_files, load_indicators


def test_plain_list_with_category_header_and_comments(tmp_path: Path) -> None:
    path = tmp_path / "c2.txt"
    path.write_text("# category: c2\n\n198.51.100.7  # a C2\n203.0.113.0/24\nevil.example\n")
    s = load_indicators(path)
    assert len(s) == 3
    assert s.lookup_ip("203.0.113.77").value == "203.0.113.0/24"  # type: ignore[union-attr]
    assert s.lookup_domain("a.b.evil.example").category == "c2"  # type: ignore[union-attr]
    assert s.lookup_ip("198.51.100.8") is None and s.lookup_domain("example") is None


def test_csv_with_header_aliases(tmp_path: Path) -> None:
    path = tmp_path / "feed.csv"
    path.write_text(
        "# exported\nip_address,threat,description\n"
        "185.18.76.170,botnet_cc,irc\n2001:db8::/32,miner,pool\n"
    )
    s = load_indicators(path)
    assert s.lookup_ip("185.18.76.170").category == "c2"  # type: ignore[union-attr]
    assert s.lookup_ip("2001:db8::1").category == "mining"  # type: ignore[union-attr]


def test_stix_bundle_patterns_and_observables(tmp_path: Path) -> None:
    bundle = {
        "type": "bundle",
        "id": "bundle--1",
        "objects": [
            {
                "type": "indicator",
                "id": "indicator--1",
                "name": "Mirai C2",
                "indicator_types": ["malicious-activity"],
                "pattern_type": "stix",
                "pattern": "[ipv4-addr:value = '192.0.2.1'] OR [url:value = 'http://cnc.example/x']",
            },
            {"type": "domain-name", "id": "domain-name--1", "value": "pool.example"},
            {
                "type": "indicator",
                "id": "indicator--2",
                "pattern_type": "yara",
                "pattern": "rule x {}",
            },
        ],
    }
    path = tmp_path / "b.json"
    path.write_text(json.dumps(bundle))
    s = load_indicators(path)
    assert s.lookup_ip("192.0.2.1").category == "c2"  # type: ignore[union-attr]
    assert s.lookup_domain("cnc.example") is not None
    assert s.lookup_domain("eu.pool.example") is not None


@pytest.mark.parametrize(
    ("name", "text", "where"),
    [
        ("bad.txt", "198.51.100.7\nnot an indicator!\n", "bad.txt:2"),
        ("bad.csv", "name,comment\nx,y\n", "bad.csv:1"),
        ("bad.json", '{"type": "bundle", "objects": [\n{"type": "indicator",}]}', "bad.json:2"),
    ],
)
def test_bad_files_give_one_line_with_a_place(
    tmp_path: Path, name: str, text: str, where: str
) -> None:
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(IntelError) as err:
        load_indicators(path)
    assert where in str(err.value) and "\n" not in str(err.value)


def test_builtin_mining_pool_list_loads() -> None:
    s = IndicatorSet()
    for path in builtin_intel_files():
        s.update(load_indicators(path))
    assert s.lookup_domain("xmr-eu1.nanopool.org").category == "mining"  # type: ignore[union-attr]


def test_csv_feed_flags_the_irc_server_in_a_real_trace(tmp_path: Path, corpus: Path) -> None:
    feed = tmp_path / "feed.csv"
    feed.write_text("indicator,category\n185.18.76.0/24,c2\n")
    pcap = corpus / "zeek-conn/scripts.base.protocols.irc.starttls/irc-starttls.pcap"
    engine = DetectionEngine.from_rule_dirs(intel_files=[feed])
    for batch in iter_flows([pcap]):
        engine.process(batch)
    hits = [a for a in engine.finish() if a.detector == "intel.match"]
    assert len(hits) == 1
    assert hits[0].kind.value == "c2" and hits[0].peers == ("185.18.76.170",)
    assert hits[0].evidence["indicator"] == "185.18.76.0/24"


def test_listed_domain_matches_tls_sni_in_a_real_capture(tmp_path: Path, corpus: Path) -> None:
    feed = tmp_path / "names.txt"
    feed.write_text("# category: c2\namazon.com\n")
    engine = DetectionEngine.from_rule_dirs(intel_files=[feed])
    for batch in iter_flows([corpus / "ndpi/pcap/alexa-app.pcapng"]):
        engine.process(batch)
    hits = [a for a in engine.finish() if a.detector == "intel.match"]
    assert hits and all(a.kind.value == "c2" for a in hits)
    assert {a.direction for a in hits} <= {"outbound", "internal"}  # DNS via the local resolver
    assert len(hits) == 1  # one alert per device and indicator, however many names and peers
    assert hits[0].evidence["indicator"] == "amazon.com"
    assert {"tls-sni api.amazon.com", "dns-query www.amazon.com"} <= set(
        hits[0].evidence["matched"]
    )
