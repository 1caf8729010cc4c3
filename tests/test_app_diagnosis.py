"""Dashboard part 2: the Streamlit-free helpers (ground truth, diagnosis rows, exports, model card, threshold
explorer, teaching) on real records and weights, and the Diagnosis, Attention, Model card, Teaching and Report pages
run with AppTest, including branches that disagree, a record without ground truth (an upload) and a task without
weights.

Weights come from the session fixture ``tiny_weights`` (a tiny MRM-Net trained on the shared PTB-XL records) copied
into a temporary ``MRM_WEIGHTS_DIR`` as the shipped ``mrm_superdiagnostic`` files, so nothing here depends on what
weights/ holds.
"""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from app_helpers import assert_ok, open_app
from sklearn.metrics import confusion_matrix
from streamlit.testing.v1 import AppTest

from mrm.app.diagnosis import (
    GroundTruth,
    Truth,
    diagnosis_rows,
    diagnosis_table,
    ground_truth,
    outcome_counts,
    prediction_csv,
    prediction_json,
    statement_classes,
    tasks_with_weights,
)
from mrm.app.modelcard import (
    benchmark_table,
    fold9_path,
    load_fold9,
    operating_curves,
    operating_point,
    read_model_card,
)
from mrm.app.teaching import Score, case_pool, draw_case, grade_answer
from mrm.data import load_cpsc2018, load_ptbxl
from mrm.data.cpsc2018 import CLASSES as CPSC_CLASSES
from mrm.data.samples import list_samples
from mrm.errors import ECGInputError
from mrm.infer import Predictor
from mrm.train.config import TASKS

PAGES = {name: f"pages/{name}.py" for name in ("3_Diagnosis", "4_Attention", "5_Model_card", "6_Teaching", "7_Report")}
SUPER = ["CD", "HYP", "MI", "NORM", "STTC"]


def ship(weights: Path, folder: Path, task: str = "superdiagnostic") -> Path:
    """Copy a trained run's files into ``folder`` under the shipped name ``mrm_{task}``."""
    folder.mkdir(parents=True, exist_ok=True)
    for suffix in (".pt", ".json"):
        shutil.copy(weights.with_suffix(suffix), folder / f"mrm_{task}{suffix}")
    shutil.copy(fold9_path(weights), folder / f"mrm_{task}.fold9.npz")
    return folder / f"mrm_{task}.pt"


