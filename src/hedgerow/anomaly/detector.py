"""Scoring traffic against a baseline, and turning anomalous packets into explained alerts.

:class:`AnomalyDetector` runs the feature kernel and both models over each
:class:`~hedgerow.capture.batch.PacketBatch`. A packet's score is the chosen model's score
divided by its calibrated threshold (the 99.9th percentile of the learning scores by default), so
``score >= 1`` marks a packet as unusual. ``model`` picks the autoencoder ensemble (``kitnet``,
the default: best on every benchmark input), the half-space trees (``hst``) or the larger of
both (``max``); both raw scores are always computed and reported. Unusual packets are grouped per
local device (the local end of the packet: the sender for outbound traffic, the receiver for
inbound; between two home devices, the one whose own statistics — ``mi_*``/``host_*`` of the
sender, ``dst_*`` of the receiver — deviate more from the learning period) and per ``window_s`` of
event time. A group becomes one
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

import functools
import ipaddress
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from hedgerow.anomaly.baseline import Baseline
from hedgerow.anomaly.features import FeatureExtractor
from hedgerow.anomaly.grouping import group_reduce, local_mask, sorted_groups, top_per_group
from hedgerow.capture import open_capture
from hedgerow.capture.batch import L3, PacketBatch
from hedgerow.model import Alert, AlertKind, Direction, LocalNetworks, Severity

DETECTOR_NAME = "anomaly.baseline"
DETECTOR_VERSION = "1"
TOP_FEATURES = 5
TOP_FLOWS = 10
_FLOW_TRACK = 256
_PEER_TRACK = 64
_DIRECTIONS = (Direction.INTERNAL, Direction.OUTBOUND, Direction.INBOUND, Direction.EXTERNAL)
MODELS = ("kitnet", "hst", "max")
_PROTO = {1: "icmp", 6: "tcp", 17: "udp", 58: "icmp", 132: "sctp"}


@functools.lru_cache(maxsize=1 << 16)  # the same devices and peers recur batch after batch
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
    peer_keys: set[int] = field(default_factory=set)
    peer_count: int = 0


class AnomalyDetector:
    """Batch-wise scoring of one capture (or live stream) against a :class:`Baseline`."""

    def __init__(
        self,
        baseline: Baseline,
        networks: LocalNetworks | None = None,
        window_s: float = 60.0,
        min_packets: int = 10,
        strong: float = 3.0,
        model: str = "kitnet",
    ) -> None:
        if model not in MODELS:
            raise ValueError(f"model must be one of {', '.join(MODELS)}, not {model!r}")
        self.model = model
        self.baseline = baseline
        self.networks = networks or baseline.local_networks
        self.window_s = window_s
        self.min_packets = min_packets
        self.strong = strong
        self.features = FeatureExtractor(
            baseline.spec, known=baseline.known_channels, networks=baseline.local_networks
        )
        names = baseline.spec.names()
        # Each end's own statistics: the sender's (mi_*, host_*) and the receiver's (dst_*).
        self._own = [
            np.array([i for i, n in enumerate(names) if n.startswith(prefix)], dtype=np.intp)
            for prefix in (("mi_", "host_"), ("dst_",))
        ]
        self._mean = baseline.feature_mean.astype(np.float32)
        self._scale = (1.0 / (baseline.feature_std + 1e-6)).astype(np.float32)
        self._groups: dict[tuple[int, int, int], _Group] = {}
        self.last_features = np.zeros((0, len(baseline.spec.names())), dtype=np.float32)
        self.packets = 0
        self.anomalous = 0

    def score_features(self, X: npt.NDArray[np.float32]) -> dict[str, npt.NDArray[np.float32]]:
        """Per-row raw ``kitnet`` and ``hst`` scores, and ``score``: the chosen model's score over
        its threshold (``max``: the larger of both).

        With ``model="kitnet"`` the rows' ``hst`` is NaN: the half-space trees give their second
        opinion only on each alert group's peak packet (``evidence.peak_hst``, see
        :meth:`process`), which spares their cost on floods where most packets are flagged.
        """
        b = self.baseline
        kit = b.kitnet.score(X)
        k = kit / b.thresholds["kitnet"]
        if self.model == "kitnet":
            hst = np.full(X.shape[0], np.nan, dtype=np.float32)
            return {"kitnet": kit, "hst": hst, "score": k.astype(np.float32)}
        hst = b.hst.score(X)
        h = hst / b.thresholds["hst"]
        score = h if self.model == "hst" else np.maximum(k, h)
        return {"kitnet": kit, "hst": hst, "score": score.astype(np.float32)}

    def score(self, batch: PacketBatch) -> npt.NDArray[np.float32]:
        """Normalised anomaly score per packet (``>= 1`` = anomalous); updates the state."""
        return self.process(batch)["score"]

    def process(self, batch: PacketBatch) -> dict[str, npt.NDArray[np.float32]]:
        """Features and scores of a batch; anomalous packets are added to the alert groups."""
        X = self.features.transform(batch)
        self.last_features = X
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
        """Fold the batch's unusual packets into per-(device, window) groups, vectorised."""
        l3 = batch.l3[hot]
        no_ip = (l3 == L3.NONE) | (l3 == L3.OTHER)
        shi, dhi = batch.src_hi[hot], batch.dst_hi[hot]
        slo = np.where(no_ip, batch.eth_src[hot], batch.src_lo[hot])
        dlo = np.where(no_ip, batch.eth_dst[hot], batch.dst_lo[hot])
        src_local = local_mask(shi, slo, self.networks) & ~no_ip
        dst_local = local_mask(dhi, dlo, self.networks) & ~no_ip
        inbound = dst_local & ~src_local
        internal = np.flatnonzero(src_local & dst_local)
        if internal.shape[0]:
            inbound[internal] = self._receiver_deviates(X[hot[internal]])
        dev_hi, dev_lo = np.where(inbound, dhi, shi), np.where(inbound, dlo, slo)
        peer_hi, peer_lo = np.where(inbound, shi, dhi), np.where(inbound, slo, dlo)
        direction = np.where(
            src_local & dst_local, 0, np.where(src_local, 1, np.where(inbound, 2, 3))
        )
        ts = batch.ts_ns[hot] / 1e9
        window = np.floor(ts / self.window_s).astype(np.int64)
        keys = np.stack([dev_hi, dev_lo, window.astype(np.uint64)], axis=1)
        order, starts = sorted_groups(keys)
        n_groups = starts.shape[0]
        group_of = np.empty(hot.shape[0], dtype=np.intp)
        group_of[order] = np.repeat(np.arange(n_groups), np.diff(np.append(starts, order.shape[0])))
        thr = self.baseline.thresholds
        counts = np.diff(np.append(starts, order.shape[0]))
        values = np.stack(
            [scores["score"], scores["kitnet"] / thr["kitnet"], scores["hst"] / thr["hst"]], axis=1
        ).astype(np.float32)
        fsum, peaks, span = group_reduce(
            X, hot, group_of, n_groups, values, batch.ts_ns.astype(np.float64) / 1e9
        )
        if self.model == "kitnet":  # the trees' second opinion on each group's peak packet
            by_score = np.lexsort((-scores["score"][hot], group_of))
            firsts = np.flatnonzero(np.diff(group_of[by_score], prepend=-1))
            peaks[:, 2] = self.baseline.hst.score(X[hot[by_score[firsts]]]) / thr["hst"]
        groups: list[_Group] = []
        for g, row in enumerate(order[starts].tolist()):
            key = (int(dev_hi[row]), int(dev_lo[row]), int(window[row]))
            grp = self._groups.get(key)
            if grp is None:
                device = _ip(key[0], key[1], int(l3[row]))
                grp = _Group(device, _DIRECTIONS[int(direction[row])], float(span[g, 0]), 0.0)
                grp.feature_sum = np.zeros(X.shape[1])
                self._groups[key] = grp
            grp.start = min(grp.start, float(span[g, 0]))
            grp.end = max(grp.end, float(span[g, 1]))
            grp.packets += int(counts[g])
            grp.max_score = max(grp.max_score, float(peaks[g, 0]))
            grp.kitnet_max = max(grp.kitnet_max, float(peaks[g, 1]))
            grp.hst_max = max(grp.hst_max, float(peaks[g, 2]))
            grp.feature_sum += fsum[g]
            groups.append(grp)
        # Peers and flows: distinct per group in one sort each; only the top ones reach Python.
        peer_keys = np.stack([group_of.astype(np.uint64), peer_hi, peer_lo], axis=1)
        p_order, p_starts = sorted_groups(peer_keys)
        p_rows = p_order[p_starts]
        p_count = np.diff(np.append(p_starts, p_order.shape[0]))
        for i in top_per_group(group_of[p_rows], p_count, _PEER_TRACK).tolist():
            r = int(p_rows[i])
            grp = groups[int(group_of[r])]
            if len(grp.peers) < _PEER_TRACK or int(peer_lo[r]) in grp.peer_keys:
                name = _ip(int(peer_hi[r]), int(peer_lo[r]), int(l3[r]))
                grp.peers[name] = grp.peers.get(name, 0) + int(p_count[i])
                grp.peer_keys.add(int(peer_lo[r]))
        sport, dport, proto = batch.sport[hot], batch.dport[hot], batch.proto[hot]
        ports = (
            (sport.astype(np.uint64) << np.uint64(24))
            | (dport.astype(np.uint64) << np.uint64(8))
            | proto.astype(np.uint64)
        )  # one sort key for the ports and protocol, exactly
        flow_keys = np.stack([group_of.astype(np.uint64), shi, slo, dhi, dlo, ports], axis=1)
        f_order, f_starts = sorted_groups(flow_keys)
        f_rows = f_order[f_starts]
        f_count = np.diff(np.append(f_starts, f_order.shape[0]))
        for i in top_per_group(group_of[f_rows], f_count, TOP_FLOWS).tolist():
            r = int(f_rows[i])
            grp = groups[int(group_of[r])]
            flow = (
                _ip(int(shi[r]), int(slo[r]), int(l3[r])), int(sport[r]),
                _ip(int(dhi[r]), int(dlo[r]), int(l3[r])), int(dport[r]),
                _PROTO.get(int(proto[r]), str(int(proto[r]))),
            )  # fmt: skip
            if flow in grp.flows or len(grp.flows) < _FLOW_TRACK:
                grp.flows[flow] = grp.flows.get(flow, 0) + int(f_count[i])
        distinct = np.bincount(group_of[p_rows], minlength=n_groups)
        for g, grp in enumerate(groups):
            grp.peer_count += int(distinct[g])

    def _receiver_deviates(self, rows: npt.NDArray[np.float32]) -> npt.NDArray[np.bool_]:
        """For packets between two home devices: whether the receiver's own statistics deviate
        more from the learning period than the sender's (then the receiver is the device the
        packet says something about, e.g. a device still flooded, talked to by its gateway)."""
        z = np.abs((rows - self._mean) * self._scale)
        sender, receiver = self._own
        return z[:, receiver].max(axis=1) > z[:, sender].max(axis=1)

    def drain(self, until: float | None = None) -> list[Alert]:
        """Alerts of the windows that ended before event time ``until`` (all when ``None``),
        then forget those windows: a live sensor calls this per batch to keep memory bounded."""
        done = [
            key
            for key in self._groups
            if until is None or (key[2] + 1) * self.window_s <= until
        ]
        ready = {key: self._groups.pop(key) for key in done}
        out = [
            self._alert(key[2], grp)
            for key, grp in ready.items()
            if grp.packets >= self.min_packets or grp.max_score >= self.strong
        ]
        return sorted(out, key=lambda a: (a.start, a.device))

    def alerts(self) -> list[Alert]:
        """One alert per (device, window) with enough unusual packets, in time order."""
        out = [
            self._alert(key[2], grp)
            for key, grp in self._groups.items()
            if grp.packets >= self.min_packets or grp.max_score >= self.strong
        ]
        return sorted(out, key=lambda a: (a.start, a.device))

    def _alert(self, window: int, grp: _Group) -> Alert:
        b = self.baseline
        names = b.spec.names()
        mean = grp.feature_sum / max(grp.packets, 1)
        z = (mean - b.feature_mean) / (b.feature_std + 1e-6)
        top: list[int] = []
        families: set[str] = set()
        for i in np.argsort(-np.abs(z), kind="stable").tolist():
            family = names[i].rsplit("_l", 1)[0]  # one entry per feature, at its most deviant λ
            if family not in families:
                families.add(family)
                top.append(i)
            if len(top) == TOP_FEATURES:
                break
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
                "peers": grp.peer_count,
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
    model: str = "kitnet",
) -> list[Alert]:
    """Anomaly alerts for captures scored against ``baseline`` (each capture on fresh state).

    This is the hook for ``hedgerow scan --baseline F``: it returns common
    :class:`~hedgerow.model.Alert` objects (``kind=anomaly``).
    """
    alerts: list[Alert] = []
    for path in paths:
        detector = AnomalyDetector(
            baseline, networks=networks, window_s=window_s, min_packets=min_packets, model=model
        )
        with open_capture(path) as reader:
            for batch in reader:
                detector.process(batch)
        alerts.extend(detector.alerts())
    return alerts
