"""End to end, in network namespaces: a live `hedgerow sense` on a gateway blocks a real hydra
brute force from the "Internet", quarantines the device that then scans with hping3, leaves the
benign device alone, and `hedgerow decisions revoke --all` undoes everything.

Topology (all created here, names ``hr-gw-<random>-*``, removed in ``finally``)::

    dev1 192.168.77.10 (busybox telnetd, admin/admin) --\\
                                                      br0 192.168.77.1 [gw] wan0 203.0.113.1 -- inet
    dev2 192.168.77.20 (benign) -----------------------/                               203.0.113.2
                                                                          198.51.100.0/24 (local)
"""

from __future__ import annotations

import json
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from gwlab import NetLab, tcp_connects, wait_for

from conftest import require_root, require_tool

pytestmark = [pytest.mark.root, pytest.mark.slow]

HEDGEROW = [str(Path(sys.executable).with_name("hedgerow"))]
ATTACKER = "203.0.113.2"
SERVER = "198.51.100.200"
DEV1, DEV2 = "192.168.77.10", "192.168.77.20"
# Mirai's and common vendor defaults; the device's real password comes last.
PASSWORDS = ["xc3511", "vizxv", "888888", "xmhdipc", "default", "juantech", "123456", "54321",
             "support", "password", "root", "12345", "user", "pass", "1111", "admin"]

# One login attempt per connection, as many IoT telnet daemons do; checks /etc/shadow (the
# namespace's own, mounted by `ip netns exec`) and hands a good login to busybox's login -f.
LOGIN_SHIM = """#!/bin/sh
printf 'login: '; read -r user
printf 'Password: '; read -r pass
user=$(printf %s "$user" | tr -d '\\r\\000'); pass=$(printf %s "$pass" | tr -d '\\r\\000')
entry=$(grep "^$user:" /etc/shadow | cut -d: -f2)
salt=$(printf %s "$entry" | cut -d'$' -f3)
if [ -n "$salt" ] && [ "$(openssl passwd -6 -salt "$salt" "$pass")" = "$entry" ]; then
    exec /bin/busybox login -f "$user"
fi
sleep 1
echo "Login incorrect"
"""


@pytest.fixture()
def lab(tmp_path: Path) -> Iterator[NetLab]:
    require_root()
    require_tool("nft", "hydra", "hping3", "busybox", "openssl")
    lab = NetLab(f"hr-gw-{secrets.token_hex(2)}")
    try:
        _build(lab, tmp_path)
        yield lab
    finally:
        lab.close()


def _build(lab: NetLab, tmp: Path) -> None:
    for name in ("gw", "dev1", "dev2", "inet"):
        lab.add_ns(name)
    lab.run("gw", "ip", "link", "add", "br0", "type", "bridge")
    lab.veth("gw", "p1", "dev1", "eth0")
    lab.veth("gw", "p2", "dev2", "eth0")
    lab.veth("gw", "wan0", "inet", "eth0")
    for port in ("p1", "p2"):
        lab.run("gw", "ip", "link", "set", port, "master", "br0")
    lab.run("gw", "ip", "link", "set", "br0", "up")
    lab.run("gw", "ip", "addr", "add", "192.168.77.1/24", "dev", "br0")
    lab.run("gw", "ip", "addr", "add", "203.0.113.1/24", "dev", "wan0")
    lab.run("gw", "ip", "route", "add", "198.51.100.0/24", "via", ATTACKER)
    lab.run("gw", "sysctl", "-qw", "net.ipv4.ip_forward=1")
    for dev, addr in (("dev1", DEV1), ("dev2", DEV2)):
        lab.run(dev, "ip", "addr", "add", f"{addr}/24", "dev", "eth0")
        lab.run(dev, "ip", "route", "add", "default", "via", "192.168.77.1")
    lab.run("inet", "ip", "addr", "add", f"{ATTACKER}/24", "dev", "eth0")
    lab.run("inet", "ip", "route", "add", "local", "198.51.100.0/24", "dev", "lo")
    lab.run("inet", "ip", "route", "add", "192.168.77.0/24", "via", "203.0.113.1")
    # The Internet side serves HTTP on every 198.51.100.x; dev1 runs telnetd with admin/admin.
    www = tmp / "www"
    www.mkdir()
    (www / "index.html").write_text("hello\n")
    lab.start("inet", "busybox", "httpd", "-f", "-p", "8080", "-h", str(www))
    digest = subprocess.run(["openssl", "passwd", "-6", "-salt", "hedgerow", "admin"],
                            capture_output=True, text=True, check=True).stdout.strip()
    lab.etc_file("dev1", "passwd", "root:x:0:0:root:/root:/bin/sh\n"
                                   "admin:x:1000:1000:admin:/tmp:/bin/sh\n")
    lab.etc_file("dev1", "shadow", "root:*:19000:0:99999:7:::\n"
                                   f"admin:{digest}:19000:0:99999:7:::\n")
    shim = tmp / "login"
    shim.write_text(LOGIN_SHIM)
    shim.chmod(0o755)
    lab.start("dev1", "busybox", "telnetd", "-F", "-p", "23", "-l", str(shim))
    assert wait_for(lambda: tcp_connects(lab, "dev2", SERVER, 8080), 10), "lab has no route"
    assert wait_for(lambda: tcp_connects(lab, "inet", DEV1, 23), 10), "telnetd did not start"


