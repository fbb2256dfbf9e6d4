"""Hub ingest benchmark: simulated agents posting telemetry batches to a real hub on PostgreSQL.

Starts a private PostgreSQL server on this machine (initdb + pg_ctl, unix socket), migrates it,
enrols one credential per simulated agent (spread over households), runs the hub under uvicorn
(``--workers``) on 127.0.0.1, and drives it with asyncio, one keep-alive connection per agent:

* ``paced``: every agent sends one batch every ``--interval`` seconds (what a fleet does);
  reports sustained events/s and p50/p99 request latency;
* ``saturated``: every agent posts back to back (the hub's ceiling on this machine).

The peer, measured in the same run on the same server: psycopg ``COPY`` of the same alert rows
into the same table (no HTTP, no validation, no consensus) — the database's own ceiling.

Usage:
    .venv/bin/python benchmarks/bench_hub.py --agents 500 --batch 100 --interval 10 --duration 20
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psutil
import psycopg

from hedgerow.hub.db import make_engine, session_factory
from hedgerow.hub.migrate import upgrade
from hedgerow.hub.pgcluster import TempPostgres
from hedgerow.hub.tenants import create_tenant, issue_credential

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / ".bench" / "hub"


@dataclass
class Phase:
    name: str
    latencies: list[float] = field(default_factory=list)
    events: int = 0
    errors: int = 0
    elapsed: float = 0.0
    all_events: int = 0  # including the warm-up, for CPU per event
    cpu_hub: float = 0.0  # CPU seconds of the uvicorn workers during the whole phase
    cpu_db: float = 0.0  # CPU seconds of the PostgreSQL server during the whole phase

    def summary(self) -> dict[str, Any]:
        lat = sorted(self.latencies)

        def pct(p: float) -> float:
            return round(1000 * lat[min(len(lat) - 1, int(p * len(lat)))], 1) if lat else 0.0

        per_k = 1e6 / max(1, self.all_events)
        return {"phase": self.name, "requests": len(lat), "events": self.events,
                "errors": self.errors, "events_per_s": round(self.events / self.elapsed),
                "p50_ms": pct(0.50), "p90_ms": pct(0.90), "p99_ms": pct(0.99),
                "mean_ms": round(1000 * statistics.fmean(lat), 1) if lat else 0.0,
                "hub_cpu_ms_per_1k_events": round(self.cpu_hub * per_k, 1),
                "db_cpu_ms_per_1k_events": round(self.cpu_db * per_k, 1)}


def cpu_seconds(root_pid: int) -> float:
    """User+system CPU of a process, its live children and the children it has reaped
    (PostgreSQL backends that exited during a phase would otherwise take their CPU along)."""
    try:
        root = psutil.Process(root_pid)
        procs = [root, *root.children(recursive=True)]
        reaped = root.cpu_times()
    except psutil.Error:
        return 0.0
    total = reaped.children_user + reaped.children_system
    for proc in procs:
        with contextlib.suppress(psutil.Error):
            times = proc.cpu_times()
            total += times.user + times.system
    return total


def postmaster_pid(pg: TempPostgres) -> int:
    return int((pg.data / "postmaster.pid").read_text().split()[0])


def attacker_pool(n: int, seed: int) -> list[str]:
    """Globally routable addresses (no private/reserved ranges)."""
    rng = random.Random(seed)
    return [f"{rng.choice([45, 62, 77, 91, 103, 141, 185, 193])}.{rng.randrange(256)}."
            f"{rng.randrange(256)}.{rng.randrange(1, 255)}" for _ in range(n)]


def make_batch(agent: int, seq: int, size: int, peers: list[str], now: float,
               rng: random.Random) -> list[dict[str, Any]]:
    """One agent's batch: mostly alerts, with a device and a finding now and then."""
    events: list[dict[str, Any]] = []
    for i in range(size):
        eid = f"a{agent}-{seq}-{i}"
        if i == 0 and seq % 10 == 0:
            events.append({"id": eid, "kind": "device", "payload": {
                "mac": f"02:00:00:{agent // 65536 % 256:02x}:{agent // 256 % 256:02x}:"
                       f"{agent % 256:02x}", "ips": [f"192.168.{agent % 250}.{10 + i % 200}"],
                "vendor": "Acme", "model": f"cam-{agent % 7}", "first_seen": now - 3600,
                "last_seen": now, "evidence": {"firmware": f"1.{agent % 3}"}}})
        elif i == 1 and seq % 10 == 0:
            events.append({"id": eid, "kind": "finding", "payload": {
                "check_id": "auth.default-password", "device": f"192.168.{agent % 250}.10",
                "severity": "critical", "title": "default password",
                "standards": {"etsi_en_303_645": ["5.1-1"]}}})
        else:
            peer = rng.choice(peers)
            events.append({"id": eid, "kind": "alert", "payload": {
                "kind": "bruteforce", "detector": "ssh.bruteforce", "detector_version": "1",
                "direction": "inbound", "device": f"192.168.{agent % 250}.10",
                "peers": [peer], "severity": "high", "confidence": 0.9,
                "start": now - 60, "end": now, "summary": f"{peer} guessed passwords",
                "evidence": {"attempts": 40, "uids": [f"C{agent}x{seq}x{i}"]},
                "mitre": ["T1110"]}})
    return events


