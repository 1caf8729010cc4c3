"""Plot builders of dashboard part 2 (mrm.viz.probabilities, .attention, .roc and mrm.app.attention), checked on the
figure data they send: values, positions on the paper, trace order and counts, on real records and weights."""

from __future__ import annotations

import json

import numpy as np
import pytest

from mrm.app.attention import attention_agreement, attention_view, sheet_geometry
from mrm.app.modelcard import load_fold9, operating_curves, read_model_card
from mrm.app.view import ViewOptions, build_view
from mrm.data import load_ptbxl
from mrm.data.recording import LEADS, Recording
from mrm.infer import AttentionMaps, attention_maps, attribute
from mrm.viz import paper_3x4, paper_rows
from mrm.viz.attention import (
    OVERLAY_GAMMA,
    agreement_figure,
    attention_on_grid,
    attention_overlay,
    attribution_figure,
)
from mrm.viz.probabilities import probability_figure
from mrm.viz.roc import roc_figure, threshold_figure


@pytest.fixture(scope="module")
def record(ptbxl_dir) -> Recording:
    return load_ptbxl(ptbxl_dir).load_record(9, fs=500)


def bump_maps(fs: float = 500.0, duration: float = 10.0) -> AttentionMaps:
    """HR attends 3.0-3.5 s only, LR 6.0-7.0 s only."""
    t = np.arange(int(duration * fs)) / fs
    return AttentionMaps(t, np.where((t >= 3.0) & (t < 3.5), 0.9, 0.1), np.where((t >= 6) & (t < 7), 0.8, 0.3), fs)


def test_overlay_lies_on_every_row_at_the_right_time():
    maps = bump_maps()
    for geometry in (paper_3x4(speed=50, start=2.0, duration=5.0), paper_rows([[(lead, 0)] for lead in LEADS])):
        hr, lr = attention_overlay(maps, geometry)
        rows = len(geometry.baselines)
        assert hr.z.shape == (2 * rows - 1, int(round(geometry.duration * 100)))
        # HR in the upper half of each row, LR in the lower half; NaN gaps between rows.
        half = geometry.pitch / 2
        for i, b in enumerate(sorted(geometry.baselines)):
            assert (hr.y[2 * i], hr.y[2 * i + 1]) == pytest.approx((b, b + half))
            assert (lr.y[2 * i], lr.y[2 * i + 1]) == pytest.approx((b - half, b))
        assert np.isnan(hr.z[1::2]).all() and not np.isnan(hr.z[::2]).any()
        # Column i is centred at x = dx / 2 + i * dx mm, i.e. at t = start + i / 100 s on the paper.
        t = geometry.start + (hr.x0 - hr.dx / 2 + hr.dx * np.arange(hr.z.shape[1])) / geometry.speed
        assert np.array_equal(hr.z[0] > 0.5, (t >= 3.0 - 1e-9) & (t < 3.5 - 1e-9))
        assert np.array_equal(lr.z[0] > 0.5, (t >= 6.0 - 1e-9) & (t < 7.0 - 1e-9))
        assert hr.z[0].max() == pytest.approx(1.0) and hr.z[0].min() == 0.0
    alone = attention_overlay(maps, paper_3x4(), branches=("lr",), opacity=0.3)
    assert [t.name for t in alone] == ["LR attention"] and alone[0].opacity == 0.3
    b = sorted(paper_3x4().baselines)[0]
    assert (alone[0].y[0], alone[0].y[1]) == pytest.approx((b - 20.0, b + 20.0))  # the whole row at 10 mm/mV
    with pytest.raises(ValueError, match="branches"):
        attention_overlay(maps, paper_3x4(), branches=("xr",))


def test_attention_on_grid_scales_each_branch_and_the_tint_emphasises_peaks():
    t = np.arange(1000) / 100
    maps = AttentionMaps(t, 0.45 + 0.1 * (t > 5), np.full(1000, 0.5), 100.0)
    _, hr, lr = attention_on_grid(maps, 0.0, 10.0)
    assert set(np.round(hr, 6)) == {0.0, 1.0} and not lr.any()  # a flat map stays 0
    half = AttentionMaps(t, np.where(t > 5, 1.0, 0.0) + 0.5 * (t > 8), np.zeros(1000), 100.0)
    (hr_trace, _) = attention_overlay(half, paper_rows([[("II", 0)]]))
    assert hr_trace.z[0].max() == 1.0 and np.nanmax(hr_trace.z[0][600:800]) == pytest.approx((1 / 1.5) ** OVERLAY_GAMMA)


