"""Hedgerow's nftables table, enforced for real in a network namespace the test creates."""

from __future__ import annotations

import json
import sys
import time

import pytest

from conftest import require_root, require_tool
from hedgerow.respond.nft_json import add_elements, table_doc
from hedgerow.respond.nftables import NftError, NftTable
from netlab import Lab

SERVER = ("import socket\n"
          "s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
          "s.bind(('0.0.0.0', {port})); s.listen(64)\n"
          "while True:\n"
          "    c, _ = s.accept(); c.close()\n")


def test_dry_run_records_json_and_refuses_management() -> None:
    t = NftTable("hr-test", management=["10.0.0.0/24"], management_ports=[22], dry_run=True)
    assert t.ensure()
    t.block("198.51.100.4", 60, reason="scan")
    t.quarantine(60, mac="02:00:00:00:00:01", ip="192.0.2.9")
    t.lockdown(allow=["192.0.2.53"])
    text = json.dumps(t.sent)
    assert '"198.51.100.4"' in text and '"02:00:00:00:00:01"' in text
    with pytest.raises(NftError, match="management address"):
        t.rate_limit("10.0.0.7", 60)
    with pytest.raises(NftError, match="not an IP address"):
        t.block("not-an-ip", 60)


def test_table_doc_puts_management_first() -> None:
    doc = table_doc("t", ["10.0.0.1"], [22], [])
    rules = [c["add"]["rule"] for c in doc if "rule" in c.get("add", {})]
    for chain in ("input", "output"):
        first = [r for r in rules if r["chain"] == chain][:3]
        assert any("@mgmt4" in json.dumps(r) for r in first)


@pytest.fixture()
def lab() -> Lab:
    require_root()
    require_tool("nft", "ip")
    with Lab() as lab:
        yield lab  # type: ignore[misc]


def test_block_revoke_lockdown_in_namespace(lab: Lab) -> None:
    port = 8023
    lab.spawn(lab.device, [sys.executable, "-c", SERVER.format(port=port)])
    lab.spawn(lab.attacker, [sys.executable, "-c", SERVER.format(port=port)])
    lab.wait_listening(lab.attacker, lab.device_ip, port)
    lab.wait_listening(lab.device, lab.attacker_ip, port)

    t = NftTable("hr-test", management=["192.0.2.1"], netns=lab.device)
    assert t.ensure() and not t.ensure()  # idempotent
    blocked = t.block(lab.attacker_ip, 120, reason="test")
    assert blocked.set_name == "block4"
    assert not lab.can_connect(lab.attacker, lab.device_ip, port, timeout=1.5)
    listed = t.list()
    assert [(e.action, e.value, e.comment) for e in listed] == [
        ("block", lab.attacker_ip, "test")]
    assert 0 < (listed[0].expires_s or 0) <= 120
    assert [e.value for e in t.revoke(lab.attacker_ip)] == [lab.attacker_ip]
    assert lab.can_connect(lab.attacker, lab.device_ip, port)
    assert t.list() == []

    # Lockdown: the device may no longer open connections except to the allow-list.
    t.lockdown(allow=[])
    assert not lab.can_connect(lab.device, lab.attacker_ip, port, timeout=1.5)
    assert lab.can_connect(lab.attacker, lab.device_ip, port)  # inbound still served
    t.lockdown(allow=[lab.attacker_ip])
    assert lab.can_connect(lab.device, lab.attacker_ip, port)
    assert t.lift_lockdown() and not t.lift_lockdown()

    t.destroy()
    assert t.list() == []

    # Management addresses are accepted before any block applies: even an element forced into
    # the block set (bypassing the refusal) does not cut the management host.
    mgmt = NftTable("hr-test2", management=[lab.attacker_ip], netns=lab.device)
    mgmt.ensure()
    with pytest.raises(NftError, match="management address"):
        mgmt.block(lab.attacker_ip, 60)
    mgmt.apply([add_elements("hr-test2", "block4", [lab.attacker_ip], timeout_s=60)])
    assert lab.can_connect(lab.attacker, lab.device_ip, port)
    mgmt.destroy()


def test_timed_block_expires(lab: Lab) -> None:
    port = 8024
    lab.spawn(lab.device, [sys.executable, "-c", SERVER.format(port=port)])
    lab.wait_listening(lab.attacker, lab.device_ip, port)
    t = NftTable("hr-test", netns=lab.device, login_ports=[port])
    t.ensure()
    for _ in range(3):
        assert lab.can_connect(lab.attacker, lab.device_ip, port)
    assert t.login_counts() == {lab.attacker_ip: 3}  # kernel counter per source element
    t.block(lab.attacker_ip, 2)
    assert not lab.can_connect(lab.attacker, lab.device_ip, port, timeout=1.0)
    time.sleep(2.5)
    assert t.list() == []
    assert lab.can_connect(lab.attacker, lab.device_ip, port)


ATTEMPTS = ("import socket\n"
            "ok = 0\n"
            "for _ in range({n}):\n"
            "    s = socket.socket(); s.settimeout(0.3)\n"
            "    ok += s.connect_ex(({host!r}, {port})) == 0\n"
            "    s.close()\n"
            "print(ok)\n")


def _successes(lab: Lab, n: int, port: int) -> int:
    code = ATTEMPTS.format(n=n, host=lab.device_ip, port=port)
    return int(lab.run(lab.attacker, [sys.executable, "-c", code], timeout=60).stdout)


def test_rate_limit_and_quarantine(lab: Lab) -> None:
    port = 8025
    lab.spawn(lab.device, [sys.executable, "-c", SERVER.format(port=port)])
    lab.wait_listening(lab.attacker, lab.device_ip, port)
    t = NftTable("hr-test", netns=lab.device, rate_per_s=2, rate_burst=4)
    t.ensure()
    assert _successes(lab, 20, port) == 20
    t.rate_limit(lab.attacker_ip, 60, reason="flood")
    limited = _successes(lab, 20, port)
    assert 1 <= limited <= 10, limited  # the burst passes, then about 2 new flows a second
    assert [e.action for e in t.revoke(lab.attacker_ip)] == ["rate_limit"]
    assert _successes(lab, 10, port) == 10

    # Quarantine by address: nothing but DNS/DHCP to this host gets through.
    (entry,) = t.quarantine(60, ip=lab.attacker_ip, reason="infected")
    assert entry.action == "quarantine"
    assert not lab.can_connect(lab.attacker, lab.device_ip, port, timeout=1.0)
    assert [e.set_name for e in t.revoke(lab.attacker_ip)] == ["quarantine4"]
    assert lab.can_connect(lab.attacker, lab.device_ip, port)
    t.destroy()
