"""The training harness on the shared PTB-XL records: learning, resume, the weight card, evaluation, comparison.

Runs are tiny (model "tiny", 2-3 epochs on the 500 records with signals: train 352, fold 9: 72, fold 10: 64
superdiagnostic records) and single-threaded, so results are reproducible bit for bit on one machine.
Expected labels, record counts and the standardiser are recomputed here from the PTB-XL CSV and the cache arrays.
"""

from __future__ import annotations

import ast
import json
from copy import deepcopy as copy_module
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from mrm.cli import main
from mrm.data.cache import SignalCache
from mrm.errors import ECGInputError
from mrm.evaluate import macro_auc
from mrm.evaluate.predict import predict_records
from mrm.evaluate.thresholds import tune_thresholds
from mrm.model import create_model
from mrm.train.card import card_policy, card_standardizer, card_thresholds, load_weights, save_weights
from mrm.train.config import TrainConfig
from mrm.train.data import load_task_data
from mrm.train.loop import CHECKPOINT, fit
from mrm.train.run import compare_weights, evaluate_weights, train_task

SUPERCLASSES = ["CD", "HYP", "MI", "NORM", "STTC"]


@pytest.fixture(scope="module")
def root(ptbxl_dir: Path) -> Path:
    return ptbxl_dir.parent


@pytest.fixture(scope="module")
def csv_labels(ptbxl_dir: Path, ptbxl_cache: Path) -> pd.DataFrame:
    """Fold and superdiagnostic/rhythm label sets of the records with signals, from the CSVs with plain pandas."""
    database = pd.read_csv(ptbxl_dir / "ptbxl_database.csv", index_col="ecg_id")
    statements = pd.read_csv(ptbxl_dir / "scp_statements.csv", index_col=0)
    ids = SignalCache.open(ptbxl_cache).index["record_id"].astype(int)
    database = database.loc[ids]
    codes = database["scp_codes"].map(ast.literal_eval)
    diagnostic = statements[statements["diagnostic"] == 1]
    rhythm = statements.index[statements["rhythm"] == 1]
    return pd.DataFrame({
        "fold": database["strat_fold"],
        "superdiagnostic": codes.map(
            lambda c: {diagnostic.at[k, "diagnostic_class"] for k in c if k in diagnostic.index}
        ),
        "rhythm": codes.map(lambda c: {k for k in c if k in rhythm}),
    })


def _history(card: dict) -> list[dict]:
    return card["training"]["history"]


