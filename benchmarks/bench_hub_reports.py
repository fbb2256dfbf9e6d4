"""Hub report benchmark: manufacturer and regulator reports over a national-scale fleet.

Builds a synthetic fleet in a private PostgreSQL server (initdb + pg_ctl on a unix socket,
loaded with COPY): ``--households`` participants, ``--devices`` devices over a few hundred
(vendor, model, firmware) combinations with a long tail of rare ones, ``--alerts`` alerts over
30 days (mostly inbound, some outbound attacks) and ``--findings`` findings mapped to ETSI
EN 303 645 provisions and UK PSTI requirements. Then times each report, each run in a fresh
process, in the same run:

* ``old``: the reports before their aggregation moved into SQL (``git show
  OLD:src/hedgerow/hub/reports.py``, loaded as a module at run time): every device, finding and
  compromise alert row loaded and aggregated in Python;
* ``new``: ``hedgerow.hub.reports`` (aggregation in SQL, small-cell suppression);
* ``peer``: the same aggregation as one hand-written SQL statement per report through psycopg
  (the database's floor: the counts and participant counts, none of the suppression's extra
  cells), with JIT off as the new path runs (``peer+jit``: the same with JIT on, what JIT
  compilation costs such statements).

For each: wall seconds of the report call, CPU seconds of the process and of PostgreSQL, and
the peak RSS of the process (the idle process, imports and connection, is printed too);
medians of ``--repeat`` runs, old and new alternating. The manufacturer report is timed for
the largest vendor and for the smallest. It also checks that old and new (with k = 1,
nothing withheld) give identical figures, and counts what the new path withholds at k.

Usage:
    .venv/bin/python benchmarks/bench_hub_reports.py            # 100k homes, 1M alerts
    .venv/bin/python benchmarks/bench_hub_reports.py --households 2000 --devices 6000 \\
        --alerts 20000 --findings 10000 --repeat 1                # a quick look
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import psycopg

from hedgerow.hub.migrate import upgrade
from hedgerow.hub.pgcluster import TempPostgres

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_hub import cpu_seconds, postmaster_pid

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / ".bench" / "hub-reports"
OLD_COMMIT = "368e7b0"
WAYS = ("old", "new", "peer", "peer+jit")  # main before the report aggregation moved into SQL
T0 = 1_800_000_000.0
CHECKS = [  # (check id, standards clauses, weight)
    ("auth.default-password", {"etsi_en_303_645": ["5.1-1"]}, 8),
    ("auth.shared-password", {"etsi_en_303_645": ["5.1-2"]}, 3),
    ("auth.weak-password", {"etsi_en_303_645": ["5.1-1", "5.1-2"], "owasp_iot_2018": ["I1"]}, 4),
    ("vendor.no-disclosure-policy", {"etsi_en_303_645": ["5.2-1"]}, 6),
    ("vendor.no-support-period", {"etsi_en_303_645": ["5.3-13"]}, 5),
    ("vendor.support-period-unstated", {"uk_psti": ["Schedule 1 paragraph 3"]}, 2),
    ("update.outdated-firmware", {"etsi_en_303_645": ["5.3-2", "5.3-3"]}, 9),
    ("update.unsigned", {"etsi_en_303_645": ["5.3-7"]}, 2),
    ("tls.plaintext-http", {"etsi_en_303_645": ["5.5-1"]}, 10),
    ("tls.weak-cipher", {"etsi_en_303_645": ["5.5-1", "5.5-5"]}, 4),
    ("svc.telnet-open", {"etsi_en_303_645": ["5.6-1", "5.6-2"]}, 6),
    ("svc.upnp-exposed", {"etsi_en_303_645": ["5.6-3"]}, 7),
    ("svc.debug-port", {"etsi_en_303_645": ["5.6-4"]}, 1),
    ("data.cleartext-credentials", {"etsi_en_303_645": ["5.4-1", "5.8-1"]}, 2),
    ("data.no-reset", {"etsi_en_303_645": ["5.11-1"]}, 1),
    ("input.injection", {"etsi_en_303_645": ["5.13-1"]}, 1),
    ("psti.stated-password", {"uk_psti": ["psti-1 universal default password"]}, 1),
    ("privacy.telemetry-undisclosed", {"etsi_en_303_645": ["6-1"]}, 2),
    ("dns.plaintext", {}, 5),
    ("ntp.unauthenticated", {"etsi_en_303_645": ["5.5-7"]}, 3),
]


def combos(rng: random.Random, vendors: int) -> tuple[list[tuple[str, str, str]], list[float]]:
    """(vendor, model, firmware) with Zipf-like popularity: a few big ones, a long tail."""
    out, weights = [], []
    for v in range(vendors):
        for m in range(rng.randint(2, 6)):
            for f in range(rng.randint(1, 4)):
                out.append((f"Vendor{v:02d}", f"model-{v:02d}{m}", f"{1 + f}.{rng.randint(0, 9)}"))
                weights.append(1.0 / (v + 1) / (m + 1) ** 1.5 / (f + 1) ** 2)
    return out, weights


def build_fleet(dsn: dict[str, Any], args: argparse.Namespace) -> dict[str, Any]:
    """COPY the synthetic fleet in; returns what it built."""
    rng = random.Random(args.seed)
    kinds, weights = combos(rng, args.vendors)
    t = time.perf_counter()
    with psycopg.connect(**dsn) as conn, conn.cursor() as cur:
        with cur.copy("COPY tenants (id, name, role, created) FROM STDIN") as copy:
            for h in range(1, args.households + 1):
                copy.write_row((h, f"home-{h}", "household", T0))
        owners = list(range(1, args.households + 1)) + [
            rng.randint(1, args.households) for _ in range(args.devices - args.households)]
        names: list[tuple[int, str, str]] = []  # (tenant, key, address) per device
        per_home: dict[int, int] = {}
        vendor_sizes: dict[str, int] = {}
        chosen = rng.choices(range(len(kinds)), weights=weights, k=args.devices)
        with cur.copy("COPY devices (id, tenant_id, device_key, mac, ips, vendor, vendor_norm, "
                      "model, firmware, kind, name, first_seen, last_seen, received) "
                      "FROM STDIN") as copy:
            for i, (home, c) in enumerate(zip(owners, chosen, strict=True), start=1):
                n = per_home[home] = per_home.get(home, 0) + 1
                mac = f"02:{i >> 24 & 255:02x}:{i >> 16 & 255:02x}:{i >> 8 & 255:02x}:" \
                      f"{i & 255:02x}:01"
                address = f"192.168.1.{9 + n}"
                vendor, model, firmware = kinds[c] if rng.random() > 0.08 else (None, None, None)
                if vendor:
                    vendor_sizes[vendor] = vendor_sizes.get(vendor, 0) + 1
                copy.write_row((i, home, mac, mac, json.dumps([address]), vendor,
                                vendor.lower() if vendor else None, model, firmware, "iot",
                                None, T0 - 86400, T0, T0))
                names.append((home, mac, address))
        seen: set[tuple[int, str, str]] = set()
        check_weights = [w for _c, _s, w in CHECKS]
        with cur.copy("COPY findings (tenant_id, device, check_id, event_id, severity, title, "
                      "fix_household, fix_manufacturer, standards, evidence, first_seen, "
                      "last_seen) FROM STDIN") as copy:
            while len(seen) < args.findings:
                home, mac, address = names[rng.randrange(len(names))]
                r = rng.random()
                device = address if r < 0.8 else mac if r < 0.95 else "192.168.1.250"
                check, standards, _w = CHECKS[rng.choices(range(len(CHECKS)),
                                                          weights=check_weights)[0]]
                if (home, device, check) in seen:
                    continue
                seen.add((home, device, check))
                copy.write_row((home, device, check, f"f{len(seen)}", "high", check,
                                "Change it.", "Fix the product.", json.dumps(standards),
                                json.dumps({"port": 23}), T0, T0))
        with cur.copy("COPY alerts (tenant_id, event_id, credential_id, kind, direction, "
                      "device, peers, severity, confidence, start, \"end\", detector, summary, "
                      "mitre, evidence, received) FROM STDIN") as copy:
            for i in range(args.alerts):
                home, _mac, address = names[rng.randrange(len(names))]
                r = rng.random()
                if r < 0.88:
                    kind, direction = rng.choice(("scan", "bruteforce")), "inbound"
                elif r < 0.96:
                    kind, direction = rng.choice(("scan", "c2", "dos", "anomaly")), "outbound"
                else:
                    kind, direction = "anomaly", "internal"
                start = T0 - rng.uniform(0, 30 * 86400)
                peer = f"45.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"
                copy.write_row((home, f"a{i}", 1, kind, direction, address, json.dumps([peer]),
                                "high", 0.9, start, start + 60, f"{kind}.detector",
                                f"{peer} {kind}", '["T1046"]',
                                json.dumps({"flows": rng.randint(1, 500)}), T0))
        with cur.copy("COPY blocklist (address, first_listed, last_confirmed, expires, "
                      "reporters, tenants, kinds) FROM STDIN") as copy:
            for b in range(args.alerts // 500):
                listed = T0 - rng.uniform(0, 30 * 86400)
                copy.write_row((f"45.0.{b >> 8 & 255}.{b & 255}", listed, T0, T0 + 86400, 3, 2,
                                '["scan"]'))
        cur.execute("SELECT setval('devices_id_seq', %s)", (args.devices,))
        cur.execute("SELECT setval('tenants_id_seq', %s)", (args.households,))
        conn.commit()
    with psycopg.connect(**dsn, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
    return {"combinations": len(kinds), "load_s": round(time.perf_counter() - t, 1),
            "vendor_devices": vendor_sizes}


def child(spec: dict[str, Any]) -> None:
    """One report in this fresh process; prints seconds, CPU and a digest of the figures."""
    import importlib.util

    from hedgerow.hub import reports
    from hedgerow.hub.db import make_engine, session_factory

    module: Any = reports
    if spec["way"] == "old":
        loader = importlib.util.spec_from_file_location("old_reports", spec["old_module"])
        assert loader is not None and loader.loader is not None
        module = importlib.util.module_from_spec(loader)
        loader.loader.exec_module(module)
    engine = make_engine(spec["url"])
    with session_factory(engine)() as session:
        session.connection()
        out: dict[str, Any] = {}
        wall, cpu = time.perf_counter(), time.process_time()
        extra = () if spec["way"] == "old" else (spec["k"],)
        if spec["report"] == "manufacturer":
            out = module.manufacturer_report(session, spec["vendors"], *extra)
        elif spec["report"] == "regulator":
            out = module.regulator_report(session, *extra)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    engine.dispose()
    out.pop("suppression", None)
    digest = hashlib.sha256(json.dumps(out, sort_keys=True).encode()).hexdigest()
    print(json.dumps({"seconds": wall, "cpu": cpu, "digest": digest, "rss_mb": peak_rss_mb(),
                      "counts": counts(out)}))


COUNT_KEYS = ("devices", "seen", "compromised", "failing_devices", "inbound", "outbound",
              "compromised_devices", "inbound_alerts", "outbound_alerts")
PER_CLAUSE = ("findings", "failing_etsi", "failing_psti")


def counts(report: Any) -> dict[str, int]:
    """How many counts a report publishes and withholds (null), and its pooled rows."""
    tally = {"published": 0, "withheld": 0, "rows": 0, "pooled_rows": 0}

    def walk(node: Any) -> None:
        if isinstance(node, list):
            for item in node:
                walk(item)
            return
        if not isinstance(node, dict):
            return
        if "seen" in node:
            tally["rows"] += 1
            tally["pooled_rows"] += node["firmware"] is None
        values = [node[k] for k in COUNT_KEYS if k in node and not isinstance(node[k], dict)]
        values += [v for k in PER_CLAUSE for v in node.get(k, {}).values()]
        for value in values:
            tally["withheld" if value is None else "published"] += 1
        for value in node.values():
            if isinstance(value, dict | list):
                walk(value)

    walk(report)
    return tally


def peak_rss_mb() -> float:
    """This process's peak resident set since it started this program (VmHWM; the rusage
    maximum would include the parent's pages the child had before exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise SystemExit("no VmHWM in /proc/self/status")


