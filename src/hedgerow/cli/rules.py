"""``hedgerow rules``: list the detection rules, and run each rule folder's test cases.

Example:
    $ hedgerow rules list
    $ hedgerow rules list --rules my-rules/
    $ hedgerow rules test src/hedgerow/detect/rules
"""

from __future__ import annotations

import sys
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from hedgerow.detect.ruleload import RuleError, builtin_rules_dir, load_rules
from hedgerow.detect.ruleschema import ThresholdRule
from hedgerow.detect.ruletest import find_cases, run_case
from hedgerow.flows.resolved import judged_flows


@click.group("rules")
def rules() -> None:
    """Detection rules: list them, test them."""


@rules.command("list")
@click.option(
    "--rules",
    "rule_dirs",
    multiple=True,
    type=click.Path(path_type=Path),
    help="Extra rule file or folder (repeatable).",
)
def list_rules(rule_dirs: tuple[Path, ...]) -> None:
    """Show every rule (built-in, then the given folders)."""
    err = Console(stderr=True)
    try:
        loaded = load_rules([builtin_rules_dir(), *rule_dirs])
    except RuleError as exc:
        err.print(f"[red]error[/red] {exc}", highlight=False, soft_wrap=True)
        sys.exit(2)
    table = Table(title=f"{len(loaded)} rules")
    table.add_column("id", no_wrap=True)
    for col in ("type", "kind", "severity", "measure", "window", "MITRE"):
        table.add_column(col)
    for rule in sorted(loaded, key=lambda r: r.id):
        measure, window = "-", "-"
        if isinstance(rule, ThresholdRule):
            what = (
                f"distinct {rule.distinct}"
                if rule.distinct
                else (f"sum {rule.sum}" if rule.sum else "flows")
            )
            measure = f"{what} >= {rule.capacity:g}"
            window = f"{rule.window:g}s"
        table.add_row(
            rule.id,
            rule.type,
            rule.kind.value,
            rule.severity.value,
            measure,
            window,
            ", ".join(rule.labels.mitre),
        )
    Console().print(table)


@rules.command("test")
@click.argument("folder", required=False, type=click.Path(path_type=Path, exists=True))
def test_rules(folder: Path | None) -> None:
    """Run the test cases (``cases/*/case.yaml``) under FOLDER (default: the built-in rules)."""
    root = folder or builtin_rules_dir()
    console = Console()
    cases = find_cases(root)
    if not cases:
        console.print(
            f"[red]error[/red] {root}: no cases (cases/<name>/case.yaml)", highlight=False
        )
        sys.exit(2)
    extra = [] if folder is None else [folder]
    failed = 0
    for case in cases:
        result = run_case(case, extra, judged_flows)
        if result.passed:
            console.print(
                f"[green]PASS[/green] {case.path}  ({len(result.alerts)} alerts)", highlight=False
            )
            continue
        failed += 1
        detail = result.error or "; ".join(
            [f"missing {m}" for m in result.missing]
            + [f"unexpected {u}" for u in result.unexpected]
        )
        console.print(f"[red]FAIL[/red] {case.path}: {detail}", highlight=False, soft_wrap=True)
    console.print(f"{len(cases) - failed}/{len(cases)} cases passed")
    sys.exit(1 if failed else 0)
