"""Label-set code shared by the datasets: the multi-hot label matrix type and a multi-label fold split."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

#: Folds 1-8 train, 9 validation (thresholds, model selection), 10 test: PTB-XL's ``strat_fold`` as the benchmark
#: uses it, and our CPSC2018 folds.
SPLITS: dict[str, tuple[int, ...]] = {"train": (1, 2, 3, 4, 5, 6, 7, 8), "val": (9,), "test": (10,)}


class TaskLabels(NamedTuple):
    """The multi-hot labels of a task: which class each column is, and which record each row is.

    A named tuple so that ``classes, y, ids = index.labels_for_task("rhythm")`` also works.

    Attributes
    ----------
    classes:
        Class codes, one per column of ``y`` (PTB-XL statement, subclass or superclass codes).
    y:
        bool array (n_records, n_classes).
    ids:
        The record of each row: PTB-XL ``ecg_id`` (int) or CPSC2018 ``Recording`` (str).

    Examples
    --------
    >>> labels = TaskLabels(["AFIB", "SR"], np.array([[True, False], [False, True]]), np.array([7, 9]))
    >>> labels.counts()
    {'AFIB': 1, 'SR': 1}
    """

    classes: list[str]
    y: np.ndarray
    ids: np.ndarray

    def counts(self) -> dict[str, int]:
        """Number of records carrying each class."""
        return dict(zip(self.classes, self.y.sum(axis=0).tolist(), strict=True))


def stratify_folds(y: np.ndarray, n_folds: int = 10, seed: int = 0) -> np.ndarray:
    """Assign each row of a multi-label matrix to one of ``n_folds`` folds, keeping every label's share even.

    Iterative stratification (Sechidis, Tsoumakas and Vlahavas, ECML PKDD 2011), the method PTB-XL's own
    ``strat_fold`` was built with: the label with the fewest unassigned rows is handled first, each of its rows
    goes to the fold that still wants most of that label. Ties are broken by the row's other labels (the fold
    that wants most of them: a small extension of Sechidis et al., which keeps frequent labels, assigned last,
    as even as the rare ones), then by the fold that wants most rows, then by a seeded random choice. Rare labels
    are therefore spread first, while they can still be spread evenly. Rows without any label go to the folds
    that want most rows. Deterministic for a given ``y`` and ``seed``.

    Parameters
    ----------
    y:
        bool or 0/1 array (n_rows, n_labels).
    n_folds:
        Number of folds.
    seed:
        Seed of the tie-breaking random choices.

    Returns
    -------
    np.ndarray
        int array (n_rows,) of folds numbered 1 to ``n_folds``.

    Examples
    --------
    >>> y = np.zeros((100, 2), bool); y[:20, 0] = True; y[10:60, 1] = True
    >>> folds = stratify_folds(y, n_folds=5, seed=0)
    >>> np.bincount(folds)[1:].tolist(), [int(y[folds == f, 0].sum()) for f in range(1, 6)]
    ([20, 20, 20, 20, 20], [4, 4, 4, 4, 4])
    """
    y = np.asarray(y, dtype=bool)
    n_rows = y.shape[0]
    rng = np.random.default_rng(seed)
    # Wishes are kept multiplied by n_folds so that they stay exact integers (no float ties).
    wanted_rows = np.full(n_folds, n_rows)
    wanted = np.repeat(y.sum(axis=0)[:, None], n_folds, axis=1)
    fold = np.zeros(n_rows, dtype=np.int64)
    left = np.ones(n_rows, dtype=bool)

    def best_fold(wish: np.ndarray, row_labels: np.ndarray | None = None) -> int:
        candidates = np.flatnonzero(wish == wish.max())
        if candidates.size > 1 and row_labels is not None:
            by_labels = wanted[row_labels][:, candidates].sum(axis=0)
            candidates = candidates[by_labels == by_labels.max()]
        if candidates.size > 1:
            by_rows = wanted_rows[candidates]
            candidates = candidates[by_rows == by_rows.max()]
        return int(candidates[0] if candidates.size == 1 else rng.choice(candidates))

    while True:
        remaining = y[left].sum(axis=0)
        if not remaining.any():
            break
        rarest = np.flatnonzero(remaining == remaining[remaining > 0].min())
        label = int(rarest[0] if rarest.size == 1 else rng.choice(rarest))
        rows = np.flatnonzero(left & y[:, label])
        rng.shuffle(rows)
        for row in rows:
            f = best_fold(wanted[label], y[row])
            fold[row] = f + 1
            left[row] = False
            wanted[y[row], f] -= n_folds
            wanted_rows[f] -= n_folds
    for row in np.flatnonzero(left):
        f = best_fold(wanted_rows)
        fold[row] = f + 1
        wanted_rows[f] -= n_folds
    return fold
