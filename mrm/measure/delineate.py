"""Per-lead delineation of the median beat, and global onsets and offsets over the 12 leads.

Each lead of the median beat gets its own QRS onset and offset (walking out from the steep part of its QRS until
the slope meets the lead's noise floor), T-wave end and P-wave onset (the trapezium-area method of
Vázquez-Seisdedos et al., 2011). A lead's T peak is sought near the multi-lead T peak, and when an opposite phase
follows it (biphasic T, ST depression then T) the T end is that phase's end; a lead's T end counts only when the
trapezium finds one for every reference window within 20 ms of the chosen one. The global fiducials follow analysing
electrocardiographs: the QRS onset where one multi-lead detection function, the spatial velocity, rises above its
PR-segment floor (``Settings.qrs_method``; or the earliest per-lead onset), the latest QRS offset over the leads
(pacemaker spikes removed first; optionally the earliest / latest that a second lead confirms); the P onset and the
T end, whose per-lead edges are less certain, at a percentile of the leads that show the wave (the 25th percentile
for the P onset, each lead's P peak sought near the multi-lead P peak; the 85th percentile for the T end). Fixed
margins then bring the edges to where LUDB's cardiologists place them on average; every parameter is in
:class:`Settings`, fitted on LUDB records 1-50.

NeuroKit2's delineators work on one lead and place P and T edges unreliably (neuropsychology/NeuroKit#1042,
#1032), and have no multi-lead rule; ``benchmarks/measure_ludb.py`` compares them with this module on LUDB.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from scipy.ndimage import uniform_filter1d

from mrm.data.recording import LEADS
from mrm.measure.beats import FLAT_MV, MedianBeat, remove_spikes

# The QRS-onset margin of the per-lead rule, on which the P window (P onset, P-presence test) was fitted; with a
# spatial QRS onset the P window still ends at the per-lead onset moved by it, so PR keeps its fitted P search.
_LEADS_ONSET_MARGIN = 0.012
# The T-P interval must be at least this long (s) to look for P waves in it.
_MIN_P_WINDOW = 0.06


@dataclass(frozen=True)
class Settings:
    """Delineation parameters; the defaults were fitted on LUDB records 1-50 (see docs/benchmarks.md, section 4).

    Times are in seconds, slopes in mV/s, amplitudes in mV.

    Examples
    --------
    >>> strict = Settings(qrs_onset_leads=2)  # the earliest QRS onset must be confirmed by a second lead
    >>> strict.qrs_onset_leads, strict.t_percentile
    (2, 85.0)
    """

    #: Per-lead QRS edge: the slope falls below noise floor + ``qrs_slope`` + ``qrs_fraction`` x the lead's peak slope.
    qrs_slope: float = 1.0
    qrs_fraction: float = 0.06
    #: Per-lead QRS edge: the walk also stops in a slope valley under this fraction of the lead's peak slope, where
    #: a steep ST-T segment (bundle branch block) or a short PR follows without the slope reaching the noise floor.
    qrs_valley: float = 0.1
    #: How the global QRS onset and offset are found: ``"leads"``, the extreme per-lead edge (earliest onset,
    #: latest offset; see ``qrs_onset_leads``); ``"spatial"``, where one multi-lead detection function, the mean
    #: over the leads of |slope| smoothed over ``qrs_spatial_smooth`` seconds, falls to its PR- (ST-) segment floor
    #: plus ``qrs_spatial_onset`` (``qrs_spatial_offset``) x its QRS peak above that floor, as analysing
    #: electrocardiographs do on the spatial velocity, so that one lead alone does not move the edge;
    #: ``"spatial-onset"``, the spatial onset with the per-lead offset (the default since the sixth round: with the
    #: P peak anchored, ``p_anchor``, PR no longer suffers from it; a spatial offset is no closer than the per-lead
    #: one). The spatial margins are the method's own: refit ``qrs_onset_margin`` / ``qrs_offset_margin`` with it
    #: (``--tune`` does).
    qrs_method: str = "spatial-onset"
    #: The detection function: ``"mean"`` |slope| over the usable leads, ``"rss"`` root-sum-square of their
    #: slopes, ``"xyz"`` root-sum-square of the slopes of I, aVF and V2 (quasi-orthogonal).
    qrs_spatial_function: str = "rss"
    qrs_spatial_smooth: float = 0.012
    qrs_spatial_onset: float = 0.05
    qrs_spatial_offset: float = 0.05
    #: Global QRS onset / offset: the earliest onset (latest offset) that at least this many leads, itself included,
    #: confirm within ``qrs_agreement`` seconds (1 = the extreme lead), so one lead with a noisy baseline or a
    #: stray deflection does not drag the edge out on its own.
    qrs_onset_leads: int = 1
    qrs_offset_leads: int = 1
    qrs_agreement: float = 0.008
    #: Added outside the detected edges: the cardiologists' marks lie this much further out on average.
    qrs_onset_margin: float = 0.018
    qrs_offset_margin: float = 0.01
    #: T end: trapezium reference point this long after the steepest T-wave downslope.
    t_reference: float = 0.1
    #: A lead's T end counts only when the trapezium also finds one inside the window for every reference window
    #: within this distance (s) of ``t_reference``, in 10-ms steps (0: one window). A wave that meets a baseline
    #: for one window length but not for a slightly shorter or longer one runs into a later deflection (a U wave,
    #: drift, the next P wave); such a lead's end is left out rather than moving the global T end with the window.
    t_stable: float = 0.02
    #: Global T end: this percentile of the leads' T ends (100 = the latest), over leads with a T wave.
    t_percentile: float = 85.0
    #: Global T end averaged over the reference windows within this distance (s, 10-ms steps) of ``t_reference``
    #: (0: that window alone), each window's percentile taken over the leads that pass ``t_stable``. A T end that
    #: moves when the window moves by 10 ms is averaged instead of taken at one window (eighth round,
    #: docs/benchmarks.md section 4; averaging over neighbouring percentiles as well made the two halves of
    #: PTB-XL records agree less).
    t_spread_window: float = 0.02
    #: Leads whose T end lies more than this (s) after the median lead's are left out of the percentile (0: none,
    #: the default). Makes the QT far more repeatable (PTB-XL halves) but moves it away from LUDB's experts, who end
    #: the T wave on a lone late lead when they see one (ninth round, docs/benchmarks.md section 4).
    t_outlier: float = 0.0
    t_margin: float = 0.011
    #: Each lead's T peak is sought within this distance (s) of the multi-lead T peak (0: anywhere after the QRS),
    #: so that a small T wave does not lose to the next P wave or a U wave.
    t_anchor: float = 0.1
    #: Biphasic T (or ST depression then T): an opposite deflection within 40-200 ms after the main one, crossing
    #: the PR-segment level and coming back by at least this fraction of the main amplitude, is the phase whose end
    #: is the T end (0: off).
    t_second: float = 0.5
    #: P onset: trapezium reference point this long before the steepest P-wave upslope.
    p_reference: float = 0.1
    #: Global P onset: this percentile of the leads' P onsets (0 = the earliest), over leads with a P wave.
    p_percentile: float = 25.0
    p_margin: float = 0.003
    #: Each lead's P peak is sought within this distance (s) of the multi-lead P peak (0: anywhere in the P window),
    #: so that in a lead with a tiny P wave baseline drift or the previous T wave's tail does not pass for it.
    p_anchor: float = 0.05
    #: A lead has a T (P) wave when its amplitude over the PR-segment level exceeds this (mV).
    t_min_amplitude: float = 0.03
    p_min_amplitude: float = 0.02
    #: P waves are present when the beats' P windows correlate with the median this well (median over beats)
    #: and the median P wave stands out of the beat-to-beat scatter by this ratio (amplitude / residual SD).
    #: The correlation threshold minimises the errors on PTB-XL's 2,786 records with a sinus or an atrial
    #: fibrillation / flutter statement (tenth round, docs/benchmarks.md section 4; 0.80 before).
    p_min_correlation: float = 0.60
    p_min_snr: float = 1.0

    def __post_init__(self) -> None:
        if self.qrs_method not in ("leads", "spatial", "spatial-onset"):
            raise ValueError(f"qrs_method must be 'leads', 'spatial' or 'spatial-onset', not {self.qrs_method!r}")
        if self.qrs_spatial_function not in ("mean", "rss", "xyz"):
            raise ValueError(
                f"qrs_spatial_function must be 'mean', 'rss' or 'xyz', not {self.qrs_spatial_function!r}"
            )


DEFAULT = Settings()
# The T-end rule before the third round (no T-peak anchor, no second phase) and the fourth (60-ms window, 90th
# percentile): the P window (P onset, P-presence test) was fitted on its T end and keeps it, whatever the
# T-end settings, so that tuning the QT does not move PR or the "not applicable" calls.
_MAIN_PHASE = Settings(
    t_reference=0.06,
    t_percentile=90.0,
    t_min_amplitude=0.03,
    t_anchor=0.0,
    t_second=0.0,
    t_margin=0.021,
    t_stable=0.0,
    t_spread_window=0.0,
)
# Step (s) between the reference windows the T-end stability test tries (``Settings.t_stable``).
_T_STABLE_STEP = 0.01


@dataclass
class LeadDelineation:
    """Fiducial points of one lead of the median beat, in seconds relative to the R peak (None: not found).

    ``status`` is ``"measured"`` or ``"not measurable"`` (then ``reason`` says why).
    """

    lead: str
    status: str
    reason: str | None = None
    qrs_onset: float | None = None
    qrs_offset: float | None = None
    t_offset: float | None = None
    p_onset: float | None = None
    qrs_amplitude: float | None = None
    t_amplitude: float | None = None
    p_amplitude: float | None = None


@dataclass
class Delineation:
    """Global fiducial points of the median beat (seconds relative to its R peak) and the per-lead ones.

    ``p_waves`` is True when P waves consistently precede the QRS, False when they do not (atrial fibrillation
    or flutter, AV dissociation), None when it could not be told (``p_reason`` says why).
    """

    qrs_onset: float | None
    qrs_offset: float | None
    t_offset: float | None
    p_onset: float | None
    p_waves: bool | None
    leads: list[LeadDelineation]
    p_correlation: float | None = None
    p_snr: float | None = None
    p_reason: str | None = None


def delineate_beat(
    beat: MedianBeat, epochs: np.ndarray | None = None, settings: Settings = DEFAULT
) -> Delineation:
    """Delineate each lead of a median beat, then combine the leads into global onsets and offsets.

    Parameters
    ----------
    beat:
        The record's median beat (:func:`mrm.measure.beats.median_beat`).
    epochs:
        The aligned beats behind it, pacemaker spikes removed (beats, leads, samples), to test whether P waves
        are consistently present; None skips the test (``p_waves`` is then None).
    settings:
        Thresholds; the defaults were fitted on LUDB records 1-50.

    Examples
    --------
    >>> import neurokit2 as nk
    >>> from mrm.measure.beats import clean_signal, find_rpeaks, median_beat
    >>> ecg = nk.ecg_simulate(duration=10, sampling_rate=500, heart_rate=60, random_state=3)
    >>> x = clean_signal(np.vstack([ecg] * 12), 500.0)
    >>> d = delineate_beat(median_beat(x, find_rpeaks(x, 500.0), 500.0))
    >>> bool(-0.1 < d.qrs_onset < 0 < d.qrs_offset < 0.15 < d.t_offset < 0.6)
    True
    """
    fs, fid = beat.fs, beat.fiducial
    x = beat.signal
    usable = _usable(x)
    leads = [LeadDelineation(lead=name, status="measured") for name in LEADS]
    for i in np.flatnonzero(~usable):
        leads[i].status = "not measurable"
        leads[i].reason = (
            "no signal (missing samples)"
            if not np.isfinite(x[i]).any()
            else f"flat lead (peak-to-peak below {FLAT_MV * 1000:.0f} µV)"
        )
    # Pacemaker spikes have the steepest slopes of a paced beat; every search below looks past them.
    despiked = np.where(np.isfinite(x), remove_spikes(np.nan_to_num(x), fs), np.nan)
    coarse = _coarse_qrs(despiked[usable], fid, fs) if usable.any() else None
    if coarse is None:
        for lead in leads:
            if lead.status == "measured":
                lead.status, lead.reason = "not measurable", "no QRS complex found in the median beat"
        return Delineation(None, None, None, None, None, leads)
    on0, off0 = coarse
    smoothed = _smooth(np.nan_to_num(despiked), max(1, int(round(0.018 * fs))))
    rr = beat.rr if beat.rr else 1.0
    # Searches stay where every usable lead has samples (a short record leaves the median beat's ends empty).
    covered = np.flatnonzero(np.isfinite(x[usable]).all(axis=0))
    if not (len(covered) and covered[0] < on0 and covered[-1] > off0):
        for lead in leads:
            if lead.status == "measured":
                lead.status, lead.reason = "not measurable", "the median beat does not cover the QRS complex"
        return Delineation(None, None, None, None, None, leads)
    first, last = int(covered[0]), int(covered[-1])
    t_end_limit = min(last, fid + int(round(min(0.75, max(rr - 0.22, 0.35)) * fs)))
    anchor = _t_anchor(smoothed[usable], on0, off0, t_end_limit, fs) if settings.t_anchor > 0 else None
    main_phase: list[LeadDelineation] = []
    t_leads: list[LeadDelineation] = []  # the leads with a QRS, and each one's T end for each reference window
    t_by_window: list[list[float | None]] = []
    for i in np.flatnonzero(usable):
        lead = leads[i]
        edges = _qrs_edges(despiked[i], on0, off0, fs, settings)
        if edges is None:
            lead.status, lead.reason = "not measurable", "QRS complex too small in this lead"
            continue
        on, off, amplitude = edges
        lead.qrs_onset, lead.qrs_offset, lead.qrs_amplitude = (on - fid) / fs, (off - fid) / fs, amplitude
        t_ends, t_amp = _t_end(smoothed[i], on0, off0, t_end_limit, fs, settings, anchor)
        lead.t_amplitude = t_amp
        t_leads.append(lead)
        t_by_window.append([None if e is None else (e - fid) / fs for e in t_ends])
        lead.t_offset = t_by_window[-1][len(t_ends) // 2]  # the t_reference window's
        # The P window (P onset, P-presence test) was fitted on the end of the main T phase: it keeps that start.
        (main_end,), _ = _t_end(smoothed[i], on0, off0, t_end_limit, fs, _MAIN_PHASE)
        main_phase.append(replace(lead, t_offset=None if main_end is None else (main_end - fid) / fs))
    qrs_on, qrs_off = _global_qrs(leads, settings)
    # The P window (P onset, P-presence test) ends at the per-lead QRS onset, whatever the QRS method.
    p_qrs_on = qrs_on
    if settings.qrs_method in ("spatial", "spatial-onset") and qrs_on is not None:
        p_qrs_on = qrs_on + settings.qrs_onset_margin - _LEADS_ONSET_MARGIN
        on_s, off_s = _spatial_qrs(despiked, usable, on0, off0, fs, settings)
        qrs_on = (on_s - fid) / fs - settings.qrs_onset_margin
        if settings.qrs_method == "spatial":
            qrs_off = (off_s - fid) / fs + settings.qrs_offset_margin
    t_offset = _global_t(t_leads, t_by_window, settings)
    t_main = _global_t(main_phase, [[lead.t_offset] for lead in main_phase], _MAIN_PHASE)
    p_start = fid + int(round((t_main if t_main is not None else 0.45) * fs)) - int(round(rr * fs))
    if p_qrs_on is not None:
        qon = fid + int(round(p_qrs_on * fs))
        p_start = max(p_start, qon - int(round(0.35 * fs)), first)
        p_peak = _p_anchor(smoothed[usable], qon, p_start, fs) if settings.p_anchor > 0 else None
        for i in np.flatnonzero(usable):
            p_on, p_amp = _p_onset(smoothed[i], qon, p_start, fs, settings.p_reference, p_peak, settings.p_anchor)
            leads[i].p_amplitude = p_amp
            if p_on is not None:
                leads[i].p_onset = (p_on - fid) / fs
    p_onset = _global_p(leads, settings)
    p_waves, corr, snr, p_reason = None, None, None, None
    if epochs is None or len(epochs) < 3:
        p_reason = "too few beats (under three) to tell whether P waves precede the QRS"
    elif p_qrs_on is not None:
        stop = fid + int(round(p_qrs_on * fs)) - int(round(0.02 * fs))
        if stop - p_start < int(round(_MIN_P_WINDOW * fs)):
            p_reason = "the T wave runs into the next QRS complex, leaving no interval in which to see P waves"
        else:
            consistency = _p_consistency(epochs[:, usable], p_start, stop, fs)
            if consistency is None:
                p_reason = (
                    "too few beats (under three) lie wholly inside the record to tell whether P waves precede the QRS"
                )
            else:
                corr, snr = consistency
                p_waves = bool(corr >= settings.p_min_correlation and snr >= settings.p_min_snr)
    return Delineation(qrs_on, qrs_off, t_offset, p_onset, p_waves, leads, corr, snr, p_reason)


def _usable(x: np.ndarray) -> np.ndarray:
    finite = np.isfinite(x)
    span = np.where(finite.any(axis=1), np.nanmax(np.where(finite, x, -np.inf), axis=1), 0) - np.where(
        finite.any(axis=1), np.nanmin(np.where(finite, x, np.inf), axis=1), 0
    )
    return (finite.mean(axis=1) > 0.5) & (span > FLAT_MV)


def _smooth(x: np.ndarray, n: int) -> np.ndarray:
    return uniform_filter1d(x, n, axis=-1, mode="nearest") if n > 1 else x


def _abs_slope(x: np.ndarray, fs: float, width: float) -> np.ndarray:
    """|dx/dt| in mV/s, smoothed over ``width`` seconds."""
    return _smooth(np.abs(np.gradient(np.nan_to_num(x), axis=-1)) * fs, max(1, int(round(width * fs))))


def _coarse_qrs(x: np.ndarray, fid: int, fs: float) -> tuple[int, int] | None:
    """Where the mean slope over the leads rises 1 mV/s above its floor around the fiducial: the QRS region."""
    n = x.shape[1]
    sv = _abs_slope(x, fs, 0.018).mean(axis=0)
    s = lambda seconds: int(round(seconds * fs))  # noqa: E731
    lo, hi = max(fid - s(0.06), 0), min(fid + s(0.06), n)
    if hi - lo < 3:
        return None
    pk = lo + int(np.argmax(sv[lo:hi]))
    floor = _smooth(sv, max(1, s(0.02)))
    a, b = max(pk - s(0.15), 0), max(pk - s(0.02), 1)
    c, d = min(pk + s(0.04), n - 1), min(pk + s(0.22), n)
    if b <= a or d <= c:
        return None
    iso_on = a + int(np.argmin(floor[a:b]))
    iso_off = c + int(np.argmin(floor[c:d]))
    on = pk
    while on > iso_on and sv[on] > floor[iso_on] + 1.0:
        on -= 1
    above = np.flatnonzero(sv[pk:iso_off] > floor[iso_off] + 1.0)
    off = pk + int(above[-1]) if len(above) else pk
    if sv[pk] < 2.0:  # under 2 mV/s on average there is no QRS, only noise
        return None
    return on, off


def _spatial_velocity(x: np.ndarray, usable: np.ndarray, fs: float, settings: Settings) -> np.ndarray:
    """The multi-lead QRS detection function (mV/s), smoothed over ``settings.qrs_spatial_smooth`` seconds.

    ``"mean"``: the mean over the usable leads of |slope|; ``"rss"``: the root-sum-square of their slopes;
    ``"xyz"``: the root-sum-square of the slopes of I, aVF and V2 (quasi-orthogonal leads), the usable ones.
    """
    slope = np.gradient(np.nan_to_num(x), axis=-1) * fs
    kind = settings.qrs_spatial_function
    if kind == "xyz":
        pick = np.zeros_like(usable)
        pick[[LEADS.index(name) for name in ("I", "aVF", "V2")]] = True
        pick &= usable
        chosen = slope[pick if pick.any() else usable]
        sv = np.sqrt(np.sum(chosen**2, axis=0))
    elif kind == "rss":
        sv = np.sqrt(np.sum(slope[usable] ** 2, axis=0))
    else:
        sv = np.abs(slope[usable]).mean(axis=0)
    return _smooth(sv, max(1, int(round(settings.qrs_spatial_smooth * fs))))


def _spatial_qrs(
    x: np.ndarray, usable: np.ndarray, on0: int, off0: int, fs: float, settings: Settings
) -> tuple[int, int]:
    """Global QRS onset and offset (samples) on one multi-lead detection function, the spatial velocity.

    From the steep part of the QRS (over 0.3 of its peak) walk out while the function stays above its floor
    before (after) the QRS plus a fraction of the peak over that floor.
    """
    n = x.shape[1]
    s = lambda seconds: int(round(seconds * fs))  # noqa: E731
    sv = _spatial_velocity(x, usable, fs, settings)
    pk = on0 + int(np.argmax(sv[on0 : off0 + 1]))
    pre = sv[max(on0 - s(0.1), 0) : max(on0 - s(0.01), 1)]
    post = sv[min(off0 + s(0.01), n - 1) : min(off0 + s(0.1), n)]
    floor_on = float(pre.min()) if len(pre) else 0.0
    floor_off = float(post.min()) if len(post) else 0.0
    strong = on0 + np.flatnonzero(sv[on0 : off0 + 1] > 0.3 * sv[pk])
    i, j = int(strong[0]), int(strong[-1])
    limit_on, limit_off = max(on0 - s(0.10), 0), min(off0 + s(0.12), n - 1)
    threshold_on = floor_on + settings.qrs_spatial_onset * (sv[pk] - floor_on)
    threshold_off = floor_off + settings.qrs_spatial_offset * (sv[pk] - floor_off)
    while i > limit_on and sv[i - 1] > threshold_on:
        i -= 1
    while j < limit_off and sv[j + 1] > threshold_off:
        j += 1
    return i, j


def _qrs_edges(x: np.ndarray, on0: int, off0: int, fs: float, settings: Settings) -> tuple[int, int, float] | None:
    """One lead's QRS onset and offset: walk out from its steep part until the slope meets its noise floor."""
    n = len(x)
    s = lambda seconds: int(round(seconds * fs))  # noqa: E731
    a, b = max(on0 - s(0.03), 0), min(off0 + s(0.03), n)
    segment = x[a:b]
    if b - a < 3 or not np.isfinite(segment).all():
        return None
    amplitude = float(np.ptp(segment))
    if amplitude < 0.1:
        return None
    d = _abs_slope(x, fs, 0.02)
    floor = _smooth(d, max(1, s(0.02)))
    peak = float(d[a:b].max())
    pre = floor[max(on0 - s(0.12), 0) : max(on0 - s(0.01), 1)]
    post = floor[min(off0 + s(0.01), n - 1) : min(off0 + s(0.12), n)]
    noise_on = float(pre.min()) if len(pre) else 0.0
    noise_off = float(post.min()) if len(post) else 0.0
    strong = a + np.flatnonzero(d[a:b] > 0.3 * peak)
    i, j = int(strong[0]), int(strong[-1])
    limit_on, limit_off = max(on0 - s(0.10), 0), min(off0 + s(0.12), n - 1)
    valley = settings.qrs_valley * peak
    i = _walk(d, i, -1, limit_on, noise_on + settings.qrs_slope + settings.qrs_fraction * (peak - noise_on), valley)
    j = _walk(d, j, 1, limit_off, noise_off + settings.qrs_slope + settings.qrs_fraction * (peak - noise_off), valley)
    return i, j, amplitude


