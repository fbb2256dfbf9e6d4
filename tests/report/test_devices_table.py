"""The device table fits the terminal it is printed on."""

from __future__ import annotations

import io
from pathlib import Path

from rich.console import Console

from hedgerow.assess.household import assess_inputs
from hedgerow.report.devices import render_devices

SAMPLES = Path(__file__).resolve().parents[2] / "data" / "samples"


def _table_lines(width: int) -> list[str]:
    console = Console(record=True, width=width, file=io.StringIO())
    render_devices(assess_inputs(sorted(SAMPLES.rglob("*.pcap*"))), console)
    lines = console.export_text().splitlines()
    return lines[: next(i for i, line in enumerate(lines) if line.startswith("└")) + 1]


def test_narrow_terminal_one_line_per_device_without_mac() -> None:
    lines = _table_lines(80)
    assert all(len(line) <= 80 for line in lines)
    rows = [line for line in lines if line.startswith("│")]
    assert any("192.168.2.16 +2" in row and "black-pearl" in row for row in rows)
    assert "MAC" not in "\n".join(lines) and "b8:27:eb" not in "\n".join(lines)
    # one row per device: a device's risk cell is never blank on a wrapped line
    assert all(row.split("│")[1].strip() for row in rows)


def test_wide_terminal_keeps_every_column() -> None:
    lines = "\n".join(_table_lines(160))
    assert "MAC" in lines and "b8:27:eb:c7:e9:c9" in lines and "computer (0.76)" in lines
