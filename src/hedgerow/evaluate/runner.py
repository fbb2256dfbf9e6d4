"""Run detection over every capture a ground-truth file names, and score each one.

Flows are read through a reader callable (``hedgerow.flows.source.iter_flows`` in the CLI),
so this module stays independent of the capture stage.

Example:
    >>> from pathlib import Path
    >>> from hedgerow.flows.source import iter_flows
    >>> from hedgerow.evaluate.truth import GroundTruth
    >>> gt = GroundTruth.model_validate({"schema_version": "1", "source": "slips", "captures": [
    ...     {"path": "slips/dataset/port-scans/vertical/conn.log", "reference": "Slips test",
    ...      "attacks": [{"attacker": "192.168.1.9", "victim": "45.33.32.156", "kind": "scan",
    ...                   "direction": "outbound"}]}]})
    >>> read = lambda path, observers: iter_flows([path], packet_observers=observers)
    >>> scores = evaluate(gt, Path("/work/shared/corpus"), read)
    >>> scores[0].attacks[0].detected
    True
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import polars as pl

from hedgerow.detect.engine import OFFLINE_DEFER_ROWS, DetectionEngine
from hedgerow.evaluate.score import CaptureScore, score_capture
from hedgerow.evaluate.truth import GroundTruth
from hedgerow.flows.schema import FLOW_SCHEMA
from hedgerow.flows.source import FlowReader
from hedgerow.model import LocalNetworks

_KEEP = ["ts", "id.orig_h", "id.resp_h", "proto", "label"]


def evaluate(
    truth: GroundTruth,
    root: Path,
    read: FlowReader,
    *,
    rule_dirs: Sequence[Path] = (),
    intel_files: Sequence[Path] = (),
) -> list[CaptureScore]:
    """Detect and score every capture file of ``truth`` (paths under ``root``)."""
    scores = []
    for entry in truth.captures:
        files = entry.files(root)
        if not files:
            scores.append(
                CaptureScore(
                    entry.path, entry.benign, 0, 0, error=f"{root / entry.path}: no such capture"
                )
            )
            continue
        networks = LocalNetworks.parse(entry.home_net) if entry.home_net else None
        template = DetectionEngine.from_rule_dirs(
            rule_dirs, networks=networks, intel_files=intel_files, defer_rows=OFFLINE_DEFER_ROWS
        )
        for file in files:
            engine = template.fresh()
            kept: list[pl.DataFrame] = []
            try:
                for batch in read(file, engine.packet_observers):
                    engine.process(batch)
                    kept.append(batch.select(_KEEP))
            except (OSError, ValueError) as exc:
                scores.append(
                    CaptureScore(str(file), entry.benign, 0, 0, error=str(exc).splitlines()[0])
                )
                continue
            alerts = engine.finish()
            empty = pl.DataFrame(schema={k: FLOW_SCHEMA[k] for k in _KEEP})
            flows = pl.concat(kept) if kept else empty
            present = set(flows["proto"].drop_nulls().unique().to_list()) if flows.height else set()
            rel = str(file.relative_to(root)) if file.is_relative_to(root) else str(file)
            scores.append(score_capture(rel, entry, alerts, flows, flows_present=present))
    return scores