def _walk(d: np.ndarray, i: int, step: int, limit: int, threshold: float, valley: float) -> int:
    """From ``i``, step while the slope exceeds ``threshold``; also stop in a slope valley under ``valley``.

    The valley rule ends the QRS where a steep ST-T segment (bundle branch block) or a short PR follows
    without the slope ever reaching the noise floor.
    """
    while (i - limit) * step < 0 and d[i] > threshold:
        if d[i] < valley and d[i] <= d[i - step] and d[i] < d[i + step]:
            break
        i += step
    return i


def _trapezium(y: np.ndarray, tm: int, tr: int) -> int:
    """The point between ``tm`` and ``tr`` maximising the trapezium area under the line from the steepest point.

    Vázquez-Seisdedos et al. (2011): for a wave decaying from ``y[tm]`` towards its baseline, the area
    ``(y[tm] - y[t]) * (2 tr - t - tm) / 2`` peaks where the wave meets the baseline. ``tr`` may lie before
    ``tm`` (a wave's onset), the formula is symmetric. A maximum at ``tr`` itself means the wave never met a
    baseline inside the window: the callers then report no edge.
    """
    ts = np.arange(min(tm, tr), max(tm, tr) + 1)
    area = (y[tm] - y[ts]) * np.abs(2 * tr - ts - tm)
    return int(ts[np.argmax(area)])


