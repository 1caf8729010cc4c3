"""One set of beats for all 12 leads: cleaning, R peaks by multi-lead consensus, and the median beat.

NeuroKit2 finds R peaks one lead at a time and assumes an upright R wave; a tall T wave can be taken for a
QRS (neuropsychology/NeuroKit#377 #752). We run its detector on every usable lead, keep the beats that most
leads agree on, place each beat's fiducial point on the peak of the multi-lead QRS energy (sign-free, so an
inverted QRS as in aVR counts like an upright one), and drop candidates that are too close to a stronger beat.
"""

from __future__ import annotations

from dataclasses import dataclass

import neurokit2 as nk
import numpy as np
from scipy.ndimage import median_filter
from scipy.signal import butter, filtfilt, iirnotch, sosfiltfilt

#: A lead whose cleaned peak-to-peak amplitude is below this (mV) carries no ECG.
FLAT_MV = 0.05
# Beats of one QRS found in different leads lie within this many seconds of each other.
_CLUSTER_S = 0.10
# No two QRS complexes closer than this (s): 300 bpm.
_REFRACTORY_S = 0.20
# A candidate within this delay (s) of a beat with a QRS slope this many times steeper is that beat's P or T wave.
_WAVE_S = 0.45
_WAVE_RATIO = 2.5
# Deflections narrower than this (s) are pacemaker spikes, not QRS complexes.
_SPIKE_S = 0.030
# Pacemaker stimuli: a deflection that a running median this long (s) removes, sought in this window before each
# R peak (s; its end keeps the R wave's own tip out), as high as PACE_MIN_MV in the third-highest lead and
# PACE_MIN_RATIO times the record's high-frequency noise (median residual), before at least half of the beats.
_PACE_MEDIAN_S = 0.010
_PACE_WINDOW_S = (0.30, 0.03)
# A stimulus fires at a fixed delay before the QRS it starts; spikes wandering more than this (s) from the beats'
# median delay are interference (PTB-XL ecg_id 2344: a train of spikes every 130 ms).
_PACE_LOCK_S = 0.015
PACE_MIN_MV = 0.15
PACE_MIN_RATIO = 50.0
# Median-beat window around the fiducial (s): long enough for a long PR before and a long QT after.
_PRE_S = 0.60
_POST_S = 0.80
# Each beat's window ends this long (s) before the next beat's R peak (about its QRS onset; the T-end search stops
# no later either, at RR - 0.22 s or 0.35 s), so a premature beat (a PVC in bigeminy) never enters the median.
_NEXT_BEAT_S = 0.07
# Beats whose QRS correlates less than this with the template (PVCs, artefacts) stay out of the median beat.
_MIN_CORRELATION = 0.90
# Half-width (s) of the QRS window used to compare and align beats.
_QRS_HALF_S = 0.08
# Largest shift (s) when aligning a beat to the template.
_MAX_SHIFT_S = 0.03


@dataclass
class MedianBeat:
    """The representative beat of a record: per lead, the sample-wise median of the aligned dominant beats.

    Attributes
    ----------
    signal:
        float array (12, m) in mV; NaN where fewer than two beats cover a sample (record edges).
    fs:
        Sampling rate (Hz), the record's own.
    fiducial:
        Index in ``signal`` of the beats' alignment point (the R peak).
    beats:
        Sample indices (in the record) of the R peaks that went into the median.
    rr:
        Median RR interval of the record in seconds (None with fewer than two beats).
    """

    signal: np.ndarray
    fs: float
    fiducial: int
    beats: np.ndarray
    rr: float | None

    @property
    def n_beats(self) -> int:
        return len(self.beats)

    def time(self) -> np.ndarray:
        """Seconds relative to the fiducial point."""
        return (np.arange(self.signal.shape[1]) - self.fiducial) / self.fs


