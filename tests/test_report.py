"""The PDF report: a readable PDF (header, cross-reference table, three A4 landscape pages), the tracing with each
of the 12 leads exactly once, the predictions with thresholds, the truth, the attention strip and the research-tool
line, for a PTB-XL record, an upload without truth, a CPSC2018 record longer than 10 s and a 71-class task.

The text is read back from the file itself: the report sets its text in the PDF core font Helvetica, so every word
is a literal string of a content stream (``(text) Tj``), found after inflating the streams with zlib.
"""

from __future__ import annotations

import re
from dataclasses import replace

import numpy as np
import pytest
import torch
from pdf_text import check_structure, content_streams, page_texts

from mrm.app.diagnosis import GroundTruth, ground_truth
from mrm.data import load_cpsc2018
from mrm.data.recording import LEADS, Recording
from mrm.infer import Predictor, attention_maps, minimal_card
from mrm.measure import measure_ecg
from mrm.model import create_model
from mrm.report import DISCLAIMER, build_report, latin1, report_file_name


@pytest.fixture(scope="module")
def report(predictor, ptbxl):
    rec = ptbxl.load_record(9, fs=500)  # fold 10, NORM
    pred = predictor.predict(rec)
    truth = ground_truth(rec, "superdiagnostic", predictor.classes, ptbxl.statements)
    pdf = build_report(rec, pred, measurements=measure_ecg(rec), attention=attention_maps(predictor, rec),
                       truth=truth, created="2025-01-01 12:00")
    return pdf, rec, pred


def test_the_report_opens_and_has_three_a4_pages(report):
    pdf, _, _ = report
    assert check_structure(pdf) == 3
    assert 30_000 < len(pdf) < 1_500_000


def test_page_one_holds_the_record_and_the_tracing(report):
    pdf, rec, pred = report
    page = page_texts(pdf)[0]
    text = " ".join(page)
    assert "MRM-ECG report: PTB-XL ecg_id 9" in text and "fold 10" in text and "500 Hz, 10.0 s" in text
    assert f"age {rec.age:g} y" in text and f"sex {rec.sex}" in text
    assert f"Model {pred.model}, task superdiagnostic" in text and "2025-01-01 12:00" in text
    # Each of the 12 leads labelled exactly once on the 3x4 sheet, plus the rhythm strip.
    assert sorted(t for t in page if t in LEADS) == sorted(LEADS)
    assert page.count("II rhythm") == 1 and "25 mm/s, 10 mm/mV, 500 Hz" in page
    # The tracing itself: the page draws thousands of line segments (13 panels of 500 Hz samples).
    drawing = max(content_streams(pdf), key=len)
    assert drawing.count(b" l\n") > 5000
    assert text.endswith("1/3") and DISCLAIMER in page


def test_page_two_holds_predictions_thresholds_truth_and_measurements(report):
    pdf, _, pred = report
    page = page_texts(pdf)[1]
    text = " ".join(page)
    for c in pred.classes:
        assert c.code in page and c.name in page
        assert f"{c.probability:.2f}" in page and f"{c.threshold:.2f}" in page
    assert page.count("POSITIVE") == sum(bool(c.decision) for c in pred.classes)
    assert "truth" in page and "outcome" in page
    assert page.count("present") == 1  # NORM only
    assert "Heart rate" in page and "QRS duration" in page and "Frontal QRS axis" in page
    assert "Ground truth: PTB-XL statements (scp_codes) of the record." in text
    assert DISCLAIMER in page and "2/3" in page


def test_page_three_holds_the_attention_strip(report):
    pdf, _, _ = report
    page = page_texts(pdf)[2]
    text = " ".join(page)
    assert "Where the model looked: attention strip" in text
    assert "II  (upper half: HR attention, lower half: LR attention)" in page
    assert re.search(r"The two branches (agree|partly agree|look at different stretches).*correlation -?\d\.\d\d", text)
    # The two tinted strips are images (one per branch) of the attention along 10 s.
    assert len(re.findall(rb"/Subtype /Image", pdf)) >= 2
    assert DISCLAIMER in page and "3/3" in page