def _t_anchor(y: np.ndarray, on0: int, off0: int, end: int, fs: float) -> int | None:
    """The multi-lead T peak: the maximum of the RMS over the leads of their distance from the PR-segment level."""
    s = lambda seconds: int(round(seconds * fs))  # noqa: E731
    lo, hi = off0 + s(0.06), min(end, on0 + s(0.5))
    if hi - lo < 5:
        return None
    base = y[:, max(on0 - s(0.01), 0)][:, None]
    rms = np.sqrt(np.mean((y[:, lo:hi] - base) ** 2, axis=0))
    return lo + int(np.argmax(rms))


def _t_end(
    y: np.ndarray, on0: int, off0: int, end: int, fs: float, settings: Settings, anchor: int | None = None
) -> tuple[list[int | None], float]:
    """One lead's T-wave ends (trapezium method), one per reference window within ``t_spread_window`` of
    ``t_reference``, and its T amplitude over the PR-segment level."""
    s = lambda seconds: int(round(seconds * fs))  # noqa: E731
    windows = _windows_around(settings.t_reference, settings.t_spread_window)
    none = [None] * len(windows)
    lo, hi_peak = off0 + s(0.06), min(end, on0 + s(0.5))
    if anchor is not None:
        lo, hi_peak = max(lo, anchor - s(settings.t_anchor)), min(hi_peak, anchor + s(settings.t_anchor))
    if hi_peak - lo < 5:
        return none, 0.0
    base = y[max(on0 - s(0.01), 0)]
    tp = lo + int(np.argmax(np.abs(y[lo:hi_peak] - base)))
    sign = 1.0 if y[tp] >= base else -1.0
    amplitude = float(abs(y[tp] - base))
    if settings.t_second > 0:
        a, b = tp + s(0.04), min(tp + s(0.2), end)
        if b - a >= 3:
            k = a + int(np.argmax(-sign * y[a:b]))
            # A second phase crosses the PR-segment level and comes back: an excursion on both of its sides.
            back = float(np.max(sign * y[k : min(k + s(0.12), end) + 1]))
            depth = min(-sign * (y[k] - base), back - sign * y[k])
            if k < b - 1 and depth >= settings.t_second * amplitude:
                tp, sign = k, -sign
    hi = min(tp + s(0.15), end)
    if hi - tp < 3:
        return none, amplitude
    slope = np.gradient(y)
    tm = tp + int(np.argmax(-sign * slope[tp:hi]))
    z = sign * y
    ends: dict[int, int | None] = {}  # by reference sample: the stability test and the spread share windows

    def end_at(window: float) -> int | None:
        tr = min(tm + s(window), end)
        if tr not in ends:
            ends[tr] = _trapezium_end(z, tm, tr)
        return ends[tr]

    # A lead takes part only when its end holds for every window within t_stable of t_reference; its ends over
    # the spread are then averaged as they are (the two ranges are the same by default).
    stable = _windows_around(settings.t_reference, settings.t_stable)
    if end_at(settings.t_reference) is None or any(w > 0 and end_at(w) is None for w in stable):
        return none, amplitude
    return [end_at(w) if w > 0 else None for w in windows], amplitude