def clean_signal(signal: np.ndarray, fs: float, powerline: float = 50.0) -> np.ndarray:
    """Remove baseline wander (0.5 Hz high-pass) and mains hum (notch at ``powerline``), zero phase, all leads.

    Unlike ``nk.ecg_clean``, no low-pass or moving average: wave edges stay where they are. NaN samples are
    filtered as 0 mV and returned as NaN.

    Examples
    --------
    >>> t = np.arange(5000) / 500
    >>> drift = np.tile(np.sin(2 * np.pi * 0.1 * t), (12, 1))
    >>> float(np.abs(clean_signal(drift, 500.0)[:, 500:-500]).max()) < 0.05
    True
    """
    x = np.asarray(signal, dtype=np.float64)
    missing = ~np.isfinite(x)
    x = np.where(missing, 0.0, x)
    n = x.shape[-1]
    sos = butter(2, 0.5, btype="highpass", fs=fs, output="sos")
    out = sosfiltfilt(sos, x, axis=-1, padlen=min(3 * 2 * len(sos), n - 1))
    if 0 < powerline < fs / 2 - 1:
        b, a = iirnotch(powerline, Q=30.0, fs=fs)
        out = filtfilt(b, a, out, axis=-1, padlen=min(3 * max(len(a), len(b)), n - 1))
    out[missing] = np.nan
    return out


def usable_leads(signal: np.ndarray) -> np.ndarray:
    """Boolean mask of the leads with an ECG in them: finite samples and a peak-to-peak amplitude above 0.05 mV.

    Examples
    --------
    >>> x = np.zeros((12, 1000)); x[1, ::100] = 1.0
    >>> usable_leads(x).nonzero()[0].tolist()
    [1]
    """
    finite = np.isfinite(signal)
    enough = finite.mean(axis=1) > 0.5
    span = np.nanmax(np.where(finite, signal, np.nan), axis=1, initial=-np.inf) - np.nanmin(
        np.where(finite, signal, np.nan), axis=1, initial=np.inf
    )
    return enough & (span > FLAT_MV)


def remove_spikes(signal: np.ndarray, fs: float) -> np.ndarray:
    """A copy without pacemaker spikes: a 14-ms running median removes deflections too narrow to be a QRS.

    Pacing spikes have the steepest slopes of a paced ECG and would otherwise be taken for beats.

    Examples
    --------
    >>> x = np.zeros((12, 100)); x[:, 50] = 2.0
    >>> float(np.abs(remove_spikes(x, 500.0)).max())
    0.0
    """
    size = int(round(_SPIKE_S * fs)) | 1
    if size < 3:
        return signal
    return median_filter(signal, size=(1, size), mode="nearest")


def paced_beats(signal: np.ndarray, rpeaks: np.ndarray, fs: float) -> np.ndarray:
    """Which beats a pacemaker stimulus precedes: a spike before the QRS in at least three leads.

    A unipolar pacing spike lasts about a millisecond and shows in most leads at once; a 10-ms running median
    removes it and little else. The spike is sought from 300 ms to 30 ms before each R peak (an atrial or
    ventricular stimulus; the R wave's own sharp tip stays out), must be at least ``PACE_MIN_MV`` high in the
    third-highest lead and ``PACE_MIN_RATIO`` times the record's median residual (so muscle noise is no spike),
    and must lie within 15 ms of the median delay of such spikes before their R peaks (a stimulus is locked to
    the beat it starts; interference is not).
    The thresholds were set on PTB-XL's 37 records with a pacemaker against 400 without, and LUDB records 1-50
    (``docs/benchmarks.md``, section 4). Bipolar spikes under 0.15 mV are not seen, and nothing is seen below
    250 Hz, where a spike is a single sample or less.

    Parameters
    ----------
    signal:
        Cleaned signal (12, n) in mV (:func:`clean_signal`), with its spikes.
    rpeaks:
        R peaks (samples) from :func:`find_rpeaks`.
    fs:
        Sampling rate (Hz).

    Returns
    -------
    numpy.ndarray
        One boolean per beat whose whole search window lies in the record (beats nearer the start are left out).

    Examples
    --------
    >>> x = np.zeros((12, 5000)); x[:, 950:1100] = 1.0; x[:, 1950:2100] = 1.0
    >>> x[:, [920, 1920]] = 2.0  # a stimulus 80 ms before each R peak
    >>> paced_beats(x, np.array([1000, 2000]), 500.0).tolist()
    [True, True]
    """
    size = int(round(_PACE_MEDIAN_S * fs)) | 1
    start, stop = (int(round(s * fs)) for s in _PACE_WINDOW_S)
    rpeaks = np.asarray(rpeaks)
    rpeaks = rpeaks[rpeaks >= start]
    if size < 3 or len(rpeaks) == 0 or signal.shape[0] < 3:
        return np.zeros(len(rpeaks), dtype=bool)
    x = np.nan_to_num(signal)
    residual = np.abs(x - median_filter(x, size=(1, size), mode="nearest"))
    third = np.sort(residual, axis=0)[-3]
    floor = float(np.median(third))
    windows = [third[r - start : r - stop] for r in rpeaks]
    height = np.array([w.max() for w in windows])
    delay = np.array([np.argmax(w) for w in windows])
    spiked = (height >= PACE_MIN_MV) & (height >= PACE_MIN_RATIO * floor)
    if not spiked.any():
        return spiked
    return spiked & (np.abs(delay - np.median(delay[spiked])) <= _PACE_LOCK_S * fs)


