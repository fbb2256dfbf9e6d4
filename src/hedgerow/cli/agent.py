"""``hedgerow agent``: assess this device, watch it, protect it, and undo protection.

Example:
    $ hedgerow agent assess --root / --json
    $ hedgerow agent run --config /etc/hedgerow/agent.toml
    $ hedgerow agent unblock 203.0.113.7
"""

from __future__ import annotations

import json
import os
import signal
import sys
from pathlib import Path
from typing import Any

import click

from hedgerow.agent.config import AgentConfig, ConfigError
from hedgerow.model import Severity


def _config(config: str | None, root: str | None, proc: str | None,
            state_dir: str | None) -> AgentConfig:
    try:
        cfg = AgentConfig.load(config) if config else AgentConfig()
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    if root:
        cfg.root = root
    if proc:
        cfg.proc = proc
    if state_dir:
        cfg.state_dir = state_dir
    return cfg


_common = [
    click.option("--config", "-c", type=click.Path(dir_okay=False), default=None,
                 help="Agent TOML configuration file."),
    click.option("--root", default=None, help="Read the device's files under this root."),
    click.option("--proc", default=None, help="The proc filesystem to read (default /proc)."),
    click.option("--state-dir", default=None,
                 help="Spool, baseline, action log and quarantine directory."),
]


def common(fn: Any) -> Any:
    for opt in reversed(_common):
        fn = opt(fn)
    return fn


@click.group("agent")
def agent() -> None:
    """The device agent: assess, detect and protect on the IoT device itself."""


@agent.command("assess")
@common
@click.option("--json", "as_json", is_flag=True, help="One JSON finding per line.")
@click.option("--fail-on", type=click.Choice([s.value for s in Severity]), default=None,
              help="Exit 1 when a finding is at least this severe.")
def assess_cmd(config: str | None, root: str | None, proc: str | None, state_dir: str | None,
               as_json: bool, fail_on: str | None) -> None:
    """Assess the device's own risk (accounts, services, SSH, files, kernel, software)."""
    from hedgerow.agent.core import Agent

    cfg = _config(config, root, proc, state_dir)
    agent_ = Agent(cfg)
    findings = sorted(agent_.assess(), key=lambda f: -f.severity.rank)
    for f in findings:
        if as_json:
            click.echo(json.dumps(f.to_dict(), sort_keys=True))
        else:
            clauses = "; ".join(f"{k}: {', '.join(v)}" for k, v in f.standards.items())
            click.echo(f"[{f.severity.value.upper():8}] {f.check_id}: {f.title}")
            click.echo(f"           fix: {f.fix_household}")
            click.echo(f"           {clauses}")
    for err in agent_.errors:
        click.echo(f"warning: {err}", err=True)
    if not as_json:
        click.echo(f"{len(findings)} finding(s) on {cfg.device}")
    if fail_on and any(f.severity.rank >= Severity(fail_on).rank for f in findings):
        sys.exit(1)


@agent.command("run")
@common
@click.option("--cycles", type=int, default=None, help="Stop after this many cycles.")
@click.option("--interval", type=float, default=None, help="Seconds between cycles.")
@click.option("--dry-run", is_flag=True, help="Log protective actions without applying them.")
@click.option("--no-assess", is_flag=True, help="Skip the assessment at start.")
@click.option("--json", "as_json", is_flag=True, help="Alerts and actions as JSON lines.")
@click.option("--hub", "hub_url", default=None, metavar="URL",
              help="Send telemetry to this hub and block its community blocklist.")
@click.option("--hub-credential", default=None, type=click.Path(dir_okay=False),
              help="Credentials file written by `hedgerow hub enrol --save`.")
def run_cmd(config: str | None, root: str | None, proc: str | None, state_dir: str | None,
            cycles: int | None, interval: float | None, dry_run: bool, no_assess: bool,
            as_json: bool, hub_url: str | None, hub_credential: str | None) -> None:
    """Watch the device and protect it by policy until stopped (SIGTERM/SIGINT)."""
    from hedgerow.agent.core import Agent
    from hedgerow.agent.hublink import attach
    from hedgerow.telemetry.client import HubError

    cfg = _config(config, root, proc, state_dir)
    if dry_run:
        cfg.protect.dry_run = True
    agent_ = Agent(cfg)

    def emit(kind: str, payload: dict[str, Any]) -> None:
        if as_json:
            click.echo(json.dumps({"type": kind, **payload}, sort_keys=True, default=str))
        else:
            text = payload.get("summary") or payload.get("title") or (
                f"{payload.get('action')} {payload.get('target')} ok={payload.get('ok')}"
                f"{' (dry-run)' if payload.get('dry_run') else ''}")
            click.echo(f"{kind}: {text}")

    agent_.on_alert(lambda a: emit("alert", a.to_dict()))
    agent_.on_finding(lambda f: emit("finding", f.to_dict()))
    agent_.on_action(lambda record: emit("action", record))
    try:
        link = attach(agent_, hub_url, hub_credential)
    except HubError as exc:
        raise click.ClickException(str(exc)) from None
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: agent_.stop())
    summary = agent_.run(cycles=cycles, interval_s=interval, assess_first=not no_assess)
    click.echo(f"agent: {summary.cycles} cycle(s), {len(summary.alerts)} alert(s), "
               f"{len(summary.actions)} action(s), slowest cycle {summary.max_cycle_s:.3f}s",
               err=True)
    if link is not None:
        click.echo(link.drain(budget_s=10).message, err=True)


