"""The inventory builder on real captures, re-encapsulated without Ethernet, and bad packets."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest

from hedgerow.capture import open_capture
from hedgerow.capture.batch import L3, PacketBatch
from hedgerow.inventory import InventoryBuilder, OuiDatabase, oui

HUE = "HueSwitch"
HUE_MAC = "00:17:88:24:76:ff"


def _inventory(*pcaps: Path) -> InventoryBuilder:
    builder = InventoryBuilder()
    for pcap in pcaps:
        with open_capture(pcap) as reader:
            for batch in reader:
                builder.add_batch(batch)
    return builder


def _rewrite(src: Path, dst: Path, linktype: int, mangle: bytes | None = None) -> None:
    """Copy a classic Ethernet pcap to ``linktype`` 101 (raw IP) or 113 (Linux cooked)."""
    raw = src.read_bytes()
    out = bytearray(raw[:20] + struct.pack("<I", linktype))
    pos = 24
    while pos + 16 <= len(raw):
        sec, usec, incl, orig = struct.unpack_from("<IIII", raw, pos)
        frame = raw[pos + 16 : pos + 16 + incl]
        pos += 16 + incl
        if frame[12:14] not in (b"\x08\x00", b"\x86\xdd"):
            continue
        body = frame[14:]
        if mangle is not None and b"\x63\x82\x53\x63" in body:
            body = body.replace(b"\x63\x82\x53\x63", mangle)
        if linktype == 113:
            body = struct.pack("!HHH8sH", 0, 1, 6, frame[6:12] + b"\0\0", 0x0800) + body
        out += struct.pack("<IIII", sec, usec, len(body), orig - incl + len(body)) + body
    dst.write_bytes(bytes(out))


def test_hue_bridge_identified_with_evidence(corpus: Path) -> None:
    pcaps = sorted((corpus / "iot-sentinel" / HUE).glob("*.pcap"))
    inventory = _inventory(*pcaps).finish()
    hue = inventory.device(HUE_MAC)
    assert hue is not None
    assert hue.vendor == "Philips" and hue.kind == "hub" and hue.model == "BSB002"
    assert "10.10.10.6" in hue.ips
    assert "tcp/80" in hue.services
    assert any("IpBridge" in e for e in hue.evidence["kind"])
    assert hue.first_seen < hue.last_seen
    assert inventory.stats.parsed["ssdp"] > 0 and not inventory.stats.malformed


def test_raw_ip_capture_gives_inventory_by_ip(corpus: Path, tmp_path: Path) -> None:
    src = next((corpus / "iot-sentinel" / "D-LinkDayCam").glob("*.pcap"))
    raw = tmp_path / "raw.pcap"
    _rewrite(src, raw, 101)
    inventory = _inventory(raw).finish()
    cam = next(d for d in inventory.devices if d.kind == "camera")
    # No Ethernet: the camera's packets are keyed by IP and joined to the MAC its DHCP
    # request carries, so address, name and maker stay together.
    assert cam.mac == "b0:c5:54:1c:71:85" and cam.vendor == "D-Link"
    assert cam.ips and cam.ips[0].startswith("10.10.10.")
    others = [d for d in inventory.devices if d.mac is None]
    assert others and all(d.key == d.ips[0] for d in others)


def test_linux_cooked_capture_keeps_source_macs(corpus: Path, tmp_path: Path) -> None:
    src = next((corpus / "iot-sentinel" / "TP-LinkPlugHS100").glob("*.pcap"))
    cooked = tmp_path / "cooked.pcap"
    _rewrite(src, cooked, 113)
    plug = _inventory(cooked).finish().device("50:c7:bf:00:fc:a3")
    assert plug is not None and plug.kind == "plug" and plug.vendor == "TP-Link"


def test_malformed_dhcp_is_counted_not_fatal(corpus: Path, tmp_path: Path) -> None:
    src = next((corpus / "iot-sentinel" / "TP-LinkPlugHS100").glob("*.pcap"))
    bad = tmp_path / "bad.pcap"
    _rewrite(src, bad, 101, mangle=b"\xde\xad\xbe\xef")
    inventory = _inventory(bad).finish()
    assert inventory.stats.malformed["dhcp"] > 0
    assert "magic cookie" in inventory.stats.examples[0]
    assert inventory.devices


def test_oui_longest_prefix_and_randomised() -> None:
    db = OuiDatabase.load()
    assert len(db) > 30_000
    assert db.lookup("5c:cf:7f:06:d9:02").organization == "Espressif Inc."
    assert db.lookup("3a:12:34:56:78:9a").randomized
    assert db.lookup("01:00:5e:00:00:fb").multicast


def test_udp_answers_to_the_internet_count_as_exposed_services() -> None:
    batch = PacketBatch.empty(2)
    batch.ts_ns[:] = [1_000_000_000, 2_000_000_000]
    batch.l3[:] = L3.IPV4
    batch.proto[:] = 17
    batch.eth_src[:] = 0x001122334455
    mapped = 0xFFFF_0000_0000
    batch.src_lo[:] = mapped | 0xC0A80105  # 192.168.1.5 answers SSDP ...
    batch.dst_lo[:] = [mapped | 0xCB007107, mapped | 0xCB007108]  # ... to 203.0.113.7/8
    batch.sport[:] = 1900
    batch.dport[:] = [40000, 40001]
    batch.data = np.zeros(0, dtype=np.uint8)
    builder = InventoryBuilder()
    builder.add_batch(batch)
    obs = builder.finish().observations["00:11:22:33:44:55"]
    assert obs.services["udp/1900"]["outside_peers"] == ["203.0.113.7", "203.0.113.8"]
    assert obs.services["udp/1900"]["connections"] == 2


def test_oui_parsed_tables_are_cached_and_renewed_when_the_registry_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    registry = tmp_path / "ieee"
    registry.mkdir()
    header = "Registry,Assignment,Organization Name,Organization Address\n"
    (registry / "oui.csv").write_text(header + 'MA-L,5CCF7F,"Espressif, Inc.",Shanghai\n')
    monkeypatch.setenv("HEDGEROW_CACHE_DIR", str(tmp_path / "cache"))
    first = oui._load((str(registry),))
    cached = list((tmp_path / "cache").glob("oui-*.json"))
    assert first.lookup("5c:cf:7f:06:d9:02").organization == "Espressif, Inc."
    assert len(cached) == 1
    oui._load.cache_clear()
    assert oui._load((str(registry),)).tables == first.tables
    (registry / "oui.csv").write_text(header + "MA-L,5CCF7F,Espressif Systems Ltd,Shanghai\n")
    oui._load.cache_clear()
    renewed = oui._load((str(registry),))
    assert renewed.lookup("5c:cf:7f:06:d9:02").organization == "Espressif Systems Ltd"
    assert [p.name for p in (tmp_path / "cache").glob("oui-*.json")] != [cached[0].name]
    oui._load.cache_clear()