def _qrs_energy(signal: np.ndarray, leads: np.ndarray) -> np.ndarray:
    """Sum of squared amplitudes over the given leads: large on every QRS whatever its polarity."""
    x = np.where(np.isfinite(signal[leads]), signal[leads], 0.0)
    return np.sum(x * x, axis=0)


def find_rpeaks(signal: np.ndarray, fs: float, *, despiked: bool = False) -> np.ndarray:
    """R peaks of a cleaned 12-lead signal, found once for all leads (sample indices at ``fs``).

    NeuroKit2's detector (``nk.ecg_findpeaks``) runs on every usable lead; a beat is kept when at least half
    of those leads (and two) find it within 100 ms. Its fiducial point is the maximum of the multi-lead
    QRS energy. A candidate closer than 200 ms to a stronger one, or within 450 ms of a beat with a 2.5 times
    steeper multi-lead slope (a tall T wave, a large P wave), is dropped.

    Parameters
    ----------
    signal:
        (12, n) array in mV, cleaned with :func:`clean_signal`.
    fs:
        Sampling rate in Hz.
    despiked:
        True when ``signal`` already went through :func:`remove_spikes` (saves doing it twice).

    Examples
    --------
    >>> ecg = nk.ecg_simulate(duration=10, sampling_rate=500, heart_rate=70, random_state=1)
    >>> x = clean_signal(np.vstack([ecg] * 6 + [-ecg] * 6), 500.0)
    >>> len(find_rpeaks(x, 500.0)) in (11, 12)
    True
    """
    leads = np.flatnonzero(usable_leads(signal))
    if len(leads) == 0:
        return np.zeros(0, dtype=np.int64)
    if not despiked:
        signal = remove_spikes(signal, fs)
    candidates = []
    for lead in leads:
        x = np.nan_to_num(signal[lead])
        # The detector keeps only local maxima: turn the lead so that its largest deflection points up.
        if np.abs(x.min()) > np.abs(x.max()):
            x = -x
        try:
            found = nk.ecg_findpeaks(x, sampling_rate=int(round(fs)), method="neurokit")["ECG_R_Peaks"]
        except (ValueError, IndexError, ZeroDivisionError):
            continue  # a lead the detector chokes on simply casts no vote
        candidates.extend((int(p), int(lead)) for p in np.asarray(found, dtype=np.int64))
    if not candidates:
        return np.zeros(0, dtype=np.int64)
    candidates.sort()
    energy = _qrs_energy(signal, leads)
    slope = np.abs(np.gradient(np.sqrt(energy))) * fs
    half = max(1, int(round(0.06 * fs)))
    min_votes = max(2, int(np.ceil(len(leads) / 2))) if len(leads) > 1 else 1
    peaks, strength = [], []
    for group in _clusters([c[0] for c in candidates], [c[1] for c in candidates], _CLUSTER_S * fs):
        positions, voters = group
        if len(set(voters)) < min_votes:
            continue
        centre = int(np.median(positions))
        lo, hi = max(0, centre - half), min(len(energy), centre + half + 1)
        peaks.append(lo + int(np.argmax(energy[lo:hi])))
        strength.append(float(slope[lo:hi].max()))
    if peaks:
        extra = _edge_beats(signal[leads], np.asarray(peaks), np.asarray(strength), energy, slope, fs)
        peaks += [p for p, _ in extra]
        strength += [v for _, v in extra]
    return _drop_implausible(np.asarray(peaks, dtype=np.int64), np.asarray(strength), fs)


