"""``hedgerow inventory``: the devices in captures, their makers, kinds, weaknesses and risk.

Example:
    $ hedgerow inventory capture.pcap
    $ hedgerow inventory home/*.pcap --html report.html --json > report.json
    $ hedgerow inventory home.pcap --probe --html report.html   # opt-in active checks

Exit status: 0 all inputs read; 3 some could not be read; 4 none could be read; 2 bad usage.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click
from rich.console import Console

from hedgerow.assess.household import HouseholdAssessment, assess_inputs
from hedgerow.model import Alert, LocalNetworks
from hedgerow.model.networks import DEFAULT_LOCAL_NETWORKS
from hedgerow.report.devices import render_devices
from hedgerow.report.html import render_html


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
        render_devices(assessment, Console())
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
