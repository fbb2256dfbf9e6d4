"""``hedgerow baseline``: learn a network's normal from benign captures, and inspect it.

Example:
    $ hedgerow baseline learn home-week1.pcap home-week2.pcapng -o home.baseline
    $ hedgerow baseline learn big.pcap --seconds 600 -o home.baseline   # first 10 minutes only
    $ hedgerow baseline learn home.pcap --home-net 2001:db8:1::/64 -o home.baseline  # IPv6 LAN
    $ hedgerow baseline show home.baseline
    $ hedgerow baseline score suspect.pcap -b home.baseline
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import NoReturn

import click

from hedgerow.anomaly.baseline import (
    HOW_TO_MAKE,
    BaselineError,
    load_baseline,
    read_header,
    save_baseline,
)
from hedgerow.anomaly.detector import MODELS, score_capture
from hedgerow.anomaly.learn import LearnConfig, iter_paths, learn_baseline
from hedgerow.capture import CaptureError
from hedgerow.model import LocalNetworks
from hedgerow.model.networks import DEFAULT_LOCAL_NETWORKS


@click.group("baseline")
def baseline() -> None:
    """Learn and inspect anomaly-detection baselines (a network's normal traffic)."""


def _fail(message: str) -> NoReturn:
    click.echo(f"hedgerow baseline: {message}", err=True)
    sys.exit(2)


def _kinds(values: tuple[str, ...]) -> dict[str, str]:
    kinds: dict[str, str] = {}
    for item in values:
        mac, sep, kind = item.partition("=")
        if not sep or len(mac.split(":")) != 6 or not kind:
            _fail(f"--kind {item!r}: expected MAC=KIND, e.g. 50:c7:bf:00:11:22=plug")
        kinds[mac.lower()] = kind
    return kinds


@baseline.command("learn")
@click.argument("captures", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("-o", "--output", type=click.Path(path_type=Path), required=True,
              help="Baseline file to write.")
@click.option("--packets", type=click.IntRange(min=1), default=None,
              help="Learn from the first N packets only (over all captures).")
@click.option("--seconds", type=click.FloatRange(min=0.001), default=None,
              help="Learn from the first N seconds of each capture only.")
@click.option("--seed", type=int, default=0, show_default=True, help="Model seed.")
@click.option("--epochs", type=click.IntRange(min=1), default=5, show_default=True,
              help="Autoencoder passes (the first online, the rest over a sample).")
@click.option("--kind", "kinds", multiple=True, metavar="MAC=KIND",
              help="Record a device's kind in the baseline (repeatable).")
@click.option("--home-net", "home_nets", multiple=True, metavar="CIDR",
              help="A home network (repeatable; default: RFC 1918, CGNAT, ULA, link-local).")
def learn_cmd(
    captures: tuple[Path, ...],
    output: Path,
    packets: int | None,
    seconds: float | None,
    seed: int,
    epochs: int,
    kinds: tuple[str, ...],
    home_nets: tuple[str, ...],
) -> None:
    """Learn a baseline from benign CAPTURES (files or directories of captures)."""
    paths = iter_paths(captures)
    missing = [p for p in paths if not Path(p).is_file()]
    if missing:
        _fail(f"{missing[0]}: no such capture file")
    try:
        networks = LocalNetworks.parse(home_nets or DEFAULT_LOCAL_NETWORKS)
    except ValueError as exc:
        _fail(f"--home-net: {exc}")
    config = LearnConfig(seed=seed, epochs=epochs, max_packets=packets, max_seconds=seconds)
    try:
        learned = learn_baseline(paths, config, kinds=_kinds(kinds), networks=networks)
    except CaptureError as exc:
        _fail(str(exc))
    except ValueError as exc:
        _fail(f"{', '.join(map(str, captures))}: {exc}")
    save_baseline(learned, output)
    t = learned.thresholds
    click.echo(
        f"{output}: learned from {learned.training['packets']} packets in {len(paths)} capture(s),"
        f" {len(learned.devices)} local devices, {len(learned.kitnet.groups)} autoencoders;"
        f" thresholds kitnet={t['kitnet']:.4g} hst={t['hst']:.4g}"
    )


@baseline.command("show")
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the whole header as JSON.")
def show_cmd(path: Path, as_json: bool) -> None:
    """Describe a baseline file: versions, training data, models, thresholds, devices."""
    try:
        header = read_header(path)
    except BaselineError as exc:
        _fail(str(exc))
    if as_json:
        click.echo(json.dumps(header, indent=1, sort_keys=True))
        return
    training = header.get("training", {})
    models = header["models"]
    click.echo(f"baseline      {path}")
    click.echo(f"format        {header['format']} v{header['format_version']}, "
               f"hedgerow {header['hedgerow_version']}")
    click.echo(f"features      {len(header['feature_names'])} "
               f"(spec {header['feature_spec_hash']}, λ = {header['feature_spec']['lambdas']})")
    click.echo(f"learned from  {training.get('packets', 0)} packets, "
               f"{len(training.get('captures', []))} capture(s)")
    for cap in training.get("captures", []):
        click.echo(f"  {cap['packets']:>9}  {cap['path']}")
    click.echo(f"kitnet        {len(models['kitnet']['groups'])} autoencoders, "
               f"threshold {header['thresholds']['kitnet']:.5g}")
    click.echo(f"hst           {models['hst']['n_trees']} trees of depth {models['hst']['depth']}, "
               f"threshold {header['thresholds']['hst']:.5g}")
    cal = header.get("calibration", {})
    click.echo(f"calibration   quantile {cal.get('quantile')} x margin {cal.get('margin')} of"
               f" {cal.get('rows')} {cal.get('source')} rows")
    click.echo(f"home networks {', '.join(header.get('local_networks', []))}")
    click.echo(f"devices       {len(header.get('devices', []))}")
    for dev in header.get("devices", []):
        click.echo(f"  {dev['mac']}  {','.join(dev['ips']):<32} {dev['packets']:>8} pkts"
                   f"  kind={dev.get('kind') or '-'}")


@baseline.command("score")
@click.argument("captures", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("-b", "--baseline", "baseline_path", type=click.Path(path_type=Path),
              default=None, help="Baseline file made by `hedgerow baseline learn`.")
@click.option("--window", type=click.FloatRange(min=1.0), default=60.0, show_default=True,
              help="Alert window per device, seconds of capture time.")
@click.option(
    "--model",
    type=click.Choice(MODELS),
    default="kitnet",
    show_default=True,
    help="Which model's score decides: autoencoders, half-space trees, or the larger of both.",
)
@click.option("--json", "as_json", is_flag=True, help="One JSON alert per line.")
def score_cmd(
    captures: tuple[Path, ...],
    baseline_path: Path | None,
    window: float,
    model: str,
    as_json: bool,
) -> None:
    """Score CAPTURES against a baseline and print the anomaly alerts."""
    if baseline_path is None:
        _fail(f"no baseline given (-b FILE); {HOW_TO_MAKE}")
    try:
        learned = load_baseline(baseline_path)
        alerts = score_capture(iter_paths(captures), learned, window_s=window, model=model)
    except BaselineError as exc:
        _fail(str(exc))
    except CaptureError as exc:
        _fail(str(exc))
    for alert in alerts:
        if as_json:
            click.echo(json.dumps(alert.to_dict(), sort_keys=True))
        else:
            click.echo(f"{alert.severity.value:<6} {alert.direction:<8} {alert.summary}")
    if not as_json:
        click.echo(f"{len(alerts)} anomaly alert(s)")