def median_beat(signal: np.ndarray, rpeaks: np.ndarray, fs: float) -> MedianBeat | None:
    """The median beat of a cleaned 12-lead signal: dominant beats, aligned on their QRS, sample-wise median.

    Beats whose multi-lead QRS correlates less than 0.9 with a first median (ectopic beats, artefacts) are left
    out, unless that would leave fewer than half of them. Each beat's window stops 70 ms before the next beat's
    R peak, whatever that beat is, so a premature beat never enters the median. Returns None with no beat.

    Examples
    --------
    >>> ecg = nk.ecg_simulate(duration=10, sampling_rate=500, heart_rate=60, random_state=2)
    >>> x = clean_signal(np.vstack([ecg] * 12), 500.0)
    >>> beat = median_beat(x, find_rpeaks(x, 500.0), 500.0)
    >>> beat.signal.shape, round(beat.rr, 1)
    ((12, 701), 1.0)
    """
    if len(rpeaks) == 0:
        return None
    pre, post = int(round(_PRE_S * fs)), int(round(_POST_S * fs))
    leads = usable_leads(signal)
    if not leads.any():
        return None
    epochs = _epochs(signal, rpeaks, pre, post)
    half, shift = int(round(_QRS_HALF_S * fs)), int(round(_MAX_SHIFT_S * fs))
    qrs = slice(pre - half, pre + half + 1)
    template = _nanmedian(epochs)
    keep = np.ones(len(rpeaks), dtype=bool)
    if len(rpeaks) >= 3:
        corr = np.array([_correlation(e[leads, qrs], template[leads, qrs]) for e in epochs])
        keep = corr >= _MIN_CORRELATION
        if keep.sum() < len(rpeaks) / 2:
            keep = corr >= np.nanmedian(corr)
    aligned = rpeaks[keep].copy()
    template = _nanmedian(epochs[keep])
    for i, e in enumerate(epochs[keep]):
        aligned[i] += _best_shift(e[leads], template[leads], qrs, shift)
    epochs = _epochs(signal, aligned, pre, post)
    successor = np.searchsorted(rpeaks, rpeaks[keep], side="right")  # the next beat of any kind, by index
    for e, r, j in zip(epochs, aligned, successor, strict=True):
        if j < len(rpeaks):
            stop = pre + (rpeaks[j] - r) - int(round(_NEXT_BEAT_S * fs))
            e[:, max(stop, pre + 1) :] = np.nan
    beat = _nanmedian(epochs)
    covered = np.isfinite(epochs).sum(axis=0)
    beat[covered < min(2, len(aligned))] = np.nan
    rr = float(np.median(np.diff(rpeaks))) / fs if len(rpeaks) >= 2 else None
    return MedianBeat(signal=beat, fs=fs, fiducial=pre, beats=aligned, rr=rr)


def beat_epochs(signal: np.ndarray, beat: MedianBeat) -> np.ndarray:
    """The windows of ``signal`` that went into ``beat``: shape (beats, leads, samples), NaN beyond the record.

    Examples
    --------
    >>> x = np.zeros((12, 5000)); beat = MedianBeat(np.zeros((12, 701)), 500.0, 300, np.array([1000, 1500]), 0.5)
    >>> beat_epochs(x, beat).shape
    (2, 12, 701)
    """
    n = beat.signal.shape[1]
    return _epochs(signal, beat.beats, beat.fiducial, n - beat.fiducial - 1)


def _clusters(positions: list[int], voters: list[int], gap: float):
    start = 0
    for i in range(1, len(positions) + 1):
        if i == len(positions) or positions[i] - positions[start] > gap:
            yield positions[start:i], voters[start:i]
            start = i


