"""All the numbers of one evaluation, as plain data for a weight card, ``mrm evaluate --json`` and the docs."""

from __future__ import annotations

import numpy as np

from mrm.evaluate.auc import macro_auc, roc_points
from mrm.evaluate.bootstrap import bootstrap_auc
from mrm.evaluate.thresholds import threshold_metrics


def _num(x: float) -> float | None:
    return None if x is None or not np.isfinite(x) else round(float(x), 5)


def evaluation_report(
    y_true: np.ndarray,
    y_prob: np.ndarray,
    classes: list[str],
    thresholds: np.ndarray,
    *,
    n_boot: int = 1000,
    seed: int = 0,
    heads: dict[str, np.ndarray] | None = None,
) -> dict:
    """Macro AUC with its bootstrap interval, per-class AUC and ROC points, and the metrics at ``thresholds``.

    ``heads`` adds the macro AUC of other outputs (e.g. the high- and low-resolution heads) on the same records.

    Examples
    --------
    >>> y = np.array([[1, 0], [0, 1], [1, 1], [0, 0]])
    >>> p = np.array([[0.9, 0.2], [0.1, 0.8], [0.7, 0.6], [0.2, 0.3]])
    >>> r = evaluation_report(y, p, ["A", "B"], np.array([0.5, 0.5]), n_boot=50)
    >>> r["macro_auc"], r["per_class"]["A"]["auc"], r["per_class"]["B"]["f1"]
    (1.0, 1.0, 1.0)
    """
    auc = macro_auc(y_true, y_prob)
    boot = bootstrap_auc(y_true, y_prob, n=n_boot, seed=seed)
    at = threshold_metrics(y_true, y_prob, thresholds)
    rocs = roc_points(y_true, y_prob)
    per_class = {}
    for i, name in enumerate(classes):
        roc = rocs[i]
        per_class[name] = {
            "n_positive": int(np.asarray(y_true)[:, i].sum()),
            "auc": _num(auc.per_class[i]),
            "auc_low": _num(boot.per_class_low[i]),
            "auc_high": _num(boot.per_class_high[i]),
            "threshold": _num(thresholds[i]),
            "f1": _num(at.f1[i]),
            "sensitivity": _num(at.sensitivity[i]),
            "specificity": _num(at.specificity[i]),
            "ppv": _num(at.ppv[i]),
            "roc": None if roc is None else {"fpr": np.round(roc.fpr, 4).tolist(),
                                             "tpr": np.round(roc.tpr, 4).tolist()},
        }
    report = {
        "n_records": int(len(y_true)),
        "macro_auc": _num(auc.macro),
        "macro_auc_low": _num(boot.low),
        "macro_auc_high": _num(boot.high),
        "n_bootstrap": boot.n,
        "bootstrap_seed": seed,
        "n_classes_used": int(auc.classes_used.size),
        "classes_left_out": [classes[i] for i in auc.left_out],
        "macro_f1": _num(at.macro_f1),
        "macro_sensitivity": _num(at.macro_sensitivity),
        "macro_specificity": _num(at.macro_specificity),
        "per_class": per_class,
    }
    for name, probs in (heads or {}).items():
        report[f"macro_auc_{name}"] = _num(macro_auc(y_true, probs).macro)
    return report
