"""Live and replay agree: a real brute-force capture replayed at its own pace into a veth pair
gives `hedgerow sense` the alerts `hedgerow scan` finds in the file (plus an early one)."""

from __future__ import annotations

import json
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import require_root, require_tool
from hedgerow.cli.scan import run_scan

pytestmark = [pytest.mark.root, pytest.mark.slow]

HEDGEROW = str(Path(sys.executable).with_name("hedgerow"))
# nmap ssh-brute from 147.32.80.40 against 147.32.80.37, 1,178 packets over 12.8 s.
CAPTURE = "slips/dataset/test19-malicious-ssh/malicious-ssh-bruteforce.pcap"
HOME = "147.32.80.37/32"


def _signature(alert: dict[str, object]) -> tuple[object, ...]:
    return (alert["detector"], alert["kind"], alert["direction"], alert["device"],
            tuple(alert["peers"]))  # type: ignore[arg-type]


def test_replayed_brute_force_gives_the_offline_alerts(corpus: Path, tmp_path: Path) -> None:
    require_root()
    require_tool("tcpreplay")
    path = corpus / CAPTURE
    offline = {_signature(a.to_dict()) for a in run_scan([path], home_nets=(HOME,)).alerts}
    assert offline, "the capture should alert offline"
    ns = f"hr-gw-rp-{secrets.token_hex(2)}"
    subprocess.run(["ip", "netns", "add", ns], check=True)
    out, alerts = tmp_path / "sense.out", tmp_path / "alerts.jsonl"
    try:
        for cmd in (["ip", "link", "add", "tx0", "type", "veth", "peer", "name", "rx0"],
                    ["sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1"],
                    ["ip", "link", "set", "tx0", "up"], ["ip", "link", "set", "rx0", "up"]):
            subprocess.run(["ip", "netns", "exec", ns, *cmd], check=True, capture_output=True)
        with out.open("wb") as sink:
            sensor = subprocess.Popen(
                ["ip", "netns", "exec", ns, HEDGEROW, "sense", "--iface", "rx0", "--dry-run",
                 "--home-net", HOME, "--metrics-port", "0", "--alerts", str(alerts),
                 "--decisions", str(tmp_path / "d.jsonl")], stdout=sink,
                stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 90
            while b"watching rx0" not in out.read_bytes() and time.monotonic() < deadline:
                time.sleep(0.2)
            subprocess.run(["ip", "netns", "exec", ns, "tcpreplay", "-q", "-i", "tx0",
                            str(path)], check=True, capture_output=True, timeout=60)
            time.sleep(1.5)
        finally:
            sensor.send_signal(signal.SIGINT)
            assert sensor.wait(60) == 0, out.read_text()
    finally:
        subprocess.run(["ip", "netns", "del", ns], capture_output=True, check=False)
    raised = [json.loads(line) for line in alerts.read_text().splitlines()]
    live = {_signature(a) for a in raised if a["stage"] == "final"}
    assert live == offline
    early = [a for a in raised if a["stage"] == "early"]
    assert {(a["detector"], a["device"]) for a in early} <= {(s[0], s[3]) for s in offline}
    assert "drops kernel 0 ours 0" in out.read_text().splitlines()[-1]
