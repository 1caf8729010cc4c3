"""Evaluation metrics on arrays of labels and scores (numpy and sklearn.metrics only).

- :func:`macro_auc`, :func:`roc_points`: ROC-AUC per class and macro, with left-out classes counted.
- :func:`bootstrap_auc`, :func:`paired_bootstrap`: percentile intervals over records, vectorised.
- :func:`tune_thresholds`, :func:`threshold_metrics`: fold-9 thresholds and F1/sensitivity/specificity/PPV.
- :func:`challenge_score`: the CPSC2018 challenge score.
"""

from mrm.evaluate.auc import AucResult, RocPoints, macro_auc, roc_points, usable_classes
from mrm.evaluate.bootstrap import (
    BootstrapResult,
    PairedResult,
    bootstrap_auc,
    draw_resamples,
    paired_bootstrap,
    resample_aucs,
)
from mrm.evaluate.challenge import ChallengeResult, challenge_score
from mrm.evaluate.thresholds import ThresholdMetrics, threshold_metrics, tune_thresholds

__all__ = [
    "AucResult",
    "BootstrapResult",
    "ChallengeResult",
    "PairedResult",
    "RocPoints",
    "ThresholdMetrics",
    "bootstrap_auc",
    "challenge_score",
    "draw_resamples",
    "macro_auc",
    "paired_bootstrap",
    "resample_aucs",
    "roc_points",
    "threshold_metrics",
    "tune_thresholds",
    "usable_classes",
]
