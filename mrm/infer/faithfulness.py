"""Deletion test: does flattening what an explanation points at hurt the prediction more than flattening at random?

For each record and class, the ``share`` (10%) most-attributed samples of the model's 100 Hz input are set to
0 mV, the record is predicted again, and the class's AUC over the records is compared with the AUC after
flattening a random ``share`` of samples of the same structure: single (lead, time) samples for lead-resolved
attributions (integrated gradients), whole time steps across the 12 leads for temporal maps (Grad-CAM,
attention). A faithful explanation lowers the AUC (and the positives' probabilities) more than random deletion.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
from sklearn.metrics import roc_auc_score
from tqdm import tqdm

from mrm.data.recording import Recording
from mrm.infer.explain import ATTENTION_METHODS, LEAD_RESOLVED, attribution_values
from mrm.infer.predictor import ModelInput, Predictor


@dataclass
class DeletionResult:
    """The deletion test of one explanation method on a set of records.

    Attributes
    ----------
    method : str
        The explanation.
    classes : list of str
    auc, auc_deleted, auc_random : ndarray
        (n_classes,) AUC before deletion, after flattening the top ``share``, after flattening a random
        ``share`` (mean over the random draws); NaN for a class without both positive and negative records.
    drop, drop_random : ndarray
        (n_classes,) mean over the class's positive records of the probability lost by each deletion.
    seconds_per_record : float
        Time to explain one record (all classes).
    """

    method: str
    classes: list[str]
    auc: np.ndarray
    auc_deleted: np.ndarray
    auc_random: np.ndarray
    drop: np.ndarray
    drop_random: np.ndarray
    share: float
    n_records: int
    seconds_per_record: float

    @property
    def auc_drop(self) -> np.ndarray:
        """(n_classes,) AUC lost by flattening the most-attributed samples."""
        return self.auc - self.auc_deleted

    @property
    def auc_drop_random(self) -> np.ndarray:
        """(n_classes,) AUC lost by flattening random samples."""
        return self.auc - self.auc_random

    def to_dict(self) -> dict:
        def floats(a: np.ndarray) -> dict[str, float | None]:
            return {c: None if not np.isfinite(v) else round(float(v), 5) for c, v in zip(self.classes, a,
                                                                                         strict=True)}

        return {
            "method": self.method,
            "share": self.share,
            "n_records": self.n_records,
            "seconds_per_record": round(self.seconds_per_record, 4),
            "macro_auc": _mean(self.auc),
            "macro_auc_drop": _mean(self.auc_drop),
            "macro_auc_drop_random": _mean(self.auc_drop_random),
            "positive_probability_drop": _mean(self.drop),
            "positive_probability_drop_random": _mean(self.drop_random),
            "auc": floats(self.auc),
            "auc_drop": floats(self.auc_drop),
            "auc_drop_random": floats(self.auc_drop_random),
        }


def top_mask(values: np.ndarray, share: float = 0.1) -> np.ndarray:
    """Boolean mask of the ``share`` largest entries of ``values`` (exactly ``round(share * size)`` of them).

    Examples
    --------
    >>> top_mask(np.array([[0.1, 0.9, 0.3, 0.7, 0.0]]), 0.4).astype(int).tolist()
    [[0, 1, 0, 1, 0]]
    """
    k = int(round(share * values.size))
    mask = np.zeros(values.size, dtype=bool)
    if k:
        mask[np.argpartition(values.ravel(), values.size - k)[values.size - k:]] = True
    return mask.reshape(values.shape)


def random_mask(shape: tuple[int, int], share: float, rng: np.random.Generator, columns: bool = False) -> np.ndarray:
    """A random mask of ``share`` of a (leads, n) array: single samples, or whole columns when ``columns``.

    Examples
    --------
    >>> m = random_mask((12, 1000), 0.1, np.random.default_rng(0), columns=True)
    >>> int(m.sum()), bool((m == m[0]).all())
    (1200, True)
    """
    leads, n = shape
    if columns:
        chosen = np.zeros(n, dtype=bool)
        chosen[rng.choice(n, int(round(share * n)), replace=False)] = True
        return np.broadcast_to(chosen, shape).copy()
    mask = np.zeros(leads * n, dtype=bool)
    mask[rng.choice(leads * n, int(round(share * leads * n)), replace=False)] = True
    return mask.reshape(shape)


def flatten_samples(x: ModelInput, mask: np.ndarray, flat: np.ndarray) -> ModelInput:
    """A copy of a prepared record whose masked samples are set to ``flat`` (the standardised 0 mV of each lead)."""
    signal = np.where(mask, flat[:, None], x.signal).astype(np.float32)
    return replace(x, signal=signal)


def deletion_test(
    predictor: Predictor,
    recordings: Sequence[Recording],
    y: np.ndarray,
    methods: Sequence[str] = ("integrated_gradients", "grad_cam_hr", "grad_cam_lr", *ATTENTION_METHODS),
    *,
    share: float = 0.1,
    n_steps: int = 16,
    n_random: int = 3,
    seed: int = 0,
    progress: bool = False,
) -> list[DeletionResult]:
    """Run the deletion test of each explanation method on ``recordings`` with labels ``y`` (n, n_classes).

    ``share`` of each record's samples are flattened; the random side is averaged over ``n_random`` seeded draws.

    Examples
    --------
    >>> results = deletion_test(predictor, records, y, ["grad_cam_hr"])  # doctest: +SKIP
    >>> results[0].to_dict()["macro_auc_drop"]  # doctest: +SKIP
    0.08...
    """
    inputs = [predictor.prepare(r) for r in recordings]
    y = np.asarray(y)
    flat = predictor.standardizer.transform(np.zeros((12, 1), np.float32))[:, 0]
    before = predictor.probabilities(inputs).fused
    classes = list(range(len(predictor.classes)))
    results = []
    for method in methods:
        rng = np.random.default_rng(seed)
        per_class = method not in ATTENTION_METHODS
        columns = method not in LEAD_RESOLVED
        deleted = np.zeros_like(before)
        randomised = np.zeros((n_random, *before.shape))
        spent = 0.0
        for i, x in enumerate(tqdm(inputs, desc=method, disable=not progress, leave=False)):
            started = time.perf_counter()
            values = attribution_values(predictor, x, method, classes if per_class else [0], n_steps=n_steps)
            spent += time.perf_counter() - started
            masks = [np.broadcast_to(top_mask(v[0] if columns else v, share), x.signal.shape) for v in values]
            k = len(masks)
            randoms = [random_mask(x.signal.shape, share, rng, columns) for _ in range(k * n_random)]
            probs = predictor.probabilities([flatten_samples(x, m, flat) for m in masks + randoms]).fused
            # Record i with the mask of class c is scored on class c (every class, for a class-free map).
            deleted[i] = np.diagonal(probs[:k]) if per_class else probs[0]
            for r in range(n_random):
                block = probs[k * (r + 1) : k * (r + 2)]
                randomised[r, i] = np.diagonal(block) if per_class else block[0]
        results.append(DeletionResult(
            method=method,
            classes=list(predictor.classes),
            auc=_aucs(y, before),
            auc_deleted=_aucs(y, deleted),
            auc_random=np.mean([_aucs(y, p) for p in randomised], axis=0),
            drop=_positive_mean(y, before - deleted),
            drop_random=_positive_mean(y, before - randomised.mean(axis=0)),
            share=share,
            n_records=len(inputs),
            seconds_per_record=spent / max(len(inputs), 1),
        ))
    return results


def _aucs(y: np.ndarray, p: np.ndarray) -> np.ndarray:
    out = np.full(y.shape[1], np.nan)
    for c in range(y.shape[1]):
        if 0 < y[:, c].sum() < len(y):
            out[c] = roc_auc_score(y[:, c], p[:, c])
    return out


def _positive_mean(y: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Per class, the mean of ``values`` over the records where the class is present (NaN without any)."""
    n = y.sum(axis=0)
    return np.where(n > 0, (values * y).sum(axis=0) / np.maximum(n, 1), np.nan)


def _mean(a: np.ndarray) -> float | None:
    finite = a[np.isfinite(a)]
    return round(float(finite.mean()), 5) if finite.size else None
