"""The agent on a real device in namespaces: weaknesses found, threats detected, attacker blocked.

The "device" is a network namespace plus its own PID and mount namespace (so the agent sees,
and can only act on, the device's processes) over a prepared root tree. Inside it run busybox
telnetd (chrooted into the tree), OpenSSH's sshd logging to the tree's auth.log, a program
started from /tmp and deleted, a miner speaking stratum to a pool in the "attacker" namespace,
and a telnet scanner. hydra brute-forces sshd from the attacker namespace. The agent must
report each weakness, alert on each threat, block the attacker (a real connection is dropped)
and undo the block on ``unblock`` (the connection works again).
"""

from __future__ import annotations

import hashlib
import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from devroot import build_root

from conftest import REPO, require_root, require_tool
from netlab import Lab

ACTORS = str(Path(__file__).with_name("actors.py"))
SSHD = "/usr/sbin/sshd"


def _busybox_has(applet: str) -> bool:
    bb = shutil.which("busybox")
    if bb is None:
        return False
    out = subprocess.run([bb, "--list"], capture_output=True, text=True, check=False).stdout
    return applet in out.split()


class Device:
    """The running device: its pid-namespace init, paths, and a way to run things inside."""

    def __init__(self, lab: Lab, tmp: Path) -> None:
        self.lab = lab
        self.tmp = tmp
        self.root = build_root(tmp / "root")
        self.state = tmp / "state"
        self.config = tmp / "agent.toml"
        self.init_pid = 0
        self.dropped = tmp / "drop" / "kworkerd"

    def enter(self, argv: list[str]) -> list[str]:
        return ["nsenter", "-t", str(self.init_pid), "-p", "-m", "-n", "--", *argv]

    def agent(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        return subprocess.run(self.enter([sys.executable, "-m", "hedgerow.agent", *args,
                                          "-c", str(self.config)]),
                              capture_output=True, text=True, timeout=timeout, check=False,
                              cwd=REPO)


def _children(pid: int) -> list[int]:
    text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    return [int(x) for x in text.split()]


@pytest.fixture()
def device(tmp_path: Path) -> Iterator[Device]:
    require_root()
    require_tool("ip", "nft", "hydra", "busybox", "unshare", "nsenter", "ssh-keygen", "hping3")
    if not Path(SSHD).exists():
        pytest.skip("needs OpenSSH's sshd (Debian package openssh-server)")
    if not _busybox_has("telnetd"):
        pytest.skip("needs a busybox with the telnetd applet (Debian package busybox-static)")
    Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
    with Lab() as lab:
        dev = Device(lab, tmp_path)
        key = tmp_path / "hostkey"
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)],
                       check=True, timeout=30)
        sshd_cfg = tmp_path / "sshd_config"
        sshd_cfg.write_text(f"Port 22\nHostKey {key}\nPidFile {tmp_path}/sshd.pid\nUsePAM no\n"
                            "PasswordAuthentication yes\nKbdInteractiveAuthentication no\n"
                            "PermitRootLogin no\nMaxStartups 100\nMaxAuthTries 10\n"
                            "LogLevel INFO\n")
        dev.dropped.parent.mkdir()
        script = (
            f"mount --rbind /dev {dev.root}/dev\n"
            f"chroot {dev.root} /bin/busybox telnetd -F -p 23 -l /bin/login &\n"
            f"{SSHD} -D -f {sshd_cfg} -E {dev.root}/var/log/auth.log &\n"
            f"cp /bin/sleep {dev.dropped} && {dev.dropped} 300 &\n"
            f"sleep 0.3; rm -f {dev.dropped}\n"
            "wait\n")
        init = lab.spawn(lab.device, ["unshare", "--pid", "--fork", "--mount-proc",
                                      "--kill-child", "/bin/sh", "-c", script])
        deadline = time.monotonic() + 10
        while not dev.init_pid and time.monotonic() < deadline:
            kids = _children(init.pid)
            dev.init_pid = kids[0] if kids else 0
            time.sleep(0.05)
        assert dev.init_pid, "device init did not start"
        lab.wait_listening(lab.attacker, lab.device_ip, 22)
        lab.wait_listening(lab.attacker, lab.device_ip, 23)
        dev.config.write_text(f"""
device = "lab-cam"
root = "{dev.root}"
state_dir = "{dev.state}"
interval_s = 1.0

[detect]
auth_logs = ["/var/log/auth.log"]
btmp = ""
login_failures = 5
login_ports = [23, 2323]
login_connections = 5
mining_cpu_percent = 25.0
mining_cycles = 2
flood_packets_per_s = 3000.0

[protect]
block_duration_s = 600
management = ["192.0.2.10"]
management_ports = [8443]
nft_table = "hedgerow_agent"
""")
        yield dev


