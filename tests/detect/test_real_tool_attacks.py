"""Floods (SYN; ACK, PSH-ACK and fragmented ACK; RST and RST-FIN; FIN, Christmas-tree and null;
UDP, fragmented UDP, ICMP, GRE), the Mirai SYN fingerprint, stray-packet port scans, a telnet
sweep, Slowloris, ARP cache poisoning and web attacks from real attack tools, through capture
and the rules.

In a two-namespace :class:`netlab.Lab`, Debian's hping3, nmap, masscan, slowhttptest, sqlmap
and arpspoof attack the device (10.77.N.1) from the attacker namespace (the ARP case adds a
router in a third namespace on the link), or the device floods the attacker; tcpdump on the
device's end of the veth link records each attack in its own capture, which ``run_scan`` reads
with the built-in rules and the device's addresses as the home network. Every packet stays on
that link: the only targets are the lab's own addresses and its /24 (whose other addresses
nobody owns: masscan's frames go to the attacker's MAC, which drops them); ``--rand-source``
forges the source field only; each run is bounded by a packet count and a rate.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import require_root, require_tool
from hedgerow.cli.scan import run_scan
from hedgerow.model import Alert
from netlab import Lab

pytestmark = [pytest.mark.root, pytest.mark.slow]

# The flood rules ask for 1,000 packets within 10 s; 1,500 (50% over) at no more than 1,000 per
# second take 1.5-3 s, so each flood lies within one window and the one before it.
PACKETS = 1500
FLOOD = ["-c", str(PACKETS), "-i", "u1000"]
MIRAI_HOSTS = (11, 12)  # scan.mirai-syn asks for 3 distinct targets: the device has 3 addresses


@pytest.fixture(scope="module")
def lab() -> Iterator[Lab]:
    require_root()
    require_tool("ip", "hping3", "tcpdump")
    with Lab() as lab:
        for host in MIRAI_HOSTS:
            lab.add_device_address(host)
        yield lab


def _device_addresses(lab: Lab) -> list[str]:
    prefix = lab.device_ip.rsplit(".", 1)[0]
    return [lab.device_ip, *(f"{prefix}.{host}" for host in MIRAI_HOSTS)]


@contextlib.contextmanager
def _recording(lab: Lab, pcap: Path) -> Iterator[None]:
    """tcpdump records the device's link to ``pcap`` while the body runs."""
    # a 64 MiB kernel buffer: in immediate mode the default one drops some of masscan's bursts
    tcpdump = lab.spawn(lab.device, ["tcpdump", "-U", "--immediate-mode", "-B", "65536", "-n",
                                     "-i", lab.device_iface, "-w", str(pcap)],
                        stderr=subprocess.PIPE)
    assert tcpdump.stderr is not None
    ready = tcpdump.stderr.readline()  # printed once the capture is open
    assert b"listening on" in ready, ready
    yield
    time.sleep(0.3)  # the last replies
    tcpdump.send_signal(signal.SIGINT)
    _, err = tcpdump.communicate(timeout=10)
    assert b"\n0 packets dropped by kernel" in err, err


def _scan(lab: Lab, pcap: Path) -> list[Alert]:
    """The alerts of scanning ``pcap`` with the device's addresses as the home network."""
    home = tuple(f"{a}/32" for a in _device_addresses(lab))
    return run_scan([pcap], home_nets=home).alerts


def _attack(lab: Lab, pcap: Path, ns: str, runs: list[list[str]]) -> list[Alert]:
    """Run hping3 with each argument list in ``ns`` while the device's link is recorded to
    ``pcap``; the alerts of scanning that capture."""
    with _recording(lab, pcap):
        for args in runs:
            done = lab.run(ns, ["hping3", *args], timeout=30, check=False)
            count = args[args.index("-c") + 1]
            # exit status 1 only says that nothing answered
            assert f"{count} packets transmitted" in done.stdout + done.stderr, done
    return _scan(lab, pcap)