def _windows_around(center: float, spread: float) -> list[float]:
    """Trapezium reference windows (s) in 10-ms steps within ``spread`` of ``center``, ``center`` in the middle."""
    steps = int(round(spread / _T_STABLE_STEP))
    return [center + k * _T_STABLE_STEP for k in range(-steps, steps + 1)]


def _trapezium_end(y: np.ndarray, tm: int, tr: int) -> int | None:
    """The trapezium edge of a wave decaying from ``tm``, with reference point ``tr``; None when the area peaks at
    ``tr`` itself (the wave met no baseline inside the window) or the window is under 3 samples.

    Examples
    --------
    >>> y = np.r_[np.linspace(1.0, 0.0, 21), np.zeros(30)]  # a linear decay reaching its baseline at sample 20
    >>> _trapezium_end(y, 0, 40)
    20
    >>> _trapezium_end(y, 0, 15) is None  # a window ending before the baseline finds no edge
    True
    """
    if tr - tm < 3:
        return None
    edge = _trapezium(y, tm, tr)
    return None if edge == tr else edge


def _p_anchor(y: np.ndarray, qon: int, start: int, fs: float) -> int | None:
    """The multi-lead P peak: the maximum of the RMS over the leads of their distance from the line joining the P
    window's start to the PR-segment level (a slow baseline drift or the previous T wave's tail is no P wave)."""
    s = lambda seconds: int(round(seconds * fs))  # noqa: E731
    hi = qon - s(0.02)
    if hi - start < s(0.02):
        return None
    end = max(qon - s(0.01), 0)
    ramp = np.linspace(0.0, 1.0, end - start + 1)[None, : hi - start]
    line = y[:, start : start + 1] + ramp * (y[:, end : end + 1] - y[:, start : start + 1])
    rms = np.sqrt(np.mean((y[:, start:hi] - line) ** 2, axis=0))
    return start + int(np.argmax(rms))