class AgentConnection:
    """One agent's own keep-alive HTTP/1.1 connection, as a device would hold it.

    A minimal client on asyncio streams: 500 agents with 500 sockets cost the load generator
    little, so the figures measure the hub rather than a client connection pool.
    """

    def __init__(self, host: str, port: int, token: str) -> None:
        self.host, self.port = host, port
        self.head = (f"POST /v1/telemetry HTTP/1.1\r\nHost: {host}:{port}\r\n"
                     f"Authorization: Bearer {token}\r\nContent-Type: application/json\r\n"
                     "Content-Length: ").encode()
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def post(self, body: bytes) -> int:
        """Send one request; a kept-alive connection the server has since closed is
        reopened once (as HTTP clients do), a fresh one that fails raises."""
        if self.writer is not None:
            try:
                return await self._exchange(body)
            except (ConnectionError, asyncio.IncompleteReadError):
                await self.close()
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        return await self._exchange(body)

    async def _exchange(self, body: bytes) -> int:
        assert self.reader is not None and self.writer is not None
        self.writer.write(self.head + str(len(body)).encode() + b"\r\n\r\n" + body)
        await self.writer.drain()
        status_line = await self.reader.readline()
        if not status_line:
            raise ConnectionError("hub closed the connection")
        length = 0
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        await self.reader.readexactly(length)
        return int(status_line.split()[1])

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            with contextlib.suppress(OSError):
                await self.writer.wait_closed()
        self.reader = self.writer = None


async def run_phase(url: str, tokens: list[str], phase: Phase, duration: float, batch: int,
                    interval: float | None, peers: list[str], warmup: float) -> None:
    host, port = url.removeprefix("http://").split(":")
    t0 = time.perf_counter()
    measure_from = t0 + warmup
    stop_at = measure_from + duration

    async def agent(n: int, token: str) -> None:
        rng = random.Random(n)
        conn = AgentConnection(host, int(port), token)
        # One pre-encoded body per agent; each send only substitutes its sequence number
        # into the event ids, so the client spends its CPU on HTTP, not on building JSON.
        template = json.dumps({"events": make_batch(n, 0, batch, peers, time.time(), rng)},
                              separators=(",", ":")).encode().replace(
            f'"a{n}-0-'.encode(), f'"a{n}-{phase.name}SEQ-'.encode())
        seq = 0
        if interval:
            await asyncio.sleep(rng.random() * interval)  # agents are not synchronised
        try:
            while True:
                started = time.perf_counter()
                if started >= stop_at:
                    return
                body = template.replace(b"SEQ", str(seq).encode())
                seq += 1
                try:
                    ok = await asyncio.wait_for(conn.post(body), 60) == 200
                except (OSError, asyncio.IncompleteReadError, TimeoutError):
                    ok = False
                    await conn.close()
                    conn = AgentConnection(host, int(port), token)
                done = time.perf_counter()
                if ok:
                    phase.all_events += batch
                if measure_from <= done <= stop_at:  # completions inside the window
                    if ok:
                        phase.latencies.append(done - started)
                        phase.events += batch
                    else:
                        phase.errors += 1
                if interval:
                    await asyncio.sleep(max(0.0, interval - (done - started)))
        finally:
            await conn.close()

    await asyncio.gather(*(agent(n, t) for n, t in enumerate(tokens)))
    phase.elapsed = duration


