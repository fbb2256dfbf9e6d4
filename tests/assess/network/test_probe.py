"""The opt-in probe against real servers (busybox telnetd, OpenSSH) in a network namespace.

The namespace, its veth pair, the chroot for telnetd and the SSH test user are created by the
fixture and removed afterwards; nothing is sent anywhere but the namespace's address.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import require_root, require_tool
from hedgerow.assess.household import assess_inputs
from hedgerow.assess.probe import ProbeRefused, RateLimiter, check_target, probe_host
from hedgerow.cli.main import main
from hedgerow.model import LocalNetworks

NS, HOST_IF, DEV_IF = "hr-inv-dev", "hr-inv-h0", "hr-inv-d0"
HOST_IP, DEV_IP = "10.231.7.1", "10.231.7.2"
SSH_USER, SSH_PASSWORD = "ubnt", "ubnt"
NETS = LocalNetworks.parse(["10.231.7.0/24"])


def _run(*cmd: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, capture_output=True, text=True, timeout=30, check=check)


def _wait_port(port: int) -> None:
    for _ in range(50):
        probe = _run("ip", "netns", "exec", NS, "ss", "-ltn", f"sport = :{port}", check=False)
        if f":{port}" in probe.stdout:
            return
        time.sleep(0.1)
    raise RuntimeError(f"nothing listens on {DEV_IP}:{port}")


def _telnet_root(root: Path) -> None:
    """A minimal root: static busybox, root's password is Mirai's first guess (xc3511)."""
    for sub in ("bin", "etc", "dev", "root", "tmp"):
        (root / sub).mkdir(parents=True)
    shutil.copy("/bin/busybox", root / "bin" / "busybox")
    for applet in ("sh", "login"):
        (root / "bin" / applet).symlink_to("busybox")
    digest = _run("busybox", "mkpasswd", "-m", "sha512", "xc3511").stdout.strip()
    (root / "etc" / "passwd").write_text("root:x:0:0:root:/root:/bin/sh\n")
    (root / "etc" / "shadow").write_text(f"root:{digest}:19000:0:99999:7:::\n")
    (root / "etc" / "shadow").chmod(0o600)


@pytest.fixture(scope="module")
def device(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    require_root()
    require_tool("ip", "busybox", "tcpdump")
    if not os.path.exists("/usr/sbin/sshd"):
        pytest.skip("needs OpenSSH's sshd (Debian openssh-server)")
    if "telnetd" not in _run("busybox", "--list", check=False).stdout:
        pytest.skip("busybox has no telnetd applet (install busybox-static)")
    if _run("id", SSH_USER, check=False).returncode == 0:
        pytest.skip(f"user {SSH_USER!r} exists on this machine; not touching it")
    tmp = tmp_path_factory.mktemp("probe")
    procs: list[subprocess.Popen[bytes]] = []
    user_added = False
    try:
        _run("ip", "netns", "add", NS)
        _run("ip", "link", "add", HOST_IF, "type", "veth", "peer", "name", DEV_IF)
        _run("ip", "link", "set", DEV_IF, "netns", NS)
        _run("ip", "addr", "add", f"{HOST_IP}/24", "dev", HOST_IF)
        _run("ip", "link", "set", HOST_IF, "up")
        _run("ip", "netns", "exec", NS, "ip", "addr", "add", f"{DEV_IP}/24", "dev", DEV_IF)
        _run("ip", "netns", "exec", NS, "ip", "link", "set", DEV_IF, "up")
        _run("ip", "netns", "exec", NS, "ip", "link", "set", "lo", "up")
        pcap = tmp / "probe.pcap"
        procs.append(subprocess.Popen(["ip", "netns", "exec", NS, "tcpdump", "-U", "-s", "0",
                                       "-i", DEV_IF, "-w", str(pcap)], stderr=subprocess.DEVNULL))
        root = tmp / "root"
        _telnet_root(root)
        procs.append(subprocess.Popen([
            "ip", "netns", "exec", NS, "unshare", "-m", "--propagation", "private", "sh", "-c",
            f"mount --rbind /dev {root}/dev && exec chroot {root} /bin/busybox telnetd -F "
            "-p 23 -l /bin/login"]))
        _run("useradd", "-M", "-s", "/usr/sbin/nologin", SSH_USER)
        user_added = True
        subprocess.run(["chpasswd"], input=f"{SSH_USER}:{SSH_PASSWORD}\n", text=True, check=True)
        _run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(tmp / "hostkey"))
        Path("/run/sshd").mkdir(exist_ok=True)
        procs.append(subprocess.Popen([
            "ip", "netns", "exec", NS, "/usr/sbin/sshd", "-D", "-e", "-f", "/dev/null",
            "-o", f"HostKey={tmp / 'hostkey'}", "-o", f"ListenAddress={DEV_IP}:22",
            "-o", "PasswordAuthentication=yes", "-o", "UsePAM=no",
            "-o", f"AllowUsers={SSH_USER}", "-o", f"PidFile={tmp / 'sshd.pid'}"],
            stderr=subprocess.DEVNULL, start_new_session=True))
        _wait_port(23)
        _wait_port(22)
        yield pcap
    finally:
        for proc in reversed(procs):
            # each server runs in its own process group with the children it forked
            with contextlib.suppress(ProcessLookupError):
                if os.getpgid(proc.pid) == proc.pid:
                    os.killpg(proc.pid, signal.SIGTERM)
                else:
                    proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
        if user_added:
            for _ in range(20):
                if _run("userdel", "-f", SSH_USER, check=False).returncode in (0, 6):
                    break
                time.sleep(0.25)
        _run("ip", "link", "del", HOST_IF, check=False)
        _run("ip", "netns", "del", NS, check=False)


def test_refuses_targets_outside_the_home_networks() -> None:
    for target in ("8.8.8.8", "127.0.0.1", "224.0.0.251", "not-an-ip"):
        with pytest.raises(ProbeRefused):
            check_target(target, LocalNetworks.default())
    assert check_target(DEV_IP, NETS) == DEV_IP


def test_rate_limiter_spaces_attempts() -> None:
    limiter = RateLimiter(50.0)
    start = time.monotonic()
    for _ in range(11):
        limiter.wait()
    assert time.monotonic() - start >= 0.19


def test_probe_finds_open_ports_and_default_passwords(device: Path) -> None:
    result = probe_host(DEV_IP, NETS, rate=50.0, ports=[21, 22, 23, 80, 2323])
    assert result.open_ports == [22, 23]
    found = {(login["service"], login["user"], login["password"]) for login in result.logins}
    assert ("telnet", "root", "xc3511") in found
    assert ("ssh", SSH_USER, SSH_PASSWORD) in found
    # bounded: one connect per port plus at most the short credential list per service
    assert result.attempts <= 5 + 2 * 12


def test_passive_check_sees_the_default_password_login_in_the_capture(device: Path) -> None:
    probe_host(DEV_IP, NETS, rate=50.0, ports=[23])
    time.sleep(0.5)
    result = assess_inputs([device], NETS)
    checks = {(f.check_id, f.evidence.get("user")) for f in result.findings}
    assert ("net.default-credential-login", "root") in checks
    assert any(f.check_id == "net.telnet-offered" for f in result.findings)


def test_inventory_command_probes_only_home_devices(device: Path) -> None:
    out = CliRunner().invoke(main, ["inventory", str(device), "--home-net", f"{DEV_IP}/32",
                                    "--probe", "--probe-rate", "50", "--json"])
    assert out.exit_code == 0, out.output
    doc = json.loads(out.output)
    probed = [f for f in doc["findings"] if f["check_id"] == "net.probe-default-credentials"]
    assert {(f["evidence"]["address"], f["evidence"]["service"]) for f in probed} == {
        (DEV_IP, "telnet"), (DEV_IP, "ssh")}
    assert doc["risk"]["household"]["band"] == "critical"
