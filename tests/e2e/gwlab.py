"""Several network namespaces for the gateway end-to-end tests: create, run in, tear down.

Every namespace, interface and process the lab makes is recorded and removed by
:meth:`NetLab.close` (kill the processes it started, by PID; delete the namespaces, which takes
their interfaces with them; remove per-namespace ``/etc/netns`` files).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path


class NetLab:
    """Namespaces named ``<prefix>-<name>`` (kept short: interface names have 15 characters)."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.namespaces: list[str] = []
        self.procs: list[subprocess.Popen[bytes]] = []
        self.etc_dirs: list[Path] = []
        self._links = 0
        # Tools such as hydra leave files in their working directory: give them a private one.
        self.workdir = Path(tempfile.mkdtemp(prefix=f"{prefix}-"))

    def ns(self, name: str) -> str:
        return f"{self.prefix}-{name}"

    def add_ns(self, name: str) -> str:
        full = self.ns(name)
        sh("ip", "netns", "add", full)
        self.namespaces.append(full)
        sh("ip", "-n", full, "link", "set", "lo", "up")
        return full

    def etc_file(self, name: str, filename: str, text: str) -> None:
        """A file ``ip netns exec`` mounts over ``/etc/<filename>`` inside namespace ``name``."""
        folder = Path("/etc/netns") / self.ns(name)
        folder.mkdir(parents=True, exist_ok=True)
        if folder not in self.etc_dirs:
            self.etc_dirs.append(folder)
        (folder / filename).write_text(text)

    def veth(self, a: str, a_if: str, b: str, b_if: str) -> None:
        """A veth pair between namespaces ``a`` and ``b`` (names inside are ``a_if``/``b_if``)."""
        self._links += 1
        tmp_a, tmp_b = f"{self.prefix}a{self._links}"[-15:], f"{self.prefix}b{self._links}"[-15:]
        sh("ip", "link", "add", tmp_a, "netns", self.ns(a), "type", "veth", "peer", "name",
           tmp_b, "netns", self.ns(b))
        sh("ip", "-n", self.ns(a), "link", "set", tmp_a, "name", a_if)
        sh("ip", "-n", self.ns(b), "link", "set", tmp_b, "name", b_if)
        sh("ip", "-n", self.ns(a), "link", "set", a_if, "up")
        sh("ip", "-n", self.ns(b), "link", "set", b_if, "up")

    def run(self, name: str, *argv: str, timeout: float = 30.0,
            check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run a command to completion inside namespace ``name``."""
        return subprocess.run(["ip", "netns", "exec", self.ns(name), *argv], capture_output=True,
                              text=True, timeout=timeout, check=check, cwd=self.workdir)

    def start(self, name: str, *argv: str, stdout: int | None = subprocess.DEVNULL,
              env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
        """Start a background process inside namespace ``name`` (stopped by :meth:`close`)."""
        proc = subprocess.Popen(["ip", "netns", "exec", self.ns(name), *argv], stdout=stdout,
                                stderr=subprocess.STDOUT, env=env, cwd=self.workdir)
        self.procs.append(proc)
        return proc

    def stop(self, proc: subprocess.Popen[bytes], timeout: float = 10.0) -> int:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
        return int(proc.returncode)

    def close(self) -> None:
        for proc in self.procs:
            self.stop(proc)
        for full in self.namespaces:
            leftovers = subprocess.run(["ip", "netns", "pids", full], capture_output=True,
                                       text=True, check=False).stdout.split()
            for pid in leftovers:
                try:
                    os.kill(int(pid), 9)
                except (ProcessLookupError, ValueError):
                    continue
            subprocess.run(["ip", "netns", "del", full], capture_output=True, check=False)
        for folder in [*self.etc_dirs, self.workdir]:
            shutil.rmtree(folder, ignore_errors=True)
        if Path("/etc/netns").is_dir() and not any(Path("/etc/netns").iterdir()):
            Path("/etc/netns").rmdir()


def sh(*argv: str) -> str:
    return subprocess.run(list(argv), capture_output=True, text=True, check=True,
                          timeout=30).stdout


def wait_for(predicate: Callable[[], bool], timeout: float, step: float = 0.2) -> bool:
    """Poll ``predicate`` until it holds or ``timeout`` seconds pass."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return predicate()


def tcp_connects(lab: NetLab, name: str, host: str, port: int, timeout: float = 2.0) -> bool:
    """Whether a TCP connection from namespace ``name`` to ``host:port`` succeeds."""
    code = (f"import socket,sys\ns=socket.socket();s.settimeout({timeout})\n"
            f"sys.exit(0 if s.connect_ex(('{host}',{port}))==0 else 1)")
    return lab.run(name, sys.executable, "-c", code, check=False,
                   timeout=timeout + 10).returncode == 0


def lines(path: Path) -> Sequence[str]:
    return path.read_text().splitlines() if path.exists() else []
