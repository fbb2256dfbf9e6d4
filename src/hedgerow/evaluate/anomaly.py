"""Score the anomaly detector (a learned baseline) against the same ground truth as the rules.

Every packet capture a ground-truth file names runs through a fresh
:class:`~hedgerow.anomaly.detector.AnomalyDetector`. Two figures come out:

* **host level** — an attack counts as found when a ``kind=anomaly`` alert has its attacker and
  victim on the alert's two sides within its time window (:func:`~hedgerow.evaluate.score.explains`
  with ``any_kind``: an anomaly alert never names the attack's kind), and *right direction* when
  the alert's direction is the attack's too. Alert precision and benign captures are scored as for
  the rules, by :func:`~hedgerow.evaluate.score.score_capture`.
* **packet level** — a packet is an attack packet when it goes between a listed attacker and
  victim (``*`` = any host) inside the attack's window (±1 s), as the flow-level truth is; the AUC
  of the detector's per-packet score against that label, per capture and pooled per source
  (``None`` when a side has no packets, e.g. a capture that is all attack).

Conn.logs carry no packets: they are reported as not scorable.

Example:
    >>> from pathlib import Path
    >>> from hedgerow.anomaly import learn_baseline
    >>> from hedgerow.evaluate import load_ground_truth
    >>> corpus = Path("/work/shared/corpus")
    >>> aria = sorted((corpus / "iot-sentinel/Aria").glob("*.pcap"))
    >>> base = learn_baseline(aria)  # doctest: +SKIP
    >>> gt = load_ground_truth(Path("data/ground_truth/slips.json"))  # doctest: +SKIP
    >>> s = summarize_anomaly("slips", evaluate_anomaly(gt, corpus, base))  # doctest: +SKIP
    >>> s.detected, s.attacks, round(s.auc, 2)  # doctest: +SKIP
    (4, 5, 0.6)
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl

from hedgerow.anomaly.baseline import Baseline
from hedgerow.anomaly.detector import AnomalyDetector
from hedgerow.capture import CaptureError, open_capture
from hedgerow.capture.batch import PacketBatch
from hedgerow.evaluate.score import TIME_SLACK, CaptureScore, explains, score_capture
from hedgerow.evaluate.truth import Attack, GroundTruth
from hedgerow.model import AlertKind, LocalNetworks

PACKET_SUFFIXES = (".pcap", ".pcapng", ".cap", ".pcap.gz", ".pcapng.gz")
_NO_FLOWS = pl.DataFrame(
    schema={"ts": pl.Float64, "id.orig_h": pl.String, "id.resp_h": pl.String, "label": pl.String}
)


def auc(labels: npt.NDArray[np.bool_], scores: npt.NDArray[np.float32]) -> float | None:
    """Area under the ROC curve (Mann-Whitney U, ties counted half); ``None`` with one class.

    >>> auc(np.array([False, False, True]), np.array([0.1, 0.2, 0.9], dtype=np.float32))
    1.0
    """
    from scipy.stats import rankdata

    ok = np.isfinite(scores)
    y, s = labels[ok], scores[ok]
    pos, neg = int(y.sum()), int((~y).sum())
    if pos == 0 or neg == 0:
        return None
    ranks = rankdata(s)
    return float((ranks[y].sum() - pos * (pos + 1) / 2) / (pos * neg))


@dataclass
class AnomalyCaptureScore:
    """The anomaly detector's score on one capture file."""

    path: str
    benign: bool
    packets: int = 0
    attack_packets: int = 0
    auc: float | None = None
    hosts: CaptureScore | None = None
    right_direction: list[bool] = field(default_factory=list)
    labels: npt.NDArray[np.bool_] = field(default_factory=lambda: np.zeros(0, dtype=bool))
    scores: npt.NDArray[np.float32] = field(default_factory=lambda: np.zeros(0, dtype=np.float32))
    not_scorable: str = ""
    error: str | None = None


def _address(host: str) -> tuple[int, int]:
    """(hi, lo) of an address as :class:`PacketBatch` stores it (IPv4 as IPv4-mapped IPv6)."""
    try:
        addr = ipaddress.ip_address(host)
    except ValueError:
        raise ValueError(f"attacker/victim {host!r} is neither an address nor '*'") from None
    value = int(ipaddress.IPv6Address(f"::ffff:{addr}") if addr.version == 4 else addr)
    return value >> 64, value & 0xFFFF_FFFF_FFFF_FFFF


def _is(hi: npt.NDArray[np.uint64], lo: npt.NDArray[np.uint64], host: str) -> npt.NDArray[np.bool_]:
    if host == "*":
        return np.ones(hi.shape[0], dtype=bool)
    h, low = _address(host)
    return (hi == np.uint64(h)) & (lo == np.uint64(low))


def packet_truth(batch: PacketBatch, attacks: list[Attack]) -> npt.NDArray[np.bool_]:
    """Whether each packet belongs to a listed attack: attacker↔victim (either way) in its window.

    Raises ``ValueError`` for an attacker/victim that is not an address or ``*``.
    """
    out = np.zeros(len(batch), dtype=bool)
    ts = batch.ts_ns / 1e9
    for attack in attacks:
        fwd = _is(batch.src_hi, batch.src_lo, attack.attacker) & _is(
            batch.dst_hi, batch.dst_lo, attack.victim
        )
        bwd = _is(batch.dst_hi, batch.dst_lo, attack.attacker) & _is(
            batch.src_hi, batch.src_lo, attack.victim
        )
        hit = fwd | bwd
        if attack.start is not None:
            hit &= ts >= attack.start - TIME_SLACK
        if attack.end is not None:
            hit &= ts <= attack.end + TIME_SLACK
        out |= hit
    return out


