"""Auxiliary labels: a finer task's labels trained on as extra outputs, removed from the heads after training."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from mrm.model import MutualLoss, create_model
from mrm.model.narrow import keep_first_classes, split_classes
from mrm.train.card import load_weights
from mrm.train.config import TrainConfig
from mrm.train.data import add_auxiliary_labels, load_task_data
from mrm.train.run import evaluate_weights, train_task


@pytest.mark.parametrize("name, overrides", [
    ("tiny", {}),
    ("tiny", {"fusion": "learned"}),
    ("tiny", {"single_branch": "lr"}),
    ("xresnet1d50", {}),
    ("resnet1d_wang", {}),
])
def test_keep_first_classes_keeps_the_outputs_exactly(name: str, overrides: dict):
    torch.manual_seed(0)
    model = create_model(name, n_classes=9, **overrides).eval()
    if getattr(model, "fusion_logit", None) is not None:
        with torch.no_grad():
            model.fusion_logit.copy_(torch.linspace(-2, 2, 9))  # a fusion that is not the plain mean
    x = torch.randn(3, 12, 250)
    with torch.no_grad():
        before = model(x)
        after = keep_first_classes(model, 4)(x)
    assert model.n_classes == 4
    assert after.logits.shape == (3, 4)
    torch.testing.assert_close(after.logits, before.logits[:, :4])
    for field in ("logits_hr", "logits_lr"):
        if getattr(before, field) is not None:
            torch.testing.assert_close(getattr(after, field), getattr(before, field)[:, :4])
    # the narrowed state dict loads into a network built for 4 classes
    create_model(name, n_classes=4, **overrides).load_state_dict(model.state_dict())


def test_keep_first_classes_refuses_a_bad_count():
    with pytest.raises(ValueError, match="1 to 5"):
        keep_first_classes(create_model("tiny", n_classes=5), 6)


def test_split_classes_and_the_loss_of_each_part():
    torch.manual_seed(0)
    out = create_model("tiny", n_classes=7)(torch.randn(4, 12, 250))
    main, aux = split_classes(out, 5)
    assert main.logits_hr.shape == (4, 5) and aux.logits_lr.shape == (4, 2)
    assert main.feat_hr is out.feat_hr and aux.feat_hr is None
    y = torch.randint(0, 2, (4, 7)).float()
    # the auxiliary loss is the BCE of each head on the auxiliary columns, by hand:
    by_hand = sum(torch.nn.functional.binary_cross_entropy_with_logits(getattr(out, f)[:, 5:], y[:, 5:])
                  for f in ("logits_hr", "logits_lr"))
    torch.testing.assert_close(MutualLoss(w_logit=0, w_feat=0)(aux, y[:, 5:]).total, by_hand)


def test_config_validates_the_auxiliary_task():
    assert TrainConfig(task="superdiagnostic", aux_task="subdiagnostic").aux_task == "subdiagnostic"
    for bad in ("superdiagnostic", "cpsc2018", "nonsense"):
        with pytest.raises(ValueError, match="aux_task"):
            TrainConfig(task="superdiagnostic", aux_task=bad)
    with pytest.raises(ValueError, match="aux_task"):
        TrainConfig(dataset="cpsc2018", task="cpsc2018", aux_task="all")
    with pytest.raises(ValueError, match="aux_weight"):
        TrainConfig(aux_task="diagnostic", aux_weight=0)


def test_auxiliary_labels_match_the_csv(ptbxl_dir: Path, ptbxl_cache: Path):
    data = load_task_data("ptbxl", "superdiagnostic", ptbxl_dir.parent, cache_dir=ptbxl_cache)
    data = add_auxiliary_labels(data, "subdiagnostic", ptbxl_dir.parent)
    assert data.y_aux.shape == (len(data.ids), len(data.aux_classes))
    database = pd.read_csv(ptbxl_dir / "ptbxl_database.csv", index_col="ecg_id")
    statements = pd.read_csv(ptbxl_dir / "scp_statements.csv", index_col=0)
    diagnostic = statements[statements["diagnostic"] == 1]
    for k in np.random.default_rng(0).choice(len(data.ids), 40, replace=False):
        codes = ast.literal_eval(database.at[int(data.ids[k]), "scp_codes"])
        expected = {diagnostic.at[c, "diagnostic_subclass"] for c in codes if c in diagnostic.index}
        got = {c for c, v in zip(data.aux_classes, data.y_aux[k], strict=True) if v}
        assert got == expected & set(data.aux_classes)
    # every auxiliary class kept has a training positive; subsets carry the auxiliary rows along
    train = np.isin(data.folds, range(1, 9))
    assert data.y_aux[train].any(axis=0).all()
    val = data.subset(data.folds == 9)
    np.testing.assert_array_equal(val.y_aux, data.y_aux[data.folds == 9])


def test_training_with_auxiliary_labels_serves_the_task_only(ptbxl_dir: Path, ptbxl_cache: Path, tmp_path: Path):
    config = TrainConfig(task="superdiagnostic", model="tiny", epochs=2, batch_size=32, aux_task="subdiagnostic")
    weights = train_task(config, ptbxl_dir.parent, tmp_path, cache_dir=ptbxl_cache, progress=False,
                         log=lambda _: None)
    card = json.loads(weights.with_suffix(".json").read_text())
    assert card["classes"] == ["CD", "HYP", "MI", "NORM", "STTC"]
    assert card["auxiliary_labels"]["task"] == "subdiagnostic"
    assert "NORM" in card["auxiliary_labels"]["classes"] and len(card["auxiliary_labels"]["classes"]) > 5
    history = card["training"]["history"]
    assert all(h["loss_bce_aux"] > 0 for h in history)
    assert history[0]["loss_total"] == pytest.approx(history[0]["loss_bce"] + history[0]["loss_bce_aux"]
                                                     + 0.1 * history[0]["loss_kl_logits"]
                                                     + 0.01 * history[0]["loss_kl_features"], rel=1e-4)
    model, _ = load_weights(weights)
    assert model.n_classes == 5
    # the card's fold-10 numbers come back from the narrowed weights alone
    report = evaluate_weights(weights, ptbxl_dir.parent, cache_dir=ptbxl_cache)
    assert report["macro_auc"] == pytest.approx(card["test"]["macro_auc"], abs=1e-6)
