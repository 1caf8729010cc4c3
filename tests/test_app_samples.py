"""The dashboard on a machine without any dataset: pointed on purpose at an empty data root, it opens a real bundled
sample ECG with its ground truth, lists the missing datasets with their download commands, keeps the synthetic
demo (labelled), restores samples from links, and (with the shipped weights) predicts the sample beside its truth.
"""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path

import numpy as np
import pytest
from app_helpers import assert_ok, open_app
from streamlit.testing.v1 import AppTest

from mrm.app.state import ViewState
from mrm.data.inventory import DOWNLOAD_COMMANDS
from mrm.data.samples import list_samples, load_sample
from mrm.shipped import default_weights_dir

REPO = Path(__file__).resolve().parents[1]
RECORD_PAGE = "pages/1_Record.py"
ECG_PAGE = "pages/2_ECG.py"
DIAGNOSIS_PAGE = "pages/3_Diagnosis.py"




def _decode(array) -> np.ndarray:
    """A plotly JSON array, plain or typed (``{"dtype", "bdata"}``)."""
    if isinstance(array, dict):
        return np.frombuffer(base64.b64decode(array["bdata"]), dtype=np.dtype(array["dtype"]))
    return np.asarray(array, dtype=float)


def _lead_traces(at: AppTest) -> list[dict]:
    charts = at.get("plotly_chart")
    assert len(charts) == 1
    return [t for t in json.loads(charts[0].proto.spec)["data"] if t.get("meta")]


def test_an_empty_data_root_opens_a_real_sample(monkeypatch, tmp_path):
    at = assert_ok(open_app(monkeypatch, tmp_path))
    inventory = at.dataframe[0].value
    assert not inventory["found"].any()
    text = " ".join(m.value for m in at.markdown)
    for command in DOWNLOAD_COMMANDS.values():
        assert f"`{command}`" in text
    assert "15 real PTB-XL records" in text and "CC BY 4.0" in text
    assert any("real sample ECG" in i.value and "ecg_id 57" in i.value for i in at.info)
    assert at.session_state["view"] == ViewState("samples", "57")
    assert at.query_params["dataset"] == "samples" and at.query_params["record"] == "57"

    at = assert_ok(at.switch_page(ECG_PAGE).run())
    assert at.subheader[0].value.startswith("PTB-XL ecg_id 57 · M, 26 y · fold 10 · 500 Hz, 10.0 s")
    assert not any("not a real patient" in w.value for w in at.warning)
    traces = _lead_traces(at)
    assert len(traces) == 13
    # The chart draws the sample itself: the lead II rhythm strip is its 10 s at 500 Hz, 10 mm/mV.
    rec = load_sample(57)
    strip = next(t for t in traces if t["meta"]["lead"] == "II" and t["meta"]["role"] == "rhythm")
    assert strip["meta"]["fs"] == 500.0
    y = _decode(strip["y"])
    assert len(y) == 5000
    np.testing.assert_allclose(np.diff(y) / 10, np.diff(rec.signal[1]), atol=1e-3)


def test_record_page_lists_the_samples_and_keeps_the_synthetic_demo(monkeypatch, tmp_path):
    at = assert_ok(open_app(monkeypatch, tmp_path).switch_page(RECORD_PAGE).run())
    assert at.segmented_control(key="_w_source").value == "Samples"
    assert at.selectbox(key="samples_pick").value == 57
    assert at.selectbox(key="samples_pick").options[9] == "20406 · rhythm: atrial fibrillation (AFIB)"
    table = at.dataframe[0].value
    assert table.index.tolist() == [s.ecg_id for s in list_samples()]
    assert any(m.value == "**Labels** (ground truth): NORM (normal ECG) 100%; SR (sinus rhythm)" for m in at.markdown)

    at.selectbox(key="samples_pick").set_value(20406).run()
    at = assert_ok(at)
    assert at.session_state["view"] == ViewState("samples", "20406")
    assert any(m.value == "**Labels** (ground truth): AFIB (atrial fibrillation) 100%" for m in at.markdown)
    assert at.subheader[0].value.startswith("PTB-XL ecg_id 20406")

    at.segmented_control(key="_w_source").set_value("Synthetic demo").run()
    at.button(key="synthetic_use").click().run()
    at = assert_ok(at)
    assert at.session_state["view"].dataset == "synthetic"
    assert "synthetic, not a real patient" in at.subheader[0].value


def test_a_link_to_a_sample_restores_it(monkeypatch, tmp_path):
    at = assert_ok(open_app(monkeypatch, tmp_path, dataset="samples", record="09557"))
    assert at.session_state["view"] == ViewState("samples", "9557")
    at = assert_ok(at.switch_page(ECG_PAGE).run())
    assert at.subheader[0].value.startswith("PTB-XL ecg_id 9557")
    at = open_app(monkeypatch, tmp_path, dataset="samples", record="1").switch_page(ECG_PAGE).run()
    assert not at.exception
    assert at.error[0].value.startswith("sample 1: not one of the bundled sample ECGs; choose one of 57, 11125")


def test_diagnosis_of_a_sample_beside_its_truth(monkeypatch, tmp_path):
    """The shipped weights (./weights, or the installed copy) predict the sample; its PTB-XL statements are the truth,
    although no PTB-XL folder is there."""
    weights = default_weights_dir({}) / "mrm_superdiagnostic.pt"
    if not weights.is_file() or not (REPO / DIAGNOSIS_PAGE).is_file():
        reason = f"{weights} (the shipped superdiagnostic weights) or the Diagnosis page is absent"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    import torch

    from mrm.infer import Predictor

    torch.set_num_threads(1)
    at = assert_ok(open_app(monkeypatch, tmp_path).switch_page(DIAGNOSIS_PAGE).run())
    expected = Predictor.load(weights).predict(load_sample(57))
    table = at.dataframe[0].value.set_index("code")
    assert sorted(table.index) == sorted(c.code for c in expected.classes)
    for c in expected.classes:
        assert table.at[c.code, "probability"] == pytest.approx(c.probability, abs=1e-4)
    assert table.at["NORM", "truth"] == "present: NORM 100%"
    assert (table.drop(index="NORM")["truth"] == "absent").all()