@agent.command("status")
@common
def status_cmd(config: str | None, root: str | None, proc: str | None,
               state_dir: str | None) -> None:
    """Last cycle, spool backlog, active blocks, quarantined files."""
    from hedgerow.agent.protect import Protector
    from hedgerow.respond.nftables import NftError
    from hedgerow.telemetry.spool import Spool

    cfg = _config(config, root, proc, state_dir)
    status_path = cfg.state / "status.json"
    try:
        status = json.loads(status_path.read_text())
    except (OSError, ValueError):
        status = {}
    out: dict[str, Any] = {"device": cfg.device, "state_dir": str(cfg.state),
                           "last_run": status}
    out["running"] = _footprint(status.get("pid"))
    spool_path = cfg.state / "spool.db"
    if spool_path.exists():
        with Spool(spool_path) as spool:
            out["spool_pending"] = len(spool)
    protector = Protector(cfg)
    try:
        out["enforced"] = [e.to_dict() for e in protector.nft.list()]
    except NftError as exc:
        out["enforced_error"] = str(exc)
    qdir = protector.quarantine_dir
    out["quarantined"] = sorted(p.name for p in qdir.iterdir()) if qdir.is_dir() else []
    out["actions_logged"] = len(protector.log.read())
    click.echo(json.dumps(out, indent=2, sort_keys=True, default=str))


def _footprint(pid: Any) -> dict[str, Any] | None:
    """The running agent's RSS and CPU time (psutil), if that pid is still an agent."""
    if not isinstance(pid, int):
        return None
    try:
        import psutil
    except ImportError:
        return None
    try:
        proc = psutil.Process(pid)
        if "hedgerow" not in " ".join(proc.cmdline()):
            return None
        times = proc.cpu_times()
        return {"pid": pid, "rss_mb": round(proc.memory_info().rss / 2**20, 1),
                "cpu_s": round(times.user + times.system, 2)}
    except psutil.Error:
        return None


@agent.command("unblock")
@common
@click.argument("target", required=False)
@click.option("--all", "everything", is_flag=True, help="Revoke every block and lockdown.")
@click.option("--pid", type=int, default=None, help="Resume a process the agent stopped.")
@click.option("--restore", default=None,
              help="Move a quarantined file (name in the quarantine dir) back where it was.")
@click.option("--dry-run", is_flag=True, help="Print the nft JSON instead of applying it.")
def unblock_cmd(config: str | None, root: str | None, proc: str | None, state_dir: str | None,
                target: str | None, everything: bool, pid: int | None, restore: str | None,
                dry_run: bool) -> None:
    """Undo protection: an address (or ``lockdown``), everything, a stopped pid, a file."""
    from hedgerow.agent.protect import Protector
    from hedgerow.respond.nftables import NftError

    cfg = _config(config, root, proc, state_dir)
    if dry_run:
        cfg.protect.dry_run = True
    protector = Protector(cfg)
    nft, log = protector.nft, protector.log
    if not (target or everything or pid or restore):
        raise click.UsageError("give an address, 'lockdown', --all, --pid or --restore")
    try:
        values = [target] if target else []
        if everything:
            values = sorted({e.value for e in nft.list() if e.set_name != "lockdown"})
            values.append("lockdown")
        for value in values:
            removed = nft.revoke(value)
            log.write("unblock", value, ok=bool(removed), removed=[e.to_dict() for e in removed],
                      dry_run=dry_run)
            click.echo(f"{value}: {'revoked ' + str(len(removed)) if removed else 'not active'}")
    except NftError as exc:
        raise click.ClickException(str(exc)) from None
    if pid:
        try:
            if not dry_run:
                os.kill(pid, signal.SIGCONT)
            log.write("resume", f"pid {pid}", ok=True, dry_run=dry_run)
            click.echo(f"pid {pid}: resumed")
        except OSError as exc:
            raise click.ClickException(f"pid {pid}: {exc.strerror}") from None
    if restore:
        _restore(protector, restore, dry_run)
    if dry_run:
        for doc in nft.sent:
            click.echo(json.dumps(doc))


def _restore(protector: Any, name: str, dry_run: bool) -> None:
    records = [r for r in protector.log.read()
               if str(r.get("quarantine", "")).endswith("/" + name) and r.get("moved_from")]
    if not records:
        raise click.ClickException(f"{name}: no quarantine record with an original path")
    original = records[-1]["moved_from"]
    source = protector.quarantine_dir / name
    dest = protector.cfg.path(original)
    if not dry_run:
        try:
            os.replace(source, dest)
        except OSError as exc:
            raise click.ClickException(f"{source} -> {dest}: {exc.strerror}") from None
    protector.log.write("restore", str(original), ok=True, dry_run=dry_run, source=str(source))
    click.echo(f"{name}: restored to {original}")


@agent.command("baseline")
@common
def baseline_cmd(config: str | None, root: str | None, proc: str | None,
                 state_dir: str | None) -> None:
    """Record (or re-record) the file-integrity baseline of the critical files."""
    from hedgerow.agent.core import Agent

    cfg = _config(config, root, proc, state_dir)
    recorded = Agent(cfg).integrity_monitor().record()
    present = sum(1 for v in recorded.values() if v["sha256"])
    click.echo(f"baseline: {present} of {len(recorded)} file(s) hashed into "
               f"{Path(cfg.state) / 'integrity.json'}")
