"""One training run end to end: gather the task, fit, tune thresholds on fold 9, evaluate on fold 10, save.

``python -m mrm train`` and the benchmarks call :func:`train_task`; ``python -m mrm evaluate`` calls
:func:`evaluate_weights`, which recomputes the fold-10 numbers of a card from the weights alone.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import torch

from mrm.data.cache import default_cache_dir
from mrm.errors import ECGInputError
from mrm.evaluate.challenge import challenge_score
from mrm.evaluate.predict import RecordProbabilities, predict_records
from mrm.evaluate.report import evaluation_report
from mrm.evaluate.thresholds import tune_thresholds
from mrm.model import count_parameters
from mrm.train.card import (
    card_policy,
    card_standardizer,
    card_thresholds,
    code_version,
    load_weights,
    save_weights,
)
from mrm.train.config import TrainConfig
from mrm.train.data import TaskData, add_auxiliary_labels, load_task_data
from mrm.train.loop import describe_run, fit, pick_device


def _probabilities(model, data: TaskData, standardizer, policy, precision: str = "float32") -> RecordProbabilities:
    return predict_records(model, [standardizer.transform(s) for s in data.signals], policy, precision=precision)


#: What the complete datasets hold, for the cards' note on the records a run saw.
COMPLETE_SIZE = {"ptbxl": "PTB-XL has 21,799", "cpsc2018": "CPSC2018 has 6,877"}


def train_task(
    config: TrainConfig,
    data_dir: str | Path,
    out_dir: str | Path,
    *,
    cache_dir: str | Path | None = None,
    name: str | None = None,
    resume: bool = False,
    device: str | None = None,
    progress: bool = True,
    log: Callable[[str], None] = print,
) -> Path:
    """Train ``config`` on folds 1-8, select on fold 9, report fold 10; returns the weights file written.

    Examples
    --------
    >>> train_task(TrainConfig(task="rhythm", model="cpu"), "data", "runs/rhythm")  # doctest: +SKIP
    PosixPath('runs/rhythm/mrm_cpu_rhythm.pt')
    """
    out = Path(out_dir)
    cache_dir = Path(cache_dir) if cache_dir is not None else default_cache_dir(config.dataset)
    version = code_version()  # the code that trains, not whatever HEAD is when the run ends
    data = load_task_data(config.dataset, config.task, data_dir, cache_dir=cache_dir)
    if config.aux_task is not None:
        data = add_auxiliary_labels(data, config.aux_task, data_dir)
    result = fit(config, data, out, resume=resume, device=device, progress=progress, log=log)
    if int(torch.distributed.get_rank() if torch.distributed.is_initialized() else 0) != 0:
        return out
    model, standardizer, policy = result.model, result.standardizer, config.policy()

    val = data.subset(data.folds == config.val_fold)
    test = data.subset(data.folds == config.test_fold)
    tuned = _tune_and_test(model, standardizer, policy, val, test, data.classes)
    thresholds, report, p_test = tuned.thresholds, tuned.report, tuned.p_test

    train_counts = data.y[~np.isin(data.folds, (config.val_fold, config.test_fold))].sum(axis=0)
    card = {
        "name": name or f"mrm_{config.model}_{config.task}",
        "task": config.task,
        "model": {"name": config.model, "config": _model_config(model),
                  "n_parameters": count_parameters(model)},
        "classes": data.classes,
        "class_names": data.class_names,
        **_threshold_fields(data.classes, thresholds),
        **_flag_fields(tuned.p_val),
        "classes_excluded": data.excluded,
        **_auxiliary_fields(config, data),
        "fusion": "mean of the two heads' probabilities" if p_test.hr is not None else "single head",
        "standardizer": standardizer.to_dict(),
        "input_policy": policy.to_dict(),
        "training_data": {
            "dataset": config.dataset,
            "records": f"{len(data.ids)} records of the task with signals in {Path(data_dir).name}/ "
            f"(the complete {COMPLETE_SIZE[config.dataset]}; see docs/benchmarks.md for which records these are)",
            "train_folds": [f for f in range(1, 11) if f not in (config.val_fold, config.test_fold)],
            "val_fold": config.val_fold,
            "test_fold": config.test_fold,
            "n_train": result.n_train,
            "n_val": int(len(val.ids)),
            "n_test": int(len(test.ids)),
            "train_positives": dict(zip(data.classes, train_counts.astype(int).tolist(), strict=True)),
        },
        "training": describe_run(config, result, pick_device(device)),
        "test": report,
        "code_version": version,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    return save_weights(out / card["name"], model, card, _fold9_arrays(config.dataset, val, tuned.p_val))


def _auxiliary_fields(config: TrainConfig, data: TaskData) -> dict:
    if config.aux_task is None:
        return {}
    return {"auxiliary_labels": {
        "task": config.aux_task, "classes": data.aux_classes, "weight": config.aux_weight,
        "note": "trained on as extra outputs of the heads (BCE of each head) and removed after training; "
                "the network served predicts the classes above only"}}


@dataclass
class _Tuned:
    thresholds: np.ndarray
    report: dict
    p_val: RecordProbabilities
    p_test: RecordProbabilities


def _tune_and_test(model, standardizer, policy, val: TaskData, test: TaskData, classes: list[str]) -> _Tuned:
    """Thresholds tuned on the validation fold, then the report on the test fold, both under ``policy``."""
    p_val = _probabilities(model, val, standardizer, policy)
    # Rounded as the card stores them, so that `mrm evaluate` recomputes the card's report from the card exactly.
    thresholds = np.round(tune_thresholds(val.y, p_val.fused), 6)
    p_test = _probabilities(model, test, standardizer, policy)
    heads = {"hr": p_test.hr, "lr": p_test.lr} if p_test.hr is not None else None
    report = evaluation_report(test.y, p_test.fused, classes, thresholds, heads=heads)
    return _Tuned(thresholds, report, p_val, p_test)


def _threshold_fields(classes: list[str], thresholds: np.ndarray) -> dict:
    no_threshold = [c for c, t in zip(classes, thresholds, strict=True) if not np.isfinite(t)]
    return {
        "thresholds": [None if not np.isfinite(t) else round(float(t), 6) for t in thresholds],
        "threshold_rule": "maximises F1 on fold 9 (the validation fold)",
        "classes_without_threshold": {c: "no positive record in fold 9" for c in no_threshold},
    }


#: Share of fold-9 records whose branch disagreement a card's flag leaves unflagged.
FLAG_QUANTILE = 0.99


def _flag_fields(p_val: RecordProbabilities) -> dict:
    """The card's disagreement flag: the 99th percentile on fold 9 of max over classes of |p_hr - p_lr|."""
    if p_val.hr is None or p_val.lr is None:
        return {"disagreement_flag": None}
    gap = np.abs(p_val.hr - p_val.lr).max(axis=1)
    return {"disagreement_flag": round(float(np.quantile(gap, FLAG_QUANTILE)), 3),
            "disagreement_flag_rule": f"{FLAG_QUANTILE:.0%} quantile on fold 9 of max over classes of |p_hr - p_lr| "
                                      f"({len(gap)} records)"}


