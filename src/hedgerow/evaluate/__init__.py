"""Evaluation: ground truth (JSON labels, labelled conn.logs) and precision/recall scoring."""

from hedgerow.evaluate.score import CaptureScore, score_capture
from hedgerow.evaluate.truth import Attack, CaptureTruth, GroundTruth, load_ground_truth

__all__ = [
    "Attack",
    "CaptureScore",
    "CaptureTruth",
    "GroundTruth",
    "load_ground_truth",
    "score_capture",
]
