"""Global ECG intervals as analysing electrocardiographs report them, each with a status a clinician can act on.

``measure_ecg`` works on the record's own sampling rate: R peaks once for all 12 leads, one median beat,
per-lead delineation, global onsets and offsets over the leads (:mod:`mrm.measure.delineate`), then heart
rate, RR, PR, QRS, QT, QTc (Bazett and Fridericia) and the frontal QRS axis. A value is ``"measured"``,
``"not measurable"`` (with the reason) or ``"not applicable"`` (no PR interval without P waves). A value outside
physiological limits is not measurable, and so is what is read from it: no QT, QTc or axis on a QRS that is not
measurable, no QT whose T end lies beyond the next beat. Nothing a signal contains makes it raise: a flat, noisy,
short or partly dead record gets statuses, not an exception.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from mrm.data.recording import LEADS, Recording
from mrm.errors import ECGInputError
from mrm.measure.beats import (
    MedianBeat,
    beat_epochs,
    clean_signal,
    find_rpeaks,
    median_beat,
    paced_beats,
    remove_spikes,
    usable_leads,
)
from mrm.measure.delineate import DEFAULT, Delineation, LeadDelineation, Settings, delineate_beat

MEASURED, NOT_MEASURABLE, NOT_APPLICABLE = "measured", "not measurable", "not applicable"

#: Physiological ranges outside which a value is a failed measurement, not a finding (ms; RR in s).
PLAUSIBLE = {"rr": (0.2, 3.0), "pr": (60.0, 500.0), "qrs": (40.0, 250.0), "qt": (200.0, 750.0)}

_LABELS = {
    "heart_rate": ("Heart rate", "bpm"),
    "rr": ("RR interval", "ms"),
    "pr": ("PR interval", "ms"),
    "qrs": ("QRS duration", "ms"),
    "qt": ("QT interval", "ms"),
    "qtc_bazett": ("QTc (Bazett)", "ms"),
    "qtc_fridericia": ("QTc (Fridericia)", "ms"),
    "axis": ("Frontal QRS axis", "°"),
}


@dataclass(frozen=True)
class Measurement:
    """One reported value with its status.

    Attributes
    ----------
    name:
        ``"heart_rate"``, ``"rr"``, ``"pr"``, ``"qrs"``, ``"qt"``, ``"qtc_bazett"``, ``"qtc_fridericia"``, ``"axis"``.
    value:
        The value in ``unit``, None unless ``status`` is ``"measured"``.
    status:
        ``"measured"``, ``"not measurable"`` or ``"not applicable"``.
    reason:
        Why it is not measured, one sentence; None when measured.
    label:
        What to print next to it, e.g. ``"QTc (Bazett)"``.
    """

    name: str
    value: float | None
    unit: str
    status: str
    reason: str | None = None
    label: str = ""

    @property
    def measured(self) -> bool:
        return self.status == MEASURED

    def __str__(self) -> str:
        if self.measured:
            return f"{self.label}: {self.value:.0f} {self.unit}"
        return f"{self.label}: {self.status} ({self.reason})"


@dataclass(frozen=True)
class Fiducials:
    """Global fiducial points of the representative (median) beat, in seconds relative to its R peak.

    ``on_beats`` places them on every beat of the record, for calipers drawn on the full tracing.
    """

    p_onset: float | None = None
    qrs_onset: float | None = None
    qrs_offset: float | None = None
    t_offset: float | None = None

    def on_beats(self, rpeaks: np.ndarray, fs: float) -> np.ndarray:
        """(beats, 4) times in seconds from the record start: P onset, QRS onset, QRS offset, T offset (NaN: none).

        Examples
        --------
        >>> Fiducials(None, -0.04, 0.05, 0.4).on_beats(np.array([500, 1000]), 500.0).round(2).tolist()
        [[nan, 0.96, 1.05, 1.4], [nan, 1.96, 2.05, 2.4]]
        """
        offsets = np.array(
            [np.nan if v is None else v for v in (self.p_onset, self.qrs_onset, self.qrs_offset, self.t_offset)]
        )
        return np.asarray(rpeaks, dtype=float)[:, None] / fs + offsets[None, :]


@dataclass
class Measurements:
    """Everything ``measure_ecg`` found in one record.

    Attributes
    ----------
    heart_rate, rr, pr, qrs, qt, qtc_bazett, qtc_fridericia, axis:
        The reported values (:class:`Measurement`).
    rpeaks:
        R peaks of all beats, sample indices at ``fs`` (the record's own rate).
    fs:
        The sampling rate the measurement ran at.
    fiducials:
        Global onsets and offsets on the median beat (seconds relative to its R peak).
    leads:
        Per-lead delineation, in :data:`~mrm.data.recording.LEADS` order, each with its own status.
    median_beat:
        The representative beat the intervals were read on (None when no beat was found).
    warnings:
        What the measurement noticed (dead leads, a low sampling rate, pacing, ...), one sentence each.
    paced:
        True when pacemaker stimuli precede at least half of the beats (:func:`~mrm.measure.beats.paced_beats`);
        PR is then "not applicable".
    """

    heart_rate: Measurement
    rr: Measurement
    pr: Measurement
    qrs: Measurement
    qt: Measurement
    qtc_bazett: Measurement
    qtc_fridericia: Measurement
    axis: Measurement
    rpeaks: np.ndarray
    fs: float
    fiducials: Fiducials = field(default_factory=Fiducials)
    leads: list[LeadDelineation] = field(default_factory=list)
    median_beat: MedianBeat | None = None
    warnings: list[str] = field(default_factory=list)
    paced: bool = False

    def all(self) -> list[Measurement]:
        """The eight measurements in reporting order."""
        return [
            self.heart_rate, self.rr, self.pr, self.qrs, self.qt, self.qtc_bazett, self.qtc_fridericia, self.axis
        ]

    def lead(self, name: str) -> LeadDelineation:
        """The delineation of one lead, by its standard name."""
        return self.leads[LEADS.index(name)]


def measure_ecg(recording: Recording, *, powerline: float = 50.0, settings: Settings = DEFAULT) -> Measurements:
    """Measure heart rate, RR, PR, QRS, QT, QTc and the frontal axis of a 12-lead ECG at its own sampling rate.

    Parameters
    ----------
    recording:
        A 12-lead :class:`~mrm.data.recording.Recording` in mV, at its original rate (500 Hz for PTB-XL,
        CPSC2018, LUDB), not the model's 100 Hz copy.
    powerline:
        Mains frequency to notch out (50 Hz in Europe and China, 60 Hz in the Americas); 0 to skip.
    settings:
        Delineation thresholds (:class:`mrm.measure.delineate.Settings`).

    Returns
    -------
    Measurements
        Each value with its status; R peaks; global fiducials for calipers; per-lead delineation.

    Examples
    --------
    >>> import neurokit2 as nk
    >>> ecg = nk.ecg_simulate(duration=10, sampling_rate=500, heart_rate=75, random_state=4)
    >>> m = measure_ecg(Recording(np.tile(ecg, (12, 1)).astype(np.float32), fs=500.0, record_id="sim"))
    >>> m.heart_rate.status, 70 < m.heart_rate.value < 80, m.qtc_bazett.label
    ('measured', True, 'QTc (Bazett)')
    """
    signal = np.asarray(recording.signal, dtype=np.float64)
    if signal.ndim != 2 or signal.shape[0] != len(LEADS) or not recording.fs > 0:
        raise ECGInputError(
            f"{recording.record_id}: cannot measure a signal of shape {signal.shape} at {recording.fs} Hz; "
            "give a 12-lead Recording with a positive sampling rate."
        )
    fs = float(recording.fs)
    warnings = []
    if fs < 250:
        warnings.append(
            f"{recording.record_id}: measured at {fs:g} Hz; wave edges are only placed to within "
            f"{1000 / fs:.0f} ms, measure the original recording (500 Hz) where there is one."
        )
    if signal.shape[1] < int(0.5 * fs):
        return _nothing(fs, "the record is shorter than 0.5 s", warnings)
    cleaned = clean_signal(signal, fs, powerline)
    usable = usable_leads(cleaned)
    dead = [LEADS[i] for i in np.flatnonzero(~usable)]
    if dead:
        warnings.append(f"{recording.record_id}: not measured in {', '.join(dead)} (flat or missing signal).")
    if not usable.any():
        return _nothing(fs, "every lead is flat or missing", warnings)
    despiked = remove_spikes(cleaned, fs)
    rpeaks = find_rpeaks(despiked, fs, despiked=True)
    if len(rpeaks) == 0:
        return _nothing(fs, "no QRS complex was found", warnings)
    beat = median_beat(cleaned, rpeaks, fs)
    epochs = beat_epochs(despiked, beat) if beat is not None else None
    delineation = delineate_beat(beat, epochs, settings) if beat is not None else None
    stimulated = paced_beats(cleaned, rpeaks, fs)
    paced = len(stimulated) > 0 and 2 * int(stimulated.sum()) >= len(stimulated)
    if paced:
        warnings.append(
            f"{recording.record_id}: pacemaker stimuli precede {int(stimulated.sum())} of {len(stimulated)} beats "
            "(paced rhythm), so no PR interval is reported."
        )
    return _report(rpeaks, fs, beat, delineation, warnings, paced)


def _report(
    rpeaks: np.ndarray,
    fs: float,
    beat: MedianBeat | None,
    d: Delineation | None,
    warnings: list[str],
    paced: bool = False,
) -> Measurements:
    rr_s = float(np.median(np.diff(rpeaks))) / fs if len(rpeaks) >= 2 else None
    if rr_s is None:
        reason = "fewer than two beats were found"
        rr, heart_rate = _not("rr", reason), _not("heart_rate", reason)
    elif not PLAUSIBLE["rr"][0] <= rr_s <= PLAUSIBLE["rr"][1]:
        reason = f"the median RR interval ({rr_s * 1000:.0f} ms) is outside 200-3000 ms"
        rr, heart_rate = _not("rr", reason), _not("heart_rate", reason)
        rr_s = None
    else:
        rr, heart_rate = _ok("rr", rr_s * 1000), _ok("heart_rate", 60.0 / rr_s)

    if d is None or d.qrs_onset is None:
        reason = "no QRS complex could be delineated in the median beat"
        pr, qrs, qt, axis = (_not(name, reason) for name in ("pr", "qrs", "qt", "axis"))
        fiducials = Fiducials()
    else:
        qrs = _interval("qrs", (d.qrs_offset - d.qrs_onset) * 1000, "QRS offset")
        qt = _qt(d, qrs, rr_s)
        pr = _pr(d, paced)
        axis = _axis(beat, d) if qrs.measured else _not("axis", "needs a measured QRS complex")
        fiducials = Fiducials(
            p_onset=d.p_onset if pr.measured else None,
            qrs_onset=d.qrs_onset,
            qrs_offset=d.qrs_offset if qrs.measured else None,
            t_offset=d.t_offset if qt.measured else None,
        )
    qtc_b, qtc_f = _qtc(qt, rr_s)
    return Measurements(
        heart_rate=heart_rate,
        rr=rr,
        pr=pr,
        qrs=qrs,
        qt=qt,
        qtc_bazett=qtc_b,
        qtc_fridericia=qtc_f,
        axis=axis,
        rpeaks=rpeaks,
        fs=fs,
        fiducials=fiducials,
        leads=d.leads if d is not None else _dead_leads("no beat was found"),
        median_beat=beat,
        warnings=warnings,
        paced=paced,
    )


def _pr(d: Delineation, paced: bool = False) -> Measurement:
    if paced:
        # The stimulus-to-QRS delay of a paced rhythm is the pacemaker's programmed AV delay (or an atrial
        # stimulus conducted at an unknown point), not a measure of AV conduction.
        return Measurement(
            "pr",
            None,
            "ms",
            NOT_APPLICABLE,
            "pacemaker stimuli precede the QRS complexes (paced rhythm): the delay to the QRS is set by the pacemaker",
            _LABELS["pr"][0],
        )
    if d.p_waves is None:
        return _not("pr", d.p_reason or "it could not be told whether P waves precede the QRS")
    if not d.p_waves:
        return Measurement(
            "pr",
            None,
            "ms",
            NOT_APPLICABLE,
            "no P wave consistently precedes the QRS (atrial fibrillation or flutter, AV dissociation or pacing)",
            _LABELS["pr"][0],
        )
    if d.p_onset is None:
        return _not("pr", "P waves are present but no P-wave onset could be placed")
    return _interval("pr", (d.qrs_onset - d.p_onset) * 1000, "P-wave onset")


def _qt(d: Delineation, qrs: Measurement, rr_s: float | None) -> Measurement:
    """QT only on a trustworthy QRS, and only when its T end comes before the next beat."""
    # A QRS offset outside physiological limits means the beat's wave edges were misread (a flutter wave or a
    # steep ST segment taken for QRS); the T-wave search starts from that offset, so its QT would be just as wrong.
    if not qrs.measured:
        return _not("qt", "the QRS complex it starts with is not measurable, so its edges are not trustworthy")
    if d.t_offset is None:
        return _not("qt", "no T-wave end was found in any lead")
    value = (d.t_offset - d.qrs_onset) * 1000
    if rr_s is not None and value >= rr_s * 1000:
        return _not(
            "qt",
            f"the T-wave end found gives {value:.0f} ms, beyond the next QRS complex (RR {rr_s * 1000:.0f} ms)",
        )
    return _interval("qt", value, "T-wave end")


def _interval(name: str, value_ms: float, edge: str) -> Measurement:
    lo, hi = PLAUSIBLE[name]
    if not lo <= value_ms <= hi:
        return _not(name, f"the {edge} found gives {value_ms:.0f} ms, outside the plausible {lo:.0f}-{hi:.0f} ms")
    return _ok(name, value_ms)


def _qtc(qt: Measurement, rr_s: float | None) -> tuple[Measurement, Measurement]:
    if not qt.measured or rr_s is None:
        reason = "needs both the QT interval and the RR interval"
        return _not("qtc_bazett", reason), _not("qtc_fridericia", reason)
    return _ok("qtc_bazett", qt.value / np.sqrt(rr_s)), _ok("qtc_fridericia", qt.value / np.cbrt(rr_s))


def _axis(beat: MedianBeat, d: Delineation) -> Measurement:
    """Frontal QRS axis from the net QRS areas of leads I and aVF (hexaxial: aVF carries a sqrt(3)/2 gain)."""
    # A lead with a small QRS still counts (its near-zero area is what places the axis); a dead one does not.
    usable = usable_leads(beat.signal)
    if not (usable[LEADS.index("I")] and usable[LEADS.index("aVF")]):
        return _not("axis", "needs leads I and aVF, and one of them is flat or missing")
    fs, fid = beat.fs, beat.fiducial
    on, off = fid + int(round(d.qrs_onset * fs)), fid + int(round(d.qrs_offset * fs)) + 1
    areas = []
    for name in ("I", "aVF"):
        x = beat.signal[LEADS.index(name), on:off]
        areas.append(float(np.sum(x - x[0])) / fs)
    lead_i, lead_avf = areas
    if np.hypot(lead_i, lead_avf) < 1e-4:  # under 0.1 mV·ms net: every direction fits equally badly
        return _not("axis", "the net QRS areas of I and aVF are both near zero (indeterminate axis)")
    angle = float(np.degrees(np.arctan2(2.0 / np.sqrt(3.0) * lead_avf, lead_i)))
    return _ok("axis", angle)


def _ok(name: str, value: float) -> Measurement:
    label, unit = _LABELS[name]
    return Measurement(name, float(value), unit, MEASURED, None, label)


def _not(name: str, reason: str) -> Measurement:
    label, unit = _LABELS[name]
    return Measurement(name, None, unit, NOT_MEASURABLE, reason, label)


def _dead_leads(reason: str) -> list[LeadDelineation]:
    return [LeadDelineation(lead=name, status=NOT_MEASURABLE, reason=reason) for name in LEADS]


def _nothing(fs: float, reason: str, warnings: list[str]) -> Measurements:
    values = {name: _not(name, reason) for name in _LABELS}
    return Measurements(
        **values, rpeaks=np.zeros(0, dtype=np.int64), fs=fs, leads=_dead_leads(reason), warnings=warnings
    )
