"""Policy rules on device kinds apply on the live path: the sensor's running inventory
classifies devices from real IoT Sentinel captures fed through the analysis path, and the
decision engine (dry-run) picks the rule for the alert's device by its kind."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from hedgerow.capture import open_capture
from hedgerow.cli.main import main
from hedgerow.model import Alert, AlertKind, Severity
from hedgerow.respond.decisions import DecisionEngine, Outcome
from hedgerow.respond.guard import Guard
from hedgerow.respond.policy import Policy
from hedgerow.respond.store import DecisionStore
from hedgerow.sense.analyze import StreamAnalyzer
from hedgerow.sense.devices import DeviceKinds, parse_overrides

CAMERA = "iot-sentinel/D-LinkDayCam/Setup-A-1-STA.pcap"  # b0:c5:54:1c:71:85 at 10.10.10.58
PLUG = "iot-sentinel/TP-LinkPlugHS100/Setup-A-1-STA.pcap"  # 50:c7:bf:00:fc:a3 at 10.10.10.228
CAMERA_IP, PLUG_IP = "10.10.10.58", "10.10.10.228"

POLICY = Policy.model_validate({"rules": [
    {"name": "cameras-that-scan", "action": "quarantine", "target": "device", "duration": "2d",
     "match": {"kind": ["scan"], "direction": ["outbound"], "device_kind": ["camera"]}},
    {"name": "plugs-that-flood", "action": "rate_limit", "target": "device", "duration": "1h",
     "match": {"kind": ["dos"], "direction": ["outbound"], "device_kind": ["plug"]}},
    {"name": "notify", "action": "notify"},
]})


def _feed(analyzer: StreamAnalyzer, path: Path) -> list[Alert]:
    alerts: list[Alert] = []
    with open_capture(str(path), batch_size=64) as cap:
        for batch in cap:
            alerts += analyzer.feed(batch)
    return alerts


def _alert(kind: AlertKind, device: str) -> Alert:
    return Alert(kind=kind, detector=f"{kind.value}.test", detector_version="1",
                 direction="outbound", device=device, peers=("203.0.113.9",),
                 severity=Severity.HIGH, confidence=0.9, start=1.0, end=2.0,
                 summary=f"{kind.value} from {device}")


def _engine(tmp_path: Path, kinds: DeviceKinds) -> DecisionEngine:
    return DecisionEngine(POLICY, DecisionStore(tmp_path / "decisions.jsonl"),
                          Guard.from_entries([], own=False), enforcer=None,
                          device_kind=kinds.kind_of, clock=lambda: 1000.0)


def _decided(outcomes: list[Outcome]) -> list[tuple[str, str, str, str]]:
    return [(o.status, o.rule, o.decision.action.value, o.decision.value) for o in outcomes]


def test_kind_rules_follow_devices_classified_from_real_captures(
        corpus: Path, tmp_path: Path) -> None:
    kinds = DeviceKinds()
    analyzer = StreamAnalyzer.from_rules(devices=kinds)
    for name in (CAMERA, PLUG):
        _feed(analyzer, corpus / name)
    analyzer.finish()
    assert (kinds.kind_of(CAMERA_IP), kinds.kind_of(PLUG_IP)) == ("camera", "plug")
    engine = _engine(tmp_path, kinds)
    # The camera rule applies to the camera only; the plug's scan falls through to notify.
    assert _decided(engine.handle(_alert(AlertKind.SCAN, CAMERA_IP))) == [
        ("dry-run", "cameras-that-scan", "quarantine", CAMERA_IP)]
    assert _decided(engine.handle(_alert(AlertKind.SCAN, PLUG_IP))) == [
        ("notified", "notify", "notify", PLUG_IP)]
    # And the plug rule to the plug only.
    assert _decided(engine.handle(_alert(AlertKind.DOS, PLUG_IP))) == [
        ("dry-run", "plugs-that-flood", "rate_limit", PLUG_IP)]
    assert _decided(engine.handle(_alert(AlertKind.DOS, CAMERA_IP))) == [
        ("notified", "notify", "notify", CAMERA_IP)]
    # An address never seen is of unknown kind: no kind rule applies.
    assert kinds.kind_of("10.10.10.250") is None
    assert _decided(engine.handle(_alert(AlertKind.SCAN, "10.10.10.250")))[0][1] == "notify"


def test_household_override_applies_to_a_real_alert(corpus: Path, tmp_path: Path) -> None:
    """Hide and Seek's telnet scan from 192.168.2.16, a device the household calls a camera:
    the real alert from the analysis path meets the camera rule."""
    kinds = DeviceKinds(overrides=parse_overrides(["192.168.2.16=Camera"]))
    analyzer = StreamAnalyzer.from_rules(devices=kinds)
    alerts = _feed(analyzer, corpus / "slips/dataset/test7-malicious.pcap") + analyzer.finish()
    scan = next(a for a in alerts if a.kind is AlertKind.SCAN and a.device == "192.168.2.16")
    assert _decided(_engine(tmp_path, kinds).handle(scan)) == [
        ("dry-run", "cameras-that-scan", "quarantine", "192.168.2.16")]


def test_kind_is_cached_for_its_ttl_then_refreshed(corpus: Path) -> None:
    now = [0.0]
    kinds = DeviceKinds(ttl_s=30.0, clock=lambda: now[0])
    assert kinds.kind_of(CAMERA_IP) is None
    analyzer = StreamAnalyzer.from_rules(devices=kinds)
    _feed(analyzer, corpus / CAMERA)
    now[0] = 29.0
    assert kinds.kind_of(CAMERA_IP) is None  # still the cached answer
    now[0] = 31.0
    assert kinds.kind_of(CAMERA_IP) == "camera"
    assert kinds.cpu_s > 0


def test_live_kinds_match_the_full_inventory_on_iot_sentinel(corpus: Path) -> None:
    """Only evidence rows reach the live inventory, yet every address of every IoT Sentinel
    device gets the kind the full inventory gives it."""
    from hedgerow.inventory import InventoryBuilder

    pcaps = sorted((corpus / "iot-sentinel").glob("*/Setup-A-1-STA.pcap"))
    if len(pcaps) < 10:
        pytest.skip("IoT Sentinel captures not in this corpus")
    checked = 0
    for pcap in pcaps:
        full, live = InventoryBuilder(), DeviceKinds()
        with open_capture(str(pcap)) as cap:
            for batch in cap:
                full.add_batch(batch)
                live.observe(batch)
        for device in full.finish().devices:
            for ip in device.ips:
                assert live.kind_of(ip) == device.kind, (pcap, ip)
                checked += 1
    assert checked > 20


def test_bad_device_kind_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not an IP address"):
        parse_overrides(["cam=camera"])
    done = CliRunner().invoke(main, ["sense", "--iface", "lo", "--device-kind", "camera",
                                     "--decisions", str(tmp_path / "d.jsonl")])
    assert done.exit_code == 2
    assert done.stderr.strip() == (
        "hedgerow sense: --device-kind 'camera': use IP=KIND, e.g. 192.168.1.20=camera")