@pytest.mark.parametrize(
    ("from_device", "args", "spoofed", "rules"),
    [
        pytest.param(False, ["-S", "-p", "80", "--rand-source"], True, ["dos.syn-flood"],
                     id="syn-spoofed"),
        # In the lab the device has no route back to forged sources, so these ACKs go unanswered.
        pytest.param(False, ["-A", "-p", "80", "--rand-source"], True, ["dos.ack-flood"],
                     id="ack-spoofed"),
        # The device answers each stray ACK with a RST (as it would every forged source, given
        # a default route): the meter, like Zeek, calls such a flow RSTRH.
        pytest.param(False, ["-A", "-p", "80"], False, ["dos.ack-flood"], id="ack-answered"),
        # PSH-ACKs carrying data, and ACKs cut into 16-byte fragments (the TCP header spans
        # two): each datagram one packet, its header read from the first fragment
        pytest.param(False, ["-P", "-A", "-p", "80", "-d", "100", "--rand-source"], True,
                     ["dos.ack-flood"], id="psh-ack-spoofed"),
        pytest.param(False, ["-A", "-p", "80", "-d", "200", "-f", "--rand-source"], True,
                     ["dos.ack-flood"], id="ack-fragmented"),
        pytest.param(False, ["-R", "-p", "80", "--rand-source"], True, ["dos.rst-flood"],
                     id="rst-spoofed"),
        pytest.param(False, ["-R", "-F", "-p", "80", "--rand-source"], True, ["dos.rst-flood"],
                     id="rst-fin-spoofed"),
        pytest.param(False, ["-F", "-p", "80", "--rand-source"], True, ["dos.fin-flood"],
                     id="fin-spoofed"),
        # each FIN answered by a RST
        pytest.param(False, ["-F", "-p", "80"], False, ["dos.fin-flood"], id="fin-answered"),
        pytest.param(False, ["-F", "-P", "-U", "-p", "80", "--rand-source"], True,
                     ["dos.fin-flood"], id="xmas-spoofed"),
        # no flag at all
        pytest.param(False, ["-p", "80", "--rand-source"], True, ["dos.fin-flood"],
                     id="null-spoofed"),
        # answered by the few port-unreachables the device's ICMP rate limit lets out
        pytest.param(False, ["-2", "-p", "53"], False, ["dos.udp-flood"], id="udp"),
        pytest.param(False, ["-2", "-p", "53", "-d", "200", "-f"], False, ["dos.udp-flood"],
                     id="udp-fragmented"),
        pytest.param(False, ["-1"], False, ["dos.icmp-flood"], id="icmp-echo"),
        # raw IP mode with protocol 47: zeroed GRE headers
        pytest.param(False, ["-0", "-H", "47", "-d", "64"], False, ["dos.gre-flood"], id="gre"),
        pytest.param(True, ["-2", "-p", "53"], False, ["dos.outbound-udp-flood"], id="udp-out"),
    ],
)
def test_hping3_flood(lab: Lab, tmp_path: Path, from_device: bool, args: list[str],
                      spoofed: bool, rules: list[str]) -> None:
    ns, target = (lab.device, lab.attacker_ip) if from_device else (lab.attacker, lab.device_ip)
    alerts = _attack(lab, tmp_path / "flood.pcap", ns, [[*args, *FLOOD, target]])
    direction = "outbound" if from_device else "inbound"
    got = sorted((a.detector, a.direction, a.device) for a in alerts)
    assert got == [(rule, direction, lab.device_ip) for rule in rules], alerts
    for alert in alerts:
        assert f"({PACKETS} packets, " in alert.summary, alert.summary  # every packet counted
        if spoofed:
            assert alert.evidence["peers_total"] >= 20 and lab.attacker_ip not in alert.peers
        else:
            assert alert.peers == (lab.attacker_ip,)


@pytest.mark.parametrize("fingerprint", [True, False])
def test_hping3_mirai_syns(lab: Lab, tmp_path: Path, fingerprint: bool) -> None:
    """Three telnet SYNs (three source ports) to each of the device's addresses, the sequence
    number set to that address (Mirai's scanner) or left to hping3 (random)."""
    targets = _device_addresses(lab)
    runs = [["-S", "-p", "23", "-c", "3", "-i", "u10000",
             *(["-M", str(int(ipaddress.IPv4Address(t)))] if fingerprint else []), t]
            for t in targets]
    alerts = _attack(lab, tmp_path / "syns.pcap", lab.attacker, runs)
    if not fingerprint:
        assert alerts == []
        return
    [alert] = alerts
    assert (alert.detector, alert.direction, alert.device, alert.peers) == (
        "scan.mirai-syn", "inbound", lab.device_ip, (lab.attacker_ip,))
    assert alert.evidence["other_devices"] == targets[1:]
    assert "(3 distinct targets, 9 flows in " in alert.summary


@pytest.mark.parametrize("probe", ["-sA", "-sF", "-sX", "-sN"])
def test_nmap_stray_packet_scans_are_scans_not_floods(lab: Lab, tmp_path: Path,
                                                      probe: str) -> None:
    """nmap's ACK, FIN, Christmas-tree and null scans probe 2,000 ports within a second or two,
    each probe answered with a RST: as many stray packets as an ACK, FIN or RST flood, but one
    per port, so a vertical scan. (Left to itself nmap sends them within 0.1 s, faster than
    tcpdump records on a busy machine: 1,500 per second is still a flood's rate.)"""
    require_tool("nmap")
    pcap = tmp_path / "scan.pcap"
    with _recording(lab, pcap):
        lab.run(lab.attacker, ["nmap", "-n", "-Pn", probe, "-p", "1-2000", "--max-rate", "1500",
                               lab.device_ip], timeout=120)
    alerts = _scan(lab, pcap)
    assert [(a.detector, a.direction, a.device) for a in alerts] == [
        ("scan.vertical", "inbound", lab.device_ip)], alerts