@pytest.fixture(scope="module")
def superdiag(root: Path, ptbxl_cache: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    config = TrainConfig(task="superdiagnostic", model="tiny", epochs=3, batch_size=16)
    out = tmp_path_factory.mktemp("superdiag")
    return train_task(config, root, out, cache_dir=ptbxl_cache, progress=False, log=lambda _: None)


@pytest.fixture(scope="module")
def rhythm(root: Path, ptbxl_cache: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    config = TrainConfig(task="rhythm", model="tiny", epochs=2, batch_size=32)
    out = tmp_path_factory.mktemp("rhythm")
    return train_task(config, root, out, cache_dir=ptbxl_cache, progress=False, log=lambda _: None)


def _card(weights: Path) -> dict:
    return json.loads(weights.with_suffix(".json").read_text())


# (a) learning --------------------------------------------------------------------------------------------------


def test_training_learns(superdiag: Path):
    card = _card(superdiag)
    history = _history(card)
    assert [h["epoch"] for h in history] == [1, 2, 3]
    val = [h["val_auc"] for h in history]
    # an untrained network scores about 0.5 after one short epoch; three epochs reach about 0.75
    assert max(val) >= val[0] + 0.05
    assert max(val) > 0.65
    bce = [h["loss_bce"] for h in history]
    assert bce[0] > bce[1] > bce[2]
    assert card["training"]["best_epoch"] == 1 + int(np.argmax(val))
    assert card["training"]["val_macro_auc"] == pytest.approx(max(val), abs=1e-5)
    # fold 10 was never seen: the trained network must still beat chance there, by its whole interval
    assert card["test"]["macro_auc_low"] > 0.55
    # history.jsonl holds exactly this run's epochs
    lines = (superdiag.parent / "history.jsonl").read_text().splitlines()
    assert [json.loads(line) for line in lines] == history


# (b) resume -----------------------------------------------------------------------------------------------------


class _StopAfter:
    """A log hook that interrupts training when the entry of ``epoch`` is logged, before its checkpoint."""

    def __init__(self, epoch: int):
        self.epoch = epoch

    def __call__(self, line: str) -> None:
        if line.startswith("{") and json.loads(line)["epoch"] == self.epoch:
            raise KeyboardInterrupt


def _no_seconds(history: list[dict]) -> list[dict]:
    return [{k: v for k, v in h.items() if k != "seconds"} for h in history]


def test_resume_gives_the_uninterrupted_weights(root: Path, ptbxl_cache: Path, tmp_path: Path):
    config = TrainConfig(task="superdiagnostic", model="tiny", epochs=3, batch_size=16, train_fraction=0.5)
    data = load_task_data("ptbxl", config.task, root, cache_dir=ptbxl_cache)
    whole = fit(config, data, tmp_path / "whole", progress=False, log=lambda _: None)

    with pytest.raises(KeyboardInterrupt):
        fit(config, data, tmp_path / "cut", progress=False, log=_StopAfter(2))
    assert torch.load(tmp_path / "cut" / CHECKPOINT, weights_only=True)["epoch"] == 0  # only epoch 1 was saved
    messages: list[str] = []
    resumed = fit(config, data, tmp_path / "cut", resume=True, progress=False, log=messages.append)
    assert messages[0].startswith("resumed from")
    assert [json.loads(m)["epoch"] for m in messages[1:]] == [2, 3]

    assert resumed.best_epoch == whole.best_epoch
    assert _no_seconds(resumed.history) == _no_seconds(whole.history)
    a, b = whole.model.state_dict(), resumed.model.state_dict()
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a)
    last_a = torch.load(tmp_path / "whole" / CHECKPOINT, weights_only=True)
    last_b = torch.load(tmp_path / "cut" / CHECKPOINT, weights_only=True)
    assert last_a["epoch"] == last_b["epoch"] == 2
    assert all(torch.equal(last_a["model"][k], last_b["model"][k]) for k in last_a["model"])
    # the interruption must not leave a duplicated or missing line in the run's log
    lines = (tmp_path / "cut" / "history.jsonl").read_text().splitlines()
    assert [json.loads(line)["epoch"] for line in lines] == [1, 2, 3]

    # resuming a finished run trains nothing and returns the same selection
    again = fit(config, data, tmp_path / "whole", resume=True, progress=False, log=lambda _: None)
    assert again.best_epoch == whole.best_epoch
    assert all(torch.equal(again.model.state_dict()[k], a[k]) for k in a)

    with pytest.raises(ValueError, match="other settings"):
        fit(TrainConfig(**{**config.to_dict(), "lr": 1e-3}), data, tmp_path / "whole", resume=True,
            progress=False, log=lambda _: None)


def test_a_new_run_in_an_old_folder_starts_a_new_history(root: Path, ptbxl_cache: Path, tmp_path: Path):
    config = TrainConfig(task="superdiagnostic", model="tiny", epochs=1, batch_size=64, train_fraction=0.3)
    data = load_task_data("ptbxl", config.task, root, cache_dir=ptbxl_cache)
    fit(config, data, tmp_path, progress=False, log=lambda _: None)
    fit(config, data, tmp_path, progress=False, log=lambda _: None)
    assert len((tmp_path / "history.jsonl").read_text().splitlines()) == 1


# (c) the weight card ----------------------------------------------------------------------------------------------


def test_card_classes_counts_and_policy(superdiag: Path, csv_labels: pd.DataFrame):
    card = _card(superdiag)
    assert superdiag.name == "mrm_tiny_superdiagnostic.pt" and card["name"] == "mrm_tiny_superdiagnostic"
    assert card["task"] == "superdiagnostic" and card["format"] == 1
    assert card["classes"] == SUPERCLASSES
    assert card["class_names"][SUPERCLASSES.index("NORM")].lower().startswith("normal")
    assert card["classes_excluded"] == {} and card["classes_without_threshold"] == {}
    assert card["input_policy"] == {"fs": 100.0, "window": 250, "stride": 250, "aggregation": "max"}
    assert card["model"]["name"] == "tiny"
    assert card["model"]["n_parameters"] == sum(p.numel() for p in create_model("tiny", 5).parameters())

    labelled = csv_labels[csv_labels["superdiagnostic"].map(len) > 0]
    train = labelled[labelled["fold"] <= 8]
    info = card["training_data"]
    assert (info["n_train"], info["n_val"], info["n_test"]) == (
        len(train), int((labelled["fold"] == 9).sum()), int((labelled["fold"] == 10).sum())) == (352, 72, 64)
    assert info["train_positives"] == {c: sum(c in s for s in train["superdiagnostic"]) for c in SUPERCLASSES}
    assert (info["train_folds"], info["val_fold"], info["test_fold"]) == (list(range(1, 9)), 9, 10)


def test_card_standardizer_is_fitted_on_the_training_records(superdiag: Path, ptbxl_cache: Path,
                                                             csv_labels: pd.DataFrame):
    card = _card(superdiag)
    cache = SignalCache.open(ptbxl_cache)
    train_ids = set(csv_labels.index[(csv_labels["fold"] <= 8) & (csv_labels["superdiagnostic"].map(len) > 0)])
    rows = [i for i, r in enumerate(cache.index["record_id"].astype(int)) if r in train_ids]
    x = np.concatenate([cache.signal(i) for i in rows], axis=1).astype(np.float64)
    assert card["standardizer"]["leads"] == cache.meta["leads"]
    np.testing.assert_allclose(card["standardizer"]["mean"], x.mean(axis=1), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(card["standardizer"]["std"], x.std(axis=1), rtol=1e-9)


def test_card_thresholds_and_fold9_file(superdiag: Path, root: Path, ptbxl_cache: Path, csv_labels: pd.DataFrame):
    card = _card(superdiag)
    fold9 = np.load(superdiag.with_suffix(".fold9.npz"), allow_pickle=False)
    val = csv_labels[(csv_labels["fold"] == 9) & (csv_labels["superdiagnostic"].map(len) > 0)]
    np.testing.assert_array_equal(fold9["ids"], val.index.to_numpy())
    expected_y = np.array([[c in s for c in SUPERCLASSES] for s in val["superdiagnostic"]], dtype=np.uint8)
    np.testing.assert_array_equal(fold9["y"], expected_y)
    # the stored probabilities are the model's, through the card's standardiser and policy
    model, card = load_weights(superdiag)
    data = load_task_data("ptbxl", "superdiagnostic", root, cache_dir=ptbxl_cache, classes=card["classes"],
                          folds=(9,))
    p = predict_records(model, [card_standardizer(card).transform(s) for s in data.signals], card_policy(card))
    np.testing.assert_allclose(fold9["p"], p.fused, atol=1e-6)
    # thresholds: F1-optimal on fold 9, one per class, all present (every class has fold-9 positives)
    assert all(isinstance(t, float) and 0 < t < 1 for t in card["thresholds"])
    np.testing.assert_allclose(card["thresholds"], tune_thresholds(fold9["y"], fold9["p"]), atol=1e-6)
    np.testing.assert_array_equal(card_thresholds(card), np.array(card["thresholds"]))


def test_card_test_metrics(superdiag: Path):
    test = _card(superdiag)["test"]
    assert test["n_records"] == 64 and test["n_bootstrap"] == 1000 and test["bootstrap_seed"] == 0
    assert test["macro_auc_low"] < test["macro_auc"] < test["macro_auc_high"]
    assert list(test["per_class"]) == SUPERCLASSES and test["classes_left_out"] == []
    aucs = [test["per_class"][c]["auc"] for c in SUPERCLASSES]
    assert test["macro_auc"] == pytest.approx(np.mean(aucs), abs=1e-4)
    assert sum(test["per_class"][c]["n_positive"] for c in SUPERCLASSES) >= 64
    assert test["macro_auc_hr"] is not None and test["macro_auc_lr"] is not None  # MRM-Net's two heads


def test_rhythm_card_has_no_threshold_without_fold9_positives(rhythm: Path, csv_labels: pd.DataFrame):
    card = _card(rhythm)
    train = csv_labels[csv_labels["fold"] <= 8]
    fold9 = csv_labels[csv_labels["fold"] == 9]
    fold10 = csv_labels[csv_labels["fold"] == 10]

    def positives(rows: pd.DataFrame, c: str) -> int:
        return int(rows["rhythm"].map(lambda s: c in s).sum())

    present = sorted({c for s in csv_labels["rhythm"] for c in s})
    assert card["classes"] == [c for c in present if positives(train, c) > 0]
    assert sorted(card["classes_excluded"]) == sorted(set(present) - set(card["classes"]) | {
        "BIGU", "PSVT", "SVARR", "TRIGU"})
    without = [c for c in card["classes"] if positives(fold9, c) == 0]
    assert without == ["STACH"]  # the one trainable rhythm with no fold-9 record here
    for c, t in zip(card["classes"], card["thresholds"], strict=True):
        assert (t is None) == (c in without), c
    assert list(card["classes_without_threshold"]) == without
    assert np.isnan(card_thresholds(card)[card["classes"].index("STACH")])
    left_out = [c for c in card["classes"] if positives(fold10, c) == 0]
    assert card["test"]["classes_left_out"] == left_out
    assert card["test"]["per_class"]["STACH"]["threshold"] is None


def test_load_weights_is_safe_and_in_eval_mode(superdiag: Path, monkeypatch):
    calls = []
    real_load = torch.load

    def spy(*args, **kwargs):
        calls.append(kwargs.get("weights_only"))
        return real_load(*args, **kwargs)

    monkeypatch.setattr(torch, "load", spy)
    model, card = load_weights(superdiag)
    assert calls == [True]
    assert not model.training
    saved = real_load(superdiag, weights_only=True)
    assert all(torch.equal(model.state_dict()[k], saved[k]) for k in saved)


def test_load_weights_errors(superdiag: Path, tmp_path: Path):
    with pytest.raises(ECGInputError, match="not found"):
        load_weights(tmp_path / "none.pt")
    lonely = tmp_path / "lonely.pt"
    lonely.write_bytes(superdiag.read_bytes())
    with pytest.raises(ECGInputError, match="no model card lonely.json"):
        load_weights(lonely)
    card = _card(superdiag)
    other = save_weights(tmp_path / "other", create_model("tiny", 3), card)  # 3 outputs, card says 5
    with pytest.raises(ECGInputError, match="not loadable weights"):
        load_weights(other)


# (d) evaluation reproduces the card ------------------------------------------------------------------------------


def test_evaluate_reproduces_the_card(superdiag: Path, root: Path, ptbxl_cache: Path):
    card = _card(superdiag)
    cached = evaluate_weights(superdiag, root, cache_dir=ptbxl_cache)
    assert cached["fold"] == 10 and cached["weights"] == str(superdiag)
    assert cached["dataset"] == "ptbxl" and not cached["cross_dataset"]
    assert {k: v for k, v in cached.items() if k not in ("fold", "weights", "dataset", "cross_dataset")} == card["test"]
    # from the WFDB files, without the cache: the very same numbers
    files = evaluate_weights(superdiag, root)
    assert files == cached


def test_evaluate_another_fold(superdiag: Path, root: Path, ptbxl_cache: Path):
    report = evaluate_weights(superdiag, root, fold=9, cache_dir=ptbxl_cache, n_boot=100)
    fold9 = np.load(superdiag.with_suffix(".fold9.npz"), allow_pickle=False)
    assert report["n_records"] == len(fold9["ids"]) == 72 and report["n_bootstrap"] == 100
    assert report["macro_auc"] == pytest.approx(macro_auc(fold9["y"], fold9["p"]).macro, abs=1e-5)


def test_evaluate_with_another_stride(superdiag: Path, root: Path, ptbxl_cache: Path):
    """--stride re-evaluates with windows every N samples: the card's own stride reproduces the card, another one
    equals the evaluation path run with that policy."""
    card = _card(superdiag)
    same = evaluate_weights(superdiag, root, cache_dir=ptbxl_cache, stride=card["input_policy"]["stride"])
    assert same["macro_auc"] == card["test"]["macro_auc"]
    report = evaluate_weights(superdiag, root, cache_dir=ptbxl_cache, n_boot=50, stride=125)
    model, card = load_weights(superdiag)
    data = load_task_data("ptbxl", "superdiagnostic", root, cache_dir=ptbxl_cache, classes=card["classes"],
                          folds=(10,))
    policy = card_policy(card)
    policy = type(policy)(**{**policy.to_dict(), "stride": 125})
    probs = predict_records(model, [card_standardizer(card).transform(s) for s in data.signals], policy).fused
    assert report["stride"] == 125
    assert report["macro_auc"] == pytest.approx(macro_auc(data.y, probs).macro, abs=1e-5)


def test_retune_applies_another_stride(superdiag: Path, root: Path, ptbxl_cache: Path, tmp_path: Path, capsys):
    """`mrm retune` rewrites the card for a new stride: thresholds re-tuned on fold 9 under it, the fold-9 file
    and the fold-10 report redone (so `mrm evaluate` reproduces the new card), the old policy kept."""
    for path in superdiag.parent.glob(f"{superdiag.stem}.*"):
        (tmp_path / path.name).write_bytes(path.read_bytes())
    weights = tmp_path / superdiag.name
    before = _card(weights)
    with np.load(weights.with_suffix(".fold9.npz"), allow_pickle=False) as npz:
        old_fold9 = dict(npz)
    assert main(["retune", "--weights", str(weights), "--stride", "125", "--data-dir", str(root),
                 "--cache", str(ptbxl_cache)]) == 0
    assert "stride 250 -> 125" in capsys.readouterr().out
    card = _card(weights)
    assert card["input_policy"]["stride"] == 125 and card["format"] == 1
    history = card["input_policy_history"][-1]
    assert history["input_policy"] == before["input_policy"]
    assert history["val_macro_auc"] == pytest.approx(macro_auc(old_fold9["y"], old_fold9["p"]).macro, abs=1e-5)
    assert len(card["input_policy_history"]) == 1

    model, _ = load_weights(weights)
    val = load_task_data("ptbxl", "superdiagnostic", root, cache_dir=ptbxl_cache, classes=card["classes"],
                         folds=(9,))
    p_val = predict_records(model, [card_standardizer(card).transform(s) for s in val.signals],
                            card_policy(card)).fused
    fold9 = np.load(weights.with_suffix(".fold9.npz"), allow_pickle=False)
    np.testing.assert_allclose(fold9["p"], p_val, atol=1e-6)
    np.testing.assert_array_equal(fold9["ids"], old_fold9["ids"])
    assert history["replaced_by"]["val_macro_auc"] == pytest.approx(macro_auc(val.y, p_val).macro, abs=1e-5)
    expected = [None if not np.isfinite(t) else round(float(t), 6) for t in tune_thresholds(val.y, p_val)]
    assert card["thresholds"] == pytest.approx(expected, abs=1e-6)
    report = evaluate_weights(weights, root, cache_dir=ptbxl_cache)
    assert {k: v for k, v in report.items() if k not in ("fold", "weights", "dataset", "cross_dataset")} == card["test"]
    assert card["test"] != before["test"]  # the windows changed, so did the fold-10 probabilities

    # the disagreement flag: the 99th percentile on fold 9, recomputed under the new windows
    p = predict_records(model, [card_standardizer(card).transform(s) for s in val.signals], card_policy(card))
    gap = np.abs(p.hr - p.lr).max(axis=1)
    assert card["disagreement_flag"] == pytest.approx(np.quantile(gap, 0.99), abs=1e-3)
    assert (gap > card["disagreement_flag"]).sum() <= np.ceil(0.01 * len(gap))

    with pytest.raises(ECGInputError, match="skip signal"):
        from mrm.train.run import set_stride

        set_stride(weights, 300, root, cache_dir=ptbxl_cache, log=lambda _: None)


def test_evaluate_in_bfloat16_records_it_and_stays_close(superdiag: Path, root: Path, ptbxl_cache: Path):
    card = _card(superdiag)
    report = evaluate_weights(superdiag, root, cache_dir=ptbxl_cache, n_boot=50, precision="bfloat16")
    assert report["precision"] == "bfloat16"
    assert report["macro_auc"] == pytest.approx(card["test"]["macro_auc"], abs=0.02)


# (e) eval mode is deterministic ----------------------------------------------------------------------------------


def test_prediction_is_deterministic(superdiag: Path, root: Path, ptbxl_cache: Path):
    model, card = load_weights(superdiag)
    data = load_task_data("ptbxl", "superdiagnostic", root, cache_dir=ptbxl_cache, classes=card["classes"],
                          folds=(10,))
    signals = [card_standardizer(card).transform(s) for s in data.signals]
    first = predict_records(model, signals, card_policy(card))
    # the two modes give different outputs for this network (batch statistics); on a copy, because a forward
    # pass in training mode also moves the batch-norm running statistics
    x = torch.from_numpy(np.stack([s[:, :250] for s in signals[:16]]))
    copy = copy_module(model).train()
    with torch.no_grad():
        assert not torch.allclose(torch.sigmoid(copy(x).logits), torch.sigmoid(model(x).logits), atol=1e-3)
    model.train()  # as if a caller left it in training mode: predict_records must switch it back
    second = predict_records(model, signals, card_policy(card))
    assert not model.training
    for name in ("fused", "hr", "lr"):
        np.testing.assert_array_equal(getattr(first, name), getattr(second, name))
    assert first.fused.shape == (64, 5)


# (f) paired comparison ---------------------------------------------------------------------------------------------


def test_compare_weights_with_itself(superdiag: Path, root: Path, ptbxl_cache: Path):
    result = compare_weights(superdiag, superdiag, root, cache_dir=ptbxl_cache, n_boot=200)
    assert result["p_a_beats_b"] == 0.5
    assert result["diff"] == 0.0 and result["mean_diff"] == 0.0 and result["low"] == result["high"] == 0.0
    assert result["auc_a"] == result["auc_b"] == pytest.approx(_card(superdiag)["test"]["macro_auc"], abs=1e-5)


def test_compare_weights_against_an_untrained_network(superdiag: Path, root: Path, ptbxl_cache: Path,
                                                      tmp_path: Path):
    torch.manual_seed(0)
    untrained = save_weights(tmp_path / "untrained", create_model("tiny", 5), _card(superdiag))
    ab = compare_weights(superdiag, untrained, root, cache_dir=ptbxl_cache, n_boot=200)
    ba = compare_weights(untrained, superdiag, root, cache_dir=ptbxl_cache, n_boot=200)
    assert ab["diff"] == pytest.approx(ab["auc_a"] - ab["auc_b"]) and ab["diff"] > 0.1
    assert ab["p_a_beats_b"] > 0.95
    assert ab["p_a_beats_b"] + ba["p_a_beats_b"] == pytest.approx(1.0)
    assert ba["diff"] == pytest.approx(-ab["diff"])


def test_compare_weights_of_different_tasks_is_refused(superdiag: Path, rhythm: Path, root: Path,
                                                       ptbxl_cache: Path):
    with pytest.raises(ValueError, match="different classes"):
        compare_weights(superdiag, rhythm, root, cache_dir=ptbxl_cache, n_boot=10)


# (g) command line --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("command", ["train", "evaluate", "retune", "prepare", "info"])
def test_cli_help(command: str, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main([command, "--help"])
    assert exit_info.value.code == 0
    assert f"usage: mrm {command}" in capsys.readouterr().out


def test_cli_train_refuses_an_unknown_task(tmp_path: Path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["train", "--task", "sleep", "--out", str(tmp_path)])
    assert exit_info.value.code != 0
    assert "invalid choice: 'sleep'" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())


def test_cli_train_without_a_cache_says_how_to_build_it(root: Path, tmp_path: Path, capsys):
    code = main(["train", "--task", "rhythm", "--config", "tiny", "--data-dir", str(root), "--cache",
                 str(tmp_path / "no-cache"), "--out", str(tmp_path / "run"), "--quiet"])
    assert code == 2
    assert "python -m mrm prepare" in capsys.readouterr().err


def test_cli_train_and_evaluate(root: Path, ptbxl_cache: Path, tmp_path: Path, capsys):
    code = main(["train", "--task", "superdiagnostic", "--config", "tiny", "--epochs", "1", "--train-fraction",
                 "0.3", "--data-dir", str(root), "--cache", str(ptbxl_cache), "--out", str(tmp_path), "--name",
                 "cli", "--threads", "1", "--quiet"])
    assert code == 0
    weights = tmp_path / "cli.pt"
    assert f"weights: {weights}" in capsys.readouterr().out
    card = _card(weights)
    assert card["training"]["config"]["train_fraction"] == 0.3 and card["training_data"]["n_train"] == 106
    assert main(["evaluate", "--weights", str(weights), "--data-dir", str(root), "--cache", str(ptbxl_cache),
                 "--json", "-"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["macro_auc"] == card["test"]["macro_auc"] and report["n_records"] == 64
    assert main(["evaluate", "--weights", str(weights), "--data-dir", str(root), "--cache", str(ptbxl_cache),
                 "--compare", str(weights), "--n-boot", "50"]) == 0
    out = capsys.readouterr().out
    assert f"macro AUC {card['test']['macro_auc']:.4f}" in out
    assert "P(A beats B) = 0.500, AUC difference +0.0000" in out


def test_cli_evaluate_missing_weights(tmp_path: Path, capsys):
    assert main(["evaluate", "--weights", str(tmp_path / "none.pt")]) == 2
    assert "weights file not found" in capsys.readouterr().err


def test_cli_evaluate_prints_a_zero_f1_as_zero(superdiag: Path, root: Path, ptbxl_cache: Path, tmp_path: Path,
                                                capsys):
    card = _card(superdiag)
    card["thresholds"] = [1.5] * len(card["classes"])  # above every probability: no record is called positive
    weights = tmp_path / "strict.pt"
    weights.write_bytes(superdiag.read_bytes())
    weights.with_suffix(".json").write_text(json.dumps(card))
    assert main(["evaluate", "--weights", str(weights), "--data-dir", str(root), "--cache", str(ptbxl_cache),
                 "--n-boot", "20"]) == 0
    assert "macro F1 at fold-9 thresholds 0.000" in capsys.readouterr().out


@pytest.mark.parametrize("kwargs, match", [
    ({"window": 250, "stride": 300}, "skip signal"),
    ({"window": 250, "stride": 0}, "stride must be 1 to 250"),
    ({"window": 0, "stride": 0}, "window"),
    ({"aggregation": "median"}, "aggregation"),
])
def test_input_policy_refuses_what_it_cannot_apply(kwargs: dict, match: str):
    from mrm.evaluate.policy import InputPolicy

    with pytest.raises(ValueError, match=match):
        InputPolicy(**kwargs)


def test_train_config_checks_its_policy():
    with pytest.raises(ValueError, match="stride must be 1 to 250"):
        TrainConfig(stride=300)
    with pytest.raises(ValueError, match="aggregation"):
        TrainConfig(aggregation="median")
    assert TrainConfig(crop=1000, stride=500).policy().stride == 500


# (e) weight averaging -------------------------------------------------------------------------------------------


def test_averaged_model_is_the_exponential_average_by_hand():
    from mrm.train.loop import _averaged_model

    assert _averaged_model(torch.nn.Linear(2, 1), 0.0) is None
    net = torch.nn.Sequential(torch.nn.Linear(2, 1), torch.nn.BatchNorm1d(1))
    averaged = _averaged_model(net, 0.9)
    first = {k: v.clone().float() for k, v in net.state_dict().items()}
    with torch.no_grad():
        net[0].weight.add_(1.0)
        net[1].running_mean.fill_(2.0)
    averaged.update_parameters(net)  # the first update copies, the second averages
    with torch.no_grad():
        net[0].weight.add_(1.0)
        net[1].running_mean.fill_(4.0)
    averaged.update_parameters(net)
    got = averaged.module.state_dict()
    assert torch.allclose(got["0.weight"], 0.9 * (first["0.weight"] + 1) + 0.1 * (first["0.weight"] + 2))
    # BatchNorm statistics are the current network's until _refit_batchnorm recomputes them for the average
    assert torch.allclose(got["1.running_mean"], torch.tensor([4.0]))
    with pytest.raises(ValueError, match="ema must be a decay"):
        TrainConfig(ema=1.0)


def test_weight_averaging_is_selected_and_resumes(root: Path, ptbxl_cache: Path, tmp_path: Path):
    config = TrainConfig(task="superdiagnostic", model="tiny", epochs=2, batch_size=16, train_fraction=0.3, ema=0.9)
    data = load_task_data("ptbxl", config.task, root, cache_dir=ptbxl_cache)
    whole = fit(config, data, tmp_path / "whole", progress=False, log=lambda _: None)
    plain = fit(TrainConfig(**{**config.to_dict(), "ema": 0.0}), data, tmp_path / "plain", progress=False,
                log=lambda _: None)
    # same steps, same data: only the averaging differs, and it is what was validated
    assert [h["loss_bce"] for h in whole.history] == [h["loss_bce"] for h in plain.history]
    assert [h["val_auc"] for h in whole.history] != [h["val_auc"] for h in plain.history]
    ckpt = torch.load(tmp_path / "whole" / CHECKPOINT, weights_only=True)
    assert "averaged" in ckpt and "averaged" not in torch.load(tmp_path / "plain" / CHECKPOINT, weights_only=True)
    assert whole.history[whole.best_epoch - 1]["val_auc"] == max(h["val_auc"] for h in whole.history)

    with pytest.raises(KeyboardInterrupt):
        fit(config, data, tmp_path / "cut", progress=False, log=_StopAfter(2))
    # after epoch 1 (the only one saved) the kept network is the average, not the last step's weights
    first = torch.load(tmp_path / "cut" / CHECKPOINT, weights_only=True)
    averaged_state = {k.removeprefix("module."): v for k, v in first["averaged"].items() if k != "n_averaged"}
    assert averaged_state.keys() == first["best_state"].keys()
    assert all(torch.equal(first["best_state"][k], averaged_state[k]) for k in averaged_state)
    assert not all(torch.equal(first["model"][k], averaged_state[k]) for k in averaged_state)
    resumed = fit(config, data, tmp_path / "cut", resume=True, progress=False, log=lambda _: None)
    assert _no_seconds(resumed.history) == _no_seconds(whole.history)
    a, b = whole.model.state_dict(), resumed.model.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
