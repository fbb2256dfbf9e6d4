"""Fixtures for the anomaly tests: real corpus captures loaded as single PacketBatches."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from hedgerow.capture import open_capture
from hedgerow.capture.batch import PacketBatch


def load_batch(path: Path) -> PacketBatch:
    """All packets of a capture as one batch."""
    with open_capture(path) as reader:
        batches = list(reader)
    return concat(batches)


def concat(batches: list[PacketBatch]) -> PacketBatch:
    names = PacketBatch.column_names()
    columns = {name: np.concatenate([getattr(b, name) for b in batches]) for name in names}
    return PacketBatch(**columns, data=np.zeros(0, dtype=np.uint8))


def sentinel_split(corpus: Path) -> tuple[list[Path], list[Path]]:
    """IoT-Sentinel captures: all but the last run of each device type / the last runs."""
    folders = sorted(p for p in (corpus / "iot-sentinel").iterdir() if p.is_dir())
    learn = [f for d in folders for f in sorted(d.glob("*.pcap"))[:-1]]
    held = [sorted(d.glob("*.pcap"))[-1] for d in folders]
    return learn, held


@pytest.fixture(scope="session")
def sshguess(corpus: Path) -> Path:
    return corpus / "zeek-traces/testing/btest/Traces/ssh/sshguess.pcap"
