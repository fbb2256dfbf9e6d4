"""Lockdown by policy, enforced for real in a namespace: outbound cut except management."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import require_root, require_tool
from hedgerow.agent import AgentConfig
from hedgerow.agent.protect import Protector
from hedgerow.model import Alert, AlertKind, Severity
from hedgerow.respond.nftables import NftTable
from netlab import Lab

SERVER = ("import socket\n"
          "s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
          "s.bind(('0.0.0.0', 8080)); s.listen(64)\n"
          "while True:\n"
          "    c, _ = s.accept(); c.close()\n")


@pytest.fixture()
def lab() -> Iterator[Lab]:
    require_root()
    require_tool("nft", "ip")
    with Lab() as lab:
        yield lab


def test_mining_alert_locks_the_device_down(lab: Lab, tmp_path: Path) -> None:
    mgmt_ip = lab.add_attacker_address(3)
    lab.spawn(lab.attacker, [sys.executable, "-c", SERVER])
    lab.wait_listening(lab.device, lab.attacker_ip, 8080)
    cfg = AgentConfig.from_dict({"state_dir": str(tmp_path), "protect": {
        "lockdown_kinds": ["mining"], "management": [mgmt_ip], "nft_table": "hr_agent_lock"}})
    p = cfg.protect
    nft = NftTable(p.nft_table, management=p.management, netns=lab.device)
    protector = Protector(cfg, nft=nft)
    alert = Alert(kind=AlertKind.MINING, detector="agent.miner", detector_version="1",
                  direction="outbound", device="cam", peers=(f"{lab.attacker_ip}:3333",),
                  severity=Severity.HIGH, confidence=0.9, start=1.0, end=2.0, summary="miner")
    records = protector.handle(alert)
    assert [(r["action"], r["ok"]) for r in records] == [("lockdown", True)]
    assert protector.handle(alert) == []  # already locked down
    assert not lab.can_connect(lab.device, lab.attacker_ip, 8080, timeout=1.5)
    assert lab.can_connect(lab.device, mgmt_ip, 8080)  # the management path stays open
    assert [e.action for e in nft.list()] == ["lockdown"] * 4
    assert nft.revoke("lockdown")
    assert lab.can_connect(lab.device, lab.attacker_ip, 8080)
    nft.destroy()
