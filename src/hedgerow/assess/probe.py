"""The opt-in active probe: open ports and well-known default passwords on local devices.

Only addresses inside the configured home networks are ever touched (anything else raises
:class:`ProbeRefused` before a packet is sent), every connection attempt waits its turn in a
rate limiter, and each device gets a bounded number of attempts: the port list and the short
credential list of ``network/checks.yaml``. Telnet logins are judged by the same reader as
the passive check (:class:`hedgerow.assess.network.telnet.TelnetSession`); SSH logins use
paramiko (password authentication only, no command is run).

Example:
    >>> from hedgerow.model import LocalNetworks
    >>> probe_host("8.8.8.8", LocalNetworks.default())
    Traceback (most recent call last):
    ...
    hedgerow.assess.probe.ProbeRefused: 8.8.8.8 is not in the home networks; refusing to probe it
"""

from __future__ import annotations

import ipaddress
import socket
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from hedgerow.assess.network.config import NetworkChecks, load_network_checks
from hedgerow.assess.network.telnet import TelnetSession
from hedgerow.assess.standards import make_finding
from hedgerow.inventory import Inventory
from hedgerow.model import Finding, LocalNetworks

_IAC, _DO, _DONT, _WILL, _WONT = 255, 253, 254, 251, 252
_READ_LIMIT = 8192


class ProbeRefused(ValueError):
    """The target is not on a home network (or not an address)."""


class RateLimiter:
    """At most ``rate`` starts per second (monotonic clock; blocks by sleeping)."""

    def __init__(self, rate: float) -> None:
        if rate <= 0:
            raise ValueError("probe rate must be positive")
        self.interval = 1.0 / rate
        self._next = 0.0

    def wait(self) -> None:
        now = time.monotonic()
        if now < self._next:
            time.sleep(self._next - now)
        self._next = max(now, self._next) + self.interval


@dataclass
class ProbeResult:
    """What the probe found on one device."""

    address: str
    open_ports: list[int] = field(default_factory=list)
    logins: list[dict[str, object]] = field(default_factory=list)
    attempts: int = 0
    errors: list[str] = field(default_factory=list)


