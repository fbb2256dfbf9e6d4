"""``hedgerow scan``: find attacks in and out of the home in captures and Zeek conn.logs.

Example:
    $ hedgerow scan data/samples/ -o out/demo
    $ hedgerow scan capture.pcap --home-net 192.168.1.0/24 --intel feed.stix.json --json
    $ hedgerow scan capture.pcap --probe   # also probe home devices (opt-in, active)
    $ hedgerow scan capture.pcap --html home.html   # the household report, one file
    $ hedgerow scan capture.pcap --baseline home.baseline   # also anomaly alerts

After the attacks, the devices with their risk are shown, and report.json gains the
``devices``, ``findings`` and ``risk`` sections (:mod:`hedgerow.assess.sections`).

Exit status: 0 every input was read; 3 some inputs could not be read (the others were
analysed); 4 no input could be read; 2 bad usage (rule file, home network, intel file).
"""

from __future__ import annotations

import gc
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click
from rich.console import Console

from hedgerow.assess.household import HouseholdCollector
from hedgerow.assess.sections import assessment_for, attach_collector, register_sections
from hedgerow.background import BackgroundCalls
from hedgerow.cli.scanhub import check_hub_options, send_scan
from hedgerow.cli.scaninput import FileRead, expand_inputs, read_flows, rebatch
from hedgerow.detect.engine import OFFLINE_DEFER_ROWS, DetectionEngine
from hedgerow.detect.locality import with_locality
from hedgerow.detect.ruleload import RuleError
from hedgerow.flows.resolved import ResolutionRecord
from hedgerow.intel import IntelError
from hedgerow.model import Alert, LocalNetworks
from hedgerow.model.networks import DEFAULT_LOCAL_NETWORKS
from hedgerow.report.alertlog import write_alerts_jsonl
from hedgerow.report.devices import render_devices
from hedgerow.report.hosts import HostTally
from hedgerow.report.jsonreport import build_report
from hedgerow.report.result import InputOutcome, ScanResult
from hedgerow.report.terminal import render

if TYPE_CHECKING:
    from rich.progress import Progress

EXIT_PARTIAL = 3
EXIT_NOTHING = 4
PROGRESS_BYTES = 20 * 1024 * 1024


