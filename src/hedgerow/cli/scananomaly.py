"""``hedgerow scan --baseline F``: anomaly alerts (:mod:`hedgerow.anomaly`) for a scan's captures.

Example:
    >>> hook = ScanAnomalies.load("home.baseline", home_nets=())  # doctest: +SKIP
    >>> hook.add_alerts(result, [Path("capture.pcap")])  # doctest: +SKIP
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from hedgerow.cli.scaninput import CAPTURE_SUFFIXES, expand_inputs
from hedgerow.model import LocalNetworks
from hedgerow.model.networks import DEFAULT_LOCAL_NETWORKS
from hedgerow.report.result import ScanResult

if TYPE_CHECKING:  # the models (numba, scipy) load only when a baseline is given
    from hedgerow.anomaly.baseline import Baseline


@dataclass
class ScanAnomalies:
    """A loaded baseline and the home networks, ready to score a scan's captures."""

    baseline: Baseline
    networks: LocalNetworks

    @classmethod
    def load(cls, path: str | os.PathLike[str], home_nets: tuple[str, ...]) -> ScanAnomalies:
        """Load the baseline (raises :class:`~hedgerow.anomaly.baseline.BaselineError`, a
        ``ValueError`` with a one-line message)."""
        from hedgerow.anomaly.baseline import load_baseline

        networks = LocalNetworks.parse(home_nets or DEFAULT_LOCAL_NETWORKS)
        return cls(load_baseline(path), networks)

    def add_alerts(self, result: ScanResult, inputs: Iterable[Path]) -> None:
        """Append the anomaly alerts of every capture among ``inputs`` to ``result``.

        Conn.logs carry no packets and are skipped; a capture that cannot be read was already
        reported by the scan itself.
        """
        from hedgerow.anomaly.detector import score_capture
        from hedgerow.capture import CaptureError

        for path in expand_inputs(inputs):
            if not path.name.lower().endswith(CAPTURE_SUFFIXES):
                continue
            try:
                result.alerts.extend(score_capture([path], self.baseline, self.networks))
            except CaptureError:
                continue
        result.alerts.sort(key=lambda a: (a.start, a.dedup_key))