def _edge_beats(
    signal: np.ndarray, peaks: np.ndarray, strength: np.ndarray, energy: np.ndarray, slope: np.ndarray, fs: float
) -> list[tuple[int, float]]:
    """A QRS before the first beat or after the last one that NeuroKit2's detector skipped (it misses beats in
    its first window).

    The candidate is the steepest point of the multi-lead QRS energy there; it counts when it is at least 0.6
    median RR from its neighbour, at least half as steep as the median beat, and its QRS (all leads) correlates
    0.9 or better with the median QRS of the beats found, which a tall T wave or an artefact does not.
    """
    if len(peaks) < 2:
        return []
    n, half = len(energy), int(round(_QRS_HALF_S * fs))
    gap = int(round(0.6 * float(np.median(np.diff(np.sort(peaks))))))
    template = _nanmedian(_epochs(signal, peaks, half, half))
    found = []
    for lo, hi in ((half, int(peaks.min()) - gap), (int(peaks.max()) + gap, n - half)):
        if hi - lo < 3:
            continue
        steepest = lo + int(np.argmax(slope[lo:hi]))
        if slope[steepest] < 0.5 * float(np.median(strength)):
            continue
        a, b = max(0, steepest - half), min(n, steepest + half + 1)
        candidate = a + int(np.argmax(energy[a:b]))
        window = _epochs(signal, np.array([candidate]), half, half)[0]
        if _correlation(window, template) >= _MIN_CORRELATION:
            found.append((candidate, float(slope[steepest])))
    return found


def _drop_implausible(peaks: np.ndarray, strength: np.ndarray, fs: float) -> np.ndarray:
    """Drop candidates closer than the refractory period to a stronger one, and P or T waves of a strong QRS."""
    order = np.argsort(-strength)
    kept: list[int] = []
    for i in order:
        too_close = any(abs(peaks[i] - peaks[j]) < _REFRACTORY_S * fs for j in kept)
        wave = any(
            abs(peaks[i] - peaks[j]) < _WAVE_S * fs and strength[j] > _WAVE_RATIO * strength[i] for j in kept
        )
        if not (too_close or wave):
            kept.append(int(i))
    return np.sort(peaks[kept]) if kept else np.zeros(0, dtype=np.int64)


def _epochs(signal: np.ndarray, rpeaks: np.ndarray, pre: int, post: int) -> np.ndarray:
    """(beats, leads, pre + post + 1) windows around each peak, NaN beyond the record."""
    n = signal.shape[1]
    out = np.full((len(rpeaks), signal.shape[0], pre + post + 1), np.nan)
    for i, r in enumerate(rpeaks):
        lo, hi = r - pre, r + post + 1
        a, b = max(lo, 0), min(hi, n)
        if a < b:
            out[i, :, a - lo : b - lo] = signal[:, a:b]
    return out


def _nanmedian(epochs: np.ndarray) -> np.ndarray:
    """Median over beats, ignoring NaN; np.median where every beat covers a sample (several times faster)."""
    finite = np.isfinite(epochs)
    full, covered = finite.all(axis=0), finite.any(axis=0)
    out = np.full(epochs.shape[1:], np.nan)
    out[full] = np.median(epochs[:, full], axis=0)
    partial = covered & ~full
    if partial.any():
        out[partial] = np.nanmedian(epochs[:, partial], axis=0)
    return out


def _correlation(a: np.ndarray, b: np.ndarray) -> float:
    ok = np.isfinite(a) & np.isfinite(b)
    if ok.sum() < 3:
        return np.nan
    x, y = a[ok] - a[ok].mean(), b[ok] - b[ok].mean()
    denom = np.sqrt((x * x).sum() * (y * y).sum())
    return float((x * y).sum() / denom) if denom > 0 else np.nan


def _best_shift(epoch: np.ndarray, template: np.ndarray, qrs: slice, shift: int) -> int:
    """The lag (samples) that best aligns a beat's QRS with the template's, within +-shift."""
    lo, hi = qrs.start - shift, qrs.stop + shift
    if lo < 0 or hi > epoch.shape[1]:
        return 0
    ref = template[:, qrs]
    ok = np.isfinite(ref).all(axis=0)
    windows = np.lib.stride_tricks.sliding_window_view(epoch[:, lo:hi], qrs.stop - qrs.start, axis=1)
    windows = windows[:, :, ok]  # (leads, lags, samples)
    if not np.isfinite(windows).all() or ok.sum() < 3:
        return 0
    a = windows - windows.mean(axis=(0, 2), keepdims=True)
    b = ref[:, ok] - ref[:, ok].mean()
    num = np.einsum("ljs,ls->j", a, b)
    den = np.sqrt(np.einsum("ljs,ljs->j", a, a) * (b * b).sum())
    corr = np.where(den > 0, num / np.where(den > 0, den, 1.0), -np.inf)
    return int(np.argmax(corr)) - shift