def run_scan(
    paths: list[Path],
    *,
    home_nets: tuple[str, ...] = (),
    rule_dirs: tuple[Path, ...] = (),
    intel_files: tuple[Path, ...] = (),
    progress: Progress | None = None,
    household: bool = False,
    continuous: bool = False,
    builtin_rules: bool = True,
) -> ScanResult:
    """Scan the inputs; each file gets fresh detector state (captures are independent).

    ``builtin_rules=False`` runs only the rules of ``rule_dirs`` (none: no detection; flows,
    the host tally and the household sections only).

    With ``continuous`` the files are consecutive pieces of one stream (rotated Zeek logs,
    ``tcpdump -G`` captures), in the order given: the detectors' windows and episodes carry
    from one file to the next, so a scan that crosses a rotation is one alert and counts all
    its flows. (The flow meter still starts afresh per capture, as Zeek does per file: a
    connection open across a rotation is two flows.)

    With ``household`` the device inventory is built from the same read (the packets the flow
    meter sees) and attached for the report's devices/findings/risk sections.

    The DNS answers in a capture's packets give each flow ``_resp_resolved``
    (:mod:`hedgerow.flows.resolved`; null for conn.logs); they carry across files like the
    detectors' state.
    """
    networks = LocalNetworks.parse(home_nets or DEFAULT_LOCAL_NETWORKS)
    collector = HouseholdCollector(networks) if household else None
    observers = [collector.observe] if collector is not None else []
    files = expand_inputs(paths)
    tally = HostTally(networks)
    alerts: list[Alert] = []
    outcomes: list[InputOutcome] = []
    task = progress.add_task("scanning", total=sum(_size(f) for f in files)) if progress else None
    # the first input's engine; each later one gets a fresh copy (same rules, no state) unless
    # the inputs are one stream
    engine = DetectionEngine.from_rule_dirs(rule_dirs, networks=networks, intel_files=intel_files,
                                            builtin=builtin_rules, defer_rows=OFFLINE_DEFER_ROWS)
    record = ResolutionRecord()
    rules = len(engine.detectors)
    # the rules run on one flow batch in a background thread while the next one is read
    with BackgroundCalls() as detecting:
        for index, file in enumerate(files):
            if index and not continuous:
                engine = engine.fresh()
                record = ResolutionRecord()
            outcome = FileRead(file)
            if progress is not None and task is not None:
                progress.update(task, description=file.name)
            # a conn.log's flows feed the collector (a capture's packets were observed instead)
            on_batch = collector.add_flows if collector is not None else None
            pieces = read_flows(file, outcome, on_batch,
                                [*observers, record.observe, *engine.packet_observers])
            for batch in rebatch(pieces, networks=networks):
                # once, for the engine and the tally (a capture's batches come with it)
                batch = record.judge(with_locality(batch, networks))
                detecting.submit(engine.process, batch)
                tally.update(batch)
                if progress is not None and task is not None:
                    progress.update(task, description=f"{file.name}: {outcome.flows:,} flows")
            detecting.wait()
            if not continuous:
                alerts.extend(engine.finish())
            if collector is not None and outcome.status != "error" and outcome.kind is not None:
                collector.end_input(str(file), outcome.kind, outcome.reader_warnings)
            if progress is not None and task is not None:
                progress.advance(task, _size(file))
            message = outcome.error or "; ".join(outcome.warnings[:3])
            outcomes.append(InputOutcome(str(file), outcome.status, outcome.flows, message))
    if continuous:
        alerts.extend(engine.finish())
    alerts.sort(key=lambda a: (a.start, a.dedup_key))
    result = ScanResult(
        inputs=outcomes,
        alerts=alerts,
        hosts=tally.hosts(),
        home_networks=[str(n) for n in networks.networks],
        rules=rules,
        first_ts=tally.first_ts,
        last_ts=tally.last_ts,
    )
    if collector is not None:
        attach_collector(result, collector)
    return result


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def write_outputs(result: ScanResult, outdir: Path) -> None:
    """``OUTDIR/alerts.jsonl`` and ``OUTDIR/report.json``."""
    outdir.mkdir(parents=True, exist_ok=True)
    with (outdir / "alerts.jsonl").open("w", encoding="utf-8") as fh:
        write_alerts_jsonl(result.alerts, fh)
    (outdir / "report.json").write_text(
        json.dumps(build_report(result), indent=2, sort_keys=False) + "\n", encoding="utf-8"
    )


def _scan_with_progress(
    paths: list[Path],
    home_nets: tuple[str, ...],
    rule_dirs: tuple[Path, ...],
    intel_files: tuple[Path, ...],
    console: Console | None,
    continuous: bool = False,
    builtin_rules: bool = True,
) -> ScanResult:
    """:func:`run_scan` with the household sections, and a progress bar on ``console``."""
    if console is None:
        return run_scan(paths, home_nets=home_nets, rule_dirs=rule_dirs,
                        intel_files=intel_files, household=True, continuous=continuous,
                        builtin_rules=builtin_rules)
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    columns = (TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True) as progress:
        return run_scan(paths, home_nets=home_nets, rule_dirs=rule_dirs,
                        intel_files=intel_files, progress=progress, household=True,
                        continuous=continuous, builtin_rules=builtin_rules)


def exit_code(result: ScanResult) -> int:
    failed = sum(i.status == "error" for i in result.inputs)
    if result.inputs and failed == len(result.inputs):
        return EXIT_NOTHING
    return EXIT_PARTIAL if failed else 0


@click.command("scan")
@click.argument("inputs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "-o",
    "--output",
    "outdir",
    type=click.Path(path_type=Path),
    help="Write alerts.jsonl and report.json into this folder.",
)
@click.option(
    "--home-net",
    "home_nets",
    multiple=True,
    metavar="CIDR",
    help="Local network (repeatable); default RFC 1918, CGNAT, ULA, link-local.",
)
@click.option(
    "--rules",
    "rule_dirs",
    multiple=True,
    type=click.Path(path_type=Path),
    help="Extra rule file or folder (repeatable); same id overrides a built-in rule.",
)
@click.option("--no-builtin-rules", "no_builtin_rules", is_flag=True,
              help="Run only the rules given with --rules (none: inventory and hosts only).")
@click.option(
    "--intel",
    "intel_files",
    multiple=True,
    type=click.Path(path_type=Path),
    help="Indicator list: plain text, CSV or STIX 2.1 JSON (repeatable).",
)
@click.option("--continuous", is_flag=True,
              help="The inputs are consecutive pieces of one stream (rotated conn.logs or "
                   "captures), in the order given: detection carries across them.")
