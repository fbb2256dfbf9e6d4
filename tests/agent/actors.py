"""Small real programs the device test runs: a stratum pool, a miner, a telnet scanner.

Each is run as ``python actors.py <role> ...`` inside a namespace; every loop is bounded.
"""

from __future__ import annotations

import hashlib
import json
import socket
import sys
import time


def pool(port: int, log: str, seconds: float) -> None:
    """A stratum server: answers ``mining.subscribe`` and ``mining.authorize``, keeps the line."""
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("0.0.0.0", port))
    srv.listen(8)
    srv.settimeout(1.0)
    conns = []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            conn, _ = srv.accept()
        except TimeoutError:
            continue
        conn.settimeout(5.0)
        line = conn.makefile("r").readline()
        if not line.strip():  # a reachability probe, not a miner
            conn.close()
            continue
        request = json.loads(line)
        with open(log, "a") as fh:
            fh.write(request["method"] + "\n")
        if request["method"] == "mining.subscribe":
            reply = {"id": request["id"], "error": None,
                     "result": [[["mining.notify", "ae6812eb4cd7735a"]], "08000002", 4]}
            conn.sendall((json.dumps(reply) + "\n").encode())
        conns.append(conn)


def miner(host: str, port: int, seconds: float) -> None:
    """Subscribe to the pool, then hash at full speed while the connection stays open."""
    sock = socket.create_connection((host, port), timeout=10)
    sub = {"id": 1, "method": "mining.subscribe", "params": ["hr-test-miner/1.0"]}
    sock.sendall((json.dumps(sub) + "\n").encode())
    sock.makefile("r").readline()
    end = time.monotonic() + seconds
    nonce = 0
    block = b"\0" * 76
    while time.monotonic() < end:
        for _ in range(20000):
            hashlib.sha256(hashlib.sha256(block + nonce.to_bytes(4, "little")).digest())
            nonce = (nonce + 1) & 0xFFFFFFFF


def scanner(prefix: str, first: int, last: int, seconds: float) -> None:
    """Open telnet connections to unused addresses of the lab subnet (they stay in SYN_SENT)."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        socks = []
        for host in range(first, last + 1):
            for port in (23, 2323):
                s = socket.socket()
                s.setblocking(False)
                s.connect_ex((f"{prefix}.{host}", port))
                socks.append(s)
        time.sleep(2.5)
        for s in socks:
            s.close()


if __name__ == "__main__":
    role = sys.argv[1]
    if role == "pool":
        pool(int(sys.argv[2]), sys.argv[3], float(sys.argv[4]))
    elif role == "miner":
        miner(sys.argv[2], int(sys.argv[3]), float(sys.argv[4]))
    elif role == "scanner":
        scanner(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5]))
    else:
        raise SystemExit(f"unknown role {role!r}")
