"""The Predictor on real records: the evaluation path's probabilities, any length and rate, thresholds, both heads."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace

import numpy as np
import pytest
import torch

from mrm.data import read_ecg
from mrm.errors import ECGInputError
from mrm.evaluate.predict import predict_records
from mrm.infer.predictor import DISAGREEMENT_FLAG, Predictor, minimal_card, weights_for_task
from mrm.model import create_model
from mrm.train.card import card_policy, card_standardizer, load_weights
from mrm.train.data import load_task_data


def with_policy(predictor: Predictor, **policy) -> Predictor:
    """The same network under another input policy (e.g. the authors' 10-s windows)."""
    card = dict(predictor.card, input_policy={**predictor.card["input_policy"], **policy})
    return Predictor(predictor.model, card)


def test_same_probabilities_as_the_evaluation_path(predictor, tiny_weights, shared_data, fold10):
    model, card = load_weights(tiny_weights)
    data = load_task_data("ptbxl", card["task"], shared_data, classes=card["classes"], folds=(10,))
    standardizer = card_standardizer(card)
    expected = predict_records(model, [standardizer.transform(s) for s in data.signals], card_policy(card))
    got = predictor.predict_many([fold10.load_record(int(i), fs=100) for i in data.ids])
    assert len(got) == len(data.ids) > 50
    for head, attr in (("fused", expected.fused), ("hr", expected.hr), ("lr", expected.lr)):
        probs = np.array([p.probabilities(head) for p in got])
        np.testing.assert_allclose(probs, attr, atol=1e-6)
    # and therefore the fold-10 AUCs the card reports, computed by training on the same records
    from sklearn.metrics import roc_auc_score

    probs = np.array([p.probabilities() for p in got])
    for c, code in enumerate(card["classes"]):
        assert roc_auc_score(data.y[:, c], probs[:, c]) == pytest.approx(card["test"]["per_class"][code]["auc"],
                                                                        abs=1e-5)


def test_a_38_second_record_at_1000_hz_is_the_maximum_over_its_windows(predictor, ptbdb_dir):
    rec = read_ecg(ptbdb_dir / "s0010_re.hea")
    assert rec.fs == 1000 and rec.duration == pytest.approx(38.4)
    pred = predictor.predict(rec)
    assert pred.fs == 1000 and pred.duration == pytest.approx(38.4) and pred.padded == 0
    # 2.5-s windows without overlap on 3,840 samples: 15 regular starts and one flush with the end
    assert len(pred.windows) == 16
    assert pred.windows[0] == (0.0, 2.5) and pred.windows[-1] == pytest.approx((35.9, 38.4))
    assert any("resampled from 1000 Hz to 100 Hz" in w for w in pred.warnings)
    assert any("vx, vy, vz" in w for w in pred.warnings)
    # each window predicted as its own 2.5-s record; the record's probability is their maximum
    x = predictor.prepare(rec)
    pieces = [replace(x, signal=x.signal[:, s : s + 250]) for s in x.starts]
    per_window = predictor.probabilities(pieces)
    np.testing.assert_allclose(pred.probabilities(), per_window.fused.max(axis=0), atol=1e-6)
    np.testing.assert_allclose(pred.probabilities("hr"), per_window.hr.max(axis=0), atol=1e-6)


def test_a_7_second_record_is_covered_by_its_windows_or_padded_to_a_10_second_one(predictor, fold10):
    full = fold10.load_record(int(fold10.ecg_ids[0]), fs=500)
    short = full.with_signal(full.signal[:, :3500], 500.0)
    pred = predictor.predict(short)
    assert pred.duration == pytest.approx(7.0) and pred.padded == 0
    assert [a for a, _ in pred.windows] == [0.0, 2.5, 4.5]
    assert pred.windows[-1][1] == pytest.approx(7.0)
    assert np.all((pred.probabilities() > 0) & (pred.probabilities() < 1))

    ten = with_policy(predictor, window=1000, stride=500)
    padded = ten.predict(short)
    assert padded.padded == pytest.approx(3.0) and padded.windows == [(0.0, 10.0)]
    assert any("shorter than one 10-s window" in w and "padded at its end with 3 s" in w for w in padded.warnings)
    # the 10-s record it was cut from is predicted from one unpadded window
    assert ten.predict(full).padded == 0 and len(ten.predict(full).windows) == 1


def test_a_500_hz_record_and_its_100_hz_copy_give_close_probabilities(predictor, fold10):
    ids = [int(i) for i in fold10.ecg_ids]
    high = predictor.predict_many([fold10.load_record(i, fs=500) for i in ids])
    low = predictor.predict_many([fold10.load_record(i, fs=100) for i in ids])
    assert all(p.fs == 500 for p in high) and all(p.fs == 100 for p in low)
    # PTB-XL's own 100 Hz files against our resampling of its 500 Hz files: measured max 0.035, mean 0.003
    diff = np.abs(np.array([p.probabilities() for p in high]) - np.array([p.probabilities() for p in low]))
    assert diff.mean() < 0.01 and diff.max() < 0.08
    decisions = np.array([[c.decision for c in p.classes] for p in high]) == np.array(
        [[c.decision for c in p.classes] for p in low])
    assert decisions.mean() > 0.95


def test_classes_carry_names_thresholds_decisions_and_both_heads(predictor, fold10):
    pred = predictor.predict(fold10.load_record(int(fold10.ecg_ids[3]), fs=500))
    card = predictor.card
    assert [c.code for c in pred.classes] == card["classes"]
    assert [c.name for c in pred.classes] == card["class_names"]
    assert "myocardial infarction" in [c.name for c in pred.classes]
    for c, t in zip(pred.classes, card["thresholds"], strict=True):
        assert c.threshold == pytest.approx(t)
        assert c.decision == (c.probability >= t)
        assert 0 < c.probability_hr < 1 and 0 < c.probability_lr < 1
        # the fused probability of each window is the mean of the heads', so the record's lies between them
        assert min(c.probability_hr, c.probability_lr) - 1e-6 <= c.probability
    assert pred.positive == [c for c in pred.classes if c.decision]
    gap = np.abs(pred.probabilities("hr") - pred.probabilities("lr"))
    assert pred.disagreement == pytest.approx(gap.max())
    assert pred.disagreement_class == card["classes"][int(gap.argmax())]
    assert pred.disagreement_flagged == (gap.max() > predictor.disagreement_flag)


def test_a_class_without_threshold_gets_no_decision(predictor, fold10):
    card = dict(predictor.card, thresholds=[None, *predictor.card["thresholds"][1:]])
    pred = Predictor(predictor.model, card).predict(fold10.load_record(int(fold10.ecg_ids[0]), fs=100))
    assert pred.classes[0].threshold is None and pred.classes[0].decision is None
    assert pred.classes[1].decision is not None


def test_large_branch_disagreement_is_flagged_with_a_warning(predictor, ptbdb_dir, fold10):
    records = [read_ecg(ptbdb_dir / "s0010_re.hea")] + [fold10.load_record(int(i), fs=100) for i in fold10.ecg_ids]
    # The card's flag (99th percentile of fold 9) may lie above every one of these records, depending on how the
    # tiny network trained on this CPU: a flag at their median disagreement makes both groups certain.
    flag = float(np.median([p.disagreement for p in predictor.predict_many(records)]))
    predictor = Predictor(predictor.model, dict(predictor.card, disagreement_flag=flag))
    assert predictor.disagreement_flag == flag
    preds = predictor.predict_many(records)
    flagged = [p for p in preds if p.disagreement_flagged]
    calm = [p for p in preds if not p.disagreement_flagged]
    assert flagged and calm
    for p in flagged:
        assert p.disagreement > predictor.disagreement_flag
        assert any(f"disagree on {p.disagreement_class}" in w for w in p.warnings)
    assert all(p.disagreement <= predictor.disagreement_flag and not any("disagree" in w for w in p.warnings)
               for p in calm)


def test_the_disagreement_flag_is_the_cards(predictor, fold10):
    """Training writes the 99th percentile of the fold-9 disagreement into the card; the Predictor flags above it
    (and falls back to DISAGREEMENT_FLAG for a card without one)."""
    card = predictor.card
    assert 0 < card["disagreement_flag"] < 1 and "fold 9" in card["disagreement_flag_rule"]
    assert predictor.disagreement_flag == card["disagreement_flag"]
    rec = fold10.load_record(int(fold10.ecg_ids[0]), fs=100)
    gap = predictor.predict(rec).disagreement
    for flag, flagged in ((gap / 2, True), (min(2 * gap, 1.0), False)):
        pred = Predictor(predictor.model, dict(card, disagreement_flag=flag)).predict(rec)
        assert pred.disagreement_flagged is flagged and pred.to_dict()["disagreement"]["flag_above"] == flag
    assert Predictor(predictor.model, {k: v for k, v in card.items() if k != "disagreement_flag"}
                     ).disagreement_flag == DISAGREEMENT_FLAG


def test_the_network_is_frozen_in_eval_mode_and_deterministic(fold10):
    model = create_model("tiny", 3, head_dropout=0.5, split_dropout=0.5).train()
    predictor = Predictor(model, minimal_card(["A", "B", "C"]))
    assert not predictor.model.training
    assert not any(p.requires_grad for p in predictor.model.parameters())
    rec = fold10.load_record(int(fold10.ecg_ids[1]), fs=500)
    first, second = predictor.predict(rec), predictor.predict(rec)
    assert first.probabilities().tolist() == second.probabilities().tolist()
    assert torch.is_grad_enabled()


def test_prediction_json(predictor, fold10):
    rec = fold10.load_record(int(fold10.ecg_ids[2]), fs=500)
    data = json.loads(json.dumps(predictor.predict(rec).to_dict()))
    assert data["record_id"] == rec.record_id and data["fs"] == 500.0 and data["duration_s"] == 10.0
    assert data["input"] == {
        "model_fs": 100.0, "window_s": 2.5, "stride_s": 2.5, "aggregation": "max", "n_windows": 4,
        "windows_s": [[0.0, 2.5], [2.5, 5.0], [5.0, 7.5], [7.5, 10.0]],
        "resampled": True, "padded_s": 0.0,
    }
    assert [c["code"] for c in data["classes"]] == predictor.classes
    assert set(data["classes"][0]) == {"code", "name", "probability", "threshold", "decision", "probability_hr",
                                       "probability_lr"}
    assert data["positive"] == [c["code"] for c in data["classes"] if c["decision"]]
    assert data["disagreement"]["flag_above"] == predictor.disagreement_flag
    assert any("resampled from 500 Hz" in w for w in data["warnings"])


def test_weights_for_task_finds_the_shipped_file_or_names_the_missing_one(tiny_weights, tmp_path):
    for suffix in (".pt", ".json"):
        shutil.copy(tiny_weights.with_suffix(suffix), tmp_path / f"mrm_superdiagnostic{suffix}")
    assert weights_for_task("superdiagnostic", tmp_path) == tmp_path / "mrm_superdiagnostic.pt"
    assert Predictor.for_task("superdiagnostic", tmp_path).classes == ["CD", "HYP", "MI", "NORM", "STTC"]
    with pytest.raises(ECGInputError, match=r"mrm_rhythm\.pt: no weights for task rhythm \(found: "
                                            r"mrm_superdiagnostic\.pt\)"):
        weights_for_task("rhythm", tmp_path)


def test_weights_without_their_card_are_refused(tiny_weights, tmp_path):
    shutil.copy(tiny_weights, tmp_path / "lonely.pt")
    with pytest.raises(ECGInputError, match="no model card lonely.json"):
        Predictor.load(tmp_path / "lonely.pt")


def test_bfloat16_predictions_stay_close_to_float32(tiny_weights, fold10):
    """--precision bfloat16 is an opt-in speed-up: same decisions machinery, probabilities within 0.02."""
    records = [fold10.load_record(int(i), fs=500) for i in fold10.ecg_ids[:8]]
    exact = Predictor.load(tiny_weights).predict_many(records)
    fast = Predictor.load(tiny_weights, precision="bfloat16").predict_many(records)
    for a, b in zip(exact, fast, strict=True):
        np.testing.assert_allclose(b.probabilities(), a.probabilities(), atol=0.02)
        np.testing.assert_allclose(b.probabilities("hr"), a.probabilities("hr"), atol=0.02)
        assert b.probabilities().dtype == np.float64 and not np.array_equal(b.probabilities(), a.probabilities())
    with pytest.raises(ECGInputError, match="precision"):
        Predictor.load(tiny_weights, precision="float16")