def _p_onset(
    y: np.ndarray,
    qon: int,
    start: int,
    fs: float,
    reference: float,
    anchor: int | None = None,
    within: float = 0.0,
) -> tuple[int | None, float]:
    """One lead's P-wave onset (trapezium method, mirrored) and P amplitude over the PR-segment level."""
    s = lambda seconds: int(round(seconds * fs))  # noqa: E731
    hi = qon - s(0.02)
    if hi - start < s(0.02):
        return None, 0.0
    base = y[max(qon - s(0.01), 0)]
    lo_peak, hi_peak = start, hi
    if anchor is not None:
        lo_peak, hi_peak = max(start, anchor - s(within)), min(hi, anchor + s(within) + 1)
        if hi_peak - lo_peak < 3:
            return None, 0.0
    pp = lo_peak + int(np.argmax(np.abs(y[lo_peak:hi_peak] - base)))
    sign = 1.0 if y[pp] >= base else -1.0
    amplitude = float(abs(y[pp] - base))
    lo = max(start, pp - s(0.08))
    if pp - lo < 3:
        return None, amplitude
    slope = np.gradient(y)
    tm = lo + int(np.argmax(sign * slope[lo:pp]))
    tr = max(start, tm - s(reference))
    if tm - tr < 3:
        return None, amplitude
    edge = _trapezium(sign * y, tm, tr)
    return (None if edge == tr else edge), amplitude


