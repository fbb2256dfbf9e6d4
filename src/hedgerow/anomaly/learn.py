"""Learning a baseline from benign captures (or the first part of one), without labels.

All packets of the learning period stream through the feature kernel once. The period is cut
into blocks of ``validation_block_s`` seconds of learning time (captures laid end to end); every
``validation_every``-th block is held out. The autoencoder ensemble learns online (KitNET's single
pass) on the other blocks while seeded reservoirs keep a bounded sample of each kind of row. The
training sample then serves for ``epochs - 1`` further shuffled passes of the autoencoders and to
grow the half-space trees; the held-out sample calibrates the thresholds:

    threshold(model) = quantile(scores of the held-out sample, ``quantile``) × ``margin``

A model scores the rows it was fitted to lower than traffic it has not seen, so a threshold from
the training rows would pass far more than one benign packet in a thousand of new traffic; the
held-out blocks are benign traffic the models have not seen (the state, and the known hosts,
channels and services, still follow every packet). When fewer than ``validation_min_rows`` rows
were held out (a learning period of a few minutes) the training sample calibrates, and the
header says so. A single packet above the threshold means little; the detector alerts on a
device only when many of its packets in a window do, or when one scores far above anything
learned (see :class:`~hedgerow.anomaly.detector.AnomalyDetector`). Memory is bounded by the
feature tables and the reservoirs, whatever the length of the captures.

Example:
    >>> from pathlib import Path
    >>> corpus = Path("../shared/corpus/iot-sentinel/Aria")
    >>> baseline = learn_baseline(sorted(corpus.glob("*.pcap")))  # doctest: +SKIP
    >>> sorted(baseline.thresholds)  # doctest: +SKIP
    ['hst', 'kitnet']
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from hedgerow.anomaly.baseline import Baseline
from hedgerow.anomaly.features import FeatureExtractor, FeatureSpec
from hedgerow.anomaly.hst import HalfSpaceTrees
from hedgerow.anomaly.kitnet import AutoencoderEnsemble
from hedgerow.capture import open_capture
from hedgerow.capture.batch import L3, PacketBatch
from hedgerow.model import LocalNetworks


@dataclass(frozen=True)
class LearnConfig:
    """How a baseline is learned; every field is recorded in the baseline's header."""

    spec: FeatureSpec = field(default_factory=FeatureSpec)
    seed: int = 0
    max_group: int = 10
    hidden_ratio: float = 0.75
    learning_rate: float = 0.1
    mapping_rows: int = 5000
    epochs: int = 5
    sample_rows: int = 100_000
    hst_trees: int = 20
    hst_depth: int = 10
    quantile: float = 0.999
    margin: float = 1.0
    validation_every: int = 5
    validation_block_s: float = 300.0
    validation_min_rows: int = 1000
    max_packets: int | None = None
    max_seconds: float | None = None


class _Reservoir:
    """Seeded reservoir sample of feature rows (Vitter's algorithm R, vectorised per batch)."""

    def __init__(self, capacity: int, width: int, seed: int) -> None:
        self.rows = np.zeros((capacity, width), dtype=np.float32)
        self.filled = 0
        self.seen = 0
        self.rng = np.random.default_rng(seed)

    def add(self, X: npt.NDArray[np.float32]) -> None:
        cap = self.rows.shape[0]
        take = min(cap - self.filled, X.shape[0])
        self.rows[self.filled : self.filled + take] = X[:take]
        self.filled += take
        rest = X[take:]
        if rest.shape[0]:
            pos = self.seen + take + np.arange(rest.shape[0])
            slot = (self.rng.random(rest.shape[0]) * (pos + 1)).astype(np.int64)
            keep = slot < cap
            self.rows[slot[keep]] = rest[keep]
        self.seen += X.shape[0]

    @property
    def sample(self) -> npt.NDArray[np.float32]:
        return self.rows[: self.filled]