def explain(url: str, report: str, vendors: list[str], k: int) -> list[str]:
    """Where the new path's time goes in PostgreSQL: each statement of one report run again
    under ``EXPLAIN (ANALYZE)`` (JIT off, as the report runs), with its costliest plan nodes
    by their own time (see :func:`own_times`)."""
    from sqlalchemy import event

    from hedgerow.hub import reports
    from hedgerow.hub.db import make_engine, session_factory

    engine = make_engine(url)
    seen: list[tuple[str, Any]] = []
    event.listen(engine, "before_cursor_execute",
                 lambda _c, _cur, statement, params, _ctx, _many: seen.append((statement,
                                                                                params)))
    with session_factory(engine)() as session:
        if report == "manufacturer":
            reports.manufacturer_report(session, vendors, k)
        else:
            reports.regulator_report(session, k)
    lines = []
    for statement, params in [(st, pa) for st, pa in seen if not st.startswith("SET")]:
        with engine.connect() as conn:
            conn.exec_driver_sql("SET jit = off")
            plan = conn.exec_driver_sql("EXPLAIN (ANALYZE, FORMAT JSON) " + statement,
                                        params).scalar_one()[0]
        own: list[tuple[float, str]] = []
        own_times(plan["Plan"], own)
        head = " ".join(statement.split())[:70]
        lines.append(f"  {plan['Execution Time']:8.0f} ms  {head}")
        for ms, label in sorted(own, reverse=True)[:6]:
            lines.append(f"      {ms:8.0f} ms  {label}")
    engine.dispose()
    return lines