def test_masscan_telnet_sweep_from_the_device_is_an_outbound_telnet_scan(
    lab: Lab, tmp_path: Path
) -> None:
    """The device, infected, sweeps telnet (23 and 2323) over the lab's /24 with masscan, one
    raw SYN per address and port, as Mirai's scanner does. masscan sends every frame to the
    attacker's MAC (its "router"); the attacker owns none of those addresses and drops them,
    so nothing leaves the veth link."""
    require_tool("masscan")
    mac = json.loads(subprocess.run(
        ["ip", "-j", "-n", lab.attacker, "link", "show", lab.attacker_iface],
        capture_output=True, text=True, check=True).stdout)[0]["address"]
    sweep = lab.device_ip.rsplit(".", 1)[0] + ".0/24"
    mine = _device_addresses(lab)
    pcap = tmp_path / "sweep.pcap"
    with _recording(lab, pcap):
        lab.run(lab.device, ["masscan", sweep, "-p23,2323", "--rate", "500", "--wait", "1",
                             "--router-mac", mac, "-e", lab.device_iface,
                             "--adapter-ip", lab.device_ip, "--exclude", ",".join(mine)],
                timeout=60)
    alerts = _scan(lab, pcap)
    assert [(a.detector, a.direction, a.device) for a in alerts] == [
        ("scan.horizontal.telnet", "outbound", lab.device_ip)], alerts
    assert alerts[0].evidence["distinct"]["count"] == 256 - len(mine)


