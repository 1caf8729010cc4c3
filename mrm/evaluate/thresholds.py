"""Per-class decision thresholds tuned on the validation fold, and the metrics they give.

A record is called positive for a class when its score is at least the class's threshold
(``y_prob >= threshold``), the convention of sklearn's curves, whose thresholds are observed scores.
Thresholds are tuned on fold 9 only and stored with the weights; a figure computed with thresholds
tuned on the test fold must be labelled "oracle".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from sklearn.metrics import (
    multilabel_confusion_matrix,
    precision_recall_curve,
    precision_recall_fscore_support,
    roc_curve,
)

from mrm.evaluate._validate import validate_scores

Method = Literal["f1", "youden"]


@dataclass(frozen=True)
class ThresholdMetrics:
    """Per-class counts and rates at fixed thresholds; a rate is NaN where it is undefined.

    Sensitivity is undefined without a positive record, specificity without a negative one, PPV
    without a predicted positive, F1 when there is neither a positive nor a predicted positive; all
    four are NaN for a class without a threshold (it is never called positive).

    Attributes
    ----------
    tp, fp, tn, fn : np.ndarray
        (classes,) counts of records.
    f1, sensitivity, specificity, ppv : np.ndarray
        (classes,) rates.
    """

    tp: np.ndarray
    fp: np.ndarray
    tn: np.ndarray
    fn: np.ndarray
    f1: np.ndarray
    sensitivity: np.ndarray
    specificity: np.ndarray
    ppv: np.ndarray

    @property
    def macro_f1(self) -> float:
        """Mean F1 over the classes where it is defined (NaN if none)."""
        return _nanmean(self.f1)

    @property
    def macro_sensitivity(self) -> float:
        """Mean sensitivity over the classes where it is defined (NaN if none)."""
        return _nanmean(self.sensitivity)

    @property
    def macro_specificity(self) -> float:
        """Mean specificity over the classes where it is defined (NaN if none)."""
        return _nanmean(self.specificity)


def tune_thresholds(y_true: np.ndarray, y_prob: np.ndarray, method: Method = "f1") -> np.ndarray:
    """Choose one threshold per class on validation records, NaN for a class that cannot have one.

    ``method="f1"`` (the default) takes the score that maximises the class's F1, from
    :func:`sklearn.metrics.precision_recall_curve`; F1 is the figure reported at these thresholds.
    ``method="youden"`` maximises sensitivity + specificity - 1 from :func:`sklearn.metrics.roc_curve`,
    as the PTB-XL benchmark code does. On equal F1 (or Youden) the lowest such score is taken.

    A class with no positive record gets NaN (there is nothing to tune on); with ``"youden"``, so does
    a class with no negative record. The caller lists these classes on the card.

    Parameters
    ----------
    y_true : np.ndarray
        (records, classes) multi-hot labels of the validation fold.
    y_prob : np.ndarray
        (records, classes) scores of the validation fold.
    method : {"f1", "youden"}
        What to maximise.

    Returns
    -------
    np.ndarray
        (classes,) thresholds; apply them as ``y_prob >= thresholds``.

    Examples
    --------
    >>> y = np.array([[0, 0], [1, 0], [1, 0], [0, 0]])
    >>> p = np.array([[0.1, 0.5], [0.4, 0.2], [0.35, 0.1], [0.8, 0.3]])
    >>> tune_thresholds(y, p).tolist()
    [0.35, nan]
    """
    if method not in ("f1", "youden"):
        raise ValueError(f"method is {method!r}; use 'f1' or 'youden'.")
    y, p = validate_scores(y_true, y_prob)
    thresholds = np.full(y.shape[1], np.nan)
    for k in range(y.shape[1]):
        positives = int(y[:, k].sum())
        if positives == 0 or (method == "youden" and positives == y.shape[0]):
            continue
        if method == "f1":
            precision, recall, cuts = precision_recall_curve(y[:, k], p[:, k])
            # The curve ends with the point (precision 1, recall 0) that has no threshold.
            precision, recall = precision[:-1], recall[:-1]
            with np.errstate(invalid="ignore", divide="ignore"):
                f1 = np.where(precision + recall > 0, 2 * precision * recall / (precision + recall), 0.0)
            thresholds[k] = cuts[np.argmax(f1)]
        else:
            fpr, tpr, cuts = roc_curve(y[:, k], p[:, k])
            # cuts[0] is +inf (nobody positive); it is never a useful operating point.
            youden = (tpr - fpr)[1:]
            best = np.flatnonzero(youden == youden.max())[-1] + 1
            thresholds[k] = cuts[best]
    return thresholds


def threshold_metrics(y_true: np.ndarray, y_prob: np.ndarray, thresholds: np.ndarray) -> ThresholdMetrics:
    """Count and rate the calls ``y_prob >= thresholds`` per class: F1, sensitivity, specificity, PPV.

    Counts come from :func:`sklearn.metrics.multilabel_confusion_matrix` and F1, PPV and sensitivity
    from :func:`sklearn.metrics.precision_recall_fscore_support` with NaN for undefined values.

    Examples
    --------
    >>> y = np.array([[1, 0], [0, 0], [1, 1], [0, 1]])
    >>> p = np.array([[0.9, 0.2], [0.6, 0.1], [0.3, 0.8], [0.2, 0.7]])
    >>> m = threshold_metrics(y, p, np.array([0.5, 0.75]))
    >>> m.f1.tolist(), m.sensitivity.tolist(), m.specificity.tolist(), m.ppv.tolist()
    ([0.5, 0.6666666666666666], [0.5, 0.5], [0.5, 1.0], [0.5, 1.0])
    """
    y, p = validate_scores(y_true, y_prob)
    cuts = np.asarray(thresholds, dtype=np.float64).reshape(-1)
    if cuts.shape != (y.shape[1],):
        raise ValueError(f"{cuts.size} thresholds were given for {y.shape[1]} classes; give one per class.")
    has_cut = ~np.isnan(cuts)
    called = (p >= np.where(has_cut, cuts, np.inf)).astype(np.int8)
    # sklearn reads a single column as a binary problem with two classes; name the positive one.
    pair, labels = ((y[:, 0], called[:, 0]), [1]) if y.shape[1] == 1 else ((y, called), None)
    (tn, fp), (fn, tp) = multilabel_confusion_matrix(*pair, labels=labels).transpose(1, 2, 0)
    ppv, sensitivity, f1, _ = precision_recall_fscore_support(
        *pair, labels=labels, average=None, zero_division=np.nan
    )
    with np.errstate(invalid="ignore", divide="ignore"):
        specificity = np.where(tn + fp > 0, tn / (tn + fp), np.nan)
    rates = [np.where(has_cut, rate, np.nan) for rate in (f1, sensitivity, specificity, ppv)]
    return ThresholdMetrics(tp, fp, tn, fn, *rates)


def _nanmean(values: np.ndarray) -> float:
    defined = values[~np.isnan(values)]
    return float(defined.mean()) if defined.size else float("nan")
