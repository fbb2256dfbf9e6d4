"""``hedgerow eval``: score detection against ground truth and print precision/recall.

TRUTH is a ground-truth JSON file (``docs/ground-truth.md``), a folder of them, or a labelled
conn.log (IoT-23/Stratosphere ``label`` column) scored per flow.

Example:
    $ hedgerow eval data/ground_truth/ --corpus ../shared/corpus
    $ hedgerow eval conn.log.labeled --home-net 147.32.81.167/32

Exit status: 0 done; 1 with ``--strict`` when a listed attack was missed (right kind and
direction) or a benign capture raised an alert; 2 bad input.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from hedgerow.evaluate.runner import evaluate
from hedgerow.evaluate.summary import SourceSummary, summarize
from hedgerow.evaluate.truth import CaptureTruth, GroundTruth, TruthError, load_ground_truth
from hedgerow.flows.source import iter_flows


def _truths(paths: tuple[Path, ...], home_nets: tuple[str, ...]) -> list[tuple[GroundTruth, Path]]:
    """(truth, root) pairs: JSON files resolve against --corpus, labelled logs stand alone."""
    out = []
    for path in paths:
        files = sorted(path.glob("*.json")) if path.is_dir() else [path]
        for file in files:
            if file.suffix == ".json":
                out.append((load_ground_truth(file), Path()))
                continue
            entry = CaptureTruth(
                path=file.name, reference="label column", flow_labels=True, home_net=list(home_nets)
            )
            out.append(
                (GroundTruth(schema_version="1", source=file.name, captures=[entry]), file.parent)
            )
    return out


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.1f}%"


def _table(summaries: list[SourceSummary]) -> Table:
    table = Table(title="Detection vs ground truth")
    for col in (
        "source",
        "captures",
        "attacks found",
        "any kind",
        "alerts",
        "false",
        "alert prec.",
        "benign w/ alerts",
        "flow prec.",
        "flow recall",
    ):
        table.add_column(col)
    for s in summaries:
        scorable = s.attacks - s.not_scorable
        found = f"{s.detected}/{scorable}" + (f" (+{s.not_scorable} n/s)" if s.not_scorable else "")
        table.add_row(
            s.source,
            str(s.captures),
            found,
            f"{s.detected_any_kind}/{scorable}",
            str(s.alerts),
            str(s.false_alerts),
            _pct(s.alert_precision),
            f"{s.benign_with_alerts}/{s.benign_captures}",
            _pct(s.flows.precision),
            _pct(s.flows.recall),
        )
    return table


@click.command("eval")
@click.argument("truth", nargs=-1, required=True, type=click.Path(path_type=Path, exists=True))
@click.option(
    "--corpus",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path("../shared/corpus"),
    show_default=True,
    help="Root the ground-truth capture paths are relative to.",
)
@click.option(
    "--home-net",
    "home_nets",
    multiple=True,
    metavar="CIDR",
    help="Home network for labelled conn.logs given directly.",
)
@click.option("--rules", "rule_dirs", multiple=True, type=click.Path(path_type=Path))
@click.option("--intel", "intel_files", multiple=True, type=click.Path(path_type=Path))
@click.option(
    "--json",
    "json_out",
    type=click.Path(path_type=Path),
    help="Also write the figures as JSON here.",
)
@click.option("--strict", is_flag=True, help="Exit 1 on a missed attack or a benign alert.")
def eval_cmd(
    truth: tuple[Path, ...],
    corpus: Path,
    home_nets: tuple[str, ...],
    rule_dirs: tuple[Path, ...],
    intel_files: tuple[Path, ...],
    json_out: Path | None,
    strict: bool,
) -> None:
    """Score alerts against ground truth: per attack (host) and per flow precision/recall."""
    console = Console(width=max(Console().width, 140))
    try:
        truths = _truths(truth, home_nets)
    except (TruthError, ValueError) as exc:
        Console(stderr=True).print(f"[red]error[/red] {exc}", highlight=False, soft_wrap=True)
        sys.exit(2)
    summaries = []
    for gt, root in truths:
        base = root if root != Path() else corpus
        scores = evaluate(
            gt, base, lambda p: iter_flows([p]), rule_dirs=rule_dirs, intel_files=intel_files
        )
        summaries.append(summarize(gt.source, scores))
    console.print(_table(summaries))
    for s in summaries:
        for line in s.missed:
            console.print(
                f"[yellow]missed[/yellow] {s.source}: {line}", highlight=False, soft_wrap=True
            )
    if json_out is not None:
        json_out.write_text(json.dumps([s.to_dict() for s in summaries], indent=2) + "\n")
    bad = any(s.missed or s.benign_with_alerts for s in summaries)
    sys.exit(1 if strict and bad else 0)
