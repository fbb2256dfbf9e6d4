"""``hedgerow scan --hub URL --hub-credential FILE``: send what the scan found to a hub.

The scan's alerts, devices and findings go into the local spool, which is drained once, within
a bounded time; when the hub is down one line says how many events wait in which file (the
next ``scan --hub`` or ``hedgerow hub push`` sends them).

Example:
    $ hedgerow scan capture.pcap --hub http://hub:8750 --hub-credential /etc/hedgerow/hub.json
    hub: sent 57 events to http://hub:8750
"""

from __future__ import annotations

from pathlib import Path

import click

from hedgerow.assess.sections import assessment_for
from hedgerow.report.result import ScanResult

BUDGET_S = 15.0


def check_hub_options(hub_url: str | None, credential: Path | None) -> None:
    """Fail before scanning when the credential file is missing or unusable (exit 2, one line)."""
    if hub_url and credential is None:
        raise click.UsageError("--hub needs --hub-credential FILE "
                               "(written by `hedgerow hub enrol --save`)")
    if credential is not None:
        from hedgerow.telemetry.client import HubError, client_from_file  # only with a hub

        try:
            client_from_file(credential)
        except HubError as exc:
            raise click.UsageError(str(exc)) from None


def send_scan(result: ScanResult, probe_rate: float | None, hub_url: str | None,
              credential: Path | None, spool: Path | None) -> None:
    """Spool and send the scan's telemetry; prints one line on stderr either way."""
    if credential is None:
        return
    from hedgerow.telemetry.client import HubError
    from hedgerow.telemetry.publish import default_spool_path, send_once
    from hedgerow.telemetry.spool import SpoolError

    assessment = assessment_for(result, probe_rate)
    try:
        delivery = send_once(hub_url, credential, spool or default_spool_path(),
                             alerts=result.alerts, findings=assessment.findings,
                             devices=assessment.inventory.devices, budget_s=BUDGET_S)
    except (HubError, SpoolError, OSError) as exc:
        click.echo(f"hub: {exc}", err=True)
        return
    click.echo(delivery.message, err=True)
