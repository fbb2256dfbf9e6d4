"""``hedgerow info CAPTURE...``: what a capture holds, and what could not be read.

Exit code: 0 when everything was read, 1 when there were warnings or unreadable files but some
packets were read, 2 when nothing could be read.

Example:
    $ hedgerow info ../shared/corpus/ndpi/pcap/synscan.pcap
    $ hedgerow info --json capture.pcapng.gz | jq .protocols
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:  # the capture stack (numpy, numba) loads only when the command runs
    from hedgerow.capture.summary import CaptureSummary

PROGRESS_MIN_BYTES = 32 * 1024 * 1024  # smaller inputs are read too fast to need a bar


@contextmanager
def _progress(total: int, label: str) -> Iterator[Callable[[int], None] | None]:
    """A transient rich progress bar on stderr, or nothing when not on a terminal."""
    if total < PROGRESS_MIN_BYTES or not sys.stdout.isatty() or not sys.stderr.isatty():
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn

    columns = (BarColumn(), DownloadColumn(), TimeRemainingColumn())
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(label, total=total)

        def update(done: int) -> None:
            bar.update(task, completed=done)

        yield update


def _summarize(path: str) -> CaptureSummary:
    from hedgerow.capture import CaptureError, open_capture
    from hedgerow.capture.summary import CaptureSummary, summarize

    try:
        reader = open_capture(path)
    except CaptureError as exc:
        return CaptureSummary(path=path, error=str(exc))
    with reader, _progress(reader.file_size, path) as update:
        return summarize(reader, update)


def _text(summary: CaptureSummary) -> str:
    from hedgerow.capture.summary import link_name

    if summary.error:
        return summary.error
    fmt = summary.format + (", gzip" if summary.compressed else "")
    links = ", ".join(f"{link_name(lt)} ({lt})" for lt in summary.link_types) or "none"
    lines = [f"{summary.path} ({fmt})", f"  link types  {links}"]
    d = summary.to_dict()
    if summary.packets:
        span = f"{d['first_ts']} .. {d['last_ts']} ({summary.duration_s:,.3f} s)"
        lines.append(f"  time span   {span}")
    lines.append(f"  packets     {summary.packets:,} ({summary.bytes:,} bytes on the wire)")
    lines.append(f"  hosts       {summary.hosts:,} distinct IP addresses")
    if summary.protocols:
        mix = ", ".join(
            f"{label} {n:,} ({100 * n / summary.packets:.1f}%)"
            for label, n in summary.protocols.items()
        )
        lines.append(f"  protocols   {mix}")
    status = ", ".join(f"{name} {n:,}" for name, n in summary.status.items() if n)
    lines.append(f"  decoding    {status or 'nothing to decode'}")
    for offset, message in summary.warnings:
        lines.append(f"  warning     {message} at offset {offset}")
    return "\n".join(lines)


def exit_code(summaries: list[CaptureSummary]) -> int:
    """0: all read; 1: problems but packets read; 2: nothing readable."""
    problems = any(s.error or s.warnings for s in summaries)
    if problems and sum(s.packets for s in summaries) == 0:
        return 2
    return 1 if problems else 0


@click.command("info")
@click.argument("captures", nargs=-1, required=True)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per capture, per line.")
def info(captures: tuple[str, ...], as_json: bool) -> None:
    """Show link types, time span, packets, hosts, protocols and problems of CAPTURES."""
    from hedgerow.native import without_blas_threads

    without_blas_threads()
    summaries = []
    for path in captures:
        summary = _summarize(path)
        summaries.append(summary)
        if as_json:
            click.echo(json.dumps(summary.to_dict()))
        else:
            click.echo(_text(summary), err=bool(summary.error))
    sys.exit(exit_code(summaries))
