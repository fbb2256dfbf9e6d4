"""A two-namespace lab for the agent and enforcement tests: a "device" and an "attacker".

``with Lab() as lab:`` creates two network namespaces joined by a veth pair (device 10.77.N.1,
attacker 10.77.N.2), runs commands in them, and removes everything (processes, namespaces) on
exit. Names carry the ``hr-ag`` prefix and a random suffix so parallel runs never collide.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType


class Lab:
    def __init__(self) -> None:
        tag = secrets.token_hex(2)
        self.device = f"hr-ag-dev-{tag}"
        self.attacker = f"hr-ag-atk-{tag}"
        octet = 100 + int(tag, 16) % 150
        self.device_ip = f"10.77.{octet}.1"
        self.attacker_ip = f"10.77.{octet}.2"
        self._veth = (f"hr-ag-d{tag}", f"hr-ag-a{tag}")
        self._procs: list[subprocess.Popen[bytes]] = []
        self._extra: list[str] = []
        # Tools such as hydra leave files in their working directory: give them a private one.
        self.workdir = Path(tempfile.mkdtemp(prefix="hr-ag-lab-"))

    def __enter__(self) -> Lab:
        try:
            for ns in (self.device, self.attacker):
                _ip("netns", "add", ns)
                _ip("-n", ns, "link", "set", "lo", "up")
            dev_if, atk_if = self._veth
            _ip("link", "add", dev_if, "type", "veth", "peer", "name", atk_if)
            _ip("link", "set", dev_if, "netns", self.device)
            _ip("link", "set", atk_if, "netns", self.attacker)
            _ip("-n", self.device, "addr", "add", f"{self.device_ip}/24", "dev", dev_if)
            _ip("-n", self.attacker, "addr", "add", f"{self.attacker_ip}/24", "dev", atk_if)
            _ip("-n", self.device, "link", "set", dev_if, "up")
            _ip("-n", self.attacker, "link", "set", atk_if, "up")
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, t: type[BaseException] | None, v: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    @property
    def device_iface(self) -> str:
        """The device end of the veth link."""
        return self._veth[0]

    def add_attacker_address(self, host: int) -> str:
        """Another address on the attacker side of the link (10.77.N.<host>)."""
        return self._add_address(self.attacker, self._veth[1], host)

    @property
    def attacker_iface(self) -> str:
        """The attacker end of the veth link."""
        return self._veth[1]

    def add_device_address(self, host: int) -> str:
        """Another address on the device side of the link (10.77.N.<host>)."""
        return self._add_address(self.device, self._veth[0], host)

    def add_neighbour(self, host: int) -> tuple[str, str]:
        """A third host on the link, in a namespace of its own (10.77.N.<host>, its own MAC: a
        macvlan on the attacker's end), as a home router would be: (namespace, address)."""
        ns = f"hr-ag-nb{host}-{self.device.rsplit('-', 1)[1]}"
        iface = f"hr-ag-n{host}"
        _ip("netns", "add", ns)
        self._extra.append(ns)
        _ip("-n", self.attacker, "link", "add", iface, "link", self._veth[1], "type", "macvlan",
            "mode", "bridge")
        _ip("-n", self.attacker, "link", "set", iface, "netns", ns)
        address = self._add_address(ns, iface, host)
        _ip("-n", ns, "link", "set", iface, "up")
        return ns, address

    def _add_address(self, ns: str, iface: str, host: int) -> str:
        address = self.device_ip.rsplit(".", 1)[0] + f".{host}"
        _ip("-n", ns, "addr", "add", f"{address}/24", "dev", iface)
        return address

    def attacker_source(self, address: str) -> None:
        """Make the attacker's connections to the device leave from ``address``."""
        _ip("-n", self.attacker, "route", "replace", f"{self.device_ip}/32", "dev",
            self._veth[1], "src", address)

    def run(self, ns: str, argv: list[str], timeout: float = 30.0,
            check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["ip", "netns", "exec", ns, *argv], capture_output=True,
                              text=True, timeout=timeout, check=check, cwd=self.workdir)

    def spawn(self, ns: str, argv: list[str], **kwargs: object) -> subprocess.Popen[bytes]:
        proc: subprocess.Popen[bytes] = subprocess.Popen(
            ["ip", "netns", "exec", ns, *argv], start_new_session=True,
            **{"cwd": self.workdir, **kwargs})  # type: ignore[call-overload]
        self._procs.append(proc)
        return proc

    def can_connect(self, ns: str, host: str, port: int, timeout: float = 2.0) -> bool:
        """A real TCP connect from inside ``ns`` (via a child Python in that namespace)."""
        code = ("import socket,sys\n"
                f"s=socket.socket(); s.settimeout({timeout})\n"
                f"sys.exit(0 if s.connect_ex(({host!r},{port}))==0 else 1)\n")
        import sys
        done = self.run(ns, [sys.executable, "-c", code], timeout=timeout + 10, check=False)
        return done.returncode == 0

    def wait_listening(self, ns: str, host: str, port: int, deadline_s: float = 10.0) -> None:
        end = time.monotonic() + deadline_s
        while time.monotonic() < end:
            if self.can_connect(ns, host, port, timeout=1.0):
                return
            time.sleep(0.2)
        raise TimeoutError(f"nothing listens on {host}:{port} in {ns}")

    def close(self) -> None:
        for proc in self._procs:
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)
        self._procs.clear()
        for ns in (*self._extra, self.device, self.attacker):
            pids = subprocess.run(["ip", "netns", "pids", ns], capture_output=True, text=True,
                                  check=False).stdout.split()
            for pid in pids:
                with contextlib.suppress(ProcessLookupError, ValueError):
                    os.kill(int(pid), signal.SIGKILL)
            subprocess.run(["ip", "netns", "del", ns], capture_output=True, check=False)
        shutil.rmtree(self.workdir, ignore_errors=True)


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, timeout=15)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
