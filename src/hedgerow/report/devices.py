"""The device table with risk, and the weaknesses, for the terminal (rich).

Used by ``hedgerow inventory`` and after ``hedgerow scan``'s attack report.

Example:
    >>> import io
    >>> from rich.console import Console
    >>> from hedgerow.assess.household import assess_inputs
    >>> console = Console(record=True, width=120, file=io.StringIO())
    >>> render_devices(assess_inputs([]), console)
    >>> "No devices were seen." in console.export_text()
    True
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import Console
from rich.table import Table

from hedgerow.assess.household import HouseholdAssessment, display_name

BAND_STYLE = {"low": "green", "moderate": "yellow", "high": "dark_orange", "critical": "red"}
SEVERITY_STYLE = {
    "critical": "bold red",
    "high": "red",
    "medium": "yellow",
    "low": "cyan",
    "info": "dim",
}
ROWS = 40
WIDE = 120


def render_devices(assessment: HouseholdAssessment, console: Console) -> None:
    """Print the devices (riskiest first), their weaknesses and the household's score.

    On a terminal narrower than ``WIDE`` columns the MAC column is left out (it is in
    report.json) and each device shows one address, IPv4 first, so rows stay one line.
    """
    wide = console.width >= WIDE
    columns = ("risk", "device", "IP", "MAC", "maker", "kind", "services") if wide else (
        "risk", "device", "IP", "maker", "kind", "services")
    table = Table(title="Devices and their risk", expand=False)
    for col in columns:
        if wide:
            table.add_column(col, overflow="fold")
        else:  # addresses whole, long maker names cut short: one line per device
            table.add_column(col, no_wrap=col != "services",
                             overflow="ellipsis" if col in ("device", "maker") else "fold",
                             max_width=12 if col in ("device", "maker") else None)
    ranked = sorted(
        assessment.inventory.devices, key=lambda d: (-assessment.device_risk[d.key].score, d.key)
    )
    for d in ranked[:ROWS]:
        risk = assessment.device_risk[d.key]
        kind = (f"{d.kind} ({d.kind_confidence:.2f})" if wide else d.kind) if d.kind else "?"
        cells = [
            f"[{BAND_STYLE[risk.band]}]{risk.score}[/]",
            d.name or d.model or "",
            ", ".join(d.ips[:2]) if wide else _one_address(d.ips),
            *([d.mac or ""] if wide else []),
            d.vendor or "?",
            kind,
            ", ".join(d.services[: 5 if wide else 3]),
        ]
        table.add_row(*cells)
    console.print(table)
    if len(ranked) > ROWS:
        console.print(f"... and {len(ranked) - ROWS} more devices (see report.json)")
    if assessment.findings:
        console.print("[bold]Weaknesses[/bold]")
        names = {d.key: display_name(d) for d in assessment.inventory.devices}
        for f in assessment.findings:
            style = SEVERITY_STYLE[f.severity.value]
            console.print(
                f"  [{style}]{f.severity.value:8}[/] {names.get(f.device, f.device)}: {f.title}",
                highlight=False,
                soft_wrap=True,
            )
    console.print(f"[bold]{assessment.household.explanation}[/bold]", highlight=False)
    stats = assessment.inventory.stats
    if stats.malformed:
        skipped = ", ".join(f"{k} {v}" for k, v in sorted(stats.malformed.items()))
        console.print(f"[yellow]skipped malformed packets:[/yellow] {skipped}", highlight=False)


def _one_address(ips: Sequence[str]) -> str:
    """The first IPv4 address (else the first one), with how many more there are."""
    if not ips:
        return ""
    first = next((ip for ip in ips if ":" not in ip), ips[0])
    return first if len(ips) == 1 else f"{first} +{len(ips) - 1}"
