"""Protection on real processes and files, the CLI, the config errors, and the agent's weight."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from devroot import build_root

import hedgerow.agent
from hedgerow.agent import AgentConfig
from hedgerow.agent.protect import Protector
from hedgerow.cli.agent import agent as agent_cli
from hedgerow.model import Alert, AlertKind, Severity


def _state(pid: int) -> str:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]


def _alert(kind: AlertKind, evidence: dict[str, object], peers: tuple[str, ...] = (),
           direction: str = "internal") -> Alert:
    return Alert(kind=kind, detector="test", detector_version="1", direction=direction,
                 device="cam", peers=peers, severity=Severity.HIGH, confidence=0.9,
                 start=1.0, end=2.0, summary="test", evidence=evidence)


def test_stop_quarantine_resume_restore(tmp_path: Path) -> None:
    """A real process run from /tmp: stopped, its file moved to quarantine, then undone."""
    drop = tmp_path / "drop"
    drop.mkdir()
    exe = drop / "miner"
    shutil.copy(shutil.which("sleep") or "/bin/sleep", exe)
    proc = subprocess.Popen([str(exe), "60"])
    state_dir = tmp_path / "state"
    cfg = AgentConfig.from_dict({"state_dir": str(state_dir), "protect": {
        "process_action": "stop", "management": ["192.0.2.1"]}})
    try:
        time.sleep(0.2)
        record = Protector(cfg).stop_process(proc.pid, _alert(AlertKind.MINING, {
            "pid": proc.pid, "exe": str(exe), "deleted": False}))
        assert record["ok"], record
        assert _state(proc.pid) == "T"  # really stopped
        assert not exe.exists() and Path(record["quarantine"]).exists()
        assert record["moved_from"] == str(exe)

        runner = CliRunner()
        base = ["--state-dir", str(state_dir)]
        res = runner.invoke(agent_cli, ["unblock", *base, "--pid", str(proc.pid)])
        assert res.exit_code == 0, res.output
        time.sleep(0.1)
        assert _state(proc.pid) in ("S", "R")
        name = Path(record["quarantine"]).name
        res = runner.invoke(agent_cli, ["unblock", *base, "--restore", name])
        assert res.exit_code == 0, res.output
        assert exe.exists()
        actions = [r["action"] for r in
                   map(json.loads, (state_dir / "actions.jsonl").read_text().splitlines())]
        assert actions == ["stop", "resume", "restore"]
    finally:
        proc.kill()
        proc.wait()


def test_never_touches_itself_or_system_binaries(tmp_path: Path) -> None:
    cfg = AgentConfig.from_dict({"state_dir": str(tmp_path), "protect": {"dry_run": True}})
    p = Protector(cfg)
    me = p.stop_process(os.getpid(), _alert(AlertKind.MALWARE, {"pid": os.getpid()}))
    assert not me["ok"] and "refused" in me["error"]
    system_exe = os.path.realpath(shutil.which("sleep") or "/bin/sleep")
    sysbin = p.stop_process(4242, _alert(AlertKind.MINING, {"pid": 4242, "exe": system_exe}))
    assert sysbin["quarantine"].startswith("skipped")
    # Outbound alerts never block their peers (those are the victims, not the attacker).
    assert p.handle(_alert(AlertKind.SCAN, {}, peers=("198.51.100.1",),
                           direction="outbound")) == []


def _table_config(tmp_path: Path) -> Path:
    cfg = tmp_path / "table.toml"
    cfg.write_text('[protect]\nnft_table = "hr_agent_absent_table"\n')
    return cfg


def test_cli_assess_dry_run_and_config_errors(tmp_path: Path) -> None:
    root = build_root(tmp_path / "root")
    runner = CliRunner()
    res = runner.invoke(agent_cli, ["assess", "--root", str(root), "--state-dir",
                                    str(tmp_path / "s"), "--json", "--fail-on", "critical"])
    assert res.exit_code == 1  # a critical finding (default password) fails the run
    ids = {json.loads(line)["check_id"] for line in res.output.splitlines()
           if line.startswith("{")}
    assert {"acct.default-password", "ssh.root-login"} <= ids

    res = runner.invoke(agent_cli, ["unblock", "--state-dir", str(tmp_path / "s"),
                                    "-c", str(_table_config(tmp_path)), "--dry-run",
                                    "203.0.113.5"])
    assert res.exit_code == 0, res.output
    assert "203.0.113.5: not active" in res.output  # no such table: nothing would change

    bad = tmp_path / "agent.toml"
    bad.write_text('[protect]\nprocess_action = "explode"\n')
    res = runner.invoke(agent_cli, ["assess", "-c", str(bad)])
    assert res.exit_code != 0 and "process_action" in res.output
    assert "Traceback" not in res.output
    bad.write_text('[protect]\nmanagement = ["10.0.0.300"]\n')
    res = runner.invoke(agent_cli, ["status", "-c", str(bad)])
    assert res.exit_code != 0 and "protect.management: '10.0.0.300'" in res.output
    bad.write_text("interval_s = [\n")
    res = runner.invoke(agent_cli, ["status", "-c", str(bad)])
    assert res.exit_code != 0 and str(bad) in res.output and len(res.output.splitlines()) == 1


@pytest.mark.parametrize("module", ["hedgerow.agent", "hedgerow.cli.agent"])
def test_agent_stays_light(module: str) -> None:
    """The agent never imports the sensor's or the hub's heavy dependencies."""
    code = (f"import sys, {module}\n"
            "heavy = {'numpy', 'polars', 'pyarrow', 'numba', 'pydantic', 'fastapi',\n"
            "         'sqlalchemy', 'httpx', 'cryptography', 'sklearn', 'rich', 'psycopg'}\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in heavy))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=60).stdout
    assert out.strip() == "[]"


def test_shipped_example_config_is_valid() -> None:
    example = Path(hedgerow.agent.__file__).parent / "data" / "agent.example.toml"
    cfg = AgentConfig.load(example)
    assert cfg.protect.management == ["192.168.1.10"]
    assert cfg.assess.credentials == ["admin:acme1234"]
    defaults = AgentConfig()
    assert cfg.detect.login_ports == defaults.detect.login_ports
    assert cfg.detect.suspicious_dirs == defaults.detect.suspicious_dirs
