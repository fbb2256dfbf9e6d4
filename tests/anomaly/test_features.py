"""Damped-statistics features on real captures: reference values, batch invariance, bounds."""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import numpy as np

from hedgerow.anomaly.features import FeatureExtractor, FeatureSpec
from hedgerow.capture.batch import L3

from .conftest import load_batch


def test_source_stats_match_a_plain_reference(sshguess: Path) -> None:
    batch = load_batch(sshguess)
    X = FeatureExtractor().transform(batch)
    spec = FeatureSpec()
    names = spec.names()
    assert X.shape == (len(batch), len(names)) and np.isfinite(X).all()
    ipv4 = batch.l3 == L3.IPV4
    pairs, counts = np.unique(
        np.stack([batch.eth_src[ipv4], batch.src_lo[ipv4]], axis=1), axis=0, return_counts=True
    )
    mac, ip = pairs[np.argmax(counts)]
    rows = np.flatnonzero((batch.eth_src == mac) & (batch.src_lo == ip) & ipv4)
    assert rows.shape[0] > 100
    for lam in spec.lambdas:
        w = s1 = s2 = 0.0
        last = None
        for r in rows:
            t = batch.ts_ns[r] / 1e9
            f = 1.0 if last is None or t <= last else 2.0 ** (-lam * (t - last))
            v = float(batch.wire_len[r])
            w, s1, s2 = w * f + 1, s1 * f + v, s2 * f + v * v
            last = t
            mean = s1 / w
            std = math.sqrt(abs(s2 / w - mean * mean))
            got = X[r, [names.index(f"mi_{k}_l{lam:g}") for k in ("weight", "mean", "std")]]
            np.testing.assert_allclose(np.expm1(got), [w, mean, std], rtol=2e-4, atol=2e-3)


def test_batches_split_anywhere_give_the_same_rows(sshguess: Path) -> None:
    batch = load_batch(sshguess)
    whole = FeatureExtractor().transform(batch)
    fx = FeatureExtractor()
    cuts = [0, 1, 57, 200, len(batch)]
    parts = [fx.transform(batch.take(np.arange(a, b))) for a, b in itertools.pairwise(cuts)]
    np.testing.assert_array_equal(np.concatenate(parts), whole)


def test_scan_raises_new_peer_and_syn_features(corpus: Path) -> None:
    batch = load_batch(corpus / "ndpi/pcap/synscan.pcap")
    X = FeatureExtractor().transform(batch)
    names = FeatureSpec().names()
    scanner = batch.src_lo == np.uint64(0xFFFF_AC10_0008)  # 172.16.0.8
    syn = np.expm1(X[scanner, names.index("host_syn_share_l0.1")])
    ports = np.expm1(X[scanner, names.index("host_new_ports_l0.01")])
    assert syn[-1] > 0.9  # nearly everything it sends is a bare SYN
    assert ports[-1] > 500  # hundreds of new sockets (ports) within the slow window


def test_memory_is_bounded_by_capacity_not_capture_length(corpus: Path) -> None:
    batch = load_batch(corpus / "stopddos/pkt.TCP.synflood.spoofed.pcap")  # 37,841 spoofed SYNs
    spec = FeatureSpec(
        mi_capacity=256, host_capacity=256, channel_capacity=256, socket_capacity=256
    )
    fx = FeatureExtractor(spec)
    before = fx.state_bytes
    for start in range(0, len(batch), 5000):
        X = fx.transform(batch.take(np.arange(start, min(start + 5000, len(batch)))))
        assert np.isfinite(X).all()
        assert all(n <= 128 for n in fx.tracked.values())
    assert fx.state_bytes == before


def test_known_channels_mark_new_destinations(sshguess: Path) -> None:
    batch = load_batch(sshguess)
    names = FeatureSpec().names()
    col = names.index("host_novel_share_l1")
    learner = FeatureExtractor(learning=True)
    learner.transform(batch)
    again = FeatureExtractor(known=learner.known_channels).transform(batch)
    stranger = FeatureExtractor().transform(batch)
    assert again[:, col].max() == 0.0  # every channel was seen while learning
    assert stranger[:, col].min() > 0.0  # nothing is known to an empty baseline