def _learning_batches(
    paths: Sequence[str | os.PathLike[str]], config: LearnConfig
) -> Iterator[tuple[int, PacketBatch]]:
    """(capture index, batch) over the captures, cut to the learning period."""
    left = config.max_packets
    for index, path in enumerate(paths):
        start: int | None = None
        with open_capture(path) as reader:
            for batch in reader:
                if len(batch) == 0:
                    continue
                if config.max_seconds is not None:
                    start = int(batch.ts_ns[0]) if start is None else start
                    end = start + int(config.max_seconds * 1e9)
                    batch = batch.take(np.flatnonzero(batch.ts_ns < end))
                if left is not None:
                    batch = batch.take(np.arange(min(left, len(batch))))
                    left -= len(batch)
                if len(batch):
                    yield index, batch
                if left == 0:
                    return
                if config.max_seconds is not None and len(batch) == 0:
                    break


def _ip_text(hi: int, lo: int) -> str:
    value = (hi << 64) | lo
    addr = ipaddress.IPv6Address(value)
    return str(addr.ipv4_mapped) if addr.ipv4_mapped is not None else str(addr)


def _mac_text(value: int) -> str:
    return ":".join(f"{(value >> s) & 0xFF:02x}" for s in range(40, -8, -8))


class _DeviceTally:
    """Local senders seen while learning: MAC → IPs and packet count (vectorised per batch)."""

    def __init__(self, networks: LocalNetworks) -> None:
        self.networks = networks
        self.packets: dict[tuple[int, int, int], int] = {}

    def add(self, batch: PacketBatch) -> None:
        ip = (batch.l3 == L3.IPV4) | (batch.l3 == L3.IPV6)
        keys = np.stack([batch.eth_src[ip], batch.src_hi[ip], batch.src_lo[ip]], axis=1)
        if keys.shape[0] == 0:
            return
        uniq, counts = np.unique(keys, axis=0, return_counts=True)
        for (mac, hi, lo), n in zip(uniq.tolist(), counts.tolist(), strict=True):
            k = (mac, hi, lo)
            self.packets[k] = self.packets.get(k, 0) + n

    def devices(self, kinds: dict[str, str]) -> list[dict[str, Any]]:
        by_mac: dict[str, dict[str, Any]] = {}
        for (mac, hi, lo), n in self.packets.items():
            ip = _ip_text(hi, lo)
            if not self.networks.is_local(ip) or ip in ("0.0.0.0", "::"):
                continue
            mac_s = _mac_text(mac)
            dev = by_mac.setdefault(mac_s, {"mac": mac_s, "ips": [], "packets": 0})
            dev["ips"].append(ip)
            dev["packets"] += n
        out = []
        for mac_s, dev in sorted(by_mac.items()):
            dev["ips"] = sorted(set(dev["ips"]))
            dev["kind"] = kinds.get(mac_s)
            out.append(dev)
        return out