def _fold9_arrays(dataset: str, val: TaskData, p_val: RecordProbabilities) -> dict[str, np.ndarray]:
    # PTB-XL ids are integers, CPSC2018's strings ("A0001"): both store without pickling.
    ids = val.ids.astype(np.int64) if dataset == "ptbxl" else val.ids.astype(str)
    return {"y": val.y.astype(np.uint8), "p": p_val.fused.astype(np.float32), "ids": ids}


def set_stride(
    weights: str | Path,
    stride: int,
    data_dir: str | Path,
    *,
    cache_dir: str | Path | None = None,
    log: Callable[[str], None] = print,
) -> dict:
    """Give trained weights another serving stride: thresholds re-tuned on fold 9, fold 10 re-reported, card rewritten.

    The network is untouched; what changes is how a record is cut into windows (``stride`` samples at the model's
    rate, e.g. 250 for 2.5-s windows without overlap) and everything that depends on it: the card's input policy,
    its fold-9 thresholds, its fold-9 probabilities and its fold-10 report. The card keeps the previous policy and
    fold-9 AUC under ``"input_policy_history"``, so the choice stays visible. Choose a stride on fold 9 first
    (``mrm evaluate --fold 9 --stride N``); this is the step that applies it.

    Examples
    --------
    >>> set_stride("weights/mrm_superdiagnostic.pt", 250, "data")["input_policy"]  # doctest: +SKIP
    {'fs': 100.0, 'window': 250, 'stride': 250, 'aggregation': 'max'}
    """
    from mrm.evaluate.auc import macro_auc

    model, card = load_weights(weights)
    old = card_policy(card)
    try:
        new = replace(old, stride=stride)
    except ValueError as err:
        raise ECGInputError(f"{weights}: {err}; choose another --stride.") from None
    dataset = card["training_data"]["dataset"]
    val_fold, test_fold = card["training_data"]["val_fold"], card["training_data"]["test_fold"]
    data = load_task_data(dataset, card["task"], data_dir, cache_dir=cache_dir, classes=card["classes"],
                          folds=(val_fold, test_fold))
    val, test = data.subset(data.folds == val_fold), data.subset(data.folds == test_fold)
    standardizer = card_standardizer(card)
    tuned = _tune_and_test(model, standardizer, new, val, test, card["classes"])
    val_auc = round(macro_auc(val.y, tuned.p_val.fused).macro, 5)
    history = card.get("input_policy_history", [])
    if new != old:  # the same stride again only refreshes what depends on it
        history = [*history, {
            "input_policy": old.to_dict(),
            "val_macro_auc": round(macro_auc(val.y, _probabilities(model, val, standardizer, old).fused).macro, 5),
            "replaced": time.strftime("%Y-%m-%d"),
            "replaced_by": {**new.to_dict(), "val_macro_auc": val_auc},
        }]
    card.update(_threshold_fields(card["classes"], tuned.thresholds))
    card.update(_flag_fields(tuned.p_val))
    card.update({"input_policy": new.to_dict(), "test": tuned.report})
    if history:
        card["input_policy_history"] = history
    card.pop("format", None)
    save_weights(Path(weights).with_suffix(""), model, card, _fold9_arrays(dataset, val, tuned.p_val))
    log(f"{weights}: stride {old.stride} -> {stride}; fold {val_fold} macro AUC {val_auc:.4f}; "
        f"fold {test_fold} {tuned.report['macro_auc']:.4f}")
    return card