def _confirmed_extreme(values: list[float], k: int, within: float, latest: bool = False) -> float | None:
    """The earliest value (latest with ``latest``) that at least ``k`` values, itself included, confirm: lie no
    more than ``within`` after it (before it). With fewer values than ``k``, the most confirmed one wins.

    Analysing electrocardiographs take the earliest QRS onset over the leads, but a single lead's onset far ahead
    of all others is more often baseline noise than an early depolarisation seen by that lead alone.

    Examples
    --------
    >>> _confirmed_extreme([-0.084, -0.052, -0.050, -0.046], 2, 0.012)
    -0.052
    >>> _confirmed_extreme([0.05, 0.06, 0.10], 1, 0.012, latest=True)
    0.1
    """
    if not values:
        return None
    v = np.sort(np.asarray(values, dtype=float))
    if latest:
        v = -v[::-1]
    # For each candidate (earliest first), how many values lie in [candidate, candidate + within].
    support = np.searchsorted(v, v + within + 1e-9, side="right") - np.arange(len(v))
    ok = np.flatnonzero(support >= min(k, len(v)))
    i = int(ok[0]) if len(ok) else int(np.argmax(support))
    return float(-v[i] if latest else v[i])


def _global_qrs(leads: list[LeadDelineation], settings: Settings) -> tuple[float | None, float | None]:
    ons = [lead.qrs_onset for lead in leads if lead.qrs_onset is not None]
    offs = [lead.qrs_offset for lead in leads if lead.qrs_offset is not None]
    on = _confirmed_extreme(ons, settings.qrs_onset_leads, settings.qrs_agreement)
    off = _confirmed_extreme(offs, settings.qrs_offset_leads, settings.qrs_agreement, latest=True)
    if on is None or off is None:
        return None, None
    return on - settings.qrs_onset_margin, off + settings.qrs_offset_margin


