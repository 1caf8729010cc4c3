"""The model card page without Streamlit: a weights file's card as tables, the fold-9 predictions shipped with it
for the threshold explorer, and the benchmark table next to the published PTB-XL numbers.

Everything here reads the shipped files only (``weights/mrm_{task}.json`` and ``.fold9.npz``); training runs under
``runs/`` are not looked at.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from mrm.evaluate.thresholds import threshold_metrics
from mrm.train.config import TASKS

#: Macro ROC-AUC on fold 10 of the complete PTB-XL (21,799 records), from /work/shared/docs/mrm-net.md section 4:
#: the PTB-XL benchmark (Strodthoff et al., IEEE JBHI 2021) and the 2025 foundation-model benchmark (Al-Masud,
#: Lopez Alcaraz, Strodthoff, arXiv 2509.25095; there diag/form/rhythm come from the model trained on "all").
PUBLISHED_PTBXL_AUC: dict[str, dict[str, float]] = {
    "xresnet1d101 (benchmark)": dict(all=0.925, diagnostic=0.937, subdiagnostic=0.929, superdiagnostic=0.928,
                                     form=0.896, rhythm=0.957),
    "inception1d (benchmark)": dict(all=0.925, diagnostic=0.931, subdiagnostic=0.930, superdiagnostic=0.921,
                                    form=0.899, rhythm=0.953),
    "resnet1d_wang (benchmark)": dict(all=0.919, diagnostic=0.936, subdiagnostic=0.928, superdiagnostic=0.930,
                                      form=0.880, rhythm=0.946),
    "S4, supervised (Mehari & Strodthoff 2023)": dict(all=0.941, diagnostic=0.943, subdiagnostic=0.938,
                                                      superdiagnostic=0.932, form=0.919, rhythm=0.956),
    "ECG-CPC (S4 + CPC pretraining)": dict(all=0.949, diagnostic=0.951, subdiagnostic=0.940, superdiagnostic=0.934,
                                           form=0.934, rhythm=0.959),
    "ECGFounder (10.7 M ECGs pretraining)": dict(all=0.934, diagnostic=0.950, subdiagnostic=0.943,
                                                 superdiagnostic=0.935, form=0.875, rhythm=0.965),
}
#: Best published macro AUC on CPSC2018 (ICBEB) with the multi-label protocol (10 folds, 100 Hz).
PUBLISHED_CPSC_AUC: dict[str, float] = {"xresnet1d101 (PTB-XL benchmark, ICBEB table)": 0.974}
#: What the benchmark table must say about the comparison.
COMPARABILITY_NOTE = (
    "Published figures are on the complete PTB-XL (21,799 records; fold 10 has 2,198) and the complete CPSC2018; "
    "ours come from the records at hand (a 2,992-record PTB-XL subset, fold 10 of about 330 records), so they are "
    "not directly comparable: the subset has a tenth of the training data and a much wider confidence interval."
)


@dataclass(frozen=True)
class ModelCard:
    """What the model card page shows of one weights file.

    Attributes
    ----------
    task, name, model:
        The card's task, name and network name.
    n_parameters:
        Parameters of the network.
    dataset, records:
        Training dataset and the card's sentence on which records.
    n_train, n_val, n_test:
        Records in the training folds, fold 9 and fold 10.
    macro_auc, macro_auc_low, macro_auc_high:
        Fold-10 macro ROC-AUC and its bootstrap 95% interval.
    macro_auc_hr, macro_auc_lr:
        The same of the two heads alone (None for one-head networks).
    per_class:
        One row per class: code, class, test positives, AUC with interval, threshold, F1, sensitivity,
        specificity and PPV at the threshold on fold 10.
    roc:
        Class code -> (fpr, tpr) arrays of its fold-10 ROC curve (classes without one are absent).
    created, code_version:
        When and from which code the weights were made.
    recipe:
        The training recipe in one line (loss, input, epochs, serving windows), or "" when the card does not say.
    choice:
        How the recipe was chosen (the candidates' fold-9 macro AUC), or "" when the card does not say.
    """

    task: str
    name: str
    model: str
    n_parameters: int | None
    dataset: str
    records: str
    n_train: int | None
    n_val: int | None
    n_test: int | None
    macro_auc: float | None
    macro_auc_low: float | None
    macro_auc_high: float | None
    macro_auc_hr: float | None
    macro_auc_lr: float | None
    per_class: pd.DataFrame
    roc: dict[str, tuple[np.ndarray, np.ndarray]]
    created: str = ""
    code_version: str = ""
    recipe: str = ""
    choice: str = ""

    @property
    def auc_text(self) -> str:
        """``"0.912 (95% CI 0.889-0.934)"``, or ``"not reported"``."""
        if self.macro_auc is None:
            return "not reported"
        if self.macro_auc_low is None or self.macro_auc_high is None:
            return f"{self.macro_auc:.3f}"
        return f"{self.macro_auc:.3f} (95% CI {self.macro_auc_low:.3f}-{self.macro_auc_high:.3f})"


def card_summary(card: Mapping) -> ModelCard:
    """Read a card (the JSON written by ``mrm train``) into a :class:`ModelCard`.

    Examples
    --------
    >>> card = {"task": "rhythm", "name": "mrm_cpu_rhythm", "model": {"name": "cpu"}, "classes": ["SR"],
    ...         "class_names": ["sinus rhythm"], "thresholds": [0.5],
    ...         "test": {"macro_auc": 0.9, "macro_auc_low": 0.85, "macro_auc_high": 0.95, "per_class": {"SR": {
    ...             "n_positive": 3, "auc": 0.9, "roc": {"fpr": [0, 1], "tpr": [0, 1]}}}}}
    >>> summary = card_summary(card)
    >>> summary.auc_text, summary.per_class.loc[0, "class"], list(summary.roc)
    ('0.900 (95% CI 0.850-0.950)', 'sinus rhythm', ['SR'])
    """
    classes = list(card["classes"])
    names = list(card.get("class_names") or classes)
    test = card.get("test") or {}
    per_class = test.get("per_class") or {}
    model = card.get("model") or {}
    data = card.get("training_data") or {}
    rows, roc = [], {}
    for code, name, threshold in zip(classes, names, card.get("thresholds") or [None] * len(classes), strict=True):
        entry = per_class.get(code) or {}
        rows.append({
            "code": code, "class": name, "test positives": entry.get("n_positive"),
            "AUC": entry.get("auc"), "AUC low": entry.get("auc_low"), "AUC high": entry.get("auc_high"),
            "threshold": threshold, "F1": entry.get("f1"), "sensitivity": entry.get("sensitivity"),
            "specificity": entry.get("specificity"), "PPV": entry.get("ppv"),
        })
        if entry.get("roc"):
            roc[code] = (np.asarray(entry["roc"]["fpr"], float), np.asarray(entry["roc"]["tpr"], float))
    return ModelCard(
        task=str(card.get("task", "")), name=str(card.get("name", "")),
        model=str(model.get("name", "")) if isinstance(model, Mapping) else str(model),
        n_parameters=model.get("n_parameters") if isinstance(model, Mapping) else None,
        dataset=str(data.get("dataset", "")), records=str(data.get("records", "")),
        n_train=data.get("n_train"), n_val=data.get("n_val"), n_test=data.get("n_test"),
        macro_auc=test.get("macro_auc"), macro_auc_low=test.get("macro_auc_low"),
        macro_auc_high=test.get("macro_auc_high"), macro_auc_hr=test.get("macro_auc_hr"),
        macro_auc_lr=test.get("macro_auc_lr"), per_class=pd.DataFrame(rows), roc=roc,
        created=str(card.get("created", "")), code_version=str(card.get("code_version", "")),
        recipe=_recipe((card.get("training") or {}).get("config") or {}, card.get("input_policy")),
        choice=_choice(card.get("chosen_on_fold9")),
    )


def _recipe(config: Mapping, policy: Mapping | None = None) -> str:
    """One line on the loss, the input and the epochs of a training configuration, and the serving windows.

    Examples
    --------
    >>> _recipe({"kl_kind": "bernoulli", "w_logit": 0.1, "w_feat": 0.01, "temperature": 4.0, "crop": 250,
    ...          "epochs": 30})
    'BCE per head + bernoulli KL (w 0.1 logits, 0.01 features, T 4), 2.5-s crops, 30 epochs'
    >>> _recipe({"w_logit": 0.0, "w_feat": 0.0, "crop": 250, "epochs": 30},
    ...         {"fs": 100.0, "window": 250, "stride": 250, "aggregation": "max"})
    'BCE per head (no mutual loss), 2.5-s crops, 30 epochs; served on 2.5-s windows every 2.5 s, max over windows'
    >>> _recipe({"w_logit": 0.0, "w_feat": 0.0, "crop": 250, "epochs": 30, "ema": 0.99})
    'BCE per head (no mutual loss), 2.5-s crops, 30 epochs, weights averaged (EMA 0.99)'
    """
    if not config:
        return ""
    loss = "BCE per head"
    if config.get("w_logit") or config.get("w_feat"):
        loss += (f" + {config.get('kl_kind', 'softmax')} KL (w {config.get('w_logit')} logits, "
                 f"{config.get('w_feat')} features, T {config.get('temperature'):g})")
    else:
        loss += " (no mutual loss)"
    crop = config.get("crop")
    inputs = "whole 10-s records" if not crop or crop >= 1000 else f"{crop / 100:g}-s crops"
    text = f"{loss}, {inputs}, {config.get('epochs')} epochs"
    if config.get("ema"):
        text += f", weights averaged (EMA {config['ema']:g})"
    if policy:
        fs = float(policy["fs"])
        text += (f"; served on {policy['window'] / fs:g}-s windows every {policy['stride'] / fs:g} s, "
                 f"{policy['aggregation']} over windows")
    return text


def _choice(chosen: Mapping | None) -> str:
    """The fold-9 choice between recipes in one line.

    Examples
    --------
    >>> _choice({"fold9_macro_auc": {"softmax_all": 0.849, "nomutual_all": 0.877}, "chosen": "nomutual_all"})
    'chosen on fold 9 from softmax_all 0.849, nomutual_all 0.877 (macro AUC)'
    """
    if not chosen:
        return ""
    scores = ", ".join(f"{k} {v:.3f}" for k, v in chosen.get("fold9_macro_auc", {}).items())
    return f"chosen on fold 9 from {scores} (macro AUC)"


def read_model_card(weights: str | Path) -> ModelCard:
    """The :class:`ModelCard` of a weights file (its JSON card beside it)."""
    return card_summary(json.loads(Path(weights).with_suffix(".json").read_text()))


@dataclass(frozen=True)
class Fold9:
    """The validation fold's labels and fused probabilities shipped with weights (``NAME.fold9.npz``).

    Attributes
    ----------
    classes:
        Class codes, the columns of ``y`` and ``p``.
    y:
        (records, classes) bool labels.
    p:
        (records, classes) fused probabilities.
    ids:
        Record ids (PTB-XL ``ecg_id``; CPSC2018 ids as stored).
    """

    classes: tuple[str, ...]
    y: np.ndarray
    p: np.ndarray
    ids: np.ndarray

    def column(self, code: str) -> tuple[np.ndarray, np.ndarray]:
        """Labels and probabilities of one class."""
        k = self.classes.index(code)
        return self.y[:, k], self.p[:, k]


def fold9_path(weights: str | Path) -> Path:
    """``x.pt`` -> ``x.fold9.npz``.

    Examples
    --------
    >>> fold9_path("weights/mrm_rhythm.pt").as_posix()
    'weights/mrm_rhythm.fold9.npz'
    """
    weights = Path(weights)
    return weights.with_name(weights.stem + ".fold9.npz")


def load_fold9(weights: str | Path, classes: Sequence[str]) -> Fold9 | None:
    """The fold-9 predictions shipped with a weights file, or None when the file is absent.

    Read with ``allow_pickle=False``. ``classes`` are the card's, in output order.
    """
    path = fold9_path(weights)
    if not path.is_file():
        return None
    with np.load(path, allow_pickle=False) as data:
        y, p, ids = data["y"].astype(bool), data["p"].astype(float), data["ids"]
    if y.shape != p.shape or y.shape[1] != len(classes):
        raise ValueError(f"{path}: {y.shape[1]} columns for the card's {len(classes)} classes; ship the fold-9 "
                         "file made with these weights.")
    return Fold9(tuple(classes), y, p, ids)


@dataclass(frozen=True)
class OperatingPoint:
    """Sensitivity, specificity and PPV of one class at one threshold, with the counts behind them.

    A rate is NaN where it is undefined (no positive record, no negative one, or nothing called positive).
    """

    threshold: float
    sensitivity: float
    specificity: float
    ppv: float
    tp: int
    fp: int
    tn: int
    fn: int


def operating_point(y: np.ndarray, p: np.ndarray, threshold: float) -> OperatingPoint:
    """Call ``p >= threshold`` positive and count against ``y`` (via :func:`mrm.evaluate.threshold_metrics`).

    Examples
    --------
    >>> point = operating_point(np.array([1, 1, 0, 0]), np.array([0.9, 0.4, 0.6, 0.1]), 0.5)
    >>> point.sensitivity, point.specificity, point.ppv, point.fp
    (0.5, 0.5, 0.5, 1)
    """
    m = threshold_metrics(np.asarray(y)[:, None], np.asarray(p, float)[:, None], np.array([threshold]))
    return OperatingPoint(float(threshold), float(m.sensitivity[0]), float(m.specificity[0]), float(m.ppv[0]),
                          int(m.tp[0]), int(m.fp[0]), int(m.tn[0]), int(m.fn[0]))


def operating_curves(y: np.ndarray, p: np.ndarray, grid: np.ndarray | None = None) -> pd.DataFrame:
    """Sensitivity, specificity and PPV of one class over a grid of thresholds (default 0 to 1 by 0.01).

    Examples
    --------
    >>> curves = operating_curves(np.array([1, 0]), np.array([0.8, 0.3]), np.array([0.0, 0.5, 1.0]))
    >>> curves["sensitivity"].tolist(), curves["specificity"].tolist()
    ([1.0, 1.0, 0.0], [0.0, 1.0, 1.0])
    """
    grid = np.linspace(0.0, 1.0, 101) if grid is None else np.asarray(grid, float)
    y, p = np.asarray(y), np.asarray(p, float)
    # One column per grid point: threshold_metrics counts every column at its own threshold in one call.
    m = threshold_metrics(np.repeat(y[:, None], grid.size, 1), np.repeat(p[:, None], grid.size, 1), grid)
    return pd.DataFrame({"threshold": grid, "sensitivity": m.sensitivity, "specificity": m.specificity,
                         "PPV": m.ppv})


def benchmark_table(cards: Mapping[str, ModelCard]) -> pd.DataFrame:
    """Published macro AUCs per task and ours from the shipped cards, one row per model, one column per task.

    ``cards`` maps a task to its card; tasks without shipped weights are left empty in our row.

    Examples
    --------
    >>> table = benchmark_table({})
    >>> float(table.loc["xresnet1d101 (benchmark)", "superdiagnostic"]), table.columns.tolist()[-1]
    (0.928, 'cpsc2018')
    """
    columns = list(TASKS)
    rows = {name: {**values, "cpsc2018": None} for name, values in PUBLISHED_PTBXL_AUC.items()}
    for name, value in PUBLISHED_CPSC_AUC.items():
        rows[name] = {"cpsc2018": value}
    ours = {task: card.macro_auc for task, card in cards.items() if card.macro_auc is not None}
    if ours:
        rows["MRM-Net, ours (records at hand; shipped cards)"] = ours
    table = pd.DataFrame.from_dict(rows, orient="index").reindex(columns=columns)
    table.index.name = "model"
    return table
