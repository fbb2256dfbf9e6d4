"""Passive network checks and risk scores on real captures and logs."""

from __future__ import annotations

from pathlib import Path

import pytest

from hedgerow.assess.household import assess_inputs
from hedgerow.assess.network import TelnetSessions, default_credentials
from hedgerow.assess.network.telnet import TelnetSession
from hedgerow.assess.standards import load_standards
from hedgerow.capture import open_capture
from hedgerow.model import LocalNetworks, Severity


def test_every_network_check_is_in_the_standards_mapping() -> None:
    checks = load_standards()
    net = {c for c in checks if c.startswith("net.")}
    assert {"net.telnet-offered", "net.default-credential-login", "net.outdated-tls",
            "net.reachable-from-internet", "net.upnp-announced"} <= net
    for check in net:
        assert all(checks[check].standards[s] for s in checks[check].standards)


def test_dlink_sensors_use_tls_1_0_and_plain_http(corpus: Path) -> None:
    pcaps = sorted((corpus / "iot-sentinel" / "D-LinkWaterSensor").glob("*.pcap"))
    result = assess_inputs(pcaps)
    mine = {f.check_id: f for f in result.findings if f.device == "6c:72:20:c5:17:5a"}
    tls = mine["net.outdated-tls"]
    assert any(h["version"] == "TLS 1.0" for h in tls.evidence["hellos"])
    assert "5.5-1" in tls.standards["etsi_en_303_645"]
    assert "/router/firmware/query.aspx" in mine["net.cleartext-cloud"].evidence["paths"]
    assert any(h.endswith("dlink.com") for h in mine["net.cleartext-cloud"].evidence["hosts"])
    risk = result.device_risk["6c:72:20:c5:17:5a"]
    assert 0 < risk.score < 100
    assert "D-Link sensor" in risk.explanation and "/100" in risk.explanation
    assert {d.ref for d in risk.drivers} >= {"net.outdated-tls", "net.cleartext-cloud"}


def test_host_on_public_address_reachable_from_internet(corpus: Path) -> None:
    log = corpus / "stratosphere" / "008-zeek-mixed" / "data" / "conn.log.labeled"
    result = assess_inputs([log], LocalNetworks.parse(["147.32.81.167/32"]))
    exposed = next(f for f in result.findings if f.check_id == "net.reachable-from-internet")
    assert exposed.device == "147.32.81.167"
    assert exposed.severity is Severity.CRITICAL
    assert exposed.evidence["outside_peers"]
    assert all(s.startswith(("tcp/", "udp/")) for s in exposed.evidence["services"])
    assert result.household.score >= 50


def test_telnet_login_read_from_real_session(corpus: Path) -> None:
    sessions = TelnetSessions()
    with open_capture(corpus / "ndpi" / "pcap" / "telnet.pcap") as reader:
        for batch in reader:
            sessions.add_batch(batch)
    attempts = sessions.attempts()
    assert [(a.user, a.password, a.success) for a in attempts] == [("fake", "user", True)]
    assert attempts[0].server == "192.168.0.1" and attempts[0].port == 23


@pytest.mark.parametrize(("answer", "ok"), [
    (b"\r\nLogin incorrect\r\nlogin: ", False),
    (b"\r\n\r\nBusyBox v1.22.1 built-in shell (ash)\r\n~ # ", True),
])
def test_telnet_verdicts(answer: bytes, ok: bool) -> None:
    s = TelnetSession("10.0.0.9", 40000, "10.0.0.5", 23)
    s.add(False, b"\xff\xfb\x01\xff\xfb\x03(none) login: ")
    s.add(True, b"r")
    s.add(True, b"oot\r\x00")
    s.add(False, b"Password: ")
    s.add(True, b"vizxv\r\n")
    s.add(False, answer)
    assert [(a.user, a.password, a.success) for a in s.attempts()] == [("root", "vizxv", ok)]


def test_mirai_list_is_complete() -> None:
    pairs = default_credentials()
    assert len(pairs) == 60
    assert ("root", "") in pairs and ("mother", "fucker") in pairs