@click.option("--json", "as_json", is_flag=True, help="Print report.json to stdout instead.")
@click.option("--html", "html_path", type=click.Path(path_type=Path),
              help="Also write the household report as one HTML file.")
@click.option("--probe", is_flag=True,
              help="Also probe home devices actively (default passwords on telnet/SSH, open "
                   "ports); only addresses inside the home networks are touched.")
@click.option("--probe-rate", default=20.0, show_default=True,
              help="Probe connection attempts per second (all devices together).")
@click.option("--baseline", "baseline_path", type=click.Path(path_type=Path), default=None,
              help="Also flag capture traffic unlike this anomaly baseline "
                   "(made by `hedgerow baseline learn`).")
@click.option("--hub", "hub_url", metavar="URL", default=None,
              help="Also send alerts, devices and findings to this hub (default: the hub "
                   "named in --hub-credential); spooled while it is unreachable.")
@click.option("--hub-credential", type=click.Path(path_type=Path), default=None,
              help="Hub credentials file written by `hedgerow hub enrol --save`.")
@click.option("--hub-spool", type=click.Path(path_type=Path), default=None,
              help="Spool for hub telemetry (default $HEDGEROW_STATE_DIR/hub-spool.db).")
def scan(
    inputs: tuple[Path, ...],
    outdir: Path | None,
    home_nets: tuple[str, ...],
    rule_dirs: tuple[Path, ...],
    no_builtin_rules: bool,
    intel_files: tuple[Path, ...],
    continuous: bool,
    as_json: bool,
    html_path: Path | None,
    probe: bool,
    probe_rate: float,
    baseline_path: Path | None,
    hub_url: str | None,
    hub_credential: Path | None,
    hub_spool: Path | None,
) -> None:
    """Find attacks in and out of the home in captures (pcap, pcapng) and Zeek conn.logs."""
    # As in `hedgerow flows`: Arrow's system allocator gives freed buffers back (lower peak),
    # and the long-lived imported modules are kept out of the collector's full passes.
    os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "system")
    gc.freeze()
    check_hub_options(hub_url, hub_credential)
    rate = probe_rate if probe else None
    register_sections(rate)
    err = Console(stderr=True)
    missing = [p for p in inputs if not p.exists()]
    for path in missing:
        err.print(
            f"[red]error[/red] {path}: no such file or folder", highlight=False, soft_wrap=True
        )
    present = [p for p in inputs if p.exists()]
    big = sum(_size(f) for f in expand_inputs(present)) >= PROGRESS_BYTES
    show = big and err.is_terminal and not as_json
    try:
        anomalies = None
        if baseline_path:
            from hedgerow.cli.scananomaly import ScanAnomalies

            anomalies = ScanAnomalies.load(baseline_path, home_nets)
        result = _scan_with_progress(present, home_nets, rule_dirs, intel_files,
                                     err if show else None, continuous, not no_builtin_rules)
        if anomalies is not None:
            anomalies.add_alerts(result, present)
    except (RuleError, IntelError, ValueError) as exc:
        err.print(f"[red]error[/red] {exc}", highlight=False, soft_wrap=True)
        sys.exit(2)
    result.inputs[:0] = [
        InputOutcome(str(p), "error", 0, "no such file or folder") for p in missing
    ]
    for item in result.inputs:
        if item.status != "ok":
            err.print(
                f"[yellow]{item.status}[/yellow] {item.message or item.path}",
                highlight=False,
                soft_wrap=True,
            )
    if outdir is not None:
        write_outputs(result, outdir)
    if html_path is not None:
        from hedgerow.report.html import render_html

        html_path.write_text(render_html(build_report(result)), encoding="utf-8")
    if as_json:
        click.echo(json.dumps(build_report(result), indent=2))
    else:
        render(result, Console())
        render_devices(assessment_for(result, rate), Console())
        if outdir is not None:
            Console().print(f"Wrote {outdir / 'alerts.jsonl'} and {outdir / 'report.json'}")
    send_scan(result, rate, hub_url, hub_credential, hub_spool)
    # the kernels and rules loaded during the run too: no last full collection over them
    gc.freeze()
    sys.exit(exit_code(result))
