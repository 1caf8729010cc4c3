"""Boundary checks shared by the metric functions: shapes, binary labels, finite scores."""

from __future__ import annotations

import numpy as np


def validate_scores(y_true: np.ndarray, y_prob: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(y_true, y_prob)`` as (records, classes) int8 and float64 arrays, or raise ValueError.

    A 1-D pair is taken as one class. Labels must be 0/1 and scores finite, because a NaN score
    would silently rank as the lowest or highest value depending on the sort.
    """
    y = np.asarray(y_true)
    p = np.asarray(y_prob, dtype=np.float64)
    if y.ndim == 1:
        y = y[:, None]
    if p.ndim == 1:
        p = p[:, None]
    if y.ndim != 2 or y.shape != p.shape:
        raise ValueError(f"y_true {np.shape(y_true)} and y_prob {np.shape(y_prob)} must both be (records, classes).")
    if y.shape[0] == 0:
        raise ValueError("y_true has no records; metrics need at least one.")
    if not np.isin(y, (0, 1)).all():
        raise ValueError("y_true must hold only 0 and 1 (multi-hot labels).")
    if not np.isfinite(p).all():
        raise ValueError("y_prob holds NaN or infinite values; every record needs a finite score for every class.")
    return y.astype(np.int8), p
