"""``hedgerow decisions``: list and revoke what the sensor decided (blocks, quarantines...).

Example:
    $ sudo hedgerow decisions list
    $ sudo hedgerow decisions revoke 3f9a0c
    $ sudo hedgerow decisions revoke --all
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import click

from hedgerow.respond.decisions import DecisionEngine, EnforcementError
from hedgerow.respond.enforce import NftEnforcer
from hedgerow.respond.guard import Guard
from hedgerow.respond.nftables import NftError, NftTable
from hedgerow.respond.policy import Policy
from hedgerow.respond.store import DecisionStore, LogEntry, default_store_path

_store_option = click.option(
    "--decisions", "store_path", type=click.Path(path_type=Path),
    help="Decision log (default: $HEDGEROW_STATE_DIR or /var/lib/hedgerow).")
_table_option = click.option("--table", default="hedgerow", show_default=True,
                             help="nftables table name.")


@click.group("decisions")
def decisions() -> None:
    """List and revoke blocks, quarantines and rate limits."""


def _enforced(table: str) -> set[tuple[str, str]] | None:
    """(action, value) pairs present in the nftables table, or None when it cannot be read."""
    try:
        return {(e.action, e.value.lower()) for e in NftTable(table).list()}
    except NftError:
        return None


@decisions.command("list")
@_store_option
@_table_option
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
def list_cmd(store_path: Path | None, table: str, as_json: bool) -> None:
    """Active decisions (applied or dry-run, not revoked, not expired)."""
    store = DecisionStore(store_path or default_store_path())
    active = store.active()
    present = _enforced(table)
    now = time.time()
    if as_json:
        for e in active:
            live = present is not None and (e.decision.action.value,
                                            e.decision.value.lower()) in present
            click.echo(json.dumps({**e.to_dict(), "in_nftables": live}, sort_keys=True))
        return
    if not active:
        click.echo(f"no active decisions ({store.path})")
        return
    click.echo(f"{'id':12}  {'status':8}  {'action':10}  {'target':22}  {'left':>8}  nft  reason")
    for e in active:
        d = e.decision
        mark = "?" if present is None else (
            "yes" if (d.action.value, d.value.lower()) in present else "no")
        left = f"{max(0.0, d.expires - now):.0f}s"
        click.echo(f"{e.id:12}  {e.status:8}  {d.action.value:10}  {d.value:22}  {left:>8}  "
                   f"{mark:3}  {d.reason}")


@decisions.command("revoke")
@click.argument("decision_id", required=False)
@click.option("--all", "revoke_all", is_flag=True, help="Revoke every active decision.")
@_store_option
@_table_option
def revoke_cmd(decision_id: str | None, revoke_all: bool, store_path: Path | None,
               table: str) -> None:
    """Undo decision DECISION_ID (or an unambiguous prefix of it), or --all."""
    if bool(decision_id) == revoke_all:
        click.echo("hedgerow decisions revoke: give one decision id, or --all", err=True)
        sys.exit(2)
    store = DecisionStore(store_path or default_store_path())
    targets: list[LogEntry]
    if revoke_all:
        targets = store.active()
    else:
        found = store.find(str(decision_id))
        if found is None:
            click.echo(f"hedgerow decisions revoke: no single active decision {decision_id!r} "
                       "(see `hedgerow decisions list`)", err=True)
            sys.exit(1)
        targets = [found]
    engine = DecisionEngine(Policy(), store, Guard(()), NftEnforcer(NftTable(table)))
    failed = 0
    for entry in targets:
        try:
            engine.revoke(entry)
        except EnforcementError as exc:
            failed += 1
            click.echo(f"hedgerow decisions revoke: {entry.id}: {exc}", err=True)
            continue
        click.echo(f"revoked {entry.id}: {entry.decision.action.value} {entry.decision.value}")
    if not targets:
        click.echo("no active decisions")
    sys.exit(1 if failed else 0)