def own_times(node: dict[str, Any], out: list[tuple[float, str]]) -> float:
    """Append (own ms, label) for ``node`` and the nodes under it; returns the node's total ms.

    A node's own time is its total minus its inputs'. A CTE is computed by whichever CTE Scan
    reads it first, so CTE Scans are not listed (their time is the CTE's plan, listed node by
    node where the CTE is defined, an InitPlan that is not subtracted from its parent)."""
    spent = float(node["Actual Total Time"]) * node["Actual Loops"]
    inner = 0.0
    for child in node.get("Plans", []):
        child_ms = own_times(child, out)
        if child.get("Parent Relationship") != "InitPlan":
            inner += child_ms
    if node["Node Type"] != "CTE Scan":
        label = node["Node Type"] + "".join(
            f" {node[key]}" for key in ("Relation Name", "Function Name", "Subplan Name")
            if key in node)
        out.append((max(0.0, spent - inner), label))
    return spent


def run_child(spec: dict[str, Any], db_pid: int) -> dict[str, Any]:
    """Run :func:`child` in a fresh interpreter: its figures, peak RSS and PostgreSQL CPU."""
    db0 = cpu_seconds(db_pid)
    done = subprocess.run([sys.executable, __file__, "--child", json.dumps(spec)],
                          stdout=subprocess.PIPE, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{spec['way']} {spec['report']}: exit status {done.returncode}")
    result: dict[str, Any] = json.loads(done.stdout)
    result["db_cpu"] = cpu_seconds(db_pid) - db0
    return result


REGULATOR_SQL = """
WITH names AS (
  SELECT tenant_id, name, min(id) AS device_id FROM (
    SELECT tenant_id, device_key AS name, id FROM devices
    UNION ALL SELECT d.tenant_id, ip, d.id FROM devices d, jsonb_array_elements_text(d.ips) ip
  ) n GROUP BY tenant_id, name),
fx AS (
  SELECT f.tenant_id, coalesce(n.device_id::text, 'u' || f.device) AS ref, f.standards
  FROM findings f LEFT JOIN names n ON n.tenant_id = f.tenant_id AND n.name = f.device),
reqs (req, provisions, paragraph) AS (VALUES ('psti-1', ARRAY['5.1-1', '5.1-2'], 'paragraph 1'),
  ('psti-2', ARRAY['5.2-1'], 'paragraph 2'), ('psti-3', ARRAY['5.3-13'], 'paragraph 3')),
clauses AS (
  SELECT 'etsi' AS family, p AS clause, fx.tenant_id, fx.ref
  FROM fx, jsonb_array_elements_text(fx.standards -> 'etsi_en_303_645') p
  UNION ALL
  SELECT 'psti', r.req, fx.tenant_id, fx.ref FROM fx JOIN reqs r
  ON (fx.standards -> 'etsi_en_303_645') ?| r.provisions
     OR strpos(fx.standards ->> 'uk_psti', r.req) > 0
     OR strpos(fx.standards ->> 'uk_psti', r.paragraph) > 0),
attacks AS (
  SELECT DISTINCT a.tenant_id, coalesce(n.device_id::text, 'u' || a.device) AS ref
  FROM alerts a LEFT JOIN names n ON n.tenant_id = a.tenant_id AND n.name = a.device
  WHERE a.direction = 'outbound'
    AND a.kind IN ('scan', 'bruteforce', 'dos', 'c2', 'mining', 'malware', 'exploit'))
SELECT family, clause, count(DISTINCT ref), count(DISTINCT tenant_id)
FROM clauses GROUP BY family, clause
UNION ALL
SELECT 'population', '', count(*), count(DISTINCT tenant_id) FROM (
  SELECT tenant_id, id::text AS ref FROM devices
  UNION SELECT tenant_id, ref FROM fx WHERE ref LIKE 'u%') p
UNION ALL
SELECT 'compromised', '', count(*), count(DISTINCT tenant_id) FROM attacks
UNION ALL
SELECT direction, floor(start / 86400)::int::text, count(*), count(DISTINCT tenant_id)
FROM alerts GROUP BY 1, 2
UNION ALL
SELECT 'blocklisted', floor(first_listed / 86400)::int::text, count(*), 0
FROM blocklist GROUP BY 2
"""

MANUFACTURER_SQL = """
WITH dev AS (
  SELECT id, tenant_id, device_key, ips, coalesce(nullif(vendor, ''), '') AS v,
         coalesce(nullif(model, ''), 'unknown') AS m,
         coalesce(nullif(firmware, ''), 'unknown') AS f
  FROM devices WHERE vendor_norm = ANY(%(vendors)s)),
names AS (
  SELECT tenant_id, name, min(id) AS device_id FROM (
    SELECT tenant_id, device_key AS name, id FROM dev
    UNION ALL SELECT d.tenant_id, ip, d.id FROM dev d, jsonb_array_elements_text(d.ips) ip
  ) n GROUP BY tenant_id, name),
fx AS (
  SELECT n.device_id, f.check_id, f.standards FROM findings f
  JOIN names n ON n.tenant_id = f.tenant_id AND n.name = f.device),
reqs (req, provisions, paragraph) AS (VALUES ('psti-1', ARRAY['5.1-1', '5.1-2'], 'paragraph 1'),
  ('psti-2', ARRAY['5.2-1'], 'paragraph 2'), ('psti-3', ARRAY['5.3-13'], 'paragraph 3')),
cells AS (
  SELECT 'seen' AS family, '' AS clause, id AS device_id FROM dev
  UNION ALL
  SELECT 'compromised', '', n.device_id FROM alerts a
  JOIN names n ON n.tenant_id = a.tenant_id AND n.name = a.device
  WHERE a.direction = 'outbound'
    AND a.kind IN ('scan', 'bruteforce', 'dos', 'c2', 'mining', 'malware', 'exploit')
  UNION ALL
  SELECT 'finding', check_id, device_id FROM fx
  UNION ALL
  SELECT 'etsi', p, device_id
  FROM fx, jsonb_array_elements_text(fx.standards -> 'etsi_en_303_645') p
  UNION ALL
  SELECT 'psti', r.req, fx.device_id FROM fx JOIN reqs r
  ON (fx.standards -> 'etsi_en_303_645') ?| r.provisions
     OR strpos(fx.standards ->> 'uk_psti', r.req) > 0
     OR strpos(fx.standards ->> 'uk_psti', r.paragraph) > 0)
SELECT dev.v, dev.m, dev.f, c.family, c.clause, count(*), count(DISTINCT c.device_id),
       count(DISTINCT dev.tenant_id)
FROM cells c JOIN dev ON dev.id = c.device_id
GROUP BY dev.v, dev.m, dev.f, c.family, c.clause
"""


def peer(dsn: dict[str, Any], report: str, vendors: list[str], db_pid: int,
         jit: bool = False) -> dict[str, Any]:
    sql = MANUFACTURER_SQL if report == "manufacturer" else REGULATOR_SQL
    with psycopg.connect(**dsn) as conn:
        conn.execute(f"SET jit = {'on' if jit else 'off'}")
        db0, wall, cpu = cpu_seconds(db_pid), time.perf_counter(), time.process_time()
        rows = conn.execute(sql, {"vendors": vendors} if report == "manufacturer"
                            else None).fetchall()
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return {"seconds": wall, "cpu": cpu, "db_cpu": cpu_seconds(db_pid) - db0, "rows": len(rows)}


def ratio(a: float, b: float) -> str:
    """``a / b`` as "N.NNx" ("-" when ``b`` is below the CPU clock's 10 ms resolution)."""
    return f"{a / b:.2f}x" if b >= 0.01 else "-"


def median(runs: list[dict[str, Any]], key: str) -> float:
    return statistics.median(r[key] for r in runs)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--households", type=int, default=100_000)
    ap.add_argument("--devices", type=int, default=300_000)
    ap.add_argument("--alerts", type=int, default=1_000_000)
    ap.add_argument("--findings", type=int, default=500_000)
    ap.add_argument("--vendors", type=int, default=40, help="vendor names (x 2-6 models x "
                    "1-4 firmware versions)")
    ap.add_argument("--k", type=int, default=5, help="report_min_participants of the new path")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--old-commit", default=OLD_COMMIT)
    ap.add_argument("--explain", action="store_true", help="after the timings, show where the "
                    "new path's time goes in PostgreSQL (EXPLAIN ANALYZE of its statements)")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(json.loads(args.child))
        return
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    BENCH.mkdir(parents=True, exist_ok=True)
    old_module = BENCH / "old_reports.py"
    shown = subprocess.run(["git", "-C", str(ROOT), "show",
                            f"{args.old_commit}:src/hedgerow/hub/reports.py"],
                           capture_output=True, text=True, check=False)
    if shown.returncode != 0:
        raise SystemExit(f"git show {args.old_commit}: {shown.stderr.strip()}")
    old_module.write_text(shown.stdout)
    settings = {"shared_buffers": "512MB"}
    with TempPostgres(dbname="hub", settings=settings) as pg:
        upgrade(pg.url)
        dsn = {"host": str(pg.sock), "port": pg.port, "user": "postgres", "dbname": "hub"}
        fleet = build_fleet(dsn, args)
        db_pid = postmaster_pid(pg)
        sizes = fleet["vendor_devices"]
        largest, smallest = (f(sizes, key=lambda v: sizes[v]) for f in (max, min))
        targets = {"maker-largest": ("manufacturer", [largest.lower()]),
                   "maker-smallest": ("manufacturer", [smallest.lower()]),
                   "regulator": ("regulator", [])}
        load_before = os.getloadavg()[0]
        base = {"url": pg.url, "k": args.k, "old_module": str(old_module)}
        idle = run_child({**base, "way": "new", "report": "none", "vendors": []}, db_pid)
        results: dict[str, dict[str, Any]] = {}
        for label, (report, vendors) in targets.items():
            spec = {**base, "report": report, "vendors": vendors}
            runs: dict[str, list[dict[str, Any]]] = {way: [] for way in WAYS}
            for _ in range(args.repeat):
                for way in ("old", "new"):
                    runs[way].append(run_child({**spec, "way": way}, db_pid))
                runs["peer"].append(peer(dsn, report, vendors, db_pid))
                runs["peer+jit"].append(peer(dsn, report, vendors, db_pid, jit=True))
            for run in (run for way in WAYS for run in runs[way]):
                run["total_cpu"] = run["cpu"] + run["db_cpu"]
            unsuppressed = run_child({**spec, "k": 1, "way": "new"}, db_pid)
            results[label] = {
                "same_figures": unsuppressed["digest"] == runs["old"][0]["digest"],
                "counts": runs["new"][0]["counts"],
                **{way: {key: round(median(r, key), 3)
                         for key in ("seconds", "cpu", "db_cpu", "total_cpu",
                                     *(("rss_mb",) if "rss_mb" in r[0] else ()))}
                   for way, r in runs.items()},
                "runs": runs}
        plans = {label: explain(pg.url, report, vendors, args.k)
                 for label, (report, vendors) in targets.items() if args.explain}
    print(f"machine: {os.cpu_count()} cores, load average {load_before:.1f} before and "
          f"{os.getloadavg()[0]:.1f} after the timed runs (other processes included)")
    print(f"fleet: {args.households:,} households, {args.devices:,} devices over "
          f"{fleet['combinations']} (vendor, model, firmware), {args.alerts:,} alerts, "
          f"{args.findings:,} findings (COPY + VACUUM ANALYZE {fleet['load_s']} s); "
          f"manufacturer reports for the largest vendor, {largest} ({sizes[largest]:,} devices), "
          f"and the smallest, {smallest} ({sizes[smallest]:,}); k = {args.k}; medians of "
          f"{args.repeat} runs; idle process peak RSS {idle['rss_mb']:.0f} MB")
    print(f"{'report':<15} {'way':<8} {'wall s':>8} {'CPU s':>7} {'DB CPU s':>9} "
          f"{'total CPU s':>12} {'peak RSS MB':>12}")
    for label, r in results.items():
        for way in WAYS:
            row = r[way]
            rss = f"{row['rss_mb']:>12.0f}" if "rss_mb" in row else f"{'':>12}"
            print(f"{label:<15} {way:<8} {row['seconds']:>8.3f} {row['cpu']:>7.3f} "
                  f"{row['db_cpu']:>9.3f} {row['total_cpu']:>12.3f} {rss}")
        old, new, floor = r["old"], r["new"], r["peer"]
        print(f"{label:<15} old/new: CPU {ratio(old['total_cpu'], new['total_cpu'])}, wall "
              f"{ratio(old['seconds'], new['seconds'])}, report memory (peak - idle) "
              f"{old['rss_mb'] - idle['rss_mb']:.0f} vs {new['rss_mb'] - idle['rss_mb']:.0f} MB; "
              f"new/peer: CPU {ratio(new['total_cpu'], floor['total_cpu'])}, wall "
              f"{ratio(new['seconds'], floor['seconds'])}; old and new (k = 1) figures "
              f"identical: {'yes' if r['same_figures'] else 'NO'}")
        c = r["counts"]
        print(f"{label:<15} k = {args.k}: {c['withheld']} of {c['withheld'] + c['published']} "
              f"counts withheld" + (f", {c['pooled_rows']} of {c['rows']} rows pooled"
                                    if c["rows"] else ""))
    for label, lines in plans.items():
        print(f"{label}: PostgreSQL time per statement, and its costliest plan nodes")
        print("\n".join(lines))
    out = {"args": {k: v for k, v in vars(args).items() if k != "child"}, "fleet": fleet,
           "load_average_before": load_before,
           "idle_rss_mb": idle["rss_mb"], "results": results}
    (BENCH / "result.json").write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