def _decisions(path: Path) -> list[dict[str, object]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _has(path: Path, action: str, value: str, status: str = "applied") -> bool:
    return any(d["action"] == action and d["value"] == value and d["status"] == status
               for d in _decisions(path))


def test_sensor_blocks_attacker_quarantines_scanner_and_revoke_undoes_it(
        lab: NetLab, tmp_path: Path) -> None:
    decisions, alerts, out = tmp_path / "decisions.jsonl", tmp_path / "alerts.jsonl", \
        tmp_path / "sense.out"
    with out.open("wb") as sink:
        sensor = lab.start("gw", *HEDGEROW, "sense", "--iface", "br0", "--decisions",
                           str(decisions), "--alerts", str(alerts), "--metrics-port", "9198",
                           "--early-every", "0.5", "--stats-every", "2", stdout=sink.fileno())
    assert wait_for(lambda: b"watching br0" in out.read_bytes(), 60), out.read_text()
    assert b"enforcing with nftables" in out.read_bytes()
    time.sleep(1.0)

    # 1. hydra brute-forces dev1's telnet from the Internet: the attacker gets blocked.
    passwords = tmp_path / "passwords.txt"
    passwords.write_text("\n".join(PASSWORDS) + "\n")
    with (tmp_path / "hydra.out").open("wb") as hydra_out:
        hydra = lab.start("inet", "hydra", "-l", "admin", "-P", str(passwords), "-t", "4",
                          "-I", f"telnet://{DEV1}", stdout=hydra_out.fileno())
    blocked = wait_for(lambda: _has(decisions, "block", ATTACKER), 60)
    lab.stop(hydra)
    assert blocked, out.read_text() + (tmp_path / "hydra.out").read_text()
    assert not tcp_connects(lab, "inet", DEV1, 23), "blocked attacker still reaches telnet"

    # 2. dev1, now "infected", scans the Internet for telnet: it gets quarantined.
    lab.run("dev1", "hping3", "-S", "-p", "23", "--rand-dest", "198.51.100.x", "-I", "eth0",
            "-c", "60", "-i", "u10000", timeout=60, check=False)
    assert wait_for(lambda: _has(decisions, "quarantine", DEV1), 30), out.read_text()
    assert wait_for(lambda: not tcp_connects(lab, "dev1", SERVER, 8080, timeout=1.0), 5)
    assert tcp_connects(lab, "dev2", SERVER, 8080), "benign device was cut off"
    assert not tcp_connects(lab, "dev2", "192.168.77.1", 9198), "/metrics is not loopback-only"

    seen = [json.loads(line) for line in alerts.read_text().splitlines()]
    assert any(a["kind"] == "bruteforce" and a["direction"] == "inbound" and a["device"] == DEV1
               and ATTACKER in a["peers"] for a in seen)
    assert any(a["kind"] == "scan" and a["direction"] == "outbound" and a["device"] == DEV1
               for a in seen)
    assert not any(a["device"] == DEV2 or DEV2 in a["peers"] for a in seen)
    assert not any(d["value"] == DEV2 for d in _decisions(decisions))
    metrics = lab.run("gw", sys.executable, "-c", "import urllib.request;print(urllib.request."
                      "urlopen('http://127.0.0.1:9198/metrics',timeout=5).read().decode())").stdout
    assert "hedgerow_sense_enforcing 1" in metrics
    assert 'hedgerow_sense_decisions_total{action="quarantine",status="applied"} 1' in metrics
    packets = next(line for line in metrics.splitlines()
                   if line.startswith("hedgerow_sense_packets_total"))
    assert int(packets.split()[1]) > 100
    listed = lab.run("gw", *HEDGEROW, "decisions", "list", "--decisions", str(decisions),
                     "--json").stdout
    rows = [json.loads(line) for line in listed.splitlines()]
    assert {(r["action"], r["value"], r["in_nftables"]) for r in rows} >= {
        ("block", ATTACKER, True), ("quarantine", DEV1, True)}, listed

    # 3. Revoke everything: both are back.
    revoked = lab.run("gw", *HEDGEROW, "decisions", "revoke", "--all", "--decisions",
                      str(decisions))
    assert revoked.stdout.count("revoked ") == len(rows)
    assert tcp_connects(lab, "dev1", SERVER, 8080), "quarantine not lifted"
    assert tcp_connects(lab, "inet", DEV1, 23), "block not lifted"
    assert "no active decisions" in lab.run(
        "gw", *HEDGEROW, "decisions", "list", "--decisions", str(decisions)).stdout
    sensor.send_signal(signal.SIGTERM)
    assert sensor.wait(30) == 0, out.read_text()
    assert "stats:" in out.read_text()
    # The sensor's last (final) alerts about the same attacks did not undo the revocation.
    assert "no active decisions" in lab.run(
        "gw", *HEDGEROW, "decisions", "list", "--decisions", str(decisions)).stdout
    assert tcp_connects(lab, "dev1", SERVER, 8080)