def test_an_upload_without_truth_and_a_long_cpsc_record(predictor, ptbxl, cpsc_dir):
    rec = replace(ptbxl.load_record(9, fs=500), dataset="upload", record_id="ecg", source="ecg.hea", fold=None,
                  labels={})
    pred = predictor.predict(rec)
    truth = ground_truth(rec, "superdiagnostic", predictor.classes)
    pdf = build_report(rec, pred, truth=truth)
    assert check_structure(pdf) == 3
    page = page_texts(pdf)[1]
    assert "outcome" not in page and "not measured" in page
    assert any(t.startswith("No ground truth: an uploaded file") for t in page)
    # A 30-s CPSC2018 record: the sheet shows its first 10 s and says so; no attention (None) is said too.
    cpsc = load_cpsc2018(cpsc_dir).load_record("A0005")
    assert cpsc.duration > 10
    pdf = build_report(cpsc, predictor.predict(cpsc))
    pages = page_texts(pdf)
    assert check_structure(pdf) == 3
    assert any(f"(the first 10 s of {cpsc.duration:.1f} s)" in t for t in pages[0])
    assert "This network has no attention maps." in pages[2]


def test_many_classes_continue_on_a_page_and_the_rest_are_counted(ptbxl):
    codes = ptbxl.task_classes("all")  # 71 statements
    # An untrained network whose first 30 classes are called positive whatever it says (threshold 0).
    card = dict(minimal_card(codes), thresholds=[0.0] * 30 + [1.0] * (len(codes) - 30))
    net = Predictor(create_model("tiny", len(codes)), card)
    rec = ptbxl.load_record(9, fs=100)
    pred = net.predict(rec)
    pdf = build_report(rec, pred, truth=GroundTruth(note="none"))
    assert check_structure(pdf) == 4  # tracing, predictions, predictions (continued), attention
    pages = page_texts(pdf)
    listed = {c.code for c in pred.classes if c.code in pages[1] + pages[2]}
    top = {c.code for c in sorted(pred.classes, key=lambda c: -c.probability)[:24]}
    assert top <= listed and set(codes[:30]) <= listed and len(listed) < 71
    assert "Predictions (continued)" in pages[2]
    left = [c.probability for c in pred.classes if c.code not in listed]
    assert f"{len(left)} further classes (p at most {max(left):.2f}) are not listed" in " ".join(pages[2])
    assert pages[3][-1] == "4/4"


def test_disagreement_is_printed(tiny_weights, ptbxl, tmp_path):
    import shutil

    for suffix in (".pt", ".json"):
        shutil.copy(tiny_weights.with_suffix(suffix), tmp_path / f"w{suffix}")
    state = torch.load(tmp_path / "w.pt", weights_only=True)
    state["heads.lr.linear.bias"][2] += 6.0  # MI
    torch.save(state, tmp_path / "w.pt")
    rec = ptbxl.load_record(9, fs=500)
    pred = Predictor.load(tmp_path / "w.pt").predict(rec)
    assert pred.disagreement_flagged
    text = " ".join(page_texts(build_report(rec, pred))[1])
    assert "branches disagree on MI (myocardial infarction)" in text


def test_text_helpers():
    assert latin1("QTc \u2265 450 \u2212 \u00b5V \u03b1") == "QTc >= 450 - \u00b5V ?"
    rec = Recording(np.zeros((12, 10), np.float32), 100.0, "a/b c", dataset="upload")
    assert report_file_name(rec, "rhythm") == "mrm_upload_a_b_c_rhythm.pdf"
    assert report_file_name(rec, "rhythm", "csv").endswith(".csv")


def test_reports_built_at_once_keep_their_text(predictor, ptbxl):
    """A server builds reports in several threads; each must keep the core font (text, not embedded glyphs)."""
    from concurrent.futures import ThreadPoolExecutor

    import matplotlib as mpl

    records = [ptbxl.load_record(i, fs=500) for i in (9, 10, 11, 12)]
    preds = [predictor.predict(r) for r in records]
    before = dict(mpl.rcParams)
    with ThreadPoolExecutor(4) as pool:
        pdfs = list(pool.map(lambda pair: build_report(*pair), zip(records, preds, strict=True)))
    # rcParams are global: unserialised builds restored each other's settings and left the core font switched on.
    assert mpl.rcParams["pdf.use14corefonts"] == before["pdf.use14corefonts"]
    assert mpl.rcParams["font.family"] == before["font.family"]
    for rec, pdf in zip(records, pdfs, strict=True):
        assert b"/FontFile" not in pdf and b"/Helvetica" in pdf
        assert f"MRM-ECG report: PTB-XL ecg_id {int(rec.record_id)}" in " ".join(page_texts(pdf)[0])
