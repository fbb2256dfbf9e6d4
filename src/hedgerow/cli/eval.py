"""``hedgerow eval``: score detection against ground truth and print precision/recall.

TRUTH is a ground-truth JSON file (``docs/ground-truth.md``), a folder of them, or a labelled
conn.log (IoT-23/Stratosphere ``label`` column) scored per flow. With ``--baseline F`` (or
``--learn-benign DIR``, which learns one first, seeded) the anomaly detector is scored against the
same truth too (:mod:`hedgerow.evaluate.anomaly`) and printed in a second table.

Example:
    $ hedgerow eval data/ground_truth/ --corpus ../shared/corpus
    $ hedgerow eval conn.log.labeled --home-net 147.32.81.167/32
    $ hedgerow eval data/ground_truth/slips.json --learn-benign ../shared/corpus/iot-sentinel

Exit status: 0 done; 1 with ``--strict`` when a listed attack was missed (right kind and
direction) or a benign capture raised an alert; 2 bad input.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click
from rich.console import Console
from rich.table import Table

from hedgerow.evaluate.runner import evaluate
from hedgerow.evaluate.summary import SourceSummary, summarize
from hedgerow.evaluate.truth import CaptureTruth, GroundTruth, TruthError, load_ground_truth
from hedgerow.flows.resolved import judged_flows

if TYPE_CHECKING:  # the models (numba, scipy) load only when the anomaly detector is scored
    from hedgerow.anomaly.baseline import Baseline
    from hedgerow.evaluate.anomaly import AnomalySummary


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


def _auc(x: float | None) -> str:
    return "-" if x is None else f"{x:.3f}"


def _anomaly_table(summaries: list[AnomalySummary], title: str) -> Table:
    table = Table(title=title)
    for col in (
        "source",
        "captures",
        "attacks found",
        "right dir.",
        "alerts",
        "false",
        "alert prec.",
        "benign w/ alerts",
        "attack pkts",
        "packet AUC",
    ):
        table.add_column(col)
    for s in summaries:
        table.add_row(
            s.source,
            f"{s.captures - s.not_scorable}"
            + (f" (+{s.not_scorable} n/s)" if s.not_scorable else ""),
            f"{s.detected}/{s.attacks}",
            f"{s.right_direction}/{s.attacks}",
            str(s.alerts),
            str(s.false_alerts),
            _pct(s.alert_precision),
            f"{s.benign_with_alerts}/{s.benign_captures}",
            f"{s.attack_packets}/{s.packets}",
            _auc(s.auc),
        )
    return table


def _baseline(path: Path | None, benign: tuple[Path, ...], seed: int) -> Baseline | None:
    """The baseline to score: loaded from ``path`` or learned from ``benign`` captures."""
    if path is not None and benign:
        raise ValueError("give --baseline or --learn-benign, not both")
    if path is not None:
        from hedgerow.anomaly.baseline import load_baseline

        return load_baseline(path)
    if not benign:
        return None
    from hedgerow.anomaly.learn import LearnConfig, iter_paths, learn_baseline

    captures = iter_paths(benign)
    if not captures:
        raise ValueError(f"{benign[0]}: no packet captures to learn from")
    return learn_baseline(captures, LearnConfig(seed=seed))


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
@click.option(
    "--baseline",
    "baseline_path",
    type=click.Path(path_type=Path),
    help="Also score the anomaly detector with this baseline file.",
)
@click.option(
    "--learn-benign",
    "benign",
    multiple=True,
    type=click.Path(path_type=Path, exists=True),
    help="Learn a baseline from these benign captures (or folders) and score the anomaly detector.",
)
@click.option("--seed", default=0, show_default=True, help="Seed for --learn-benign.")
@click.option("--strict", is_flag=True, help="Exit 1 on a missed attack or a benign alert.")
def eval_cmd(
    truth: tuple[Path, ...],
    corpus: Path,
    home_nets: tuple[str, ...],
    rule_dirs: tuple[Path, ...],
    intel_files: tuple[Path, ...],
    json_out: Path | None,
    baseline_path: Path | None,
    benign: tuple[Path, ...],
    seed: int,
    strict: bool,
) -> None:
    """Score alerts against ground truth: per attack (host) and per flow precision/recall.

    With a baseline, the anomaly detector too: attacks found by an anomaly alert and packet AUC.
    """
    console = Console(width=max(Console().width, 140))
    try:
        truths = _truths(truth, home_nets)
        baseline = _baseline(baseline_path, benign, seed)
    except (TruthError, ValueError) as exc:
        Console(stderr=True).print(f"[red]error[/red] {exc}", highlight=False, soft_wrap=True)
        sys.exit(2)
    summaries = []
    for gt, root in truths:
        base = root if root != Path() else corpus
        scores = evaluate(
            gt, base, judged_flows, rule_dirs=rule_dirs, intel_files=intel_files
        )
        summaries.append(summarize(gt.source, scores))
    console.print(_table(summaries))
    for s in summaries:
        for line in s.missed:
            console.print(
                f"[yellow]missed[/yellow] {s.source}: {line}", highlight=False, soft_wrap=True
            )
    rows = [s.to_dict() for s in summaries]
    if baseline is not None:
        from hedgerow.evaluate.anomaly import evaluate_anomaly, summarize_anomaly

        anomalies = []
        for (gt, root), row in zip(truths, rows, strict=True):
            base = root if root != Path() else corpus
            found = summarize_anomaly(gt.source, evaluate_anomaly(gt, base, baseline))
            anomalies.append(found)
            row["anomaly"] = found.to_dict()
        where = baseline_path or f"learned from {len(baseline.training['captures'])} captures"
        console.print()
        console.print(
            _anomaly_table(anomalies, f"Anomaly detector (baseline {where}) vs ground truth")
        )
        for a in anomalies:
            for path, value in a.capture_auc.items():
                console.print(
                    f"AUC {a.source}: {path} {value:.3f}", highlight=False, soft_wrap=True
                )
            for line in a.missed:
                console.print(
                    f"[yellow]anomaly missed[/yellow] {a.source}: {line}",
                    highlight=False,
                    soft_wrap=True,
                )
    if json_out is not None:
        json_out.write_text(json.dumps(rows, indent=2) + "\n")
    bad = any(s.missed or s.benign_with_alerts for s in summaries)
    sys.exit(1 if strict and bad else 0)