def _global_t(
    leads: list[LeadDelineation], ends_by_window: list[list[float | None]], settings: Settings
) -> float | None:
    """The mean over the reference windows (``Settings.t_spread_window``) of the ``t_percentile`` of the T ends of
    the leads with a T wave, plus the margin; None when no lead has a T end for any window."""
    tall = [(lead.t_amplitude or 0.0) >= settings.t_min_amplitude for lead in leads]
    values = []
    for w in range(len(ends_by_window[0]) if ends_by_window else 0):
        ends = [e[w] for e, ok in zip(ends_by_window, tall, strict=True) if ok and e[w] is not None]
        if ends and settings.t_outlier > 0:
            ends = [e for e in ends if e <= np.median(ends) + settings.t_outlier]
        if ends:
            values.append(float(np.percentile(ends, settings.t_percentile)))
    if not values:
        return None
    return float(np.mean(values)) + settings.t_margin


def _global_p(leads: list[LeadDelineation], settings: Settings) -> float | None:
    ons = [
        lead.p_onset
        for lead in leads
        if lead.p_onset is not None and (lead.p_amplitude or 0.0) >= settings.p_min_amplitude
    ]
    if not ons:
        return None
    return float(np.percentile(ons, settings.p_percentile)) - settings.p_margin


def _p_consistency(epochs: np.ndarray, start: int, stop: int, fs: float) -> tuple[float, float] | None:
    """How consistently the beats show the median beat's P wave: median correlation and amplitude / scatter.

    Computed on the four leads with the largest median P wave, each window detrended end to end, so a
    slow baseline or the previous T wave does not count as a P wave. Atrial fibrillation waves, dissociated
    P waves and noise do not repeat from beat to beat and average out of the median.
    """
    if stop - start < max(3, int(0.04 * fs)):
        return 0.0, 0.0
    full = np.isfinite(epochs[:, :, start:stop]).all(axis=(1, 2))
    if full.sum() < 3:
        return None  # beats cut by the record's edges say nothing about P waves
    w = _smooth(np.nan_to_num(epochs[full][:, :, start:stop]), max(1, int(round(0.018 * fs))))
    ramp = np.linspace(0.0, 1.0, w.shape[2])
    w = w - w[:, :, :1] - ramp * (w[:, :, -1:] - w[:, :, :1])
    template = np.median(w, axis=0)
    amplitude = np.ptp(template, axis=1)
    top = np.argsort(-amplitude)[:4]
    scatter = np.std(w[:, top] - template[top], axis=(0, 2))
    snr = float(np.median(amplitude[top] / (scatter + 1e-6)))
    t = (template[top] - template[top].mean(axis=1, keepdims=True)).ravel()
    corrs = []
    for e in w[:, top]:
        v = (e - e.mean(axis=1, keepdims=True)).ravel()
        denom = np.sqrt((v @ v) * (t @ t))
        corrs.append(float(v @ t / denom) if denom > 0 else 0.0)
    return float(np.median(corrs)), snr