def check_target(address: str, networks: LocalNetworks) -> str:
    """The address, if it may be probed; raises :class:`ProbeRefused` otherwise."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        raise ProbeRefused(f"{address!r} is not an IP address; refusing to probe it") from None
    if ip.is_multicast or ip.is_unspecified or not networks.is_local(address):
        raise ProbeRefused(f"{address} is not in the home networks; refusing to probe it")
    return str(ip)


def open_ports(address: str, ports: Sequence[int], limiter: RateLimiter,
               timeout: float = 1.0) -> list[int]:
    """TCP connect scan of ``ports`` (one full connection per port, closed at once)."""
    found = []
    for port in ports:
        limiter.wait()
        with socket.socket(socket.AF_INET6 if ":" in address else socket.AF_INET,
                           socket.SOCK_STREAM) as sock:
            sock.settimeout(timeout)
            if sock.connect_ex((address, port)) == 0:
                found.append(port)
    return found


def _negotiate(sock: socket.socket, data: bytes) -> None:
    """Refuse every telnet option the server asks for or offers (``DO``/``WILL``)."""
    replies = bytearray()
    i = 0
    while i < len(data):
        if data[i] == _IAC and i + 2 < len(data) and data[i + 1] in (_DO, _WILL):
            replies += bytes([_IAC, _WONT if data[i + 1] == _DO else _DONT, data[i + 2]])
            i += 3
        else:
            i += 1
    if replies:
        sock.sendall(bytes(replies))


def _read_until(sock: socket.socket, session: TelnetSession, markers: tuple[bytes, ...],
                deadline: float) -> bytes:
    got = b""
    while time.monotonic() < deadline and len(got) < _READ_LIMIT:
        sock.settimeout(max(0.05, deadline - time.monotonic()))
        try:
            chunk = sock.recv(1024)
        except TimeoutError:
            break
        if not chunk:
            break
        _negotiate(sock, chunk)
        session.add(False, chunk)
        got += chunk
        if any(m in got.lower() for m in markers):
            break
    return got


def telnet_login(address: str, port: int, user: str, password: str,
                 timeout: float = 5.0) -> bool:
    """One telnet login attempt; True when the server answers with a shell."""
    session = TelnetSession("probe", 0, address, port)
    with socket.create_connection((address, port), timeout=timeout) as sock:
        deadline = time.monotonic() + timeout
        _read_until(sock, session, (b"login:", b"username:", b"user:"), deadline)
        for text in (user, password):
            line = text.encode() + b"\r\n"
            sock.sendall(line)
            session.add(True, line)
            markers = (b"password:",) if text is user else (b"#", b"$", b">", b"incorrect",
                                                             b"failed", b"login:")
            _read_until(sock, session, markers, time.monotonic() + timeout)
        _read_until(sock, session, (b"#", b"$"), time.monotonic() + 0.5)
    return any(a.success for a in session.attempts())


def ssh_login(address: str, port: int, user: str, password: str, timeout: float = 5.0) -> bool:
    """One SSH password authentication; True when the server accepts it (nothing is run)."""
    import paramiko

    client = paramiko.SSHClient()
    client.set_missing_host_key_policy(paramiko.AutoAddPolicy())
    try:
        client.connect(address, port=port, username=user, password=password, timeout=timeout,
                       auth_timeout=timeout, banner_timeout=timeout, allow_agent=False,
                       look_for_keys=False)
    except paramiko.AuthenticationException:
        return False
    finally:
        client.close()
    return True


def probe_host(address: str, networks: LocalNetworks, config: NetworkChecks | None = None,
               rate: float = 20.0, limiter: RateLimiter | None = None,
               ports: Sequence[int] | None = None) -> ProbeResult:
    """Probe one local device: open ports, then the default credentials on telnet and SSH."""
    target = check_target(address, networks)
    cfg = config or load_network_checks()
    pace = limiter or RateLimiter(rate)
    result = ProbeResult(target)
    result.open_ports = open_ports(target, ports or cfg.probe_ports, pace)
    result.attempts += len(ports or cfg.probe_ports)
    services = [(p, "telnet", telnet_login) for p in result.open_ports if p in cfg.telnet_ports]
    services += [(p, "ssh", ssh_login) for p in result.open_ports if p == 22]
    for port, name, login in services:
        for user, password in cfg.probe_credentials:
            pace.wait()
            result.attempts += 1
            try:
                ok = login(target, port, user, password)
            except (OSError, EOFError) as exc:
                result.errors.append(f"{name}/{port} {user}: {exc}")
                continue
            except Exception as exc:  # paramiko's protocol errors
                result.errors.append(f"{name}/{port} {user}: {type(exc).__name__}: {exc}")
                continue
            if ok:
                result.logins.append({"service": name, "port": port, "user": user,
                                      "password": password})
                break
    return result


def findings_from_probe(device: str, result: ProbeResult) -> list[Finding]:
    """Findings for one device's probe result (default passwords, open ports)."""
    out = [make_finding("net.probe-default-credentials", device, {"address": result.address,
                                                                   **login})
           for login in result.logins]
    if result.open_ports:
        out.append(make_finding("net.probe-open-ports", device, {
            "address": result.address, "open_ports": result.open_ports,
            "attempts": result.attempts}))
    return out


def probe_inventory(inventory: Inventory, networks: LocalNetworks, rate: float = 20.0,
                    config: NetworkChecks | None = None) -> list[Finding]:
    """Probe every device of the inventory that has a local IPv4 address (one limiter for all)."""
    limiter = RateLimiter(rate)
    findings: list[Finding] = []
    for device in inventory.devices:
        address = next((ip for ip in reversed(device.ips)
                        if "." in ip and networks.is_local(ip)), None)
        if address is None:
            continue
        result = probe_host(address, networks, config, limiter=limiter)
        findings.extend(findings_from_probe(device.key, result))
    return findings
