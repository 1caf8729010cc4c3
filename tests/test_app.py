"""Dashboard part 1: the Streamlit-free helpers of mrm.app on real records, and every page run with AppTest.

AppTest cannot draw plotly charts, so the 12-lead chart is checked through the figure JSON Streamlit would send
(the element's ``spec``); tests/test_browser.py checks that a real browser draws it.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from app_helpers import assert_ok, open_app
from streamlit.testing.v1 import AppTest

from mrm.app import (
    PTBXLQuery,
    ViewOptions,
    ViewState,
    build_view,
    check_input,
    cpsc_table,
    ptbxl_table,
    read_upload,
    record_title,
    simulate_recording,
    training_note,
)
from mrm.app.measurements import CALIPER_STYLES, measurement_calipers, measurement_table, rpeak_times
from mrm.app.sources import available_datasets, describe_labels, find_weights, load_record, resolve_data_dir
from mrm.data.cpsc2018 import load_cpsc2018
from mrm.data.preprocess import MODEL_FS
from mrm.data.ptbxl import load_ptbxl
from mrm.data.recording import LEADS
from mrm.errors import ECGInputError
from mrm.measure import measure_ecg

RECORD_PAGE = "pages/1_Record.py"
ECG_PAGE = "pages/2_ECG.py"


# ---------------------------------------------------------------- helpers without Streamlit


def test_view_state_round_trip_and_bad_links():
    state, problems = ViewState.from_query_params(
        {"dataset": "cpsc2018", "record": "a0042", "task": "rhythm", "layout": "12x1"})
    assert problems == []
    assert state == ViewState("cpsc2018", "A0042", "rhythm", "12x1")
    assert ViewState.from_query_params(state.to_query_params())[0] == state
    bad, problems = ViewState.from_query_params({"dataset": "mitdb", "record": "100", "task": "x", "layout": "6x2"})
    assert bad == ViewState()
    assert len(problems) == 4 and problems[0].startswith("dataset 'mitdb' is unknown")
    # Streamlit hands repeated parameters over as lists; the first one counts.
    assert ViewState.from_query_params({"dataset": ["ptbxl", "cpsc2018"], "record": ["007"]})[0].record == "7"
    assert not ViewState("upload", "x.csv").restorable and ViewState("ptbxl", "1").restorable


def test_training_note_by_fold(ptbxl_dir):
    index = load_ptbxl(ptbxl_dir)
    notes = {fold: training_note(index.load_record(int(index.filter(folds=fold).ecg_ids[0]), fs=100))
             for fold in (3, 9, 10)}
    assert "this record was in the model's training folds (1-8)" in notes[3]
    assert "validation fold" in notes[9]
    assert notes[10] is None
    assert training_note(simulate_recording(70, duration=3.0)) is None


def test_resolve_data_dir_order():
    assert resolve_data_dir("/a", {"MRM_DATA_DIR": "/b"}) == Path("/a")
    assert resolve_data_dir("", {"MRM_DATA_DIR": "/b"}) == Path("/b")
    assert resolve_data_dir(None, {}) == Path("data")


def test_available_datasets(shared_data, tmp_path):
    assert available_datasets(shared_data) == ["ptbxl", "cpsc2018"]
    assert available_datasets(tmp_path) == []


def test_ptbxl_query_matches_the_index_filter(ptbxl_dir):
    index = load_ptbxl(ptbxl_dir)
    query = PTBXLQuery(folds=(10,), superclass=("MI",), static_noise=False, validated_by_human=True)
    table = ptbxl_table(query.apply(index))
    expected = index.filter(folds=10, superclass="MI", static_noise=False, validated_by_human=True, fs=100)
    assert table.index.tolist() == expected.ecg_ids.tolist()
    assert len(table) > 0 and (table["fold"] == 10).all() and table["validated"].all()
    assert table["statements"].str.contains("IMI|AMI|ASMI|ILMI|ALMI|INJ|IPMI|IPLMI|LMI|PMI").all()
    assert not table["noise"].str.contains("static noise").any()
    everything = ptbxl_table(PTBXLQuery().apply(index))
    assert len(everything) == int(index.has_signal(100).sum()) == 500
    assert everything.at[1, "statements"] == "NORM 100%, LVOLT, SR" and everything.at[1, "noise"] == "static noise"
    with pytest.raises(ECGInputError, match="not a PTB-XL superclass"):
        PTBXLQuery(superclass=("XYZ",)).apply(index)


def test_cpsc_table_class_filter(cpsc_dir):
    index = load_cpsc2018(cpsc_dir)
    everything = cpsc_table(index)
    assert len(everything) == 25
    af = cpsc_table(index, ["AF"])
    assert 0 < len(af) < 25 and af["labels"].str.contains(r"\bAF\b").all()
    reference = pd.read_csv(cpsc_dir / "REFERENCE.csv", dtype={"Recording": str}).set_index("Recording")
    has_af = reference.loc[everything.index].eq(2).any(axis=1)
    assert sorted(af.index) == sorted(has_af.index[has_af])
    with pytest.raises(ECGInputError, match="not a CPSC2018 class"):
        cpsc_table(index, ["Afib"])


def test_load_record_rates_and_labels(ptbxl_dir, cpsc_dir):
    ptbxl, cpsc = load_ptbxl(ptbxl_dir), load_cpsc2018(cpsc_dir)
    rec = load_record(ptbxl, "ptbxl", "00017")
    assert (rec.record_id, rec.fs, rec.signal.shape) == ("00017", 500.0, (12, 5000))
    missing = _listed_without_signal(ptbxl)
    with pytest.raises(ECGInputError, match=f"ecg_id {missing} has no"):
        load_record(ptbxl, "ptbxl", str(missing))
    a1 = load_record(cpsc, "cpsc2018", "a0001")
    assert a1.record_id == "A0001" and a1.fs == 500.0
    assert describe_labels(a1) == ["CRBBB (right bundle branch block)"]
    assert describe_labels(rec, ptbxl)[0] == "AFLT (atrial flutter) 100%"  # scp_codes of ecg_id 17
    assert record_title(rec).startswith("PTB-XL ecg_id 17 · ") and "500 Hz, 10.0 s" in record_title(rec)


def _listed_without_signal(index) -> int:
    """An ecg_id listed in the metadata whose signal files are absent (the shared data has 2,492 of them)."""
    absent = index.metadata.index[~index.has_signal(100)]
    if not len(absent):
        pytest.skip("every PTB-XL record of this data root has its signal files")
    return int(absent[0])


def test_read_upload_each_format(ptbxl_dir, cpsc_dir):
    hea, dat = ptbxl_dir / "records500/00000/00001_hr.hea", ptbxl_dir / "records500/00000/00001_hr.dat"
    wfdb_rec = read_upload([(hea.name, hea.read_bytes()), (dat.name, dat.read_bytes())])
    native = load_record(load_ptbxl(ptbxl_dir), "ptbxl", "1")
    assert wfdb_rec.dataset == "upload" and wfdb_rec.source == "00001_hr.hea"
    np.testing.assert_array_equal(wfdb_rec.signal, native.signal)

    mat = cpsc_dir / "original" / "A1980.mat"
    cpsc_rec = read_upload([(mat.name, mat.read_bytes())])
    assert cpsc_rec.fs == 500.0 and cpsc_rec.source == "A1980.mat"
    np.testing.assert_array_equal(cpsc_rec.signal, load_cpsc2018(cpsc_dir).load_record("A1980").signal)

    csv = pd.DataFrame(native.signal.T * 1000, columns=list(LEADS)).to_csv(index=False).encode()
    csv_rec = read_upload([("ecg.csv", csv)], fs=500, units="uV")
    np.testing.assert_allclose(csv_rec.signal, native.signal, atol=1e-5)

    buffer = io.BytesIO()
    np.save(buffer, native.signal)
    npy_rec = read_upload([("ecg.npy", buffer.getvalue())], fs=500)
    np.testing.assert_array_equal(npy_rec.signal, native.signal)

    with pytest.raises(ECGInputError, match="no WFDB header"):
        read_upload([(dat.name, dat.read_bytes())])
    with pytest.raises(ECGInputError, match="do not carry the sampling rate"):
        read_upload([("ecg.csv", csv)])
    with pytest.raises(ECGInputError, match="not read"):
        read_upload([("ecg.xml", b"<xml/>")])
    with pytest.raises(ECGInputError, match="larger than"):
        read_upload([("ecg.csv", csv)], fs=500, max_bytes=1000)


def test_synthetic_recording_is_labelled_and_reproducible():
    a, b = simulate_recording(70), simulate_recording(70)
    np.testing.assert_array_equal(a.signal, b.signal)
    assert a.signal.shape == (12, 5000) and a.fs == 500.0 and a.dataset == "synthetic"
    assert a.warnings == []  # nothing odd about the signal; the label is in every title and source line
    assert "synthetic, not a real patient" in dict(check_input(a).rows)["Source"]
    assert "synthetic, not a real patient" in record_title(a)
    # The baseline sits at 0 mV and every lead carries an ECG-sized deflection.
    assert np.abs(np.median(a.signal, axis=1)).max() < 1e-6
    assert (np.ptp(a.signal, axis=1) > 1.0).all()
    # 60 bpm over 10 s: about ten beats in lead II.
    import neurokit2 as nk

    peaks = nk.ecg_peaks(a.lead("II"), sampling_rate=500)[1]["ECG_R_Peaks"]
    assert 9 <= len(peaks) <= 13
    assert not np.array_equal(simulate_recording(90).signal, a.signal)


def test_check_input_rows_and_warnings(ptbxl_dir):
    rec = load_record(load_ptbxl(ptbxl_dir), "ptbxl", "1")
    check = check_input(rec)
    rows = dict(check.rows)
    assert rows["Sampling rate"] == "500 Hz" and rows["Duration"] == "10.0 s" and rows["Samples per lead"] == "5,000"
    assert rows["Lead order"].startswith("I, II, III, aVR, aVL, aVF, V1")
    assert any(f"{MODEL_FS:g} Hz" in note for note in check.notes)
    spoiled = rec.with_signal(rec.signal, rec.fs, note="00001: lead V3 looks clipped.")
    assert check_input(spoiled).warnings[-1] == "00001: lead V3 looks clipped." and not check_input(spoiled).ok


def test_build_view_layouts_and_window(cpsc_dir):
    rec = load_cpsc2018(cpsc_dir).load_record("A0005")  # longer than 10 s
    assert rec.duration > 10
    options = ViewOptions()
    assert options.window(rec) == (0.0, 10.0) and options.starts(rec)[-1] == round(rec.duration - 10, 3)
    fig = build_view(rec, ViewOptions(start=rec.duration))
    leads = [t for t in fig.data if t.meta]
    assert len(leads) == 13 and leads[-1].name == "II rhythm"
    # The last sheet ends at the record's end: its rhythm strip holds the final 10 s.
    assert len(leads[-1].y) == 5000
    fig = build_view(rec, ViewOptions(layout="12x1", speed=50, leads=("V1", "V2")))
    assert [t.name for t in fig.data if t.meta] == ["V1", "V2"] and len(fig.data[-1].y) == 2500
    fig = build_view(rec, ViewOptions(layout="3x4", compare="overlay"))
    names = [t.name for t in fig.data if t.meta]
    assert len(names) == 24 and "V6 100 Hz" in names
    assert fig.layout.uirevision.endswith("/overlay")


def test_find_weights(tmp_path):
    (tmp_path / "mrm_x.pt").write_bytes(b"")
    (tmp_path / "mrm_x.json").write_text(json.dumps(
        {"name": "mrm_x", "task": "rhythm", "model": {"name": "mrm"}, "classes": ["AFIB", "SR"],
         "training_data": {"dataset": "ptbxl"}}))
    (tmp_path / "lonely.pt").write_bytes(b"")
    found = {w.name: w for w in find_weights(tmp_path)}
    assert (found["mrm_x"].task, found["mrm_x"].n_classes, found["mrm_x"].dataset) == ("rhythm", 2, "ptbxl")
    assert "no readable card" in found["lonely"].problem


# ---------------------------------------------------------------- the app, page by page




def _sheet(at: AppTest) -> dict:
    charts = at.get("plotly_chart")
    assert len(charts) == 1
    return json.loads(charts[0].proto.spec)


def _lead_traces(spec: dict) -> list[dict]:
    return [t for t in spec["data"] if t.get("meta")]


def test_home_page_lists_datasets(monkeypatch, shared_data):
    at = assert_ok(open_app(monkeypatch, shared_data))
    assert at.title[0].value == "MRM-ECG"
    inventory = at.dataframe[0].value
    assert inventory.set_index("dataset").loc["PTB-XL", "with signals"] == 500
    assert inventory.set_index("dataset").loc["CPSC2018", "with signals"] == 25
    assert inventory["found"].all()
    links = [link.proto.page for link in at.get("page_link")]
    assert links == ["Record", "ECG"]
    assert at.session_state["view"] == ViewState()  # nothing chosen, no demo forced when data exist


def test_synthetic_demo_stays_available_and_labelled(monkeypatch, tmp_path):
    # A fresh machine opens the bundled samples (tests/test_app_samples.py); the synthetic demo is one link away.
    at = assert_ok(open_app(monkeypatch, tmp_path, dataset="synthetic", record="70bpm"))
    assert at.session_state["view"].dataset == "synthetic"
    assert at.query_params["dataset"] == "synthetic"
    at = assert_ok(at.switch_page(ECG_PAGE).run())
    assert "synthetic, not a real patient" in at.subheader[0].value
    assert any("not a real patient" in w.value for w in at.warning)
    assert len(_lead_traces(_sheet(at))) == 13
    at = assert_ok(at.switch_page(RECORD_PAGE).run())
    assert at.segmented_control(key="_w_source").value == "Synthetic demo"
    at.segmented_control(key="_w_source").set_value("PTB-XL").run()
    assert any("No PTB-XL folder" in w.value for w in assert_ok(at).warning)


def test_pick_a_ptbxl_record_then_view_it(monkeypatch, shared_data):
    at = open_app(monkeypatch, shared_data)
    at = assert_ok(at.switch_page(RECORD_PAGE).run())
    assert at.caption[0].value.startswith("500 records with signal files match")
    at = assert_ok(at.selectbox(key="ptbxl_pick").set_value(17).run())
    assert at.session_state["view"] == ViewState("ptbxl", "17")
    assert at.query_params["record"] == "17"
    assert at.subheader[0].value.startswith("PTB-XL ecg_id 17 ")
    check = at.table[0].value["value"]
    assert check["Sampling rate"] == "500 Hz" and check["Duration"] == "10.0 s"
    assert any("fold 9: this record is in the validation fold" in c.value for c in at.caption)

    at = assert_ok(at.switch_page(ECG_PAGE).run())
    assert at.query_params["dataset"] == "ptbxl" and at.query_params["record"] == "17"
    spec = _sheet(at)
    leads = _lead_traces(spec)
    assert len(leads) == 13 and leads[-1]["meta"]["role"] == "rhythm" and leads[-1]["meta"]["lead"] == "II"
    assert sorted(t["meta"]["lead"] for t in leads[:12]) == sorted(LEADS)
    assert {t["meta"]["fs"] for t in leads} == {500.0}
    assert spec["layout"]["uirevision"].startswith("ptbxl/00017/3x4")
    assert len(json.dumps(spec)) < 2_000_000

    at.segmented_control(key="_w_layout").set_value("12x1").run()
    assert_ok(at)
    assert at.query_params["layout"] == "12x1"
    leads = _lead_traces(_sheet(at))
    assert [t["meta"]["lead"] for t in leads] == list(LEADS)
    at.selectbox(key="_w_compare").set_value("stacked").run()
    leads = _lead_traces(_sheet(assert_ok(at)))
    assert len(leads) == 24 and {t["meta"]["fs"] for t in leads} == {500.0, 100.0}
    at.multiselect(key="_w_leads").set_value(["II", "V5"]).run()
    assert [t["name"] for t in _lead_traces(_sheet(assert_ok(at)))] == ["II", "II 100 Hz", "V5", "V5 100 Hz"]
    at.segmented_control(key="_w_gain").set_value(20).run()
    spec = _sheet(assert_ok(at))
    assert spec["layout"]["uirevision"].split("/")[3] == "20"


def test_a_link_restores_the_view(monkeypatch, shared_data):
    at = open_app(monkeypatch, shared_data, dataset="cpsc2018", record="A0005", layout="12x1", task="rhythm")
    at = assert_ok(at.switch_page(ECG_PAGE).run())
    assert at.subheader[0].value.startswith("CPSC2018 A0005")
    assert at.query_params == {"dataset": "cpsc2018", "record": "A0005", "task": "rhythm", "layout": "12x1"}
    assert [t["meta"]["lead"] for t in _lead_traces(_sheet(at))] == list(LEADS)
    # A0005 is longer than one sheet: the page offers starts to pan through it.
    starts = at.select_slider(key="_w_start")
    at = assert_ok(starts.set_value(starts.options[-1]).run())
    assert _sheet(at)["layout"]["uirevision"].split("/")[5] != "0"


def test_a_bad_link_is_explained(monkeypatch, shared_data):
    at = open_app(monkeypatch, shared_data, dataset="ptbxl", record="abc")
    assert not at.exception
    assert any("record 'abc' is not a PTB-XL ecg_id" in w.value for w in at.warning)
    missing = _listed_without_signal(load_ptbxl(shared_data / "ptb-xl"))
    at = open_app(monkeypatch, shared_data, dataset="ptbxl", record=str(missing))
    at = at.switch_page(ECG_PAGE).run()
    assert not at.exception and f"ecg_id {missing} has no" in at.error[0].value


def test_ptbxl_filters_search_and_random(monkeypatch, shared_data):
    at = assert_ok(open_app(monkeypatch, shared_data).switch_page(RECORD_PAGE).run())
    at.multiselect(key="_w_ptbxl_folds").set_value([10]).run()
    at.multiselect(key="_w_ptbxl_super").set_value(["MI"]).run()
    assert_ok(at)
    options = at.selectbox(key="ptbxl_pick").options
    index = load_ptbxl(shared_data / "ptb-xl")
    expected = index.filter(folds=10, superclass="MI").ecg_ids
    assert len(options) == len(expected) and options[0].startswith(f"{expected[0]} · ")
    at.button(key="ptbxl_random").click().run()
    chosen = at.session_state["view"]
    assert chosen.dataset == "ptbxl" and int(chosen.record) in expected
    at.text_input(key="ptbxl_search").set_value("42").run()
    assert assert_ok(at).session_state["view"].record == "42"
    assert any("ecg_id 42" in h.value for h in at.subheader)
    assert any("fold 6: this record was in the model's training folds (1-8)" in c.value for c in at.caption)
    at.text_input(key="ptbxl_search").set_value(str(_listed_without_signal(index))).run()
    assert "signal files are not in" in at.error[0].value
    at.multiselect(key="_w_ptbxl_with").set_value(["static_noise"]).run()
    at.multiselect(key="_w_ptbxl_without").set_value(["static_noise"]).run()
    assert "asked both with and without" in at.error[0].value


def test_cpsc_browser(monkeypatch, shared_data):
    at = assert_ok(open_app(monkeypatch, shared_data).switch_page(RECORD_PAGE).run())
    at.segmented_control(key="_w_source").set_value("CPSC2018").run()
    at.multiselect(key="_w_cpsc_classes").set_value(["LBBB"]).run()
    options = assert_ok(at).selectbox(key="cpsc_pick").options
    assert options and all("LBBB" in o for o in options)
    at.selectbox(key="cpsc_pick").select_index(0).run()
    assert assert_ok(at).session_state["view"].dataset == "cpsc2018"
    labels = [m.value for m in at.markdown if m.value.startswith("**Labels**")]
    assert len(labels) == 1 and "CLBBB (left bundle branch block)" in labels[0]


def test_upload_is_read_and_checked(monkeypatch, shared_data):
    hea = shared_data / "ptb-xl/records500/00000/00002_hr.hea"
    dat = hea.with_suffix(".dat")
    at = assert_ok(open_app(monkeypatch, shared_data).switch_page(RECORD_PAGE).run())
    at.segmented_control(key="_w_source").set_value("Upload").run()
    uploader = at.file_uploader(key="uploader")
    assert uploader.accept_multiple_files and set(uploader.allowed_type) >= {".hea", ".dat", ".csv", ".npy", ".mat"}
    uploader.set_value([(hea.name, hea.read_bytes(), "text/plain"), (dat.name, dat.read_bytes(), "application/x")])
    at = assert_ok(at.run())
    assert at.session_state["view"] == ViewState("upload", "00002_hr.hea")
    assert at.subheader[0].value.startswith("Upload 00002_hr")
    assert at.table[0].value["value"]["Sampling rate"] == "500 Hz"
    at = assert_ok(at.switch_page(ECG_PAGE).run())
    assert len(_lead_traces(_sheet(at))) == 13
    # Another record chosen, then the same files dropped again: the upload is the chosen record again.
    at = assert_ok(at.switch_page(RECORD_PAGE).run())
    at.segmented_control(key="_w_source").set_value("Synthetic demo").run()
    at.button(key="synthetic_use").click().run()
    assert at.session_state["view"].dataset == "synthetic"
    at.segmented_control(key="_w_source").set_value("Upload").run()
    at.file_uploader(key="uploader").set_value(
        [(hea.name, hea.read_bytes(), "text/plain"), (dat.name, dat.read_bytes(), "application/x")]).run()
    assert assert_ok(at).session_state["view"] == ViewState("upload", "00002_hr.hea")

    # A lone signal file: the reader's sentence, no traceback.
    at = assert_ok(open_app(monkeypatch, shared_data).switch_page(RECORD_PAGE).run())
    at.segmented_control(key="_w_source").set_value("Upload").run()
    at.file_uploader(key="uploader").set_value((dat.name, dat.read_bytes(), "application/x")).run()
    assert not at.exception
    assert at.error[0].value.startswith("00002_hr.dat: no WFDB header (.hea) was uploaded")


def test_upload_csv_asks_for_the_rate(monkeypatch, shared_data):
    rec = load_record(None, "synthetic", "60bpm")
    csv = pd.DataFrame(rec.signal.T, columns=list(LEADS)).to_csv(index=False).encode()
    at = assert_ok(open_app(monkeypatch, shared_data).switch_page(RECORD_PAGE).run())
    at.segmented_control(key="_w_source").set_value("Upload").run()
    at.file_uploader(key="uploader").set_value(("ecg.csv", csv, "text/csv")).run()
    at.number_input[0].set_value(250.0).run()
    assert_ok(at)
    check = at.table[0].value["value"]
    assert check["Sampling rate"] == "250 Hz" and check["Duration"] == "20.0 s"


def test_synthetic_source_choice(monkeypatch, shared_data):
    at = assert_ok(open_app(monkeypatch, shared_data).switch_page(RECORD_PAGE).run())
    at.segmented_control(key="_w_source").set_value("Synthetic demo").run()
    at.slider(key="synthetic_rate").set_value(100).run()
    at.button(key="synthetic_use").click().run()
    assert assert_ok(at).session_state["view"] == ViewState("synthetic", "100bpm")
    assert "synthetic, not a real patient" in at.subheader[0].value


def test_measurement_table_says_why_instead_of_a_number(ptbxl_dir):
    index = load_ptbxl(ptbxl_dir)
    table = measurement_table(measure_ecg(load_record(index, "ptbxl", "1"))).set_index("measurement")
    assert table.loc["Heart rate", "status"] == "measured" and table.loc["Heart rate", "value"].endswith(" bpm")
    assert 55 <= float(table.loc["Heart rate", "value"].split()[0]) <= 75  # sinus rhythm, 10 beats in 10 s
    # ecg_id 17 is atrial flutter at about 140 bpm: no PR interval can be read, and none is shown.
    flutter = measure_ecg(load_record(index, "ptbxl", "17"))
    table = measurement_table(flutter).set_index("measurement")
    assert table.loc["PR interval", "value"] == ""
    assert table.loc["PR interval", "status"].startswith(("not measurable: ", "not applicable: "))
    assert rpeak_times(flutter) == tuple(round(r / 500.0, 6) for r in flutter.rpeaks)


def test_ecg_page_shows_measurements_and_r_peaks(monkeypatch, shared_data):
    at = open_app(monkeypatch, shared_data, dataset="ptbxl", record="1")
    at = assert_ok(at.switch_page(ECG_PAGE).run())
    expected = measure_ecg(load_record(load_ptbxl(shared_data / "ptb-xl"), "ptbxl", "1"))
    shown = at.table[1].value
    assert shown.index.tolist() == [m.label for m in expected.all()]
    assert shown["value"].tolist() == measurement_table(expected)["value"].tolist()
    assert any("automated estimates" in i.value for i in at.info)
    marks = [t for t in _sheet(at)["data"] if t.get("name") == "R peak (automated)"]
    assert len(marks) == 1
    times = np.asarray(expected.rpeaks) / expected.fs
    # Marked on the II panel (first quarter of the sheet) and on the whole rhythm strip.
    assert len(_decode(marks[0]["customdata"])) == len(times) + int((times < 2.5).sum())
    at.toggle(key="_w_mark_rpeaks").set_value(False).run()
    assert not [t for t in _sheet(assert_ok(at))["data"] if t.get("name") == "R peak (automated)"]


def _decode(array) -> np.ndarray:
    """A plotly JSON array, plain or typed (``{"dtype", "bdata"}``)."""
    if isinstance(array, dict):
        import base64

        return np.frombuffer(base64.b64decode(array["bdata"]), dtype=np.dtype(array["dtype"]))
    return np.asarray(array)


# ---------------------------------------------------------------- calipers (issue 10)

CALIPERS = [label for label, _, _ in CALIPER_STYLES]  # P onset, QRS onset, QRS offset, T end


def _lines(trace) -> tuple[np.ndarray, np.ndarray]:
    """x of each vertical segment of a caliper trace, and the y of its middle (which row it is on)."""
    x = np.array([v for v in trace.x if v is not None], dtype=float).reshape(-1, 2)
    y = np.array([v for v in trace.y if v is not None], dtype=float).reshape(-1, 2)
    assert (x[:, 0] == x[:, 1]).all()  # vertical
    return x[:, 0], y.mean(axis=1)


def test_calipers_sit_on_the_measured_fiducials_of_every_beat(ptbxl_dir):
    rec = load_record(load_ptbxl(ptbxl_dir), "ptbxl", "1")
    m = measure_ecg(rec)
    assert all(v.measured for v in (m.pr, m.qrs, m.qt))
    times = m.fiducials.on_beats(m.median_beat.beats, m.fs)  # (beats, 4)
    calipers = measurement_calipers(m, 0.0, 10.0)
    fig = build_view(rec, ViewOptions(), calipers=calipers)
    speed, strip_baseline = 25.0, 20.0  # 3x4 at 25 mm/s: the rhythm strip is the bottom row, baseline 20 mm
    drawn = {t.name: t for t in fig.data if t.name in CALIPERS}
    assert list(drawn) == CALIPERS
    for k, name in enumerate(CALIPERS):
        x, y = _lines(drawn[name])
        inside = times[:, k][(times[:, k] >= 0) & (times[:, k] < 10)]
        # On the rhythm strip: one line per beat, at the fiducial's time.
        np.testing.assert_allclose(np.sort(x[y == strip_baseline]), np.sort(inside) * speed, atol=1e-6)
        # And on the three lead panels of the column that shows that moment.
        assert len(x) == 4 * len(inside)
    # The brackets run from one fiducial to the other on the first whole beat, and say the table's values.
    p_on, q_on, q_off, t_end = times[0]
    spans = {s.label.split()[0]: s for s in calipers.spans}
    assert [(s.t0, s.t1) for s in spans.values()] == [(p_on, q_on), (q_on, q_off), (q_on, t_end)]
    assert [s.label for s in spans.values()] == [f"PR {m.pr.value:.0f} ms", f"QRS {m.qrs.value:.0f} ms",
                                                 f"QT {m.qt.value:.0f} ms"]
    for name, s in spans.items():
        assert (s.t1 - s.t0) * 1000 == pytest.approx(getattr(m, name.lower()).value, abs=1e-6)
    labels = next(t for t in fig.data if t.name == "interval labels")
    assert list(labels.text) == [s.label for s in calipers.spans] * 2  # lead II panel and the rhythm strip
    # A window that starts later brackets a later beat; the lines stay on every beat.
    later = measurement_calipers(m, 5.0, 10.0)
    assert later.lines == calipers.lines and min(s.t0 for s in later.spans) >= 5.0


def test_calipers_leave_out_what_is_not_measured(ptbxl_dir):
    # ecg_id 17, atrial flutter at 140/min: no PR, and the QRS offset (hence the QT) is not trustworthy.
    m = measure_ecg(load_record(load_ptbxl(ptbxl_dir), "ptbxl", "17"))
    assert not (m.pr.measured or m.qrs.measured or m.qt.measured)
    calipers = measurement_calipers(m, 0.0, 10.0)
    assert [line.label for line in calipers.lines] == ["QRS onset"] and calipers.spans == ()


def test_ecg_page_calipers_toggle(monkeypatch, shared_data):
    at = open_app(monkeypatch, shared_data, dataset="ptbxl", record="1")
    at = assert_ok(at.switch_page(ECG_PAGE).run())
    assert at.toggle(key="_w_show_calipers").value is False
    assert not [t for t in _sheet(at)["data"] if t.get("name") in CALIPERS]
    at.toggle(key="_w_show_calipers").set_value(True).run()
    spec = _sheet(assert_ok(at))
    assert [t["name"] for t in spec["data"] if t.get("name") in CALIPERS] == CALIPERS
    labels = next(t for t in spec["data"] if t.get("name") == "interval labels")["text"]
    table = at.table[1].value
    assert labels[:3] == [f"{name} {table.loc[label, 'value']}" for name, label in
                          (("PR", "PR interval"), ("QRS", "QRS duration"), ("QT", "QT interval"))]
    assert at.session_state["show_calipers"] is True  # remembered across pages