def test_attention_view_keeps_the_sheet_and_puts_bands_under_it(predictor, record):
    maps = attention_maps(predictor, record)
    options = ViewOptions(layout="12x1", leads=("II", "V1", "V5"), speed=50, start=2.0)
    plain = build_view(record, options)
    figure = attention_view(record, options, maps)
    names = [t.name for t in figure.data]
    assert names[:2] == ["HR attention", "LR attention"] and names[2:] == [t.name for t in plain.data]
    for a, b in zip(figure.data[2:], plain.data, strict=True):
        assert np.array_equal(np.asarray(a.y, dtype=float), np.asarray(b.y, dtype=float), equal_nan=True)
    assert figure.data[0].z.shape == (5, 500)  # 3 rows (2 gaps) x 5 s at 100 Hz
    geometry = sheet_geometry(record, options)
    assert sorted(geometry.baselines)[0] == pytest.approx(min(figure.data[0].y))
    assert figure.layout.uirevision.endswith("/attention")
    assert [t.name for t in attention_view(record, options, maps, branches=()).data] == [t.name for t in plain.data]
    # The figure goes to the browser as JSON: NaN gaps become nulls, not invalid JSON.
    spec = json.loads(figure.to_json())
    assert spec["data"][0]["type"] == "heatmap"


def test_agreement(predictor, record):
    maps = attention_maps(predictor, record)
    a = attention_agreement(maps)
    swapped = attention_agreement(AttentionMaps(maps.times, maps.lr, maps.hr, maps.fs))
    assert (a.correlation, a.overlap, a.mean_gap) == pytest.approx((swapped.correlation, swapped.overlap,
                                                                    swapped.mean_gap))
    assert -1 <= a.correlation <= 1 and 0 <= a.overlap <= 1 and 0 <= a.mean_gap <= 1
    same = attention_agreement(AttentionMaps(maps.times, maps.hr, maps.hr, maps.fs))
    assert same.overlap == 1.0 and same.mean_gap == 0.0 and same.verdict == "agree on where to look"
    apart = attention_agreement(bump_maps())
    assert apart.overlap < 0.25 and apart.verdict == "look at different stretches"
    fig = agreement_figure(maps)
    _, hr, lr = attention_on_grid(maps, 0.0, record.duration)
    assert np.allclose(np.asarray(fig.data[0].y), hr) and np.allclose(np.asarray(fig.data[1].y), lr)
    more_hr, more_lr = np.asarray(fig.data[2].y), np.asarray(fig.data[3].y)
    assert np.allclose(more_hr + more_lr, hr - lr) and (more_hr >= 0).all() and (more_lr <= 0).all()


def test_attribution_figure(predictor, record):
    ig = attribute(predictor, record, "NORM", n_steps=4)
    fig = attribution_figure(ig)
    heat, bars = fig.data
    assert np.asarray(heat.z).shape == (12, 1000) and list(heat.y) == list(LEADS) and heat.zmid == 0
    assert np.allclose(np.asarray(bars.x), ig.lead_totals(), rtol=1e-5)
    assert fig.layout.title.text.startswith("NORM (normal ECG)")
    cam = attribution_figure(attribute(predictor, record, "NORM", method="grad_cam_hr"))
    assert list(cam.data[0].y) == ["all leads"] and np.asarray(cam.data[0].z).shape == (1, 1000)


def test_probability_figure(predictor, record):
    pred = predictor.predict(record)
    fig = probability_figure(pred)
    fused, hr, lr, threshold = fig.data
    order = sorted(pred.classes, key=lambda c: (-c.probability, c.code))[::-1]
    assert [y.rstrip(" !") for y in fused.y] == [c.code for c in order]
    assert np.allclose(fused.x, [c.probability for c in order])
    assert np.allclose(hr.x, [c.probability_hr for c in order]) and np.allclose(lr.x, [c.probability_lr for c in order])
    assert np.allclose(threshold.x, [c.threshold for c in order])
    flagged = {y.rstrip(" !") for y in fused.y if y.endswith("!")}
    flag = pred.disagreement_flag
    assert flagged == {c.code for c in pred.classes if abs(c.probability_hr - c.probability_lr) > flag}
    top2 = probability_figure(pred, top=2)
    assert len(top2.data[0].y) == 2 and top2.data[0].y[-1].rstrip(" !") == order[-1].code


def test_roc_and_threshold_figures(tiny_weights):
    card = read_model_card(tiny_weights)
    fig = roc_figure(card.roc, {c: f"{c} (AUC {a:.2f})" for c, a in zip(card.per_class["code"], card.per_class["AUC"],
                                                                         strict=True)})
    assert [t.name for t in fig.data][0] == "chance" and len(fig.data) == 6
    assert np.allclose(fig.data[1].x, card.roc["CD"][0]) and np.allclose(fig.data[1].y, card.roc["CD"][1])
    fold9 = load_fold9(tiny_weights, card.per_class["code"].tolist())
    y, p = fold9.column("MI")
    fig = threshold_figure(y, p, 0.3, curves=operating_curves(y, p), card_threshold=0.25)
    positives, negatives = fig.data[:2]
    assert len(positives.x) == y.sum() and len(negatives.x) == (~y).sum()
    assert positives.name == f"positive records ({int(y.sum())})"
    assert [t.name for t in fig.data[2:]] == ["sensitivity", "specificity", "PPV"]
    assert sorted({round(s.x0, 2) for s in fig.layout.shapes}) == [0.25, 0.3]