def copy_ceiling(dsn: dict[str, Any], tenant_id: int, events: int,
                 batch: int) -> tuple[float, float]:
    """The peer: psycopg COPY of the same alert rows into the same table, batch by batch.

    Returns (events/s, CPU seconds of this client process)."""
    rng = random.Random(7)
    peers = attacker_pool(5000, 7)
    now = time.time()
    columns = ("tenant_id, event_id, credential_id, kind, direction, device, peers, severity, "
               "confidence, start, \"end\", detector, summary, mitre, evidence, received")
    with psycopg.connect(**dsn) as conn:
        t0, c0 = time.perf_counter(), time.process_time()
        for b in range(events // batch):
            rows = []
            for e in make_batch(10_000 + b, 1, batch, peers, now, rng):
                p = e["payload"]
                if e["kind"] != "alert":
                    continue
                rows.append((tenant_id, f"copy-{e['id']}", 1, p["kind"], p["direction"],
                             p["device"], json.dumps(p["peers"]), p["severity"],
                             p["confidence"], p["start"], p["end"], p["detector"],
                             p["summary"], json.dumps(p["mitre"]), json.dumps(p["evidence"]),
                             now))
            with conn.cursor() as cur, cur.copy(f"COPY alerts ({columns}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            conn.commit()
        elapsed = time.perf_counter() - t0
        return (events // batch) * batch / elapsed, time.process_time() - c0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--agents", type=int, default=500)
    ap.add_argument("--households", type=int, default=100)
    ap.add_argument("--batch", type=int, default=100, help="events per request")
    ap.add_argument("--interval", type=float, default=10.0, help="seconds between an agent's "
                    "batches in the paced phase")
    ap.add_argument("--duration", type=float, default=20.0, help="measured seconds per phase")
    ap.add_argument("--warmup", type=float, default=5.0)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--threads", type=int, default=8, help="handler threads per worker")
    ap.add_argument("--durable", action="store_true",
                    help="PostgreSQL with fsync and synchronous_commit on (default: off)")
    args = ap.parse_args()
    # Turn SIGTERM (e.g. from `timeout`) into SystemExit so the server and PostgreSQL stop.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    BENCH.mkdir(parents=True, exist_ok=True)
    settings = {} if not args.durable else {"fsync": "on", "synchronous_commit": "on",
                                             "full_page_writes": "on"}
    settings |= {"max_connections": "200", "shared_buffers": "512MB"}
    with TempPostgres(dbname="hub", settings=settings) as pg:
        upgrade(pg.url)
        sessions = session_factory(make_engine(pg.url))
        tokens: list[str] = []
        with sessions() as s:
            homes = [create_tenant(s, f"home-{i}", "household", time.time())
                     for i in range(args.households)]
            for n in range(args.agents):
                tokens.append(issue_credential(s, homes[n % len(homes)].id, f"agent-{n}",
                                               "agent", time.time())[1])
            copy_tenant = create_tenant(s, "copy-peer", "household", time.time()).id
        port = free_port()
        env = {**os.environ, "HEDGEROW_HUB_DATABASE_URL": pg.url,
               "HEDGEROW_HUB_SIGNING_KEY_PATH": str(BENCH / "signing.pem"),
               "HEDGEROW_HUB_DB_POOL_SIZE": str(args.threads),
               "HEDGEROW_HUB_THREADS": str(args.threads),
               "HEDGEROW_HUB_RATE_EVENTS_PER_S": "100000",
               "HEDGEROW_HUB_RATE_BURST_EVENTS": "100000"}
        server = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "--factory", "hedgerow.hub.asgi:app",
             "--host", "127.0.0.1", "--port", str(port), "--workers", str(args.workers),
             "--loop", "uvloop", "--http", "httptools", "--no-access-log",
             "--log-level", "warning", "--backlog", "4096", "--timeout-keep-alive", "75"],
            env=env, start_new_session=True)
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    if httpx.get(url + "/openapi.json", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    if time.monotonic() > deadline:
                        raise SystemExit("hub did not start within 30 s") from None
                    time.sleep(0.2)
            peers = attacker_pool(5000, 1)
            # Seed the tables, then refresh planner statistics as autovacuum would in a hub
            # that has been running: a fresh database has none, and plans seq scans.
            asyncio.run(run_phase(url, tokens, Phase("seed"), args.warmup, args.batch, None,
                                  peers, 0.0))
            with psycopg.connect(host=str(pg.sock), port=pg.port, user="postgres",
                                 dbname="hub", autocommit=True) as conn:
                conn.execute("VACUUM ANALYZE")
            load_before = os.getloadavg()[0]
            results = []
            db_pid = postmaster_pid(pg)
            for name, interval in (("paced", args.interval), ("saturated", None)):
                phase = Phase(name)
                hub0, db0 = cpu_seconds(server.pid), cpu_seconds(db_pid)
                asyncio.run(run_phase(url, tokens, phase, args.duration, args.batch, interval,
                                      peers, args.warmup if interval else 2.0))
                phase.cpu_hub = cpu_seconds(server.pid) - hub0
                phase.cpu_db = cpu_seconds(db_pid) - db0
                results.append(phase.summary())
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=30)
        dsn = {"host": str(pg.sock), "port": pg.port, "user": "postgres", "dbname": "hub"}
        copied = 100_000
        db0 = cpu_seconds(db_pid)
        ceiling, copy_client_cpu = copy_ceiling(dsn, copy_tenant, copied, args.batch)
        copy_cpu_per_k = 1e6 * (copy_client_cpu + cpu_seconds(db_pid) - db0) / copied

    print(f"machine: {os.cpu_count()} cores, load average {load_before:.1f} before and "
          f"{os.getloadavg()[0]:.1f} after the measured phases (other processes included)")
    print(f"hub ingest: {args.agents} agents, {args.batch} events/request, "
          f"{args.workers} uvicorn workers x {args.threads} threads, PostgreSQL "
          f"{'durable' if args.durable else 'fsync off'}, {args.duration:.0f} s measured per phase")
    print(f"{'phase':<10} {'requests':>9} {'events/s':>9} {'p50 ms':>8} {'p90 ms':>8} "
          f"{'p99 ms':>8} "
          f"{'errors':>7} {'vs COPY':>8} {'CPU ms/1k ev':>13}")
    for r in results:
        cpu = r["hub_cpu_ms_per_1k_events"] + r["db_cpu_ms_per_1k_events"]
        print(f"{r['phase']:<10} {r['requests']:>9} {r['events_per_s']:>9} {r['p50_ms']:>8} "
              f"{r['p90_ms']:>8} "
              f"{r['p99_ms']:>8} {r['errors']:>7} {r['events_per_s'] / ceiling:>8.2f} "
              f"{cpu:>13.1f}")
    print(f"{'peer: psycopg COPY of the same alert rows':<44} {round(ceiling):>9} events/s"
          f"{'':>44}{copy_cpu_per_k:>6.1f}")
    best = min(r["hub_cpu_ms_per_1k_events"] + r["db_cpu_ms_per_1k_events"] for r in results)
    print(f"CPU cost (hub workers + PostgreSQL) per 1000 events: {best:.1f} ms, "
          f"{best / copy_cpu_per_k:.1f}x the COPY peer's; on {os.cpu_count()} otherwise idle "
          f"cores that is at most {1e6 * (os.cpu_count() or 1) / best:.0f} events/s "
          "(an estimate, not a measurement)")
    out = {"args": vars(args), "phases": results, "copy_events_per_s": round(ceiling),
           "copy_cpu_ms_per_1k_events": round(copy_cpu_per_k, 1),
           "load_average_before": load_before}
    (BENCH / "result.json").write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    with contextlib.suppress(ImportError):
        import uvloop

        uvloop.install()
    main()
