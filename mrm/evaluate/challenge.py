"""The CPSC2018 (ICBEB 2018) challenge score: one call per record, mean F1 of the nine classes."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.metrics import confusion_matrix

from mrm.evaluate._validate import validate_scores


@dataclass(frozen=True)
class ChallengeResult:
    """The challenge score and what it is made of.

    Attributes
    ----------
    score : float
        Mean of the defined per-class F1 values; NaN when none is defined.
    per_class_f1 : np.ndarray
        (classes,) F1 per class, NaN (undefined, not 0) for a class that no record carries.
    confusion : np.ndarray
        (classes, classes) booked counts: rows reference class, columns predicted class.
    predicted : np.ndarray
        (records,) the class called for each record (highest score).
    """

    score: float
    per_class_f1: np.ndarray
    confusion: np.ndarray
    predicted: np.ndarray

    @property
    def undefined(self) -> np.ndarray:
        """Indices of the classes whose F1 is undefined on these records."""
        return np.flatnonzero(np.isnan(self.per_class_f1))


def challenge_score(labels_multi: np.ndarray, first_label_index: np.ndarray, y_prob: np.ndarray) -> ChallengeResult:
    """Compute the CPSC2018 challenge score from multi-label references and per-class scores.

    Each record is called as its highest-scoring class. The call is correct when it is any of the
    record's labels and is then booked on the diagonal; otherwise it is booked against the record's
    first label. From the booked matrix ``N`` (rows reference, columns call, built by
    :func:`sklearn.metrics.confusion_matrix`), ``F1_j = 2 N_jj / (row_j + col_j)`` and the score is the
    mean over the classes. A class that no record carries has no F1: it is reported as NaN and left
    out of the mean, not counted as 0 (which would punish a model for a class absent from the fold).

    Parameters
    ----------
    labels_multi : np.ndarray
        (records, classes) multi-hot reference labels, 0/1 (nine classes for CPSC2018, in
        REFERENCE.csv order: Normal, AF, I-AVB, LBBB, RBBB, PAC, PVC, STD, STE).
    first_label_index : np.ndarray
        (records,) column of each record's first label (``First_label - 1`` in REFERENCE.csv).
    y_prob : np.ndarray
        (records, classes) scores; ties go to the lower class index.

    Returns
    -------
    ChallengeResult

    Examples
    --------
    >>> labels = np.array([[1, 0, 0], [0, 1, 1], [0, 1, 1], [1, 0, 0]])
    >>> first = np.array([0, 1, 1, 0])
    >>> prob = np.array([[0.9, 0.1, 0.0], [0.1, 0.2, 0.7], [0.8, 0.1, 0.1], [0.6, 0.3, 0.1]])
    >>> result = challenge_score(labels, first, prob)
    >>> result.per_class_f1.tolist(), round(result.score, 4)
    ([0.8, 0.0, 1.0], 0.6)
    """
    y, p = validate_scores(labels_multi, y_prob)
    first = np.asarray(first_label_index)
    n_records, n_classes = y.shape
    if first.shape != (n_records,) or not np.issubdtype(first.dtype, np.integer):
        raise ValueError(f"first_label_index must hold one integer per record ({n_records}), got shape {first.shape}.")
    if first.min() < 0 or first.max() >= n_classes or not y[np.arange(n_records), first].all():
        raise ValueError("first_label_index must point at one of each record's labels in labels_multi.")
    predicted = p.argmax(axis=1)
    correct = y[np.arange(n_records), predicted].astype(bool)
    reference = np.where(correct, predicted, first)
    booked = confusion_matrix(reference, predicted, labels=np.arange(n_classes))
    rows, cols, hits = booked.sum(axis=1), booked.sum(axis=0), np.diag(booked)
    carried = y.any(axis=0) & (rows + cols > 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        per_class = np.where(carried, 2 * hits / (rows + cols), np.nan)
    defined = per_class[~np.isnan(per_class)]
    score = float(defined.mean()) if defined.size else float("nan")
    return ChallengeResult(score, per_class, booked, predicted)
