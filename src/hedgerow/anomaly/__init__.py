"""Unsupervised anomaly detection: learn each network's normal, flag what is not.

Damped incremental statistics per MAC-IP, host, channel and socket over several time windows
(:mod:`~hedgerow.anomaly.features`), scored by an ensemble of small autoencoders
(:mod:`~hedgerow.anomaly.kitnet`) and half-space trees (:mod:`~hedgerow.anomaly.hst`) learned
without labels into a baseline file (:mod:`~hedgerow.anomaly.baseline`,
:mod:`~hedgerow.anomaly.learn`); :mod:`~hedgerow.anomaly.detector` turns anomalous packets into
explained ``kind=anomaly`` alerts. See ``docs/anomaly.md``.
"""

from hedgerow.anomaly.baseline import Baseline, BaselineError, load_baseline, save_baseline
from hedgerow.anomaly.detector import AnomalyDetector, score_capture
from hedgerow.anomaly.features import FeatureExtractor, FeatureSpec
from hedgerow.anomaly.learn import LearnConfig, learn_baseline

__all__ = [
    "AnomalyDetector",
    "Baseline",
    "BaselineError",
    "FeatureExtractor",
    "FeatureSpec",
    "LearnConfig",
    "learn_baseline",
    "load_baseline",
    "save_baseline",
    "score_capture",
]
