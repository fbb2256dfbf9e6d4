"""``hedgerow flows``: captures or Zeek conn.logs in, flows out (Zeek TSV, JSON lines, Parquet).

Exit codes: 0 everything read cleanly, 1 read with warnings (or some inputs unreadable),
2 nothing could be read.

Example:
    $ hedgerow flows capture.pcap -o conn.log
    $ hedgerow flows a.pcapng b.pcap.gz conn.log.labeled -o flows.parquet
    $ hedgerow flows capture.pcap -o - --format jsonl --payload | head
"""

from __future__ import annotations

import gc
import logging
import os
import sys
from contextlib import ExitStack

import click

_PROGRESS_MIN_BYTES = 32 << 20


@click.command("flows")
@click.argument("inputs", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("-o", "--output", required=True, help="Output file ('-' for standard output).")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["zeek", "jsonl", "parquet"]),
    default=None,
    help="Output format (default: from the output file's extension; zeek otherwise).",
)
@click.option("--payload", is_flag=True, help="Also write the first payload bytes of each side.")
@click.option("--active-timeout", type=float, default=0.0, help="Split flows longer than this (s).")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar or summary.")
def flows(
    inputs: tuple[str, ...],
    output: str,
    fmt: str | None,
    payload: bool,
    active_timeout: float,
    quiet: bool,
) -> None:
    """Turn captures (pcap, pcapng, gzip) and Zeek conn.logs into flows."""
    from hedgerow.native import without_blas_threads

    without_blas_threads()
    # Arrow's default allocator (mimalloc) keeps freed buffers for reuse; the system allocator
    # gives them back (about 35 MB less peak memory on large captures). Read when pyarrow loads.
    os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "system")
    from hedgerow.flows.rows import FlowRows, MeterConfig
    from hedgerow.flows.source import FlowSource
    from hedgerow.flows.writers import ZeekWriter, open_writer

    # The imported modules are long-lived: keep the collector from rescanning them at every
    # full collection of the run (with the freeze below ≈ 0.03 s of CPU on the bench capture).
    gc.freeze()
    # The readers' warnings are collected and printed once below, not logged as they happen.
    logging.getLogger("hedgerow.capture").setLevel(logging.ERROR)
    total = sum(os.path.getsize(p) for p in inputs if os.path.isfile(p))
    show = not quiet and sys.stderr.isatty() and total >= _PROGRESS_MIN_BYTES
    try:
        writer = open_writer(output, fmt, payload)
    except (OSError, ValueError) as exc:
        click.echo(f"hedgerow flows: error: {output}: {exc}", err=True)
        sys.exit(2)
    config = MeterConfig(active_timeout=active_timeout)
    with ExitStack() as stack:
        advance = None
        if show:
            from rich.progress import (
                BarColumn,
                DownloadColumn,
                Progress,
                TextColumn,
                TimeRemainingColumn,
            )

            bar = stack.enter_context(
                Progress(
                    TextColumn("flows"),
                    BarColumn(),
                    DownloadColumn(),
                    TimeRemainingColumn(),
                    console=None,
                    transient=True,
                )
            )
            task = bar.add_task("flows", total=total)

            def advance(amount: int) -> None:
                bar.advance(task, amount)

        # A capture's flows go from the meter's table to conn.log lines in compiled code.
        sink = writer.write_table if isinstance(writer, ZeekWriter) else None
        source = FlowSource(inputs, config, strict=False, progress=advance, row_sink=sink)
        try:
            for batch in source.iter_rows() if sink else source:
                assert not isinstance(batch, FlowRows)  # a row sink takes every capture's rows
                writer.write(batch)
        finally:
            writer.close()
    # Likewise what the run left: freezing it spares the collector a last full pass at exit.
    gc.freeze()
    for line in [*source.errors, *source.warnings]:
        click.echo(f"hedgerow flows: {line}", err=True)
    if not quiet and sys.stderr.isatty():
        click.echo(
            f"{source.flows} flows from {source.readable} of {len(inputs)} inputs "
            f"({source.packets} packets) -> {output}",
            err=True,
        )
    if source.readable == 0:
        sys.exit(2)
    if source.errors or source.warnings:
        sys.exit(1)