@pytest.fixture(scope="module")
def weights_dir(tiny_weights, tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("weights")
    ship(tiny_weights, folder)
    return folder


@pytest.fixture(scope="module")
def disagreeing_dir(tiny_weights, tmp_path_factory) -> Path:
    """The same network with the LR head's MI output pushed up: its two branches disagree on MI on any record."""
    folder = tmp_path_factory.mktemp("weights-disagree")
    path = ship(tiny_weights, folder)
    state = torch.load(path, weights_only=True)
    state["heads.lr.linear.bias"][SUPER.index("MI")] += 6.0
    torch.save(state, path)
    return folder


@pytest.fixture(scope="module")
def predictor(weights_dir) -> Predictor:
    return Predictor.for_task("superdiagnostic", weights_dir)


@pytest.fixture(scope="module")
def calm(predictor, ptbxl) -> int:
    """A fold-10 record labelled NORM on which the tiny network's two branches agree (no flag)."""
    for ecg_id in ptbxl.filter(folds=10, superclass="NORM", fs=500).ecg_ids:
        if not predictor.predict(ptbxl.load_record(int(ecg_id), fs=500)).disagreement_flagged:
            return int(ecg_id)
    pytest.fail("no fold-10 NORM record without a branch disagreement")


# ---------------------------------------------------------------- helpers without Streamlit


def test_ground_truth_matches_the_benchmark_labels_for_every_task(ptbxl):
    """The truth shown beside a prediction is exactly the benchmark's label matrix, for every task and record."""
    index = ptbxl.filter(with_signal=True)
    for task in [t for t in TASKS if t != "cpsc2018"]:
        labels = index.labels_for_task(task)
        for row, ecg_id in list(enumerate(labels.ids))[::25]:
            rec_labels = index.metadata.at[ecg_id, "scp_codes"]
            from mrm.data.recording import Recording

            rec = Recording(np.zeros((12, 10), np.float32), 100.0, f"{ecg_id:05d}", "ptbxl", labels=rec_labels)
            truth = ground_truth(rec, task, labels.classes, index.statements)
            got = [truth.classes[c].present for c in labels.classes]
            assert got == labels.y[row].tolist(), (task, ecg_id)


def test_ground_truth_evidence_and_sources(ptbxl, cpsc_dir):
    rec = ptbxl.load_record(9, fs=100)  # NORM 100%, SR
    truth = ground_truth(rec, "superdiagnostic", SUPER, ptbxl.statements)
    assert truth.positive == ["NORM"] and truth.classes["NORM"] == Truth(True, "NORM 100%", 100.0)
    assert truth.source.startswith("PTB-XL statements") and truth.note == ""
    rhythm = ground_truth(rec, "rhythm", ["AFIB", "SR"], ptbxl.statements)
    assert rhythm.positive == ["SR"] and rhythm.classes["SR"].likelihood is None
    # A record without any statement of the task: every class absent, and said so.
    flutter = ptbxl.load_record(17, fs=100)  # AFLT, ABQRS, AFIB: no diagnostic statement
    none = ground_truth(flutter, "superdiagnostic", SUPER, ptbxl.statements)
    assert none.positive == [] and "no statement of the superdiagnostic task" in none.note
    # PTB-XL record read with the CPSC2018 classes: from its statements.
    as_cpsc = ground_truth(flutter, "cpsc2018", [c.ptbxl for c in CPSC_CLASSES], ptbxl.statements)
    assert as_cpsc.positive == ["AFIB"] and "PTB-XL statements" in as_cpsc.note
    # CPSC2018: REFERENCE.csv labels for its own task, none for a PTB-XL task.
    cpsc = load_cpsc2018(cpsc_dir)
    a1 = cpsc.load_record("A0001")
    truth = ground_truth(a1, "cpsc2018", [c.ptbxl for c in CPSC_CLASSES])
    assert truth.positive == list(a1.labels) == ["CRBBB"] and truth.classes["CRBBB"].evidence == "RBBB"
    assert not ground_truth(a1, "superdiagnostic", SUPER).available
    upload = ground_truth(a1.__class__(a1.signal, a1.fs, "x", "upload"), "superdiagnostic", SUPER)
    assert not upload.available and "uploaded file" in upload.note
    assert statement_classes(ptbxl.statements, "superdiagnostic")["IMI"] == "MI"
    with pytest.raises(ValueError, match="unknown task"):
        statement_classes(ptbxl.statements, "beats")


def test_diagnosis_rows_sorted_with_outcomes(predictor, ptbxl):
    rec = ptbxl.load_record(9, fs=500)
    pred = predictor.predict(rec)
    truth = ground_truth(rec, "superdiagnostic", predictor.classes, ptbxl.statements)
    rows = diagnosis_rows(pred, truth)
    assert [r.probability for r in rows] == sorted((c.probability for c in pred.classes), reverse=True)
    by_code = {c.code: c for c in pred.classes}
    for r in rows:
        c = by_code[r.code]
        assert (r.probability, r.threshold, r.decision, r.probability_hr) == (c.probability, c.threshold, c.decision,
                                                                             c.probability_hr)
        expected = {(True, True): "TP", (False, True): "FP", (True, False): "FN", (False, False): "TN"}[
            (r.code == "NORM", bool(c.decision))]
        assert r.outcome == expected
    assert sum(outcome_counts(rows).values()) == 5
    table = diagnosis_table(rows)
    assert table["truth"].tolist().count("present: NORM 100%") == 1 and set(table["truth"]) <= {
        "present: NORM 100%", "absent"}
    # Without truth: no outcome, "unknown" truth.
    bare = diagnosis_table(diagnosis_rows(pred, GroundTruth(note="upload")))
    assert set(bare["truth"]) == {"unknown"} and set(bare["outcome"]) == {""}


def test_exports_hold_every_class_and_the_truth(predictor, ptbxl):
    rec = ptbxl.load_record(9, fs=500)
    pred = predictor.predict(rec)
    truth = ground_truth(rec, "superdiagnostic", predictor.classes, ptbxl.statements)
    table = pd.read_csv(io.StringIO(prediction_csv(predictor, pred, rec)))
    assert len(table) == 1 and table.loc[0, "path"] == "ptbxl/00009"
    for c in pred.classes:
        assert table.loc[0, c.code] == pytest.approx(c.probability, abs=1e-6)
        assert table.loc[0, f"{c.code}_hr"] == pytest.approx(c.probability_hr, abs=1e-6)
    doc = json.loads(prediction_json(predictor, pred, rec, truth))
    assert doc["n_predicted"] == 1 and [c["code"] for c in doc["predictions"][0]["classes"]] == predictor.classes
    assert doc["ground_truth"]["classes"]["NORM"] == {"present": True, "evidence": "NORM 100%"}
    assert doc["ground_truth"]["available"] and not doc["ground_truth"]["classes"]["MI"]["present"]


def test_tasks_with_weights(weights_dir, tmp_path):
    assert tasks_with_weights(weights_dir) == ["superdiagnostic"]
    (tmp_path / "mrm_rhythm.pt").write_bytes(b"")  # no card: not a usable shipped file
    assert tasks_with_weights(tmp_path) == []


def test_model_card_and_threshold_explorer(weights_dir, tiny_weights):
    path = weights_dir / "mrm_superdiagnostic.pt"
    card = read_model_card(path)
    raw = json.loads(tiny_weights.with_suffix(".json").read_text())
    assert card.macro_auc == raw["test"]["macro_auc"] and card.macro_auc_low < card.macro_auc < card.macro_auc_high
    assert card.per_class["code"].tolist() == SUPER
    assert card.per_class.set_index("code").loc["MI", "AUC"] == raw["test"]["per_class"]["MI"]["auc"]
    assert set(card.roc) == set(SUPER) and card.roc["MI"][0][0] == 0.0
    fold9 = load_fold9(path, SUPER)
    assert fold9.y.shape == fold9.p.shape == (len(fold9.ids), 5) and len(fold9.ids) > 50
    y, p = fold9.column("NORM")
    for threshold in (0.2, raw["thresholds"][SUPER.index("NORM")], 0.9):
        point = operating_point(y, p, threshold)
        tn, fp, fn, tp = confusion_matrix(y, p >= threshold, labels=[False, True]).ravel()
        assert (point.tp, point.fp, point.tn, point.fn) == (tp, fp, tn, fn)
        assert point.sensitivity == pytest.approx(tp / (tp + fn)) and point.specificity == pytest.approx(tn / (tn + fp))
    curves = operating_curves(y, p)
    assert curves["sensitivity"].iloc[0] == 1.0 and curves["specificity"].iloc[0] == 0.0
    assert (np.diff(curves["sensitivity"]) <= 1e-12).all()  # a higher threshold never finds more
    table = benchmark_table({"superdiagnostic": card})
    assert table.loc["MRM-Net, ours (records at hand; shipped cards)", "superdiagnostic"] == card.macro_auc
    assert table.loc["resnet1d_wang (benchmark)", "rhythm"] == 0.946
    assert np.isnan(table.loc["MRM-Net, ours (records at hand; shipped cards)", "rhythm"])


def test_teaching_pool_grade_and_score(ptbxl, cpsc_dir):
    pool = case_pool(ptbxl, "superdiagnostic", SUPER, wanted=["MI"])
    labels = ptbxl.filter(folds=10).labels_for_task("superdiagnostic", classes=SUPER)
    expected = labels.ids[labels.y[:, SUPER.index("MI")]]
    assert pool == [str(i) for i in expected] and len(pool) > 3
    everything = case_pool(ptbxl, "superdiagnostic", SUPER, folds=None)
    assert len(everything) > len(case_pool(ptbxl, "superdiagnostic", SUPER)) > len(pool)
    with pytest.raises(ECGInputError, match="XYZ: not a class of the superdiagnostic task"):
        case_pool(ptbxl, "superdiagnostic", SUPER, wanted=["XYZ"])
    cpsc = case_pool(load_cpsc2018(cpsc_dir), "cpsc2018", [c.ptbxl for c in CPSC_CLASSES], folds=None,
                     wanted=["AFIB"])
    assert cpsc and all(r.startswith("A") for r in cpsc)
    rng = np.random.default_rng(0)
    drawn = {draw_case(pool[:3], rng, seen=pool[:2]) for _ in range(10)}
    assert drawn == {pool[2]}
    with pytest.raises(ECGInputError, match="no record matches"):
        draw_case([], rng)
    right, wrong = grade_answer(["MI"], ["MI"], SUPER), grade_answer(["NORM"], ["MI", "STTC"], SUPER)
    assert right.exact and right.jaccard == 1.0
    assert (wrong.hits, wrong.misses, wrong.false_alarms, wrong.jaccard) == ((), ("MI", "STTC"), ("NORM",), 0.0)
    score = Score().add(right, wrong).add(wrong, right)
    assert (score.cases, score.exact, score.model_exact, score.mean_jaccard) == (2, 1, 1, 0.5)


# ---------------------------------------------------------------- the pages, with AppTest




def _chart(at: AppTest, key: str) -> dict:
    charts = [c for c in at.get("plotly_chart") if c.proto.id.endswith(f"-{key}")]
    assert len(charts) == 1, [c.proto.id for c in at.get("plotly_chart")]
    return json.loads(charts[0].proto.spec)


def test_diagnosis_page_beside_the_truth(monkeypatch, shared_data, weights_dir, predictor, ptbxl, calm):
    at = open_app(monkeypatch, shared_data, weights_dir, dataset="ptbxl", record=str(calm))
    at = assert_ok(at.switch_page(PAGES["3_Diagnosis"]).run())
    expected = predictor.predict(ptbxl.load_record(calm, fs=500))
    table = at.dataframe[0].value
    assert table["code"].tolist() == [c.code for c in sorted(expected.classes, key=lambda c: -c.probability)]
    probs = dict(zip(table["code"], table["probability"], strict=True))
    assert all(probs[c.code] == pytest.approx(c.probability, abs=1e-4) for c in expected.classes)
    assert table.set_index("code").loc["NORM", "truth"].startswith("present: NORM")
    metrics = {m.label: int(m.value) for m in at.metric}
    assert sum(metrics.values()) == 5
    assert at.success[0].value.startswith("The two branches agree")
    assert not at.warning  # fold 10: no training note
    assert {b.proto.label for b in at.get("download_button")} == {"Predictions (CSV)", "Predictions and truth (JSON)"}
    spec = _chart(at, "probabilities")
    assert [t["name"] for t in spec["data"]] == ["fused", "HR", "LR", "threshold"]
    # A training-fold record says so beside its prediction; the task choice goes into the URL.
    at = open_app(monkeypatch, shared_data, weights_dir, dataset="ptbxl", record="1")
    at = at.switch_page(PAGES["3_Diagnosis"]).run()
    assert not at.exception and "training folds (1-8)" in at.warning[0].value
    shown = [e.value for kind in ("warning", "caption", "markdown", "info") for e in at.get(kind)]
    assert sum("training folds (1-8)" in text for text in shown) == 1  # said once, not in the banner again
    assert at.query_params["task"] == "superdiagnostic"


def test_diagnosis_page_flags_disagreeing_branches(monkeypatch, shared_data, disagreeing_dir):
    at = open_app(monkeypatch, shared_data, disagreeing_dir, dataset="ptbxl", record="9")
    at = at.switch_page(PAGES["3_Diagnosis"]).run()
    assert not at.exception
    assert len(at.error) == 1 and "branches disagree on MI (myocardial infarction)" in at.error[0].value
    flag = Predictor.for_task("superdiagnostic", disagreeing_dir).disagreement_flag  # the card's (fold 9)
    assert f"flagged above {flag:g}" in at.error[0].value
    assert any(f"more than {flag:g} apart" in c.value for c in at.caption)
    table = at.dataframe[0].value.set_index("code")
    assert table.loc["MI", "branches"].startswith("DISAGREE by")
    assert table.loc["MI", "LR"] - table.loc["MI", "HR"] > flag
    assert "MI !" in _chart(at, "probabilities")["data"][0]["y"]


def test_diagnosis_of_an_upload_has_no_ground_truth(monkeypatch, shared_data, weights_dir, predictor, calm):
    hea = shared_data / f"ptb-xl/records500/00000/{calm:05d}_hr.hea"
    at = assert_ok(open_app(monkeypatch, shared_data, weights_dir).switch_page("pages/1_Record.py").run())
    at.segmented_control(key="_w_source").set_value("Upload").run()
    at.file_uploader(key="uploader").set_value(
        [(hea.name, hea.read_bytes(), "text/plain"), (hea.with_suffix(".dat").name,
                                                       hea.with_suffix(".dat").read_bytes(), "application/x")]).run()
    at = assert_ok(at.switch_page(PAGES["3_Diagnosis"]).run())
    assert "No ground truth to compare with: an uploaded file" in at.info[0].value
    table = at.dataframe[0].value
    assert set(table["truth"]) == {"unknown"} and not at.metric
    # The same samples as the PTB-XL record: the same probabilities.
    expected = predictor.predict(load_ptbxl(shared_data / "ptb-xl").load_record(calm, fs=500))
    probs = dict(zip(table["code"], table["probability"], strict=True))
    assert all(probs[c.code] == pytest.approx(c.probability, abs=1e-4) for c in expected.classes)


def test_a_task_without_weights_says_how_to_train_them(monkeypatch, shared_data, weights_dir, tmp_path):
    for folder, task in ((tmp_path, "superdiagnostic"), (weights_dir, "rhythm")):
        at = open_app(monkeypatch, shared_data, folder, dataset="ptbxl", record="9", task=task)
        for page in ("3_Diagnosis", "4_Attention", "5_Model_card", "6_Teaching", "7_Report"):
            at = at.switch_page(PAGES[page]).run()
            assert not at.exception, (page, [e.value for e in at.exception])
            text = " ".join(w.value for w in at.warning)
            assert f"no weights for task {task}" in text and f"python -m mrm train --task {task}" in text, page


def test_attention_page(monkeypatch, shared_data, weights_dir):
    at = open_app(monkeypatch, shared_data, weights_dir, dataset="ptbxl", record="9")
    at = assert_ok(at.switch_page(PAGES["4_Attention"]).run())
    spec = _chart(at, "attention_sheet")
    heatmaps = [t for t in spec["data"] if t["type"] == "heatmap"]
    assert [t["name"] for t in heatmaps] == ["HR attention", "LR attention"]
    assert len([t for t in spec["data"] if t.get("meta")]) == 13  # 12 leads and the rhythm strip, over the bands
    assert heatmaps[0]["opacity"] == 0.5
    assert [m.label for m in at.metric][:2] == ["Correlation", "Overlap of the top 20%"]
    assert not [c for c in at.get("plotly_chart") if c.proto.id.endswith("-attribution")]  # only when asked
    at.selectbox(key="attribution_class").set_value("MI").run()
    attribution = _chart(assert_ok(at), "attribution")
    assert attribution["data"][0]["type"] == "heatmap" and len(attribution["data"][0]["y"]) == 12
    # Toggling a branch off reruns the fragment: one band left, filling the rows.
    at.toggle(key="_w_show_lr").set_value(False).run()
    spec = _chart(assert_ok(at), "attention_sheet")
    assert [t["name"] for t in spec["data"] if t["type"] == "heatmap"] == ["HR attention"]
    at.selectbox(key="attribution_method").set_value("grad_cam_lr").run()
    assert _chart(assert_ok(at), "attribution")["data"][0]["y"] == ["all leads"]


def test_model_card_page(monkeypatch, shared_data, weights_dir, tiny_weights):
    at = assert_ok(open_app(monkeypatch, shared_data, weights_dir).switch_page(PAGES["5_Model_card"]).run())
    raw = json.loads(tiny_weights.with_suffix(".json").read_text())
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Fold-10 macro AUC"] == f"{raw['test']['macro_auc']:.3f}"
    assert metrics["95% interval"] == f"{raw['test']['macro_auc_low']:.3f}-{raw['test']['macro_auc_high']:.3f}"
    per_class = at.dataframe[0].value
    assert per_class["code"].tolist() == SUPER
    config = raw["training"]["config"]
    assert any(f"Training: BCE per head + {config['kl_kind']} KL" in c.value
               and "served on 2.5-s windows every 2.5 s, max over windows" in c.value for c in at.caption)
    # The threshold explorer: moving the threshold gives the confusion counts of fold 9 at it.
    fold9 = load_fold9(weights_dir / "mrm_superdiagnostic.pt", SUPER)
    code = at.selectbox(key="explorer_class").value
    at.slider(key=f"threshold_{code}").set_value(0.3).run()
    y, p = fold9.column(code)
    tn, fp, fn, tp = confusion_matrix(y, p >= 0.3, labels=[False, True]).ravel()
    metrics = {m.label: m.value for m in assert_ok(at).metric}
    assert metrics["Sensitivity"] == f"{tp / (tp + fn):.2f}" and metrics["Called positive"] == f"{tp + fp} of {len(y)}"
    benchmark = at.dataframe[-1].value
    assert "MRM-Net, ours (records at hand; shipped cards)" in benchmark.index
    assert "not directly comparable" in at.warning[0].value


def test_teaching_mode_scores_the_session(monkeypatch, shared_data, weights_dir, ptbxl):
    at = assert_ok(open_app(monkeypatch, shared_data, weights_dir).switch_page(PAGES["6_Teaching"]).run())
    at.multiselect(key="_w_teaching_classes").set_value(["MI"]).run()
    at.button(key="teaching_new").click().run()
    case = assert_ok(at).session_state["teaching_case"]
    assert case["record"] in case_pool(ptbxl, "superdiagnostic", SUPER, wanted=["MI"])
    truth = ground_truth(ptbxl.load_record(int(case["record"]), fs=100), "superdiagnostic", SUPER, ptbxl.statements)
    assert "MI" in truth.positive
    assert not at.dataframe  # nothing revealed before the answer
    for code in truth.positive:
        at.checkbox(key=f"tick_{code}").check()
    at.button(key="teaching_reveal").click().run()
    assert assert_ok(at).success[0].value.startswith("Exactly right")
    assert at.session_state["teaching_score"].cases == 1 and at.session_state["teaching_score"].exact == 1
    assert _chart(at, "teaching_attention")["data"][0]["name"] == "HR attention"
    # A second case, answered wrongly (nothing ticked while MI is there).
    at.button(key="teaching_new").click().run()
    assert at.session_state["teaching_case"]["record"] != case["record"]
    assert not any(at.checkbox(key=f"tick_{c}").value for c in SUPER)
    at.button(key="teaching_reveal").click().run()
    score = assert_ok(at).session_state["teaching_score"]
    assert (score.cases, score.exact) == (2, 1) and 0.4 < score.mean_jaccard < 0.6
    assert "missed: " in at.warning[0].value
    at.button(key="teaching_open").click().run()
    assert at.session_state["view"].record == at.session_state["teaching_case"]["record"]


def test_teaching_mode_without_a_dataset_draws_from_the_bundled_samples(monkeypatch, tmp_path, weights_dir):
    at = assert_ok(open_app(monkeypatch, tmp_path, weights_dir).switch_page(PAGES["6_Teaching"]).run())
    assert "15 bundled samples" in at.info[0].value
    at.button(key="teaching_new").click().run()
    case = assert_ok(at).session_state["teaching_case"]
    assert case["dataset"] == "samples" and int(case["record"]) in {s.ecg_id for s in list_samples()}
    at.button(key="teaching_reveal").click().run()
    assert assert_ok(at).dataframe[0].value["class"].tolist()  # truth and model revealed
    assert at.session_state["teaching_score"].cases == 1


def test_report_page(monkeypatch, shared_data, weights_dir):
    at = open_app(monkeypatch, shared_data, weights_dir, dataset="cpsc2018", record="A0001")
    at = assert_ok(at.switch_page(PAGES["7_Report"]).run())
    labels = [b.proto.label for b in at.get("download_button")]
    assert labels == ["Download the PDF report", "Predictions (CSV)", "Predictions and truth (JSON)"]
    assert "(none for this record)" in at.markdown[0].value  # CPSC2018 labels do not cover superdiagnostic
    assert "not a medical device" in at.info[-1].value
