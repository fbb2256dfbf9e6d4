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


def test_known_channels_mark_new_destinations(corpus: Path, sshguess: Path) -> None:
    batch = load_batch(sshguess)
    names = FeatureSpec().names()
    col = names.index("host_novel_l1")
    learner = FeatureExtractor(learning=True)
    learner.transform(batch)
    again = FeatureExtractor(known=learner.known_channels).transform(batch)
    assert again[:, col].max() == 0.0  # every channel was seen while learning
    # Both hosts known, but never to each other: the FTP capture teaches 192.168.56.1, the SSH
    # capture moved onto 192.168.56.101 teaches .101 <-> .103; then .1 <-> .103 is new.
    other = FeatureExtractor(learning=True)
    other.transform(load_batch(corpus / "zeek-traces/testing/btest/Traces/ftp/bruteforce.pcap"))
    moved = load_batch(sshguess)
    client, elsewhere = np.uint64(0xFFFF_C0A8_3801), np.uint64(0xFFFF_C0A8_3865)
    moved.src_lo = np.where(moved.src_lo == client, elsewhere, moved.src_lo)
    moved.dst_lo = np.where(moved.dst_lo == client, elsewhere, moved.dst_lo)
    other.transform(moved)
    fresh = FeatureExtractor(known=other.known_channels).transform(batch)
    ipv4 = batch.l3 == L3.IPV4
    assert np.expm1(fresh[ipv4, col]).min() >= 1.0  # every packet of the conversation is novel


def _novelty(X: np.ndarray) -> np.ndarray:
    """Damped novel-packet counts of every row (channel and service, both ends, every λ)."""
    names = FeatureSpec().names()
    return np.expm1(X[:, [i for i, n in enumerate(names) if "novel" in n]])


def test_correlations_stay_within_bounds(corpus: Path) -> None:
    # This WeMo setup sends runs of nearly equal packet sizes: the damped residual covariance
    # overshot the product of the tiny variances there (|correlation| up to 995 before).
    batch = load_batch(corpus / "iot-sentinel/WeMoLink/Setup-A-12-STA.pcap")
    X = FeatureExtractor().transform(batch)
    pcc = [i for i, n in enumerate(FeatureSpec().names()) if "_pcc_" in n]
    assert np.abs(X[:, pcc]).max() <= 1.0
    assert np.abs(X[:, pcc]).max() > 0.5  # the correlations are there, only bounded


def test_rotating_cloud_addresses_are_not_novel(corpus: Path) -> None:
    """A WeMo's fourth setup reaches its cloud at addresses the first three never used (client
    ports 3000-4900 towards server port 8443, so the lower port is the client's): neither the
    addresses nor the lower-port side count, the ports its clients use do."""
    runs = sorted((corpus / "iot-sentinel/WeMoInsightSwitch").glob("*.pcap"))
    learner = FeatureExtractor(learning=True)
    seen: set[int] = set()
    for run in runs[:3]:
        b = load_batch(run)
        learner.transform(b)
        seen |= set(b.src_lo.tolist()) | set(b.dst_lo.tolist())
    held = load_batch(runs[3])
    new_addresses = np.isin(held.dst_lo, list(set(held.dst_lo.tolist()) - seen))
    assert new_addresses.sum() > 50  # packets to cloud addresses never seen while learning
    X = FeatureExtractor(known=learner.known_channels).transform(held)
    assert _novelty(X).max() == 0.0


def test_a_home_host_serving_a_new_port_is_novel(corpus: Path, sshguess: Path) -> None:
    """Both hosts of the SSH guessing are known; the same client then brute-forces FTP on the
    same server: a conversation seen before, a service never served before."""
    names = FeatureSpec().names()
    learner = FeatureExtractor(learning=True)
    learner.transform(load_batch(sshguess))  # 192.168.56.1 -> 192.168.56.103:22
    ftp = load_batch(corpus / "zeek-traces/testing/btest/Traces/ftp/bruteforce.pcap")
    server = np.uint64(0xFFFF_C0A8_3865)  # 192.168.56.101 -> .103, a known host
    ftp.src_lo = np.where(ftp.src_lo == server, np.uint64(0xFFFF_C0A8_3867), ftp.src_lo)
    ftp.dst_lo = np.where(ftp.dst_lo == server, np.uint64(0xFFFF_C0A8_3867), ftp.dst_lo)
    X = FeatureExtractor(known=learner.known_channels).transform(ftp)
    service = np.expm1(X[:, names.index("dst_novel_service_l0.01")])
    channel = np.expm1(X[:, names.index("dst_novel_l0.01")])
    assert channel.max() == 0.0
    assert service[-1] > 100  # hundreds of packets for a port .103 never served, in 100 s


def test_hosts_never_seen_make_nothing_novel(corpus: Path, sshguess: Path) -> None:
    """Against a baseline of the SSH guessing, the FTP brute force goes to a server never seen:
    it has no history to be new against, and its client should not look new for meeting it."""
    learner = FeatureExtractor(learning=True)
    learner.transform(load_batch(sshguess))
    ftp = load_batch(corpus / "zeek-traces/testing/btest/Traces/ftp/bruteforce.pcap")
    X = FeatureExtractor(known=learner.known_channels).transform(ftp)
    assert _novelty(X).max() == 0.0
    # Nor do strangers' multicast announcements (IPv6 mDNS to ff02::fb) and ARP broadcasts.
    botnet = load_batch(corpus / "slips/dataset/test7-malicious.pcap")
    to_groups = (botnet.eth_dst >> np.uint64(40)) & np.uint64(1) == 1
    assert to_groups.sum() > 50
    X = FeatureExtractor(known=learner.known_channels).transform(botnet)
    assert _novelty(X).max() == 0.0


def test_home_networks_decide_what_is_local() -> None:
    from hedgerow.anomaly.scope import is_local, scope_table
    from hedgerow.model import LocalNetworks

    table = scope_table(LocalNetworks.parse(["2001:db8:1::/64", "203.0.113.0/24"]))
    hi = np.array([0x2001_0DB8_0001_0000, 0x2001_0DB8_0002_0000, 0xFF02 << 48, 0, 0],
                  dtype=np.uint64)  # fmt: skip
    lo = np.array([5, 5, 0xFB, 0xFFFF_CB00_7107, 0xFFFF_C0A8_0001], dtype=np.uint64)
    # home /64, another /64, mDNS multicast, 203.0.113.7, 192.168.0.1 (not a home net here)
    assert is_local(hi, lo, table).tolist() == [True, False, True, True, False]
