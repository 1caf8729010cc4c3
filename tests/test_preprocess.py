import numpy as np
import pytest

from mrm.data.preprocess import (
    Standardizer,
    aggregate_windows,
    make_windows,
    resample,
    resample_signal,
    window_starts,
)
from mrm.data.recording import Recording


def test_resample_keeps_a_10_hz_sine_and_removes_a_200_hz_one():
    fs = 500
    t = np.arange(5000) / fs
    slow = np.sin(2 * np.pi * 10 * t)
    fast = np.sin(2 * np.pi * 200 * t)  # above the 50 Hz Nyquist frequency of 100 Hz: must be filtered, not aliased
    x = np.tile(slow + fast, (12, 1)).astype(np.float32)
    y = resample_signal(x, fs, 100)
    assert y.shape == (12, 1000)
    expected = np.sin(2 * np.pi * 10 * np.arange(1000) / 100)
    inner = slice(50, 950)  # the filter's edge transients
    assert np.max(np.abs(y[0, inner] - expected[inner])) < 0.05


def test_resample_handles_non_integer_ratios():
    x = np.random.default_rng(0).normal(size=(12, 2570)).astype(np.float32)  # 10 s at 257 Hz
    assert resample_signal(x, 257, 100).shape == (12, 1000)


def test_resample_recording_records_a_warning_and_keeps_metadata():
    rec = Recording(np.zeros((12, 1000), np.float32), fs=250.0, record_id="x", age=61.0, labels={"NORM": 100.0})
    low = resample(rec, 100)
    assert (low.fs, low.n_samples, low.age, low.labels) == (100.0, 400, 61.0, {"NORM": 100.0})
    assert "250 Hz to 100 Hz" in low.warnings[-1]
    assert rec.warnings == []  # the original is not modified
    assert resample(low, 100) is low


@pytest.mark.parametrize(
    ("n", "window", "stride", "expected"),
    [(1000, 1000, 500, [0]), (1500, 1000, 500, [0, 500]), (1600, 1000, 500, [0, 500, 600]), (400, 1000, 500, [0])],
)
def test_window_starts_cover_the_record_without_running_past_it(n, window, stride, expected):
    starts = window_starts(n, window, stride)
    assert starts.tolist() == expected
    if n >= window:
        assert starts[-1] + window == n


def test_make_windows_pads_short_records_at_the_end():
    x = np.arange(12 * 700, dtype=np.float32).reshape(12, 700) + 1
    windows, starts, pad = make_windows(x, 1000, 500)
    assert windows.shape == (1, 12, 1000) and pad == 300
    np.testing.assert_array_equal(windows[0, :, :700], x)
    assert not windows[0, :, 700:].any()


def test_make_windows_match_slices_of_the_signal():
    x = np.random.default_rng(1).normal(size=(12, 1000)).astype(np.float32)
    windows, starts, pad = make_windows(x, 250, 125)
    assert pad == 0 and len(windows) == 7
    for w, s in zip(windows, starts, strict=True):
        np.testing.assert_array_equal(w, x[:, s : s + 250])


def test_aggregate_windows():
    p = np.array([[0.1, 0.9, 0.5], [0.3, 0.2, 0.5]])
    np.testing.assert_allclose(aggregate_windows(p, "max"), [0.3, 0.9, 0.5])
    np.testing.assert_allclose(aggregate_windows(p, "mean"), [0.2, 0.55, 0.5])
    with pytest.raises(ValueError, match="unknown aggregation"):
        aggregate_windows(p, "median")


def test_standardizer_is_per_lead_and_round_trips():
    rng = np.random.default_rng(2)
    scale = np.arange(1, 13, dtype=np.float32)[:, None]
    x = [rng.normal(0.5, 1.0, size=(12, n)).astype(np.float32) * scale for n in (800, 1000, 1200)]
    st = Standardizer.fit(x)
    np.testing.assert_allclose(st.std, np.concatenate(x, axis=1).std(axis=1), rtol=1e-4)
    np.testing.assert_allclose(st.mean, np.concatenate(x, axis=1).mean(axis=1), rtol=1e-4)
    z = st.transform(np.concatenate(x, axis=1))
    np.testing.assert_allclose(z.mean(axis=1), 0, atol=1e-4)
    np.testing.assert_allclose(z.std(axis=1), 1, atol=1e-4)
    assert Standardizer.from_dict(st.to_dict()) == st
