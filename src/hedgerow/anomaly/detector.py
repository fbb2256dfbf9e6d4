"""Scoring traffic against a baseline, and turning anomalous packets into explained alerts.

:class:`AnomalyDetector` runs the feature kernel and both models over each
:class:`~hedgerow.capture.batch.PacketBatch`. A packet's score is the larger of its two model
scores, each divided by that model's calibrated threshold (the 99th percentile of the learning
scores by default), so ``score >= 1`` marks a packet as unusual. Unusual packets are grouped per
local device (the local end of the packet: the sender for outbound/internal traffic, the receiver
for inbound) and per ``window_s`` of event time. A group becomes one
:class:`~hedgerow.model.Alert` with kind ``anomaly`` when it holds at least ``min_packets`` unusual
packets, or one packet scoring ``strong`` times the threshold or more; the alert names the
features that deviated most from the learning period (z-scores against its mean/std) and the
5-tuples behind it.

Example:
    >>> from hedgerow.anomaly.baseline import load_baseline
    >>> detector = AnomalyDetector(load_baseline("home.baseline"))  # doctest: +SKIP
    >>> alerts = score_capture(["suspect.pcap"], load_baseline("home.baseline"))  # doctest: +SKIP
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from hedgerow.anomaly.baseline import Baseline
from hedgerow.anomaly.features import FeatureExtractor
from hedgerow.capture import open_capture
from hedgerow.capture.batch import L3, PacketBatch
from hedgerow.model import Alert, AlertKind, Direction, LocalNetworks, Severity

DETECTOR_NAME = "anomaly.baseline"
DETECTOR_VERSION = "1"
TOP_FEATURES = 5
TOP_FLOWS = 10
_FLOW_TRACK = 256
_PROTO = {1: "icmp", 6: "tcp", 17: "udp", 58: "icmp", 132: "sctp"}


def _ip(hi: int, lo: int, l3: int) -> str:
    if l3 not in (L3.IPV4, L3.IPV6, L3.ARP):
        return ":".join(f"{(lo >> s) & 0xFF:02x}" for s in range(40, -8, -8))
    addr = ipaddress.IPv6Address((hi << 64) | lo)
    return str(addr.ipv4_mapped) if addr.ipv4_mapped is not None else str(addr)


@dataclass
class _Group:
    """What one (device, window) accumulated: counts, score peak, feature sums, flows."""

    device: str
    direction: Direction
    start: float
    end: float
    packets: int = 0
    max_score: float = 0.0
    kitnet_max: float = 0.0
    hst_max: float = 0.0
    feature_sum: npt.NDArray[np.float64] = field(default_factory=lambda: np.zeros(0))
    flows: dict[tuple[str, int, str, int, str], int] = field(default_factory=dict)
    peers: dict[str, int] = field(default_factory=dict)


class AnomalyDetector:
    """Batch-wise scoring of one capture (or live stream) against a :class:`Baseline`."""

    def __init__(
        self,
        baseline: Baseline,
        networks: LocalNetworks | None = None,
        window_s: float = 60.0,
        min_packets: int = 10,
        strong: float = 3.0,
    ) -> None:
        self.baseline = baseline
        self.networks = networks or LocalNetworks.default()
        self.window_s = window_s
        self.min_packets = min_packets
        self.strong = strong
        self.features = FeatureExtractor(baseline.spec, known=baseline.known_channels)
        self._groups: dict[tuple[str, int], _Group] = {}
        self.packets = 0
        self.anomalous = 0

    def score_features(self, X: npt.NDArray[np.float32]) -> dict[str, npt.NDArray[np.float32]]:
        """Per-row scores: ``kitnet``, ``hst`` (raw) and ``score`` (max of both / threshold)."""
        b = self.baseline
        kit = b.kitnet.score(X)
        hst = b.hst.score(X)
        combined = np.maximum(kit / b.thresholds["kitnet"], hst / b.thresholds["hst"])
        return {"kitnet": kit, "hst": hst, "score": combined.astype(np.float32)}

    def score(self, batch: PacketBatch) -> npt.NDArray[np.float32]:
        """Normalised anomaly score per packet (``>= 1`` = anomalous); updates the state."""
        return self.process(batch)["score"]

    def process(self, batch: PacketBatch) -> dict[str, npt.NDArray[np.float32]]:
        """Features and scores of a batch; anomalous packets are added to the alert groups."""
        X = self.features.transform(batch)
        scores = self.score_features(X)
        self.packets += len(batch)
        hot = np.flatnonzero(scores["score"] >= 1.0)
        if hot.shape[0]:
            self.anomalous += hot.shape[0]
            self._collect(batch, X, scores, hot)
        return scores

    def _collect(
        self,
        batch: PacketBatch,
        X: npt.NDArray[np.float32],
        scores: dict[str, npt.NDArray[np.float32]],
        hot: npt.NDArray[np.intp],
    ) -> None:
        ts = batch.ts_ns[hot] / 1e9
        window = np.floor(ts / self.window_s).astype(np.int64)
        cols = ("src_hi", "src_lo", "dst_hi", "dst_lo", "sport", "dport", "proto", "l3")
        rows = np.stack([getattr(batch, c)[hot].astype(np.uint64) for c in cols], axis=1)
        no_ip = (batch.l3[hot] == L3.NONE) | (batch.l3[hot] == L3.OTHER)
        rows[no_ip, 1] = batch.eth_src[hot][no_ip]
        rows[no_ip, 3] = batch.eth_dst[hot][no_ip]
        uniq, inverse = np.unique(
            np.concatenate([rows, window.astype(np.uint64)[:, None]], axis=1),
            axis=0,
            return_inverse=True,
        )
        inverse = inverse.reshape(-1)
        counts = np.bincount(inverse, minlength=uniq.shape[0])
        score = scores["score"][hot]
        width = X.shape[1]
        fsum = np.zeros((uniq.shape[0], width))
        np.add.at(fsum, inverse, X[hot].astype(np.float64))
        peak = np.zeros(uniq.shape[0], dtype=np.float32)
        np.maximum.at(peak, inverse, score)
        kit_peak = np.zeros(uniq.shape[0], dtype=np.float32)
        np.maximum.at(kit_peak, inverse, scores["kitnet"][hot] / self.baseline.thresholds["kitnet"])
        hst_peak = np.zeros(uniq.shape[0], dtype=np.float32)
        np.maximum.at(hst_peak, inverse, scores["hst"][hot] / self.baseline.thresholds["hst"])
        first = np.full(uniq.shape[0], np.inf)
        np.minimum.at(first, inverse, ts)
        last = np.full(uniq.shape[0], -np.inf)
        np.maximum.at(last, inverse, ts)
        for g, (shi, slo, dhi, dlo, sp, dp, pr, l3, win) in enumerate(uniq.tolist()):
            src, dst = _ip(shi, slo, l3), _ip(dhi, dlo, l3)
            direction = self.networks.direction(src, dst)
            device, peer = (dst, src) if direction is Direction.INBOUND else (src, dst)
            key = (device, int(win))
            grp = self._groups.get(key)
            if grp is None:
                grp = _Group(device, direction, float(first[g]), float(last[g]))
                grp.feature_sum = np.zeros(width)
                self._groups[key] = grp
            grp.start = min(grp.start, float(first[g]))
            grp.end = max(grp.end, float(last[g]))
            grp.packets += int(counts[g])
            grp.max_score = max(grp.max_score, float(peak[g]))
            grp.kitnet_max = max(grp.kitnet_max, float(kit_peak[g]))
            grp.hst_max = max(grp.hst_max, float(hst_peak[g]))
            grp.feature_sum += fsum[g]
            grp.peers[peer] = grp.peers.get(peer, 0) + int(counts[g])
            flow = (src, int(sp), dst, int(dp), _PROTO.get(int(pr), str(pr)))
            if flow in grp.flows or len(grp.flows) < _FLOW_TRACK:
                grp.flows[flow] = grp.flows.get(flow, 0) + int(counts[g])

    def alerts(self) -> list[Alert]:
        """One alert per (device, window) with enough unusual packets, in time order."""
        out = [
            self._alert(key[1], grp)
            for key, grp in self._groups.items()
            if grp.packets >= self.min_packets or grp.max_score >= self.strong
        ]
        return sorted(out, key=lambda a: (a.start, a.device))

    def _alert(self, window: int, grp: _Group) -> Alert:
        b = self.baseline
        names = b.spec.names()
        mean = grp.feature_sum / max(grp.packets, 1)
        z = (mean - b.feature_mean) / (b.feature_std + 1e-6)
        top = np.argsort(-np.abs(z), kind="stable")[:TOP_FEATURES]
        n_unsigned = b.spec.n_unsigned
        features = [
            {
                "name": names[i],
                "z": round(float(z[i]), 2),
                "value": _raw(float(mean[i]), i, n_unsigned),
                "baseline_mean": _raw(float(b.feature_mean[i]), i, n_unsigned),
            }
            for i in top
        ]
        flows = sorted(grp.flows.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP_FLOWS]
        peers = tuple(p for p, _ in sorted(grp.peers.items(), key=lambda kv: (-kv[1], kv[0])))
        ratio = grp.max_score
        severity = Severity.HIGH if ratio >= 10 else Severity.MEDIUM if ratio >= 3 else Severity.LOW
        explain = ", ".join(f"{f['name']} z={f['z']:+.1f}" for f in features[:3])
        return Alert(
            kind=AlertKind.ANOMALY,
            detector=DETECTOR_NAME,
            detector_version=DETECTOR_VERSION,
            direction=grp.direction.value,
            device=grp.device,
            peers=peers[:10],
            severity=severity,
            confidence=round(min(0.99, 1.0 - 0.5 / ratio), 3),
            start=grp.start,
            end=grp.end,
            summary=(
                f"{grp.device}: {grp.packets} packets unlike the baseline "
                f"(peak {ratio:.1f}x threshold); most deviant: {explain}"
            ),
            evidence={
                "packets": grp.packets,
                "peak_score": round(ratio, 3),
                "peak_kitnet": round(grp.kitnet_max, 3),
                "peak_hst": round(grp.hst_max, 3),
                "features": features,
                "flows": [
                    {
                        "id.orig_h": f[0],
                        "id.orig_p": f[1],
                        "id.resp_h": f[2],
                        "id.resp_p": f[3],
                        "proto": f[4],
                        "packets": n,
                    }
                    for f, n in flows
                ],
                "peers": len(grp.peers),
            },
            window_key=window,
        )


def _raw(value: float, column: int, n_unsigned: int) -> float:
    """A feature value back on its own scale (undoing the ``log1p`` transform)."""
    if column < n_unsigned:
        return round(float(np.expm1(value)), 4)
    return round(value, 4)


def score_capture(
    paths: Sequence[str | os.PathLike[str]] | Iterable[str | os.PathLike[str]],
    baseline: Baseline,
    networks: LocalNetworks | None = None,
    window_s: float = 60.0,
    min_packets: int = 10,
) -> list[Alert]:
    """Anomaly alerts for captures scored against ``baseline`` (each capture on fresh state).

    This is the hook for ``hedgerow scan --baseline F``: it returns common
    :class:`~hedgerow.model.Alert` objects (``kind=anomaly``).
    """
    alerts: list[Alert] = []
    for path in paths:
        detector = AnomalyDetector(
            baseline, networks=networks, window_s=window_s, min_packets=min_packets
        )
        with open_capture(path) as reader:
            for batch in reader:
                detector.process(batch)
        alerts.extend(detector.alerts())
    return alerts
