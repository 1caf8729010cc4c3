"""Is a learned fusion of MRM-Net's two heads better than the mean of their probabilities? Fold 9 decides.

The shipped networks fuse the high- and low-resolution heads by the mean of their probabilities. Issue 8 keeps
that rule "unless a learned fusion is shown better on fold 9". This script compares, per shipped weights file:

``mean``       the served rule (each window's two probabilities averaged, then the max over windows)
``HR``, ``LR`` one head alone
``weight``     ``w * p_hr + (1 - w) * p_lr`` with one ``w`` for all classes, from 0, 0.1, ..., 1 (best macro AUC)
``stacked``    per class, a logistic regression on the two heads' logits (a learned weight per class)

``weight`` and ``stacked`` are fitted on fold 9, so on fold 9 they are scored by cross-fitting: 5 folds of the
fold-9 records, each fitted on the other four and scored on the held-out one, the pooled out-of-fold macro AUC,
averaged over 5 random partitions. The rule, fixed before the first run: a learned fusion replaces the mean only
where its cross-fitted fold-9 macro AUC beats the mean's by 0.005 or more (the same gain as ``model_suite.py
switch``). Fold 10 is reported for the record (the learned rules fitted on all of fold 9), with the paired
bootstrap of the best learned rule against the mean; it is never used to choose.

    python benchmarks/head_fusion.py --weights weights --data-dir data [--json fusion.json]
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import KFold

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # `mrm` from this checkout

from model_suite import SWITCH_GAIN, TASKS  # noqa: E402  (the same tasks and switch rule as the recipe choices)

from mrm.evaluate import macro_auc, paired_bootstrap  # noqa: E402
from mrm.evaluate.predict import predict_records  # noqa: E402
from mrm.train.card import card_policy, card_standardizer, load_weights  # noqa: E402
from mrm.train.data import load_task_data  # noqa: E402

WEIGHTS = np.round(np.linspace(0, 1, 11), 1)
N_SPLITS, N_REPEATS = 5, 5
EPS = 1e-6


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, EPS, 1 - EPS)
    return np.log(p / (1 - p))


def fit_weight(y: np.ndarray, p_hr: np.ndarray, p_lr: np.ndarray) -> float:
    """The one head weight of the grid with the best macro AUC on these records (ties: the one nearest 0.5)."""
    scores = [macro_auc(y, w * p_hr + (1 - w) * p_lr).macro for w in WEIGHTS]
    best = max(scores)
    return float(min((w for w, s in zip(WEIGHTS, scores, strict=True) if s >= best - 1e-12),
                     key=lambda w: abs(w - 0.5)))


def fit_stacked(y: np.ndarray, p_hr: np.ndarray, p_lr: np.ndarray) -> list[LogisticRegression | None]:
    """Per class, a logistic regression on the two logits; None (use the mean) where a class lacks both outcomes."""
    models = []
    for c in range(y.shape[1]):
        if y[:, c].min() == y[:, c].max():
            models.append(None)
            continue
        x = np.column_stack([_logit(p_hr[:, c]), _logit(p_lr[:, c])])
        models.append(LogisticRegression(C=1.0).fit(x, y[:, c]))
    return models


def apply_stacked(models: list, p_hr: np.ndarray, p_lr: np.ndarray) -> np.ndarray:
    out = (p_hr + p_lr) / 2
    for c, model in enumerate(models):
        if model is not None:
            out[:, c] = model.predict_proba(np.column_stack([_logit(p_hr[:, c]), _logit(p_lr[:, c])]))[:, 1]
    return out


LEARNED = {
    "weight": (fit_weight, lambda w, p_hr, p_lr: w * p_hr + (1 - w) * p_lr),
    "stacked": (fit_stacked, apply_stacked),
}


def crossfit_auc(rule: str, y: np.ndarray, p_hr: np.ndarray, p_lr: np.ndarray) -> float:
    """Out-of-fold macro AUC of a learned rule on these records, averaged over N_REPEATS random partitions."""
    fit, apply = LEARNED[rule]
    scores = []
    for repeat in range(N_REPEATS):
        oof = np.zeros_like(p_hr)
        for train, test in KFold(N_SPLITS, shuffle=True, random_state=repeat).split(y):
            oof[test] = apply(fit(y[train], p_hr[train], p_lr[train]), p_hr[test], p_lr[test])
        scores.append(macro_auc(y, oof).macro)
    return float(np.mean(scores))


def head_probabilities(weights: Path, data_dir: str, fold: int, cache: str | None):
    model, card = load_weights(weights)
    data = load_task_data(card["training_data"]["dataset"], card["task"], data_dir, cache_dir=cache,
                          classes=card["classes"], folds=(fold,))
    standardizer = card_standardizer(card)
    probs = predict_records(model, [standardizer.transform(s) for s in data.signals], card_policy(card))
    return data.y, probs


def _served_aucs(y: np.ndarray, probs) -> dict[str, float]:
    """Macro AUC of the served fusion and of each head alone."""
    return {"mean": macro_auc(y, probs.fused).macro, "HR": macro_auc(y, probs.hr).macro,
            "LR": macro_auc(y, probs.lr).macro}


def compare(weights: Path, data_dir: str, cache: str | None) -> dict:
    y9, p9 = head_probabilities(weights, data_dir, 9, cache)
    y10, p10 = head_probabilities(weights, data_dir, 10, cache)
    row: dict = {"fold9": _served_aucs(y9, p9), "fold10": _served_aucs(y10, p10)}
    fused10 = {}
    for rule, (fit, apply) in LEARNED.items():
        row["fold9"][rule] = crossfit_auc(rule, y9, p9.hr, p9.lr)
        fitted = fit(y9, p9.hr, p9.lr)
        if rule == "weight":
            row["weight_fitted_on_fold9"] = fitted
        fused10[rule] = apply(fitted, p10.hr, p10.lr)
        row["fold10"][rule] = macro_auc(y10, fused10[rule]).macro
    best = max(LEARNED, key=lambda r: row["fold9"][r])
    gain = row["fold9"][best] - row["fold9"]["mean"]
    row["best_learned"], row["fold9_gain"], row["switch"] = best, gain, bool(gain >= SWITCH_GAIN)
    pr = paired_bootstrap(y10, fused10[best], p10.fused, n=1000, seed=0)
    row["fold10_paired_best_minus_mean"] = {"diff": pr.diff, "low": pr.low, "high": pr.high,
                                            "p_a_beats_b": pr.p_a_beats_b}
    return {k: ({kk: float(vv) for kk, vv in v.items()} if isinstance(v, dict) else v) for k, v in row.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--weights", default="weights", help="folder of the shipped mrm_TASK.pt files")
    parser.add_argument("--data-dir", default="data", help="data root (ptb-xl/ inside)")
    parser.add_argument("--cache", default=None, help="signal cache (default: read the dataset's files)")
    parser.add_argument("--tasks", nargs="+", default=list(TASKS), choices=TASKS)
    parser.add_argument("--json", default=None, help="write every number here too")
    args = parser.parse_args()
    warnings.filterwarnings("ignore", category=UserWarning)
    print("fold 9: mean, HR and LR as served, weight and stacked cross-fitted (5x5 folds); fold 10 for the record\n")
    print("| task | fold 9: mean / HR / LR / weight / stacked | learned rule fold-9 gain | switch "
          "| fold 10: mean / HR / LR / weight / stacked | fold 10 best learned minus mean (95% CI), P |")
    print("|---|---|---|---|---|---|")
    rows = {}
    for task in args.tasks:
        path = Path(args.weights) / f"mrm_{task}.pt"
        if not path.exists():
            print(f"| {task} | {path} missing | | | | |")
            continue
        r = rows[task] = compare(path, args.data_dir, args.cache)
        cols = ("mean", "HR", "LR", "weight", "stacked")
        pr = r["fold10_paired_best_minus_mean"]
        fold9 = " / ".join(f"{r['fold9'][c]:.4f}" for c in cols)
        fold10 = " / ".join(f"{r['fold10'][c]:.3f}" for c in cols)
        print(f"| {task} | {fold9} "
              f"| {r['best_learned']} {r['fold9_gain']:+.4f} (w = {r['weight_fitted_on_fold9']:.1f}) "
              f"| {'**yes**' if r['switch'] else 'no'} | {fold10} "
              f"| {pr['diff']:+.3f} ({pr['low']:+.3f} to {pr['high']:+.3f}), {pr['p_a_beats_b']:.2f} |", flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1) + "\n")


if __name__ == "__main__":
    main()
