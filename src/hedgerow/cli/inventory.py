"""``hedgerow inventory``: the devices in captures, their makers, kinds, weaknesses and risk.

Example:
    $ hedgerow inventory capture.pcap
    $ hedgerow inventory home/*.pcap --html report.html --json > report.json
    $ hedgerow inventory home.pcap --probe --html report.html   # opt-in active checks

Importing this module also adds the ``devices``, ``findings`` and ``risk`` sections to
``hedgerow scan``'s report.json (see :mod:`hedgerow.assess.sections`).

Exit status: 0 all inputs read; 3 some could not be read; 4 none could be read; 2 bad usage.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from hedgerow.assess.household import HouseholdAssessment, assess_inputs, display_name
from hedgerow.assess.sections import register_sections
from hedgerow.model import Alert, LocalNetworks
from hedgerow.model.networks import DEFAULT_LOCAL_NETWORKS
from hedgerow.report.html import render_html

register_sections()

_BAND_STYLE = {"low": "green", "moderate": "yellow", "high": "dark_orange", "critical": "red"}


def _alerts(path: Path | None) -> list[Alert]:
    if path is None:
        return []
    out = []
    for line_no, line in enumerate(path.read_text("utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            out.append(Alert.from_dict(json.loads(line)))
        except (ValueError, KeyError, TypeError) as exc:
            raise click.UsageError(f"{path}:{line_no}: not an alert ({exc})") from None
    return out


def document(assessment: HouseholdAssessment) -> dict[str, Any]:
    """A report document (the report.json sections plus alerts and time span)."""
    devices = assessment.inventory.devices
    first = min((d.first_seen for d in devices), default=None)
    last = max((d.last_seen for d in devices), default=None)
    return {"time_span": {"first": first, "last": last},
            "alerts": [a.to_dict() for a in assessment.alerts], **assessment.to_dict()}


def render_terminal(assessment: HouseholdAssessment, console: Console) -> None:
    table = Table(title="Devices", show_lines=False, expand=False)
    for col in ("risk", "device", "IP", "MAC", "maker", "kind", "model", "services"):
        table.add_column(col, overflow="fold")
    ranked = sorted(assessment.inventory.devices,
                    key=lambda d: -assessment.device_risk[d.key].score)
    for d in ranked:
        risk = assessment.device_risk[d.key]
        kind = f"{d.kind} ({d.kind_confidence:.2f})" if d.kind else "?"
        table.add_row(f"[{_BAND_STYLE[risk.band]}]{risk.score}[/]", d.name or d.key,
                      ", ".join(d.ips[:2]), d.mac or "", d.vendor or "?", kind, d.model or "",
                      ", ".join(d.services[:5]))
    console.print(table)
    if assessment.findings:
        console.print("[bold]Weaknesses[/bold]")
        names = {d.key: display_name(d) for d in assessment.inventory.devices}
        for f in assessment.findings:
            console.print(f"  {f.severity.value:8} {names.get(f.device, f.device)}: {f.title}",
                          highlight=False, soft_wrap=True)
    console.print(f"[bold]{assessment.household.explanation}[/bold]", highlight=False)
    stats = assessment.inventory.stats
    if stats.malformed:
        skipped = ", ".join(f"{k} {v}" for k, v in sorted(stats.malformed.items()))
        console.print(f"[yellow]skipped malformed packets:[/yellow] {skipped}", highlight=False)


@click.command("inventory")
@click.argument("inputs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--home-net", "home_nets", multiple=True, metavar="CIDR",
              help="Local network (repeatable); default RFC 1918, CGNAT, ULA, link-local.")
@click.option("--alerts", "alerts_path", type=click.Path(path_type=Path, exists=True),
              help="alerts.jsonl of `hedgerow scan`, to join attacks to the risk scores.")
@click.option("--html", "html_path", type=click.Path(path_type=Path),
              help="Write the household report as one HTML file.")
@click.option("--json", "as_json", is_flag=True, help="Print the report document as JSON.")
@click.option("--probe", is_flag=True,
              help="Also probe local devices (default passwords on telnet/SSH, open ports). "
                   "Only ever touches addresses inside the home networks.")
@click.option("--probe-rate", default=20.0, show_default=True,
              help="Probe connection attempts per second (all devices together).")
def inventory(inputs: tuple[Path, ...], home_nets: tuple[str, ...], alerts_path: Path | None,
              html_path: Path | None, as_json: bool, probe: bool, probe_rate: float) -> None:
    """List the devices in captures (pcap, pcapng) or Zeek conn.logs, with their risk."""
    err = Console(stderr=True)
    try:
        nets = LocalNetworks.parse(home_nets or DEFAULT_LOCAL_NETWORKS)
    except ValueError as exc:
        err.print(f"[red]error[/red] {exc}", highlight=False)
        sys.exit(2)
    missing = [p for p in inputs if not p.exists()]
    for path in missing:
        err.print(f"[red]error[/red] {path}: no such file", highlight=False, soft_wrap=True)
    files = [f for p in inputs if p.exists()
             for f in (sorted(p.rglob("*.pcap*")) if p.is_dir() else [p])]
    assessment = assess_inputs(files, nets, alerts=_alerts(alerts_path),
                               probe_rate=probe_rate if probe else None)
    for item in assessment.inputs:
        if item.status != "ok":
            text = item.message if item.message.startswith(item.path) else (
                f"{item.path}: {item.message}")
            err.print(f"[yellow]{item.status}[/yellow] {text}", highlight=False, soft_wrap=True)
    doc = document(assessment)
    if html_path is not None:
        html_path.write_text(render_html(doc), encoding="utf-8")
    if as_json:
        click.echo(json.dumps(doc, indent=2, default=str))
    else:
        render_terminal(assessment, Console())
        if html_path is not None:
            Console().print(f"Wrote {html_path}")
    failed = len(missing) + sum(i.status == "error" for i in assessment.inputs)
    total = len(missing) + len(assessment.inputs)
    sys.exit(4 if total and failed == total else 3 if failed else 0)


@click.command("html")
@click.argument("report", type=click.Path(path_type=Path, exists=True, dir_okay=False))
@click.option("-o", "--output", type=click.Path(path_type=Path), required=True,
              help="The HTML file to write.")
def html(report: Path, output: Path) -> None:
    """Render a saved report.json (of `hedgerow scan` or `inventory --json`) as the HTML report."""
    try:
        doc = json.loads(report.read_text("utf-8"))
    except (OSError, ValueError) as exc:
        raise click.UsageError(
            f"{report}: not a JSON report ({str(exc).splitlines()[0]})") from None
    if not isinstance(doc, dict):
        raise click.UsageError(f"{report}: not a JSON report (top level is not an object)")
    output.write_text(render_html(doc), encoding="utf-8")
    click.echo(f"Wrote {output}")