def _model_config(model) -> dict:
    config = asdict(model.config) if hasattr(model, "config") else {}
    return {k: list(v) if isinstance(v, tuple) else v for k, v in config.items()}


def evaluate_weights(
    weights: str | Path,
    data_dir: str | Path,
    *,
    fold: int | None = 10,
    dataset: str | None = None,
    cache_dir: str | Path | None = None,
    n_boot: int = 1000,
    stride: int | None = None,
    precision: str = "float32",
) -> dict:
    """Recompute a weights file's metrics on one fold of a dataset, from the weights and card alone.

    ``stride`` (samples at the model's rate) replaces the card's window stride, to see what a different serving
    policy would cost (e.g. 250: 2.5-s windows without overlap, 4 per 10-s record instead of 7); the report then
    records it under ``"stride"``. ``precision="bfloat16"`` evaluates under bfloat16 autocast (recorded under
    ``"precision"``), to see what faster serving would cost.

    ``dataset`` defaults to the one the weights were trained on; another dataset is a cross-dataset check (e.g.
    the ``cpsc2018`` weights, trained on PTB-XL, on CPSC2018's own records), best run on all its records
    (``fold=None``). Where the dataset ranks each record's labels (CPSC2018), the report adds the challenge
    score under ``"challenge"``.

    Examples
    --------
    >>> evaluate_weights("weights/mrm_superdiagnostic.pt", "data")["macro_auc"]  # doctest: +SKIP
    0.9...
    >>> report = evaluate_weights("weights/mrm_cpsc2018.pt", "data", dataset="cpsc2018", fold=None)  # doctest: +SKIP
    >>> report["challenge"]["score"]  # doctest: +SKIP
    0.5...
    """
    model, card = load_weights(weights)
    trained_on = card["training_data"]["dataset"]
    dataset = dataset or trained_on
    data = load_task_data(dataset, card["task"], data_dir, cache_dir=cache_dir, classes=card["classes"],
                          folds=None if fold is None else (fold,))
    if not data.ids.size:
        raise ECGInputError(f"{dataset} in {data_dir} has no record with a signal in fold {fold}; choose another "
                            "fold or data folder.")
    policy = card_policy(card) if stride is None else replace(card_policy(card), stride=stride)
    probs = _probabilities(model, data, card_standardizer(card), policy, precision)
    heads = {"hr": probs.hr, "lr": probs.lr} if probs.hr is not None else None
    report = evaluation_report(data.y, probs.fused, card["classes"], card_thresholds(card), n_boot=n_boot,
                               heads=heads)
    if stride is not None:
        report["stride"] = stride
    if precision != "float32":
        report["precision"] = precision
    report["dataset"] = dataset
    report["fold"] = fold
    report["cross_dataset"] = dataset != trained_on
    report["weights"] = str(weights)
    if data.first_label is not None:
        result = challenge_score(data.y, data.first_label, probs.fused)
        report["challenge"] = {
            "score": None if np.isnan(result.score) else float(result.score),
            "per_class_f1": {c: None if np.isnan(f) else float(f)
                             for c, f in zip(card["classes"], result.per_class_f1, strict=True)},
            "undefined": [card["classes"][i] for i in result.undefined],
            "n_records": int(len(data.ids)),
        }
    return report


def compare_weights(
    weights_a: str | Path,
    weights_b: str | Path,
    data_dir: str | Path,
    *,
    fold: int = 10,
    cache_dir: str | Path | None = None,
    n_boot: int = 1000,
) -> dict:
    """Paired bootstrap of two weights files of the same task on the same records: P(A beats B) and the difference."""
    from mrm.evaluate.bootstrap import paired_bootstrap

    model_a, card_a = load_weights(weights_a)
    model_b, card_b = load_weights(weights_b)
    if card_a["classes"] != card_b["classes"] or card_a["task"] != card_b["task"]:
        raise ValueError(f"{weights_a} and {weights_b} predict different classes; compare weights of one task.")
    data = load_task_data(card_a["training_data"]["dataset"], card_a["task"], data_dir, cache_dir=cache_dir,
                          classes=card_a["classes"], folds=(fold,))
    p_a = _probabilities(model_a, data, card_standardizer(card_a), card_policy(card_a)).fused
    p_b = _probabilities(model_b, data, card_standardizer(card_b), card_policy(card_b)).fused
    result = paired_bootstrap(data.y, p_a, p_b, n=n_boot)
    return {k: float(v) if isinstance(v, float | np.floating) else v for k, v in asdict(result).items()}
