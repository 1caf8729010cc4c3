"""Per-class and macro ROC-AUC, and thinned ROC curves for the model card."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.metrics import roc_auc_score, roc_curve

from mrm.evaluate._validate import validate_scores


@dataclass(frozen=True)
class AucResult:
    """Macro ROC-AUC and the per-class values it averages.

    Attributes
    ----------
    macro : float
        Mean AUC over the classes used; NaN when no class has both a positive and a negative.
    per_class : np.ndarray
        (classes,) AUC per class, NaN for a class left out.
    classes_used : np.ndarray
        Indices of the classes with at least one positive and one negative record.
    left_out : np.ndarray
        Indices of the other classes (their AUC is undefined on these records).
    """

    macro: float
    per_class: np.ndarray
    classes_used: np.ndarray
    left_out: np.ndarray

    @property
    def n_left_out(self) -> int:
        """How many classes were left out of the macro average."""
        return int(self.left_out.size)


@dataclass(frozen=True)
class RocPoints:
    """One class's ROC curve, thinned to a few points: false and true positive rates, both from 0 to 1."""

    fpr: np.ndarray
    tpr: np.ndarray


def usable_classes(y_true: np.ndarray) -> np.ndarray:
    """Return a (classes,) bool mask of the classes that have at least one positive and one negative record.

    Examples
    --------
    >>> usable_classes(np.array([[1, 0, 1], [0, 0, 1]]))
    array([ True, False, False])
    """
    positives = np.asarray(y_true).sum(axis=0)
    return (positives > 0) & (positives < np.shape(y_true)[0])


def macro_auc(y_true: np.ndarray, y_prob: np.ndarray) -> AucResult:
    """Compute the macro ROC-AUC over classes, leaving out and counting those without both outcomes.

    A class with no positive (or no negative) record has no defined AUC; it is left out of the mean,
    as the PTB-XL benchmark does when a statement is absent from the test fold, and listed in
    ``left_out``. The per-class values come from :func:`sklearn.metrics.roc_auc_score`.

    Parameters
    ----------
    y_true : np.ndarray
        (records, classes) multi-hot labels, 0/1.
    y_prob : np.ndarray
        (records, classes) scores, any monotone scale (probabilities or logits).

    Returns
    -------
    AucResult

    Examples
    --------
    >>> y = np.array([[1, 0], [0, 0], [1, 0], [0, 0]])
    >>> p = np.array([[0.9, 0.1], [0.2, 0.3], [0.4, 0.2], [0.5, 0.4]])
    >>> result = macro_auc(y, p)
    >>> float(result.macro), result.n_left_out
    (0.75, 1)
    """
    y, p = validate_scores(y_true, y_prob)
    used = usable_classes(y)
    per_class = np.full(y.shape[1], np.nan)
    if used.any():
        per_class[used] = roc_auc_score(y[:, used], p[:, used], average=None)
    macro = float(per_class[used].mean()) if used.any() else float("nan")
    return AucResult(macro, per_class, np.flatnonzero(used), np.flatnonzero(~used))


def roc_points(y_true: np.ndarray, y_prob: np.ndarray, max_points: int = 50) -> list[RocPoints | None]:
    """Return each class's ROC curve with at most ``max_points`` points, None for a class left out.

    The curve comes from :func:`sklearn.metrics.roc_curve`; evenly spaced points along it are kept,
    always including (0, 0) and (1, 1), so a card stays small and still draws the curve's shape.

    Examples
    --------
    >>> y = np.array([0, 0, 1, 1, 0, 1])
    >>> p = np.array([0.1, 0.4, 0.35, 0.8, 0.2, 0.9])
    >>> curve = roc_points(y, p, max_points=3)[0]
    >>> curve.fpr.tolist(), curve.tpr.tolist()
    ([0.0, 0.0, 1.0], [0.0, 0.6666666666666666, 1.0])
    """
    if max_points < 2:
        raise ValueError(f"max_points is {max_points}; a curve needs at least its two end points.")
    y, p = validate_scores(y_true, y_prob)
    used = usable_classes(y)
    curves: list[RocPoints | None] = []
    for k in range(y.shape[1]):
        if not used[k]:
            curves.append(None)
            continue
        fpr, tpr, _ = roc_curve(y[:, k], p[:, k])
        if fpr.size > max_points:
            keep = np.unique(np.round(np.linspace(0, fpr.size - 1, max_points)).astype(int))
            fpr, tpr = fpr[keep], tpr[keep]
        curves.append(RocPoints(fpr, tpr))
    return curves