def evaluate_anomaly(
    truth: GroundTruth,
    root: Path,
    baseline: Baseline,
    *,
    window_s: float = 60.0,
    min_packets: int = 10,
) -> list[AnomalyCaptureScore]:
    """Score ``baseline``'s detector on every capture file of ``truth`` (paths under ``root``)."""
    out = []
    for entry in truth.captures:
        files = entry.files(root)
        if not files:
            out.append(
                AnomalyCaptureScore(
                    entry.path, entry.benign, error=f"{root / entry.path}: no such capture"
                )
            )
            continue
        networks = LocalNetworks.parse(entry.home_net) if entry.home_net else None
        # packets carry every capability (ARP included) that flows may lack
        capabilities = {r for a in entry.attacks for r in a.requires}
        for file in files:
            rel = str(file.relative_to(root)) if file.is_relative_to(root) else str(file)
            if not file.name.lower().endswith(PACKET_SUFFIXES):
                out.append(
                    AnomalyCaptureScore(rel, entry.benign, not_scorable="no packets (a flow log)")
                )
                continue
            detector = AnomalyDetector(
                baseline, networks=networks, window_s=window_s, min_packets=min_packets
            )
            labels: list[npt.NDArray[np.bool_]] = []
            scores: list[npt.NDArray[np.float32]] = []
            try:
                with open_capture(file) as reader:
                    for batch in reader:
                        scores.append(detector.score(batch))
                        labels.append(packet_truth(batch, entry.attacks))
            except (CaptureError, OSError, ValueError) as exc:
                out.append(AnomalyCaptureScore(rel, entry.benign, error=str(exc).splitlines()[0]))
                continue
            alerts = [a for a in detector.alerts() if a.kind == AlertKind.ANOMALY]
            hosts = score_capture(rel, entry, alerts, _NO_FLOWS, flows_present=capabilities)
            right = [
                any(
                    explains(res.attack, a, any_kind=True) and a.direction == res.attack.direction
                    for a in alerts
                )
                for res in hosts.attacks
            ]
            y = np.concatenate(labels) if labels else np.zeros(0, dtype=bool)
            s = np.concatenate(scores) if scores else np.zeros(0, dtype=np.float32)
            out.append(
                AnomalyCaptureScore(
                    rel, entry.benign, int(y.shape[0]), int(y.sum()), auc(y, s), hosts, right, y, s
                )
            )
    return out


@dataclass
class AnomalySummary:
    """Host- and packet-level figures of the anomaly detector for one ground-truth source."""

    source: str
    captures: int = 0
    not_scorable: int = 0
    errors: int = 0
    attacks: int = 0
    detected: int = 0
    right_direction: int = 0
    alerts: int = 0
    false_alerts: int = 0
    benign_captures: int = 0
    benign_with_alerts: int = 0
    packets: int = 0
    attack_packets: int = 0
    auc: float | None = None
    capture_auc: dict[str, float] = field(default_factory=dict)
    missed: list[str] = field(default_factory=list)

    @property
    def host_recall(self) -> float | None:
        return self.detected / self.attacks if self.attacks else None

    @property
    def alert_precision(self) -> float | None:
        return (self.alerts - self.false_alerts) / self.alerts if self.alerts else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "captures": self.captures,
            "not_scorable": self.not_scorable,
            "errors": self.errors,
            "attacks": self.attacks,
            "detected": self.detected,
            "right_direction": self.right_direction,
            "host_recall": self.host_recall,
            "alerts": self.alerts,
            "false_alerts": self.false_alerts,
            "alert_precision": self.alert_precision,
            "benign_captures": self.benign_captures,
            "benign_with_alerts": self.benign_with_alerts,
            "packets": self.packets,
            "attack_packets": self.attack_packets,
            "auc": self.auc,
            "capture_auc": self.capture_auc,
            "missed": self.missed,
        }


def summarize_anomaly(source: str, scores: list[AnomalyCaptureScore]) -> AnomalySummary:
    """Fold the capture scores of one source; the pooled AUC is over all its packets."""
    out = AnomalySummary(source)
    labels, values = [], []
    for score in scores:
        out.captures += 1
        if score.error:
            out.errors += 1
            out.missed.append(f"{score.path}: {score.error}")
            continue
        if score.not_scorable or score.hosts is None:
            out.not_scorable += 1
            continue
        hosts = score.hosts
        out.alerts += hosts.alerts
        out.false_alerts += hosts.false_alerts
        out.packets += score.packets
        out.attack_packets += score.attack_packets
        labels.append(score.labels)
        values.append(score.scores)
        if score.auc is not None:
            out.capture_auc[score.path] = round(score.auc, 4)
        if score.benign:
            out.benign_captures += 1
            out.benign_with_alerts += hosts.alerts > 0
        for res, right in zip(hosts.attacks, score.right_direction, strict=True):
            out.attacks += 1
            out.detected += res.detected_any_kind
            out.right_direction += right
            if not res.detected_any_kind:
                a = res.attack
                out.missed.append(f"{score.path}: {a.attacker} -> {a.victim} {a.direction}")
    if labels:
        out.auc = auc(np.concatenate(labels), np.concatenate(values))
    return out