def learn_baseline(
    paths: Sequence[str | os.PathLike[str]],
    config: LearnConfig | None = None,
    kinds: dict[str, str] | None = None,
    networks: LocalNetworks | None = None,
) -> Baseline:
    """Learn a :class:`Baseline` from benign captures (each read in order, state per capture).

    ``kinds`` maps device MACs (``aa:bb:..``) to device kinds to record in the baseline;
    ``networks`` are the home networks (default: RFC 1918, CGNAT, ULA, link-local), recorded in
    the baseline: the features judge novelty on home addresses only.
    Raises ``ValueError`` when the captures hold no packets.
    """
    config = config or LearnConfig()
    spec = config.spec
    kitnet = AutoencoderEnsemble(
        max_group=config.max_group, hidden_ratio=config.hidden_ratio,
        learning_rate=config.learning_rate, mapping_rows=config.mapping_rows, seed=config.seed,
    )  # fmt: skip
    width = len(spec.names())
    sums = np.zeros(width)
    squares = np.zeros(width)
    reservoir = _Reservoir(config.sample_rows, width, config.seed)
    tally = _DeviceTally(networks or LocalNetworks.default())
    known: npt.NDArray[np.uint64] | None = None
    fx: FeatureExtractor | None = None
    current = -1
    per_capture: list[int] = [0] * len(paths)
    first_ts: int | None = None
    last_ts = 0
    held_out = _Reservoir(config.sample_rows, width, config.seed + 2)
    clock = _LearningClock(config)
    for index, batch in _learning_batches(paths, config):
        if index != current:
            known = fx.known_channels if fx is not None else known
            fx = FeatureExtractor(spec, known=known, learning=True, networks=networks)
            current = index
            clock.new_capture(int(batch.ts_ns[0]))
        assert fx is not None
        X = fx.transform(batch)
        validate = clock.held_out(batch.ts_ns)
        train = X[~validate] if validate.any() else X
        kitnet.learn(train)
        reservoir.add(train)
        held_out.add(X[validate])
        sums += X.sum(axis=0, dtype=np.float64)
        squares += np.square(X, dtype=np.float64).sum(axis=0)
        tally.add(batch)
        per_capture[index] += len(batch)
        first_ts = int(batch.ts_ns[0]) if first_ts is None else first_ts
        last_ts = int(batch.ts_ns[-1])
    if fx is None or reservoir.seen == 0:
        raise ValueError("the learning captures hold no packets")
    kitnet.finish()
    sample = reservoir.sample
    _extra_epochs(kitnet, sample, config)
    hst = HalfSpaceTrees(
        n_trees=config.hst_trees, depth=config.hst_depth, seed=config.seed
    ).learn(sample)
    validated = held_out.filled >= config.validation_min_rows
    calibrate = held_out.sample if validated else sample
    thresholds = {
        "kitnet": float(np.quantile(kitnet.score(calibrate), config.quantile)) * config.margin,
        "hst": float(np.quantile(hst.score(calibrate), config.quantile)) * config.margin,
    }
    n = reservoir.seen + held_out.seen
    mean = sums / n
    std = np.sqrt(np.clip(squares / n - mean * mean, 0.0, None))
    return Baseline(
        spec=spec,
        kitnet=kitnet,
        hst=hst,
        thresholds=thresholds,
        feature_mean=mean,
        feature_std=std,
        known_channels=fx.known_channels.copy(),
        training={
            "captures": [
                {"path": os.fspath(p), "packets": k}
                for p, k in zip(paths, per_capture, strict=True)
            ],
            "packets": n,
            "first_ts": (first_ts or 0) / 1e9,
            "last_ts": last_ts / 1e9,
            "config": _config_dict(config),
        },
        devices=tally.devices(kinds or {}),
        calibration={
            "quantile": config.quantile,
            "margin": config.margin,
            "source": "validation" if validated else "training",
            "rows": int(calibrate.shape[0]),
        },
        networks=tuple(str(net) for net in (networks or LocalNetworks.default()).networks),
    )


class _LearningClock:
    """Which packets fall in the validation blocks: every ``validation_every``-th block of
    ``validation_block_s`` seconds of learning time (captures laid end to end)."""

    def __init__(self, config: LearnConfig) -> None:
        self.every = config.validation_every
        self.block_ns = int(config.validation_block_s * 1e9)
        self.offset = 0  # learning time before the current capture, ns
        self.start = 0
        self.last = 0

    def new_capture(self, first_ns: int) -> None:
        self.offset += max(0, self.last - self.start)
        self.start = self.last = first_ns

    def held_out(self, ts_ns: npt.NDArray[np.int64]) -> npt.NDArray[np.bool_]:
        self.last = max(self.last, int(ts_ns[-1]))
        if self.every < 2:
            return np.zeros(ts_ns.shape[0], dtype=bool)
        block = (ts_ns.astype(np.int64) - self.start + self.offset) // self.block_ns
        return block % self.every == self.every - 1


def _extra_epochs(
    kitnet: AutoencoderEnsemble, sample: npt.NDArray[np.float32], config: LearnConfig
) -> None:
    rng = np.random.default_rng(config.seed + 1)
    for _ in range(max(0, config.epochs - 1)):
        kitnet.learn(sample[rng.permutation(sample.shape[0])])


def _config_dict(config: LearnConfig) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in config.__dataclass_fields__:
        value = getattr(config, name)
        out[name] = value.to_dict() if isinstance(value, FeatureSpec) else value
    return out


def iter_paths(paths: Iterable[str | os.PathLike[str]]) -> list[str]:
    """Captures named directly or found (``*.pcap``, ``*.pcapng``, gz) under directories."""
    out: list[str] = []
    for p in paths:
        p = os.fspath(p)
        if os.path.isdir(p):
            for root, _, files in sorted(os.walk(p)):
                for name in sorted(files):
                    if name.endswith((".pcap", ".pcapng", ".cap", ".pcap.gz", ".pcapng.gz")):
                        out.append(os.path.join(root, name))
        else:
            out.append(p)
    return out
