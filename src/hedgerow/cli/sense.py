"""``hedgerow sense``: watch an interface live, detect, decide and enforce.

Example:
    $ sudo hedgerow sense --iface br-lan --alerts /var/log/hedgerow/alerts.jsonl
    $ sudo hedgerow sense --iface eth1 --dry-run --metrics-port 9108
"""

from __future__ import annotations

import signal
import sys
import threading
import time
from pathlib import Path
from types import FrameType
from typing import IO

import click

from hedgerow.model import Alert, LocalNetworks
from hedgerow.respond.decisions import DecisionEngine, EnforcementError, Outcome
from hedgerow.respond.enforce import NftEnforcer
from hedgerow.respond.guard import Guard
from hedgerow.respond.nftables import NftTable
from hedgerow.respond.policy import PolicyError, load_policy
from hedgerow.respond.store import DecisionStore, default_store_path
from hedgerow.sense.hublink import GatewayHub, open_hub_link
from hedgerow.sense.stats import SenseStats, Snapshot
from hedgerow.telemetry.client import HubError
from hedgerow.telemetry.spool import SpoolError


def _fail(message: str) -> None:
    click.echo(f"hedgerow sense: {message}", err=True)
    sys.exit(2)


def _print_alert(alert: Alert, outcomes: list[Outcome]) -> None:
    stage = alert.evidence.get("stage", "final")
    peers = ", ".join(alert.peers[:3]) + (" …" if len(alert.peers) > 3 else "")
    click.echo(f"ALERT [{stage}] {alert.kind.value} {alert.direction} {alert.severity.value} "
               f"{alert.device} <-> {peers or '-'}: {alert.summary}")
    _print_outcomes(outcomes)


def _print_outcomes(outcomes: list[Outcome]) -> None:
    for o in outcomes:
        extra = f" ({o.detail})" if o.detail else ""
        click.echo(f"  DECISION [{o.status}] {o.decision.action.value} {o.decision.value} "
                   f"for {o.decision.duration_s:.0f}s id={o.id} rule={o.rule}{extra}")


def _print_stats(snap: Snapshot, rate: float) -> None:
    click.echo(f"stats: {rate:,.0f} pkts/s, {snap.packets:,} packets, drops kernel "
               f"{snap.kernel_drops:,} ours {snap.our_drops:,}, {snap.flows:,} flows, "
               f"{snap.alerts:,} alerts, lag {snap.lag_s:.2f}s, "
               f"enforcement {'on' if snap.enforcing else 'off'}", err=True)


def _enforcer(table: str, management: list[str], rate: int, burst: int,
              dry_run: bool) -> tuple[NftEnforcer | None, str]:
    """The nftables enforcer, or None with the reason enforcement is off."""
    if dry_run:
        return None, "dry-run (--dry-run): decisions are logged, nothing is enforced"
    enforcer = NftEnforcer(NftTable(table, management=management, rate_per_s=rate,
                                    rate_burst=burst))
    try:
        enforcer.prepare()
    except EnforcementError as exc:
        return None, (f"enforcement is OFF, detecting only: {exc} — install nftables and run "
                      "as root (or with CAP_NET_ADMIN) to enforce")
    return enforcer, f"enforcing with nftables table inet {table}"


@click.command("sense")
@click.option("--iface", "-i", required=True, help="Interface to watch (e.g. the LAN bridge).")
@click.option("--policy", "policy_path", type=click.Path(path_type=Path),
              help="Response policy YAML (default: the shipped policy).")
@click.option("--dry-run", is_flag=True, help="Decide and log, but enforce nothing.")
@click.option("--metrics-port", type=int, default=9108, show_default=True,
              help="Serve Prometheus /metrics on this port (0: off).")
@click.option("--metrics-host", default="127.0.0.1", show_default=True)
@click.option("--alerts", "alerts_path", type=click.Path(path_type=Path),
              help="Append alerts to this JSONL file.")
@click.option("--decisions", "store_path", type=click.Path(path_type=Path),
              help="Decision log (default: $HEDGEROW_STATE_DIR or /var/lib/hedgerow).")
@click.option("--home-net", multiple=True,
              help="Local network CIDR (repeatable; default RFC 1918).")
@click.option("--management", multiple=True,
              help="Host/CIDR never blocked or quarantined (repeatable; adds to the policy's).")
@click.option("--device-kind", "device_kinds", multiple=True, metavar="IP=KIND",
              help="Kind of a device the household names itself (camera, plug...; repeatable); "
                   "other devices are classified from their traffic.")
@click.option("--rules", "rule_dirs", multiple=True, type=click.Path(path_type=Path),
              help="Extra rule folder (repeatable).")
@click.option("--intel", "intel_files", multiple=True, type=click.Path(path_type=Path),
              help="Extra indicator list (plain, CSV or STIX 2.1; repeatable).")
@click.option("--table", default="hedgerow", show_default=True, help="nftables table name.")
@click.option("--duration", type=float, help="Stop after this many seconds.")
@click.option("--batch-size", type=int, default=65536, show_default=True)
@click.option("--max-wait-ms", type=int, default=200, show_default=True,
              help="Cut a batch after this long even when not full.")
@click.option("--ring-mb", type=int, default=64, show_default=True,
              help="Kernel ring size (absorbs bursts).")
@click.option("--queue-batches", type=int, default=32, show_default=True,
              help="Batches waiting for analysis before new ones are dropped (and counted).")
