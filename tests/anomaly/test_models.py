"""The two model families on real features: seeded determinism, separation, persistence."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from hedgerow.anomaly.features import FeatureExtractor
from hedgerow.anomaly.hst import HalfSpaceTrees
from hedgerow.anomaly.kitnet import AutoencoderEnsemble

from .conftest import load_batch, sentinel_split


@pytest.fixture(scope="module")
def features(corpus: Path) -> tuple[np.ndarray, np.ndarray]:
    """Benign IoT-Sentinel rows (learning) and nmap SYN-scan rows (never seen)."""
    learn, _ = sentinel_split(corpus)
    rows = [FeatureExtractor().transform(load_batch(p)) for p in learn[:24]]
    scan = FeatureExtractor().transform(load_batch(corpus / "ndpi/pcap/synscan.pcap"))
    return np.concatenate(rows), scan


def test_autoencoders_are_deterministic_and_flag_the_scan(features: tuple) -> None:
    benign, scan = features
    a = AutoencoderEnsemble(mapping_rows=1000, seed=7).learn(benign)
    b = AutoencoderEnsemble(mapping_rows=1000, seed=7)
    for start in range(0, benign.shape[0], 1500):  # batch boundaries do not matter
        b.learn(benign[start : start + 1500])
    np.testing.assert_array_equal(a.score(scan), b.score(scan))
    assert all(len(g) <= 10 for g in a.groups)
    assert sorted(i for g in a.groups for i in g) == list(range(benign.shape[1]))
    assert np.median(a.score(scan)) > 2 * np.quantile(a.score(benign), 0.5)
    c = AutoencoderEnsemble.from_arrays(*a.to_arrays())
    np.testing.assert_array_equal(c.score(scan), a.score(scan))


def test_half_space_trees_are_deterministic_and_flag_the_scan(features: tuple) -> None:
    benign, scan = features
    a = HalfSpaceTrees(seed=3).learn(benign)
    b = HalfSpaceTrees(seed=3).learn(benign)
    np.testing.assert_array_equal(a.score(scan), b.score(scan))
    assert np.median(a.score(scan)) > np.quantile(a.score(benign), 0.9)
    c = HalfSpaceTrees.from_arrays(*a.to_arrays())
    np.testing.assert_array_equal(c.score(scan), a.score(scan))


def test_untrained_models_refuse_to_score() -> None:
    with pytest.raises(ValueError, match="not been trained"):
        AutoencoderEnsemble().score(np.zeros((1, 4), dtype=np.float32))
    with pytest.raises(ValueError, match="not been trained"):
        HalfSpaceTrees().score(np.zeros((1, 4), dtype=np.float32))