def _reader(proc: subprocess.Popen[str], out: queue.Queue[dict[str, object]]) -> None:
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.startswith("{"):
            out.put(json.loads(line))


def test_agent_on_a_real_device(device: Device, tmp_path: Path) -> None:
    lab = device.lab
    # 1. Assessment of the device tree and its live sockets.
    done = device.agent("assess", "--json")
    assert done.returncode == 0, done.stderr
    findings = [json.loads(line) for line in done.stdout.splitlines()]
    ids = {f["check_id"] for f in findings}
    for expected in ("acct.default-password", "acct.empty-password", "svc.telnet-listening",
                     "ssh.root-login", "ssh.password-auth", "fs.path-world-writable",
                     "fs.unexpected-setuid", "sw.known-vulnerable", "sw.outdated"):
        assert expected in ids, (expected, sorted(ids), findings)
    telnet = next(f for f in findings if f["check_id"] == "svc.telnet-listening")
    assert "telnetd" in telnet["evidence"]["sockets"][0]["cmdline"]
    assert any(f["evidence"].get("user") == "root" for f in findings
               if f["check_id"] == "acct.default-password")

    # 2. Threats: pool + miner, scanner, then the agent, then hydra, a flood, a new listener,
    #    and a changed critical file.
    pool_log = tmp_path / "pool.log"
    lab.spawn(lab.attacker, [sys.executable, ACTORS, "pool", "3333", str(pool_log), "90"])
    lab.wait_listening(lab.device, lab.attacker_ip, 3333)
    prefix = lab.device_ip.rsplit(".", 1)[0]
    subprocess.Popen(device.enter([sys.executable, ACTORS, "miner", lab.attacker_ip, "3333",
                                   "60"]), start_new_session=True)
    subprocess.Popen(device.enter([sys.executable, ACTORS, "scanner", prefix, "10", "19", "40"]),
                     start_new_session=True)
    agent = subprocess.Popen(
        device.enter([sys.executable, "-m", "hedgerow.agent", "run", "-c", str(device.config),
                      "--cycles", "40", "--interval", "1", "--json", "--no-assess"]),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO,
        start_new_session=True)
    events: queue.Queue[dict[str, object]] = queue.Queue()
    threading.Thread(target=_reader, args=(agent, events), daemon=True).start()
    seen: set[str] = set()
    alerts: list[dict[str, object]] = []
    actions: list[dict[str, object]] = []

    def pump(done: Callable[[], bool], seconds: float) -> None:
        """Collect the agent's JSON events until ``done()`` or ``seconds`` pass."""
        deadline = time.monotonic() + seconds
        while not done() and time.monotonic() < deadline:
            try:
                ev = events.get(timeout=0.5)
            except queue.Empty:
                continue
            if ev["type"] == "alert":
                alerts.append(ev)
                kind = str(ev["kind"])
                if kind == "anomaly":
                    kind += "-listener" if "listener" in str(ev["detector"]) else "-integrity"
                if kind == "bruteforce":
                    kind += "-" + str(ev["detector"]).split(".")[1]
                seen.add(kind)
            elif ev["type"] == "action":
                actions.append(ev)
                if ev["action"] == "block" and ev["ok"]:
                    seen.add("block")
                if ev["action"] == "kill" and ev["ok"]:
                    seen.add(f"kill-{ev['alert_kind']}")
    try:
        status = device.state / "status.json"
        deadline = time.monotonic() + 20
        while not status.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert status.exists(), "agent did not complete a cycle"

        # A flood leaving the device (before the attacker is blocked: blocked peers get EPERM).
        flood = subprocess.run(device.enter(["timeout", "-s", "INT", "3", "hping3", "-2", "-p",
                                             "9", "-i", "u100", "-q", lab.attacker_ip]),
                               capture_output=True, text=True, timeout=30, check=False)
        assert "packets transmitted" in flood.stdout + flood.stderr, flood.stderr
        wordlist = tmp_path / "words.txt"
        wordlist.write_text("\n".join(f"wrong-{i}" for i in range(12)) + "\n")
        # hydra on telnet from a second attacker address: busybox login logs no address, so
        # the agent counts new connections to the login ports in its nftables table.
        telnet_attacker = lab.add_attacker_address(3)
        lab.attacker_source(telnet_attacker)
        # Once blocked, hydra's connections hang: it is stopped after the block is seen.
        # More guesses than the block needs, so that however slowly hydra gets through them
        # (a loaded machine) it keeps opening connections until it is blocked.
        telnet_words = tmp_path / "telnet-words.txt"
        telnet_words.write_text("\n".join(f"guess-{i}" for i in range(200)) + "\n")
        telnet_hydra = lab.spawn(lab.attacker, [
            "hydra", "-I", "-l", "root", "-P", str(telnet_words), "-t", "4", "-w", "5",
            f"telnet://{lab.device_ip}"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            cwd=tmp_path)
        def telnet_blocked() -> bool:
            return any(a["action"] == "block" and a["target"] == telnet_attacker
                       for a in actions)

        # Bounded, and generous: on a loaded 2-core machine hydra and the agent's cycles slow.
        pump(telnet_blocked, 90)
        os.killpg(telnet_hydra.pid, signal.SIGKILL)
        telnet_hydra.wait(timeout=10)
        assert telnet_blocked(), ("the telnet guesser was not blocked", alerts, actions)
        assert not lab.can_connect(lab.attacker, lab.device_ip, 23, timeout=1.5)
        lab.attacker_source(lab.attacker_ip)
        # hydra on sshd from the first address: OpenSSH logs each failure with the address.
        hydra = lab.run(lab.attacker, ["hydra", "-I", "-l", "hr-nobody", "-P", str(wordlist),
                                       "-t", "4", "-w", "5", f"ssh://{lab.device_ip}"],
                        timeout=90, check=False)
        assert "0 valid password" in hydra.stdout, hydra.stdout + hydra.stderr
        subprocess.Popen(device.enter(["timeout", "30", "busybox", "nc", "-l", "-p", "4444"]),
                         start_new_session=True)
        with open(device.root / "etc/passwd", "a") as fh:
            fh.write("sysupd:x:0:0::/:/bin/sh\n")

        wanted = {"malware", "mining", "scan", "bruteforce-failed-logins",
                  "bruteforce-login-connections", "dos", "anomaly-listener",
                  "anomaly-integrity", "block", "kill-malware", "kill-mining"}
        pump(lambda: wanted <= seen, 45)
        assert wanted <= seen, (sorted(wanted - seen), alerts, actions)
    finally:
        agent.terminate()
        try:
            agent.wait(timeout=20)
        except subprocess.TimeoutExpired:
            agent.kill()

    brute = {a["detector"]: a for a in alerts if a["kind"] == "bruteforce"}
    assert brute["agent.failed-logins"]["peers"] == [lab.attacker_ip]
    assert brute["agent.login-connections"]["peers"] == [telnet_attacker]
    assert brute["agent.login-connections"]["evidence"]["connections"] >= 5
    malware = next(a for a in alerts if a["kind"] == "malware")
    assert malware["evidence"]["deleted"] and malware["evidence"]["exe"] == str(device.dropped)
    assert "mining.subscribe" in pool_log.read_text()
    mining = next(a for a in alerts if a["kind"] == "mining")
    assert mining["peers"] == [f"{lab.attacker_ip}:3333"]
    integrity = next(a for a in alerts if a["detector"] == "agent.integrity")
    assert integrity["evidence"]["path"] == "/etc/passwd"

    # The deleted program was copied out of /proc into quarantine before being killed.
    kill = next(a for a in actions if a["action"] == "kill" and a["alert_kind"] == "malware")
    quarantined = Path(str(kill["quarantine"]))
    assert hashlib.sha256(quarantined.read_bytes()).hexdigest() == hashlib.sha256(
        Path("/bin/sleep").read_bytes()).hexdigest()
    # The miner's interpreter is a system binary: killed, never moved.
    kill_miner = next(a for a in actions if a["action"] == "kill" and a["alert_kind"] == "mining")
    assert str(kill_miner["quarantine"]).startswith("skipped")
    assert Path(sys.executable).exists()

    # 3. The attacker is blocked for real; the management path is never blocked.
    assert not lab.can_connect(lab.attacker, lab.device_ip, 22, timeout=1.5)
    status = json.loads(device.agent("status").stdout)
    assert sorted(e["value"] for e in status["enforced"]) == sorted(
        [lab.attacker_ip, telnet_attacker])
    assert status["spool_pending"] >= len(alerts)

    # 4. Undo: the connection works again, and the undo is logged.
    undo = device.agent("unblock", lab.attacker_ip)
    assert undo.returncode == 0 and "revoked 1" in undo.stdout, undo.stdout + undo.stderr
    assert lab.can_connect(lab.attacker, lab.device_ip, 22)
    log = [json.loads(x) for x in (device.state / "actions.jsonl").read_text().splitlines()]
    assert log[-1]["action"] == "unblock" and log[-1]["ok"]
