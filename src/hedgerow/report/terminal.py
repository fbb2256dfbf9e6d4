"""The readable terminal report (rich): inputs, alerts per device, the attack ratio.

The device table (inventory and risk) is rendered after it by :mod:`hedgerow.report.devices`.

Example:
    >>> import io
    >>> from rich.console import Console
    >>> from hedgerow.report.result import ScanResult
    >>> console = Console(record=True, width=100, file=io.StringIO())
    >>> render(ScanResult(inputs=[], alerts=[], hosts=[], home_networks=[]), console)
    >>> "No attacks found" in console.export_text()
    True
"""

from __future__ import annotations

from datetime import UTC, datetime

from rich.console import Console
from rich.text import Text

from hedgerow.model import Alert
from hedgerow.report.meaning import explain
from hedgerow.report.result import ScanResult

_COLOR = {"critical": "bold red", "high": "red", "medium": "yellow", "low": "cyan", "info": "dim"}
_ARROW = {
    "outbound": "attacks out ->",
    "inbound": "<- attacked",
    "internal": "<-> internal",
    "external": "(outside)",
}


def render(result: ScanResult, console: Console) -> None:
    """Print the report."""
    _inputs(result, console)
    by_device = result.alerts_by_device()
    if not by_device:
        if result.rules == 0 and result.inputs:
            console.print("[yellow]No detection rules ran[/yellow] (--no-builtin-rules "
                          "without --rules): devices and hosts only.")
        else:
            console.print("[green]No attacks found.[/green]")
        return
    for device, alerts in by_device.items():
        _device_alerts(device, alerts, console)
    ratio = result.attack_ratio()
    text = (
        f"[bold]Attacks by your devices : attacks on your devices = "
        f"{ratio['outbound']} : {ratio['inbound']}[/bold]"
    )
    if ratio["internal"]:
        text += f"  ({ratio['internal']} inside the home)"
    console.print(text)


def _inputs(result: ScanResult, console: Console) -> None:
    span = ""
    if result.first_ts is not None and result.last_ts is not None:
        span = f", {_when(result.first_ts)} .. {_when(result.last_ts)}"
    console.print(
        f"[bold]Hedgerow scan[/bold]: {len(result.inputs)} input(s), "
        f"{result.flows:,} flows, {result.rules} rules{span}"
    )
    failed = [i for i in result.inputs if i.status == "error"]
    partial = [i for i in result.inputs if i.status == "partial"]
    if failed or partial:
        console.print(
            f"  [red]{len(failed)} input(s) unreadable, {len(partial)} read in part[/red]"
            " (listed in report.json)"
        )
    console.print(f"Home networks: {', '.join(result.home_networks)}")


def _device_alerts(device: str, alerts: list[Alert], console: Console) -> None:
    console.rule(f"[bold]{device}[/bold]  {len(alerts)} alert(s)", align="left")
    for meaning in sorted({explain(a.kind.value, a.direction) for a in alerts}):
        console.print(f"  [italic]{meaning}[/italic]")
    lines = []
    for a in alerts:
        sev = a.severity.value
        lines.append(
            f"  [{_COLOR[sev]}]{sev:8}[/{_COLOR[sev]}] {a.kind.value:10} "
            f"{_ARROW.get(a.direction, a.direction):14} {a.summary}"
        )
        mitre = f"  MITRE {', '.join(a.mitre)}" if a.mitre else ""
        lines.append(
            f"           [dim]{_when(a.start)} .. {_when(a.end)}  {a.detector} v"
            f"{a.detector_version}{mitre}[/dim]"
        )
    # each line's markup on its own, printed at once (one render instead of two per alert)
    text = Text("\n").join(console.render_str(line, highlight=False) for line in lines)
    console.print(text)


def _when(ts: float) -> str:
    return datetime.fromtimestamp(ts, tz=UTC).strftime("%Y-%m-%d %H:%M:%S")
