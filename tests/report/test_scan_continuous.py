"""`hedgerow scan --continuous`: rotated pieces of one log are scanned as one stream.

Stratosphere's port-scanning scenario (a real Zeek conn.log, JSON lines) is cut in two at a
row boundary, as Zeek's hourly rotation cuts a log: scanned with ``--continuous`` the two
pieces give exactly the alerts of the whole log; scanned as independent inputs, the scans
that cross the cut are counted twice, each half with only its own flows.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from hedgerow.cli.main import main

SCENARIO = "stratosphere/002-zeek-scenario-port-scanning/conn.log"


def _rotate(log: Path, folder: Path, cut: int) -> list[Path]:
    lines = log.read_text(encoding="utf-8").splitlines(keepends=True)
    pieces = [folder / "conn.00.log", folder / "conn.01.log"]
    pieces[0].write_text("".join(lines[:cut]), encoding="utf-8")
    pieces[1].write_text("".join(lines[cut:]), encoding="utf-8")
    return pieces


def _alerts(args: list[str], out: Path) -> str:
    result = CliRunner().invoke(main, ["scan", *args, "-o", str(out)])
    assert result.exit_code == 0, result.output
    return (out / "alerts.jsonl").read_text(encoding="utf-8")


@pytest.mark.parametrize("cut", [1000, 2500])
def test_continuous_pieces_give_the_whole_logs_alerts(
    corpus: Path, tmp_path: Path, cut: int
) -> None:
    log = corpus / SCENARIO
    pieces = [str(p) for p in _rotate(log, tmp_path, cut)]
    whole = _alerts([str(log)], tmp_path / "whole")
    joined = _alerts(["--continuous", *pieces], tmp_path / "continuous")
    apart = _alerts(pieces, tmp_path / "apart")
    assert whole.count("\n") >= 10
    assert joined == whole
    assert apart.count("\n") > whole.count("\n")
