"""The calibrated 12-lead view: assertions on figure data built from real PTB-XL and CPSC2018 records."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import wfdb

from mrm.data.preprocess import resample
from mrm.data.recording import LEADS, Recording, leads_to_standard
from mrm.viz import Band, Marker, ecg_compare_figure, ecg_figure, ecg_paper_matplotlib
from mrm.viz.paper import ROWS_3X4

MB = 1024 * 1024


def read(path: Path, dataset: str) -> Recording:
    record = wfdb.rdrecord(str(path))
    assert all(unit.lower() == "mv" for unit in record.units)
    signal, warnings = leads_to_standard(record.p_signal.T.astype(np.float32), record.sig_name, path.name)
    return Recording(signal, float(record.fs), record_id=path.name, dataset=dataset, warnings=warnings)


@pytest.fixture(scope="module")
def rec500(ptbxl_dir: Path) -> Recording:
    return read(ptbxl_dir / "records500" / "00000" / "00001_hr", "ptbxl")


@pytest.fixture(scope="module")
def rec100(ptbxl_dir: Path) -> Recording:
    return read(ptbxl_dir / "records100" / "00000" / "00001_lr", "ptbxl")


@pytest.fixture(scope="module")
def sheet(rec500: Recording):
    return ecg_figure(rec500)


def lead_traces(fig, role: str | None = None, source: int | None = None) -> list:
    return [
        t for t in fig.data
        if t.meta and (role is None or t.meta["role"] == role) and (source is None or t.meta["source"] == source)
    ]


def trace_named(fig, name: str):
    (trace,) = [t for t in fig.data if t.name == name]
    return trace


def pulses(fig) -> list[np.ndarray]:
    """The calibration trace split at its None gaps into one (x, y) array per row."""
    cal = trace_named(fig, "1 mV calibration")
    out, current = [], []
    for x, y in zip(list(cal.x) + [None], list(cal.y) + [None], strict=True):
        if x is None:
            out.append(np.array(current))
            current = []
        else:
            current.append((x, y))
    return out


def test_3x4_has_each_lead_exactly_once_in_the_standard_places(sheet, rec500):
    leads = lead_traces(sheet, role="lead")
    assert sorted(t.meta["lead"] for t in leads) == sorted(LEADS)
    assert [t.meta["lead"] for t in leads].count("V1") == 1
    column_s = 2.5
    for names in ROWS_3X4:
        for col, name in enumerate(names):
            (trace,) = [t for t in leads if t.meta["lead"] == name]
            # Column c starts at c * 2.5 s, drawn at c * 2.5 s * 25 mm/s, and holds exactly 2.5 s of samples.
            assert trace.x0 == pytest.approx(col * column_s * 25)
            assert len(trace.y) == column_s * rec500.fs
            t = np.asarray(trace.customdata)[:, 0]
            assert t[0] == pytest.approx(col * column_s) and t[-1] == pytest.approx((col + 1) * column_s - 1 / 500)
    # Rows go down the sheet: every lead of row r sits above every lead of row r + 1.
    levels = [[np.median(trace_named(sheet, name).y) for name in names] for names in ROWS_3X4]
    assert min(levels[0]) > max(levels[1]) and min(levels[1]) > max(levels[2])


def test_rhythm_strip_is_lead_ii_for_the_whole_10_s(sheet, rec500):
    (strip,) = lead_traces(sheet, role="rhythm")
    assert strip.meta["lead"] == "II" and strip.name == "II rhythm"
    assert len(strip.y) == 5000 and strip.x0 == 0.0
    assert strip.x0 + (len(strip.y) - 1) * strip.dx == pytest.approx(10.0 * 25 - 25 / 500)
    np.testing.assert_array_equal(np.asarray(strip.customdata)[:, 1], rec500.lead("II"))
    # It is the lowest row of the sheet.
    assert np.median(strip.y) < min(np.median(t.y) for t in lead_traces(sheet, role="lead"))


def test_x_spacing_and_y_scale_are_paper_millimetres(sheet, rec500):
    for trace in lead_traces(sheet):
        assert trace.dx == pytest.approx(1 / 500 * 25)  # 0.05 mm per sample at 25 mm/s
    v2 = trace_named(sheet, "V2")
    mv = rec500.lead("V2")[2500:3750]  # row 2, column 3: 5.0-7.5 s
    np.testing.assert_array_equal(np.asarray(v2.customdata)[:, 1], mv)
    y = np.asarray(v2.y, dtype=np.float64)
    # y = baseline + (mV - median) * 10 mm/mV: differences between samples are exactly 10x the mV differences.
    np.testing.assert_allclose(np.diff(y), np.diff(mv.astype(np.float64)) * 10, atol=1e-4)
    baseline = y - (mv - np.median(mv)) * 10
    np.testing.assert_allclose(baseline, 100.0, atol=1e-4)  # row 2 of 4, rows 40 mm apart: on a 5-mm line


def test_grid_is_1_mm_minor_5_mm_major_with_true_aspect(sheet):
    for axis in (sheet.layout.xaxis, sheet.layout.yaxis):
        assert axis.dtick == 5 and axis.minor.dtick == 1 and axis.tick0 == 0 and axis.minor.tick0 == 0
        assert axis.showgrid and axis.minor.showgrid
        assert axis.gridcolor != axis.minor.gridcolor
    assert sheet.layout.yaxis.scaleanchor == "x" and sheet.layout.yaxis.scaleratio == 1
    assert tuple(sheet.layout.xaxis.range) == (-10.0, 250.0)  # 0.4 s calibration area + 10 s at 25 mm/s


@pytest.mark.parametrize("gain", [5, 10, 20])
def test_calibration_pulse_is_gain_mm_tall_and_0_2_s_wide_on_each_row(rec500, gain):
    fig = ecg_figure(rec500, gain=gain)
    rows = pulses(fig)
    assert len(rows) == 4  # three lead rows and the rhythm strip
    for xy in rows:
        assert np.ptp(xy[:, 1]) == pytest.approx(gain)
        high = xy[xy[:, 1] == xy[:, 1].max(), 0]
        assert np.ptp(high) == pytest.approx(0.2 * 25)
        assert xy[-1, 0] == 0.0  # the pulse ends where the tracing starts


def test_gain_and_speed_change_the_scale(rec500, sheet):
    ref = trace_named(sheet, "V2")
    fig = ecg_figure(rec500, gain=20, speed=50)
    v2 = trace_named(fig, "V2")
    assert v2.dx == pytest.approx(2 * ref.dx) and v2.x0 == pytest.approx(2 * ref.x0)
    assert np.ptp(v2.y) == pytest.approx(2 * np.ptp(ref.y), rel=1e-5)
    assert fig.layout.xaxis.range[1] == 500.0
    xy = pulses(fig)[0]
    assert np.ptp(xy[xy[:, 1] == xy[:, 1].max(), 0]) == pytest.approx(0.2 * 50)
    assert fig.layout.annotations[-1].text == "50 mm/s, 20 mm/mV, 500 Hz"
    assert sheet.layout.annotations[-1].text == "25 mm/s, 10 mm/mV, 500 Hz"


def test_12x1_has_12_full_length_rows_and_lead_selection(rec500):
    fig = ecg_figure(rec500, layout="12x1")
    traces = lead_traces(fig)
    assert [t.meta["lead"] for t in traces] == list(LEADS)
    assert all(len(t.y) == 5000 and t.x0 == 0.0 for t in traces)
    assert len({round(float(np.median(t.y))) for t in traces}) == 12
    assert len(pulses(fig)) == 12
    subset = ecg_figure(rec500, layout="12x1", leads=["v1", "II"])
    assert [t.meta["lead"] for t in lead_traces(subset)] == ["V1", "II"]
    assert len(pulses(subset)) == 2
    assert subset.layout.height < fig.layout.height


def test_uirevision_hovermode_and_svg_only(sheet, rec500):
    assert sheet.layout.uirevision == "ptbxl/00001_hr/3x4"
    assert ecg_figure(rec500, gain=20).layout.uirevision == sheet.layout.uirevision  # zoom survives a gain change
    assert sheet.layout.hovermode == "x"
    assert {t.type for t in sheet.data} == {"scatter"}
    assert "scattergl" not in sheet.to_json().lower()


def test_json_of_a_10_s_500_hz_record_stays_under_2_mb(rec500):
    sizes = {layout: len(ecg_figure(rec500, layout=layout).to_json()) for layout in ("3x4", "12x1")}
    sizes["compare"] = len(ecg_compare_figure(rec500).to_json())
    print("figure JSON bytes:", sizes)
    assert all(size < 2 * MB for size in sizes.values())
    # The 3x4 sheet carries only its 2.5-s columns plus the strip: 17,500 samples, not 65,000.
    assert sum(len(t.y) for t in lead_traces(ecg_figure(rec500))) == 12 * 1250 + 5000
    assert json.loads(ecg_figure(rec500).to_json())["data"][-1]["y"]["dtype"] == "f4"


def test_compare_overlay_has_the_record_and_the_100_hz_model_input(rec500, rec100):
    fig = ecg_compare_figure(rec500, rec100)
    native, model = lead_traces(fig, source=0), lead_traces(fig, source=1)
    assert [t.meta["lead"] for t in native] == [t.meta["lead"] for t in model] == list(LEADS)
    assert {t.meta["fs"] for t in native} == {500.0} and {t.meta["fs"] for t in model} == {100.0}
    assert {len(t.y) for t in native} == {5000} and {len(t.y) for t in model} == {1000}
    assert {t.dx for t in model} == {0.25}
    for a, b in zip(native, model, strict=True):
        # Same row, same display offset: PTB-XL's own 100 Hz file lies on the 500 Hz trace away from the QRS peaks.
        diff = np.abs(np.asarray(a.y)[::5] - np.asarray(b.y))
        assert np.median(diff) < 0.2, a.name
    assert "500 Hz" in fig.layout.annotations[-1].text and "100 Hz" in fig.layout.annotations[-1].text


def test_compare_stacked_gives_each_lead_two_rows_and_resamples_by_default(rec500):
    fig = ecg_compare_figure(rec500, mode="stacked", leads=["II", "V1"])
    traces = lead_traces(fig)
    assert [(t.meta["lead"], t.meta["fs"]) for t in traces] == [("II", 500.0), ("II", 100.0), ("V1", 500.0),
                                                               ("V1", 100.0)]
    assert len({round(float(np.median(t.y))) for t in traces}) == 4
    assert [a.text for a in fig.layout.annotations[:4]] == ["II 500 Hz", "II 100 Hz", "V1 500 Hz", "V1 100 Hz"]
    np.testing.assert_array_equal(np.asarray(traces[1].customdata)[:, 1], resample(rec500).lead("II"))


def test_markers_sit_on_every_panel_of_their_lead(rec500, sheet):
    # The largest sample of lead II in each second stands in for an R peak here.
    ii = rec500.lead("II")
    peaks = np.array([k * 500 + int(np.argmax(ii[k * 500:(k + 1) * 500])) for k in range(10)]) / 500
    fig = ecg_figure(rec500, markers=[Marker(peaks, lead="II", label="R peak")])
    mark = trace_named(fig, "R peak")
    t = np.asarray(mark.customdata)
    assert len(t) == 10 + int(np.sum(peaks < 2.5))  # all on the strip, the first ones also on the II column
    np.testing.assert_allclose(np.asarray(mark.x), t * 25)
    strip = lead_traces(fig, role="rhythm")[0]
    on_strip = np.asarray(mark.y)[-10:]
    np.testing.assert_allclose(on_strip - 2.0, np.asarray(strip.y)[np.round(peaks * 500).astype(int)], atol=1e-4)
    assert len(fig.data) == len(sheet.data) + 1


def test_bands_are_one_filled_trace_per_branch_clipped_to_the_window(rec500):
    bands = [Band(1.0, 1.5, "HR attention"), Band(3.0, 3.2, "HR attention"), Band(9.5, 12.0, "LR attention", "#3498db")]
    fig = ecg_figure(rec500, bands=bands)
    hr, lr = trace_named(fig, "HR attention"), trace_named(fig, "LR attention")
    assert hr.fill == lr.fill == "toself"
    assert list(hr.x).count(None) == 2 and max(x for x in lr.x if x is not None) == 250.0  # 12 s clipped to 10 s
    assert min(x for x in hr.x if x is not None) == 25.0
    assert fig.data[0].name == "HR attention"  # drawn under the tracing


def test_window_start_pans_a_long_cpsc_record(cpsc_dir):
    rec = read(cpsc_dir / "wfdb" / "A0005", "cpsc2018")
    assert rec.duration == 25.0
    fig = ecg_figure(rec, start=10.0)
    v4 = trace_named(fig, "V4")
    np.testing.assert_array_equal(np.asarray(v4.customdata)[:, 1], rec.lead("V4")[int(17.5 * 500):int(20 * 500)])
    assert v4.x0 == pytest.approx(3 * 2.5 * 25)
    # Near the end the sheet keeps its 10-s paper and draws what there is: 5 s of strip, empty last columns.
    tail = ecg_figure(rec, start=20.0)
    assert len(lead_traces(tail, role="rhythm")[0].y) == 2500 and len(trace_named(tail, "V1").y) == 0
    with pytest.raises(ValueError, match="start"):
        ecg_figure(rec, start=rec.duration + 1)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [({"layout": "6x2"}, "layout"), ({"gain": 0}, "gain"), ({"speed": -25}, "speed"),
     ({"leads": ["V1"]}, "12x1"), ({"layout": "12x1", "leads": ["V7"]}, "V7"),
     ({"layout": "12x1", "leads": ["V1", "v1"]}, "twice")],
)
def test_bad_options_say_what_is_wrong(rec500, kwargs, match):
    with pytest.raises(ValueError, match=match):
        ecg_figure(rec500, **kwargs)


def test_matplotlib_sheet_is_true_size_not_blank_and_labels_each_lead_once(rec500):
    fig = ecg_paper_matplotlib(rec500, title="PTB-XL 00001")
    width_in, _ = fig.get_size_inches()
    assert width_in * 25.4 == pytest.approx(260.0)
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert sorted(t for t in texts if t in LEADS) == sorted(LEADS)
    assert texts.count("II rhythm") == 1 and "25 mm/s, 10 mm/mV, 500 Hz" in texts
    fig.canvas.draw()
    rgba = np.asarray(fig.canvas.buffer_rgba())
    dark = rgba[..., :3].max(axis=2) < 80  # the black tracing, not the pink grid
    assert 0.005 < dark.mean() < 0.2
    # Ink in every quarter of the sheet's width: all four columns were drawn.
    assert all(q.any() for q in np.array_split(dark, 4, axis=1))