@click.option("--early-every", type=float, default=0.5, show_default=True,
              help="Least seconds between checks for attacks still under way.")
@click.option("--stats-every", type=float, default=10.0, show_default=True,
              help="Seconds between stats lines on stderr.")
@click.option("--hub", "hub_url", metavar="URL", default=None,
              help="Send alerts and decisions to this hub and block its community blocklist "
                   "(default: the hub named in --hub-credential).")
@click.option("--hub-credential", type=click.Path(dir_okay=False), default=None,
              help="Hub credentials file written by `hedgerow hub enrol --save`.")
@click.option("--hub-spool", type=click.Path(dir_okay=False), default=None,
              help="Spool for hub telemetry (default $HEDGEROW_STATE_DIR/hub-spool.db).")
def sense(iface: str, policy_path: Path | None, dry_run: bool, metrics_port: int,
          metrics_host: str, alerts_path: Path | None, store_path: Path | None,
          home_net: tuple[str, ...], management: tuple[str, ...],
          device_kinds: tuple[str, ...], rule_dirs: tuple[Path, ...],
          intel_files: tuple[Path, ...], table: str, duration: float | None, batch_size: int,
          max_wait_ms: int, ring_mb: int, queue_batches: int, early_every: float,
          stats_every: float, hub_url: str | None, hub_credential: str | None,
          hub_spool: str | None) -> None:
    """Watch IFACE live: detect attacks, block attackers, quarantine infected devices."""
    from hedgerow.sense.devices import DeviceKinds, parse_overrides

    try:
        policy = load_policy(policy_path)
    except PolicyError as exc:
        _fail(str(exc))
    try:
        networks = LocalNetworks.parse(home_net) if home_net else LocalNetworks.default()
        guard = Guard.from_entries([*policy.management, *management])
        overrides = parse_overrides(device_kinds)
    except ValueError as exc:
        _fail(str(exc))
    from hedgerow.sense.alertlog import AlertLog
    from hedgerow.sense.analyze import StreamAnalyzer
    from hedgerow.sense.live import LiveCapture
    from hedgerow.sense.metrics import MetricsServer
    from hedgerow.sense.ring import RingError
    from hedgerow.sense.sensor import Sensor

    try:
        link = open_hub_link(hub_url, hub_credential, hub_spool)
    except (HubError, SpoolError) as exc:
        _fail(str(exc))
    try:
        devices = DeviceKinds(networks, overrides)
        analyzer = StreamAnalyzer.from_rules(rule_dirs, networks, intel_files, early_every,
                                             devices=devices)
    except ValueError as exc:  # RuleError, IntelError: one line naming file and line
        _fail(str(exc))
    try:
        capture = LiveCapture(iface, batch_size=batch_size, max_wait_s=max_wait_ms / 1000,
                              ring_mb=ring_mb)
    except RingError as exc:
        _fail(str(exc))
    enforcer, why = _enforcer(table, [*policy.management, *management],
                              policy.rate_limit.packets_per_second, policy.rate_limit.burst,
                              dry_run)
    click.echo(f"hedgerow sense: {why}", err=True)
    stats = SenseStats(enforcing=enforcer is not None)
    store = DecisionStore(store_path or default_store_path())
    engine = DecisionEngine(policy, store, guard, enforcer, device_kind=devices.kind_of)
    hub = GatewayHub(link, engine) if link is not None else None

    def on_alert(alert: Alert, outcomes: list[Outcome]) -> None:
        _print_alert(alert, outcomes)
        if hub is not None:
            hub.on_alert(alert, outcomes)

    def on_report(snap: Snapshot, rate: float) -> None:
        _print_stats(snap, rate)
        if hub is not None:
            _print_outcomes(hub.tick())

    server = None
    if metrics_port:
        try:
            server = MetricsServer(stats.snapshot, metrics_host, metrics_port).start()
        except OSError as exc:
            capture.close()
            _fail(f"cannot serve /metrics on {metrics_host}:{metrics_port}: "
                  f"{exc.strerror or exc} (choose another --metrics-port, or 0 for none)")
    alert_stream: IO[str] | None = None
    if alerts_path is not None:
        try:
            alerts_path.parent.mkdir(parents=True, exist_ok=True)
            alert_stream = alerts_path.open("a", encoding="utf-8")
        except OSError as exc:
            capture.close()
            _fail(f"{alerts_path}: cannot write alerts: {exc.strerror or exc}")
    stop = threading.Event()

    def _stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    sensor = Sensor(capture, analyzer, stats, engine=engine,
                    alert_log=AlertLog(alert_stream) if alert_stream is not None else None,
                    on_alert=on_alert, on_report=on_report, report_every_s=stats_every,
                    queue_batches=queue_batches)
    metrics = f", /metrics on {server.host}:{server.port}" if server is not None else ""
    click.echo(f"hedgerow sense: watching {iface} ({analyzer.detectors} detectors, "
               f"decisions in {store.path}{metrics})", err=True)
    started = time.monotonic()
    try:
        sensor.run(stop, duration)
    except RingError as exc:
        _fail(str(exc))
    finally:
        capture.close()
        if server is not None:
            server.close()
        if alert_stream is not None:
            alert_stream.close()
        if hub is not None:
            click.echo(hub.link.drain(budget_s=10).message, err=True)
            hub.link.close()
    snap = stats.snapshot()
    _print_stats(snap, snap.packets / max(time.monotonic() - started, 1e-9))
