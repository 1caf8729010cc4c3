"""Preprocessing shared by training and serving: resampling, windows, normalisation.

The input policy (documented in the README and carried in every weight card):

* every record is resampled to the model's rate (100 Hz) with an anti-aliasing polyphase filter;
* a record is cut into windows of ``window`` samples every ``stride`` samples; the last window is aligned
  with the end of the record, so no sample is left out and no window runs past the end;
* a record shorter than one window is padded at its end with zeros up to one window; padding comes after
  standardisation, so it is each lead's training mean (a few µV from 0 mV, the baseline); the caller reports it
  (readers refuse records shorter than 2.5 s, so at most 7.5 s of a 10-s window is padding);
* the record's prediction aggregates the windows' probabilities (``max`` as in the PTB-XL benchmark, or ``mean``);
* amplitudes are standardised per lead with mean and standard deviation fitted on the training folds only,
  stored with the weights.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import numpy as np
from scipy.signal import resample_poly

from mrm.data.recording import LEADS, Recording

#: The model's sampling rate: PTB-XL's 100 Hz release, used by the benchmark and the authors.
MODEL_FS = 100.0


def resample_signal(signal: np.ndarray, fs: float, target_fs: float) -> np.ndarray:
    """Resample a (leads, n) array from ``fs`` to ``target_fs`` with scipy's anti-aliased polyphase filter.

    Examples
    --------
    >>> x = np.sin(np.linspace(0, 20 * np.pi, 5000, dtype=np.float32))[None].repeat(12, 0)
    >>> resample_signal(x, 500, 100).shape
    (12, 1000)
    """
    if fs == target_fs:
        return np.asarray(signal, dtype=np.float32)
    ratio = Fraction(target_fs / fs).limit_denominator(1000)
    out = resample_poly(signal, ratio.numerator, ratio.denominator, axis=-1)
    return out.astype(np.float32, copy=False)


def resample(recording: Recording, fs: float = MODEL_FS) -> Recording:
    """Return ``recording`` at ``fs`` Hz (anti-aliased), with a warning saying it was resampled.

    Examples
    --------
    >>> rec = Recording(np.zeros((12, 5000), np.float32), fs=500.0, record_id="demo")
    >>> low = resample(rec, 100)
    >>> low.fs, low.n_samples, low.warnings
    (100.0, 1000, ['demo: resampled from 500 Hz to 100 Hz (anti-aliased polyphase filter).'])
    """
    if recording.fs == fs:
        return recording
    signal = resample_signal(recording.signal, recording.fs, fs)
    note = f"{recording.record_id}: resampled from {recording.fs:g} Hz to {fs:g} Hz (anti-aliased polyphase filter)."
    return recording.with_signal(signal, fs, note)


def window_starts(n_samples: int, window: int, stride: int) -> np.ndarray:
    """Start indices of the windows covering ``n_samples``: every ``stride``, the last one flush with the end.

    Examples
    --------
    >>> window_starts(1000, 250, 125).tolist()
    [0, 125, 250, 375, 500, 625, 750]
    >>> window_starts(1100, 1000, 500).tolist()
    [0, 100]
    >>> window_starts(700, 1000, 500).tolist()
    [0]
    """
    if n_samples <= window:
        return np.zeros(1, dtype=np.int64)
    last = n_samples - window
    starts = np.arange(0, last + 1, stride, dtype=np.int64)
    if starts[-1] != last:
        starts = np.append(starts, last)
    return starts


def make_windows(signal: np.ndarray, window: int, stride: int) -> tuple[np.ndarray, np.ndarray, int]:
    """Cut a (leads, n) array into windows (n_windows, leads, window) following the input policy.

    Returns the windows, their start indices and the number of padded samples (0 unless the signal is
    shorter than one window, in which case it is padded at its end with zeros).

    Examples
    --------
    >>> w, starts, pad = make_windows(np.ones((12, 3800), np.float32), 1000, 500)
    >>> w.shape, starts.tolist(), pad
    ((7, 12, 1000), [0, 500, 1000, 1500, 2000, 2500, 2800], 0)
    """
    n = signal.shape[-1]
    pad = max(0, window - n)
    if pad:
        signal = np.pad(signal, ((0, 0), (0, pad)))
    starts = window_starts(signal.shape[-1], window, stride)
    index = starts[:, None] + np.arange(window)[None, :]
    windows = np.ascontiguousarray(signal[:, index].transpose(1, 0, 2))
    return windows, starts, pad


def aggregate_windows(probabilities: np.ndarray, how: str = "max") -> np.ndarray:
    """Combine per-window probabilities (n_windows, n_classes) into one record-level vector.

    ``max`` is the PTB-XL benchmark's rule (a finding seen in any window counts); ``mean`` averages.

    Examples
    --------
    >>> aggregate_windows(np.array([[0.1, 0.9], [0.3, 0.2]]), "max").tolist()
    [0.3, 0.9]
    """
    if how == "max":
        return probabilities.max(axis=0)
    if how == "mean":
        return probabilities.mean(axis=0)
    raise ValueError(f"unknown aggregation {how!r}; use 'max' or 'mean'")


@dataclass(frozen=True)
class Standardizer:
    """Per-lead standardisation fitted on the training folds and shipped with the weights.

    Examples
    --------
    >>> x = np.random.default_rng(0).normal(0.1, 0.2, size=(4, 12, 250)).astype(np.float32)
    >>> st = Standardizer.fit(x)
    >>> bool(abs(st.transform(x).mean()) < 1e-5)
    True
    >>> Standardizer.from_dict(st.to_dict()) == st
    True
    """

    mean: tuple[float, ...]
    std: tuple[float, ...]

    @classmethod
    def fit(cls, signals: np.ndarray | list[np.ndarray]) -> Standardizer:
        """Fit on (n_records, 12, n) or a list of (12, n_i) arrays, without holding a second copy in memory."""
        total = np.zeros(len(LEADS))
        total_sq = np.zeros(len(LEADS))
        count = 0
        for x in signals:
            x = np.asarray(x, dtype=np.float64)
            total += x.sum(axis=-1)
            total_sq += np.square(x).sum(axis=-1)
            count += x.shape[-1]
        mean = total / count
        std = np.sqrt(np.maximum(total_sq / count - mean**2, 1e-12))
        return cls(tuple(float(v) for v in mean), tuple(float(v) for v in std))

    def transform(self, signal: np.ndarray) -> np.ndarray:
        """Standardise an array whose second-to-last axis is the 12 leads."""
        mean = np.asarray(self.mean, dtype=np.float32)[:, None]
        std = np.asarray(self.std, dtype=np.float32)[:, None]
        return ((signal - mean) / std).astype(np.float32, copy=False)

    def to_dict(self) -> dict[str, list[float]]:
        return {"leads": list(LEADS), "mean": list(self.mean), "std": list(self.std)}

    @classmethod
    def from_dict(cls, data: dict) -> Standardizer:
        return cls(tuple(float(v) for v in data["mean"]), tuple(float(v) for v in data["std"]))