def test_slowhttptest_slowloris_is_a_slow_http_attack(lab: Lab, tmp_path: Path) -> None:
    """slowhttptest in Slowloris mode holds 100 connections to the device's web server open for
    15 s, each sending another header line every 5 s: too few connections for an HTTP flood,
    each one held long with nothing answered."""
    require_tool("slowhttptest")
    server = lab.spawn(lab.device, [sys.executable, "-m", "http.server", "80",
                                    "--bind", lab.device_ip],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        lab.wait_listening(lab.attacker, lab.device_ip, 80)
        pcap = tmp_path / "slowloris.pcap"
        with _recording(lab, pcap):
            lab.run(lab.attacker, ["slowhttptest", "-H", "-c", "100", "-r", "50", "-i", "5",
                                   "-l", "15", "-p", "3", "-u", f"http://{lab.device_ip}/"],
                    timeout=60)
    finally:
        server.kill()
        server.wait(timeout=10)
    alerts = _scan(lab, pcap)
    assert [(a.detector, a.direction, a.device, a.peers) for a in alerts] == [
        ("dos.slow-http", "inbound", lab.device_ip, (lab.attacker_ip,))], alerts
    assert alerts[0].evidence["flows"] >= 100


def test_arpspoof_poisoning_the_device_about_its_router(lab: Lab, tmp_path: Path) -> None:
    """dsniff's arpspoof tells the device, every 2 s, that its router's address is at the
    attacker's MAC, while the router (a third namespace on the link, its own MAC) goes on
    asking for the device with arping: one alert, the attacker as the spoofing device."""
    require_tool("arpspoof", "arping")
    router_ns, router_ip = lab.add_neighbour(254)
    pcap = tmp_path / "arpspoof.pcap"
    with _recording(lab, pcap):
        spoof = lab.spawn(lab.attacker, ["arpspoof", "-i", lab.attacker_iface, "-t",
                                         lab.device_ip, router_ip],
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(3)
        lab.run(router_ns, ["arping", "-c", "3", "-w", "4", lab.device_ip], timeout=20)
        time.sleep(5)
        spoof.send_signal(signal.SIGINT)  # it re-arps the device with the router's MAC, then exits
        spoof.wait(timeout=30)
    home = (lab.device_ip.rsplit(".", 1)[0] + ".0/24",)
    alerts = run_scan([pcap], home_nets=home).alerts
    assert [(a.detector, a.kind.value, a.direction, a.device, a.peers) for a in alerts] == [
        ("spoof.arp", "spoofing", "internal", lab.attacker_ip, (lab.device_ip, router_ip))], alerts
    assert alerts[0].evidence["claims"] >= 5 and len(alerts[0].evidence["owner_macs"]) == 1


@pytest.fixture()
def web_server(lab: Lab) -> Iterator[None]:
    """Python's http.server on the device's port 80."""
    server = lab.spawn(lab.device, [sys.executable, "-m", "http.server", "80",
                                    "--bind", lab.device_ip],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        lab.wait_listening(lab.attacker, lab.device_ip, 80)
        yield
    finally:
        server.kill()
        server.wait(timeout=10)


@pytest.mark.parametrize(("tool", "rules"), [
    # directory traversal, plain, URL-encoded and overlong
    (["nmap", "-n", "-Pn", "-p", "80", "--script", "http-passwd"], ["exploit.web-attack"]),
    (["nmap", "-n", "-Pn", "-p", "80", "--script", "http-shellshock"], ["exploit.web-attack"]),
    # harmless scripts: the scanner only names itself
    (["nmap", "-n", "-Pn", "-p", "80", "--script", "http-title,http-headers"],
     ["scan.web-scanner"]),
    (["sqlmap", "--batch", "--flush-session", "--technique", "BEUS", "--output-dir", "{work}",
      "-u", "http://{device}/?id=1"], ["exploit.web-attack"]),
], ids=["nmap-http-passwd", "nmap-shellshock", "nmap-http-title", "sqlmap"])
def test_web_attack_tools(lab: Lab, tmp_path: Path, web_server: None, tool: list[str],
                          rules: list[str]) -> None:
    require_tool(tool[0])
    argv = [a.format(device=lab.device_ip, work=lab.workdir) for a in tool]
    if tool[0] == "nmap":
        argv.append(lab.device_ip)
    pcap = tmp_path / "web.pcap"
    with _recording(lab, pcap):
        lab.run(lab.attacker, argv, timeout=300, check=False)
    alerts = _scan(lab, pcap)
    # A tool's self-naming request that falls outside the span of its attack strings (nmap's
    # check of how the server answers a missing page, its timing varying run to run) is not
    # explained by the exploit alert: the scanner alert may come too.
    got = [(a.detector, a.direction, a.device, a.peers) for a in alerts
           if a.detector in rules or a.detector != "scan.web-scanner"]
    assert got == [(rule, "inbound", lab.device_ip, (lab.attacker_ip,)) for rule in rules], alerts


def test_dnsspoof_racing_the_router_resolver(lab: Lab, tmp_path: Path) -> None:
    """The router (a third namespace) resolves names with dnsmasq; the device looks names up
    with busybox nslookup, first unhindered, then while dsniff's dnsspoof forges answers in the
    router's name. Both answers reach the device: one alert, the forger named by its MAC."""
    require_tool("dnsspoof", "dnsmasq", "busybox")
    router_ns, router_ip = lab.add_neighbour(253)
    lab.spawn(router_ns, ["dnsmasq", "--no-daemon", "--no-resolv", "--no-hosts",
                          "--bind-interfaces", f"--listen-address={router_ip}", "--pid-file=",
                          "--user=root", "--address=/iot-cloud.example/203.0.113.10",
                          "--address=/time.example/203.0.113.11"],
              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    forged = lab.workdir / "forged.hosts"
    forged.write_text("198.51.100.66 iot-cloud.example\n")
    pcap = tmp_path / "dnsspoof.pcap"

    def lookup(name: str) -> str:
        return lab.run(lab.device, ["busybox", "nslookup", name, router_ip], check=False).stdout

    deadline = time.monotonic() + 10
    while "203.0.113.11" not in lookup("time.example") and time.monotonic() < deadline:
        time.sleep(0.2)
    with _recording(lab, pcap):
        for _ in range(3):
            assert "203.0.113.11" in lookup("time.example")
        spoof = lab.spawn(lab.attacker, ["dnsspoof", "-i", lab.attacker_iface, "-f", str(forged),
                                         f"udp dst port 53 and dst host {router_ip}"],
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(2)
        for _ in range(3):
            lookup("iot-cloud.example")
            time.sleep(0.5)
        spoof.send_signal(signal.SIGINT)
        spoof.wait(timeout=10)
    mac = json.loads(subprocess.run(
        ["ip", "-j", "-n", lab.attacker, "link", "show", lab.attacker_iface],
        capture_output=True, text=True, check=True).stdout)[0]["address"]
    home = (lab.device_ip.rsplit(".", 1)[0] + ".0/24",)
    alerts = run_scan([pcap], home_nets=home).alerts
    assert [(a.detector, a.kind.value, a.direction, a.device, a.peers) for a in alerts] == [
        ("spoof.dns", "spoofing", "inbound", lab.device_ip, (mac,))], alerts
    evidence = alerts[0].evidence
    assert (evidence["name"], evidence["forged"], evidence["genuine"]) == (
        "iot-cloud.example", ["198.51.100.66"], ["203.0.113.10"])
