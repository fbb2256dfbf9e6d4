"""`hedgerow sense` and `hedgerow decisions` on bad input: one clear line, never a traceback;
without enforcement the sensor keeps detecting and says enforcement is off."""

from __future__ import annotations

import secrets
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import require_root, require_tool
from hedgerow.cli.main import main

HEDGEROW = str(Path(sys.executable).with_name("hedgerow"))
IP = shutil.which("ip") or "/usr/sbin/ip"


def _run(*argv: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(argv), capture_output=True, text=True, timeout=timeout,
                          check=False)


def _one_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr
    return lines[0]


@pytest.fixture()
def netns() -> Iterator[str]:
    require_root()
    name = f"hr-gw-cli-{secrets.token_hex(2)}"
    subprocess.run([IP, "netns", "add", name], check=True)
    try:
        subprocess.run([IP, "-n", name, "link", "set", "lo", "up"], check=True)
        yield name
    finally:
        subprocess.run([IP, "netns", "del", name], capture_output=True, check=False)


def _invoke(*args: str) -> tuple[int, str, str]:
    """Run the real command in this process (click's runner), return code, stdout, stderr."""
    done = CliRunner().invoke(main, list(args))
    return done.exit_code, done.stdout, done.stderr


def test_missing_interface(tmp_path: Path) -> None:
    code, _, err = _invoke("sense", "--iface", "hr-gw-none0", "--decisions",
                           str(tmp_path / "d.jsonl"))
    assert code == 2
    assert _one_line(err) == (
        "hedgerow sense: interface 'hr-gw-none0' does not exist (see `ip link`)")


def test_no_permission_to_capture(tmp_path: Path) -> None:
    require_root()
    require_tool("setpriv")
    done = _run("setpriv", "--bounding-set=-net_raw,-net_admin", "--inh-caps=-all", HEDGEROW,
                "sense", "--iface", "lo", "--decisions", str(tmp_path / "d.jsonl"))
    assert done.returncode == 2
    line = _one_line(done.stderr)
    assert line.startswith("hedgerow sense: no permission to capture on 'lo'")
    assert "CAP_NET_RAW" in line


def test_bad_policy_names_file_line_key(tmp_path: Path) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text("rules:\n  - name: x\n    action: block\n    duration: forever\n")
    code, _, err = _invoke("sense", "--iface", "lo", "--policy", str(policy))
    assert code == 2
    assert _one_line(err).startswith(f"hedgerow sense: {policy}:4: rules.0.duration:")


def test_metrics_port_in_use(tmp_path: Path) -> None:
    require_root()
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        code, _, err = _invoke("sense", "--iface", "lo", "--dry-run", "--metrics-port",
                               str(port), "--decisions", str(tmp_path / "d.jsonl"))
    assert code == 2
    assert f"cannot serve /metrics on 127.0.0.1:{port}" in err.splitlines()[-1]
    assert "Traceback" not in err


def test_without_nftables_the_sensor_keeps_detecting(netns: str, tmp_path: Path) -> None:
    """`nft` missing from PATH: enforcement is off, said once, and the sensor still runs."""
    empty = tmp_path / "bin"
    empty.mkdir()
    done = _run(IP, "netns", "exec", netns, "env", f"PATH={empty}", HEDGEROW, "sense",
                "--iface", "lo", "--duration", "2", "--metrics-port", "0", "--decisions",
                str(tmp_path / "d.jsonl"), timeout=120)
    assert done.returncode == 0, done.stderr
    assert "enforcement is OFF, detecting only: `nft` not found" in done.stderr
    assert "watching lo" in done.stderr
    assert "enforcement off" in done.stderr.splitlines()[-1]
    assert "Traceback" not in done.stderr


def test_decisions_revoke_needs_an_id(tmp_path: Path) -> None:
    store = str(tmp_path / "d.jsonl")
    code, _, err = _invoke("decisions", "revoke", "--decisions", store)
    assert code == 2
    assert _one_line(err) == "hedgerow decisions revoke: give one decision id, or --all"
    code, _, err = _invoke("decisions", "revoke", "abc123", "--decisions", store)
    assert code == 1
    assert "no single active decision 'abc123'" in _one_line(err)
    code, out, _ = _invoke("decisions", "list", "--decisions", store, "--table", "hr-gw-none")
    assert code == 0
    assert out.startswith("no active decisions")
