"""A real DDoS capture leaving the device: the agent's flood detector on its kernel counters.

The corpus's spoofed SYN flood (StopDDoS, 37 k packets of a real attack) is replayed with
tcpreplay out of the device namespace's interface (it lands in the lab's other namespace and
goes nowhere else), while the agent runs inside the device's network and PID namespaces.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import REPO, require_root, require_tool
from netlab import Lab


@pytest.fixture()
def lab() -> Iterator[Lab]:
    require_root()
    require_tool("ip", "tcpreplay", "unshare")
    with Lab() as lab:
        yield lab


def _run_agent(lab: Lab, config: Path, cycles: int) -> subprocess.Popen[str]:
    return subprocess.Popen(
        ["ip", "netns", "exec", lab.device, "unshare", "--pid", "--fork", "--mount-proc",
         sys.executable, "-m", "hedgerow.agent", "run", "-c", str(config), "--cycles",
         str(cycles), "--interval", "1", "--json", "--no-assess"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO)


def _dos_alerts(out: str) -> list[dict[str, object]]:
    events = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    return [e for e in events if e["type"] == "alert" and e["kind"] == "dos"]


def test_replayed_syn_flood_is_detected(lab: Lab, corpus: Path, tmp_path: Path) -> None:
    capture = corpus / "stopddos" / "pkt.TCP.synflood.spoofed.pcap"
    if not capture.exists():
        pytest.skip(f"{capture} not in the corpus")
    config = tmp_path / "agent.toml"
    config.write_text(f'device = "lab-cam"\nstate_dir = "{tmp_path / "state"}"\n'
                      "[detect]\nflood_packets_per_s = 5000.0\n[protect]\nenabled = false\n")
    # Control: a quiet device raises no flood alert.
    quiet = _run_agent(lab, config, cycles=3)
    out, err = quiet.communicate(timeout=60)
    assert quiet.returncode == 0, err
    assert _dos_alerts(out) == []

    agent = _run_agent(lab, config, cycles=8)
    time.sleep(1.5)
    replay = lab.run(lab.device, ["tcpreplay", "-q", "--pps=12000", "-i", lab.device_iface,
                                  str(capture)], timeout=60, check=False)
    out, err = agent.communicate(timeout=60)
    assert replay.returncode == 0, replay.stderr
    alerts = _dos_alerts(out)
    assert len(alerts) >= 1, (out, err)
    evidence = alerts[0]["evidence"]
    assert isinstance(evidence, dict)
    assert 5000 <= evidence["tx_packets_per_s"] <= 20000
    assert alerts[0]["direction"] == "outbound" and alerts[0]["device"] == "lab-cam"
