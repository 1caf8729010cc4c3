"""Explanations: attention maps on the record's own time axis, attributions over leads x time, faithfulness."""

from __future__ import annotations

import importlib

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from mrm.data.recording import LEADS, Recording
from mrm.evaluate.policy import InputPolicy
from mrm.infer.explain import AttentionMaps, attention_maps, attribute, explain, place_windows
from mrm.infer.faithfulness import deletion_test, random_mask, top_mask
from mrm.infer.predictor import Predictor, minimal_card
from mrm.model import MRMOutput, create_model
from mrm.train.data import load_task_data


class AttentionProbe(nn.Module):
    """A stand-in network whose attention is |lead I| pooled to L/2 (HR) and L/4 (LR) steps: it attends to a pulse."""

    def __init__(self):
        super().__init__()
        self.attention = nn.ModuleDict()
        self.anchor = nn.Parameter(torch.zeros(1))

    def forward(self, x: torch.Tensor) -> MRMOutput:
        lead_i = x[:, :1].abs()
        zeros = torch.zeros(len(x), 2) + self.anchor
        return MRMOutput(logits=zeros, logits_hr=zeros, logits_lr=zeros,
                         attn_hr=F.adaptive_avg_pool1d(lead_i, x.shape[-1] // 2)[:, 0],
                         attn_lr=F.adaptive_avg_pool1d(lead_i, x.shape[-1] // 4)[:, 0])


class LeadProbe(nn.Module):
    """A network whose output reads only lead V2, samples 100-149 of each window."""

    def __init__(self):
        super().__init__()
        self.weight = nn.Parameter(torch.tensor(2.0))

    def forward(self, x: torch.Tensor) -> MRMOutput:
        logit = self.weight * x[:, LEADS.index("V2"), 100:150].mean(dim=1, keepdim=True)
        return MRMOutput(logits=logit, logits_hr=logit, logits_lr=logit)


def pulse_record(duration: float, fs: float, at: float, width: float = 0.2) -> Recording:
    t = np.arange(int(duration * fs)) / fs
    signal = np.random.default_rng(0).normal(0, 0.005, (12, t.size)).astype(np.float32)
    signal[0, (t >= at) & (t < at + width)] += 1.0
    return Recording(signal, fs, "pulse")


@pytest.mark.parametrize("duration, fs, at, policy", [
    (38.0, 500.0, 23.4, InputPolicy(250, 125)),
    (10.0, 257.0, 1.3, InputPolicy(250, 125)),
    (7.0, 500.0, 6.5, InputPolicy(1000, 500)),  # padded to one 10-s window
])
def test_attention_maps_sit_on_the_records_own_time_axis(duration, fs, at, policy):
    rec = pulse_record(duration, fs, at)
    maps = attention_maps(Predictor(AttentionProbe(), minimal_card(["A", "B"], policy)), rec)
    np.testing.assert_array_equal(maps.times, rec.time())
    assert maps.fs == fs and maps.hr.shape == maps.lr.shape == (rec.n_samples,)
    for branch, values in (("hr", maps.hr), ("lr", maps.lr)):
        peak = maps.times[np.argmax(values)]
        assert at - 0.01 <= peak < at + 0.21, (branch, peak)
        (band,) = [b for b in maps.bands(branch, share=0.2 / duration) if b[0] <= peak <= b[1]]
        assert band[0] == pytest.approx(at, abs=0.05) and band[1] == pytest.approx(at + 0.2, abs=0.05)
        assert values[maps.times < at - 0.5].max() < 0.05


def test_attention_maps_of_a_500_hz_record_and_its_100_hz_copy_agree(predictor, fold10):
    ecg_id = int(fold10.ecg_ids[5])
    high = attention_maps(predictor, fold10.load_record(ecg_id, fs=500))
    low = attention_maps(predictor, fold10.load_record(ecg_id, fs=100))
    assert high.times.size == 5000 and low.times.size == 1000
    assert np.all((high.hr >= 0) & (high.hr <= 1)) and high.hr.std() > 0
    for branch in ("hr", "lr"):
        a, b = getattr(high, branch)[::5], getattr(low, branch)
        assert np.corrcoef(a, b)[0, 1] > 0.9


def test_windows_are_placed_and_overlaps_averaged():
    maps = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    placed = place_windows(maps, np.array([0, 2, 3]), 4, 7)
    # window 1 covers 0-3, window 2 covers 2-5, window 3 covers 3-6; each map step covers 2 samples
    np.testing.assert_allclose(placed, [1.0, 1.0, 2.5, (2 + 3 + 5) / 3, (4 + 5) / 2, (4 + 6) / 2, 6.0], rtol=1e-6)


@pytest.mark.parametrize("policy", [InputPolicy(250, 125, "mean"), InputPolicy(1000, 500), InputPolicy(250, 125)])
def test_integrated_gradients_land_on_the_lead_and_samples_the_network_reads(policy):
    rec = Recording(np.random.default_rng(1).normal(0, 0.3, (12, 1000)).astype(np.float32), 100.0, "noise")
    predictor = Predictor(LeadProbe(), minimal_card(["A"], policy))
    attribution = attribute(predictor, rec, "A", n_steps=8)
    assert attribution.values.shape == (12, 1000) and attribution.lead_resolved
    read = np.zeros(1000, bool)
    for start in predictor.prepare(rec).starts:
        read[start + 100 : start + 150] = True
    v2 = LEADS.index("V2")
    others = np.delete(attribution.values, v2, axis=0)
    assert np.all(others == 0) and np.all(attribution.values[v2, ~read] == 0)
    attributed = np.count_nonzero(attribution.values[v2, read])
    if policy.aggregation == "mean" or policy.window == 1000:
        assert attributed == read.sum()
    else:
        # The maximum over windows is decided by one window along most of the path: its 50 samples dominate.
        assert 50 <= attributed < read.sum()
    assert attribution.lead_totals().argmax() == v2
    in_time = attribute(predictor, rec, "A", method="integrated_gradients_time", n_steps=8)
    assert not in_time.lead_resolved and np.all(in_time.values == in_time.values[0])
    np.testing.assert_allclose(in_time.values[0], attribution.values.sum(axis=0), atol=1e-7)


def test_integrated_gradients_add_up_to_the_change_from_a_flat_record(predictor, fold10):
    rec = fold10.load_record(int(fold10.ecg_ids[0]), fs=500)
    flat = Recording(np.zeros_like(rec.signal), 500.0, "flat")
    gap = predictor.predict(rec).probabilities() - predictor.predict(flat).probabilities()
    for c in range(len(predictor.classes)):
        a = attribute(predictor, rec, c, n_steps=32)
        assert a.values.shape == (12, 1000) and a.fs == 100.0 and a.times[-1] == pytest.approx(9.99)
        assert a.values.sum() == pytest.approx(gap[c], abs=0.03)
        assert a.probability == pytest.approx(predictor.predict(rec).probabilities()[c], abs=1e-6)


def test_integrated_gradients_in_chunks_equal_one_pass(predictor, fold10, monkeypatch):
    """Chunking the path bounds memory (a 38-s record's 16 steps once took ~1.5 GB) without changing the result."""
    explain_module = importlib.import_module("mrm.infer.explain")  # the package re-exports a function of that name
    rec = fold10.load_record(int(fold10.ecg_ids[1]), fs=100)
    one_pass = attribute(predictor, rec, 0, n_steps=8)
    monkeypatch.setattr(explain_module, "IG_WINDOWS_PER_PASS", 1)  # one step (7 windows) per pass
    chunked = attribute(predictor, rec, 0, n_steps=8)
    np.testing.assert_allclose(chunked.values, one_pass.values, rtol=1e-4, atol=1e-7)


def test_bands_of_a_plateau_or_flat_map_do_not_cover_the_record():
    t = np.arange(1000) / 100
    plateau = np.where(t < 7, 0.5, 0.0)  # 70% of the record tied at the top
    plateau[300:310] = 0.9
    maps = AttentionMaps(t, plateau, np.full(1000, 0.3), 100.0)
    assert maps.bands("hr", share=0.2) == [pytest.approx((3.0, 3.1))]
    assert maps.bands("lr") == []


def test_grad_cam_of_each_branch_is_a_nonnegative_temporal_map(predictor, fold10):
    rec = fold10.load_record(int(fold10.ecg_ids[2]), fs=500)
    for method in ("grad_cam_hr", "grad_cam_lr"):
        a = attribute(predictor, rec, "NORM", method=method)
        assert a.values.shape == (12, 1000) and not a.lead_resolved and a.code == "NORM"
        assert np.all(a.values >= 0) and a.values.max() > 0
        assert np.all(a.values == a.values[0])
    hr = attribute(predictor, rec, "NORM", method="grad_cam_hr").values[0]
    lr = attribute(predictor, rec, "NORM", method="grad_cam_lr").values[0]
    assert not np.allclose(hr, lr)


def test_explain_gives_the_prediction_and_both_explanations(predictor, fold10):
    rec = fold10.load_record(int(fold10.ecg_ids[4]), fs=500)
    result = explain(predictor, rec, n_steps=8)
    top = int(np.argmax(result.prediction.probabilities()))
    assert result.attribution.code == predictor.classes[top]
    assert result.attention.times.size == rec.n_samples
    # Grad-CAM's forward pass also gives the attention maps: the same as computed on their own
    cam = explain(predictor, rec, target="MI", method="grad_cam_lr")
    alone = attention_maps(predictor, rec)
    np.testing.assert_allclose(cam.attention.hr, alone.hr, atol=1e-6)
    np.testing.assert_allclose(cam.attention.lr, alone.lr, atol=1e-6)
    np.testing.assert_allclose(cam.attribution.values, attribute(predictor, rec, "MI", "grad_cam_lr").values,
                               atol=1e-6)
    assert cam.prediction.probabilities().tolist() == predictor.predict(rec).probabilities().tolist()
    with pytest.raises(ValueError, match="unknown class 'XYZ'"):
        attribute(predictor, rec, "XYZ")
    no_attention = Predictor(create_model("tiny", 2, attention=False), minimal_card(["A", "B"]))
    assert explain(no_attention, rec, n_steps=2).attention is None
    with pytest.raises(ValueError, match="no attention maps"):
        attention_maps(no_attention, rec)


def test_masks_cover_exactly_the_share():
    values = np.random.default_rng(2).normal(size=(12, 1000))
    top = top_mask(values, 0.1)
    assert top.sum() == 1200 and values[top].min() >= values[~top].max()
    rows = random_mask((12, 1000), 0.1, np.random.default_rng(3))
    assert rows.sum() == 1200 and not np.all(rows == rows[0])


def test_deletion_of_the_most_attributed_samples_hurts_auc_more_than_random(predictor, shared_data, fold10):
    data = load_task_data("ptbxl", "superdiagnostic", shared_data, classes=predictor.classes, folds=(10,))
    records = [fold10.load_record(int(i), fs=100) for i in data.ids]
    (result,) = deletion_test(predictor, records, data.y, ["integrated_gradients"], n_steps=8)
    summary = result.to_dict()
    assert summary["n_records"] == len(records) > 50 and summary["share"] == 0.1
    # measured with this fixture: macro AUC drop 0.031 for integrated gradients, -0.001 for random deletion
    assert summary["macro_auc_drop"] > 0.015
    assert summary["macro_auc_drop"] > summary["macro_auc_drop_random"] + 0.01
    assert np.nanmean(result.auc_deleted) < np.nanmean(result.auc_random)
