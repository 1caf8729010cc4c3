"""The measurement panel: mrm.measure's values as a table a reader cannot take for a manual reading."""

from __future__ import annotations

import numpy as np
import pandas as pd

from mrm.measure import Measurements
from mrm.viz import Caliper, Calipers, Span

#: How each global fiducial is drawn: legend label, colour, dash (the order of ``Fiducials.on_beats``'s columns).
CALIPER_STYLES: tuple[tuple[str, str, str], ...] = (
    ("P onset", "#1e8449", "dot"),
    ("QRS onset", "#2e86c1", "solid"),
    ("QRS offset", "#2e86c1", "solid"),
    ("T end", "#8e44ad", "dash"),
)

#: Heading words of every table and chart of automated measurements.
AUTOMATED_LABEL = "automated estimates (multi-lead delineation), not a cardiologist's reading"


def measurement_table(measurements: Measurements) -> pd.DataFrame:
    """One row per reported value: what, the value with its unit (or none), and its status with the reason.

    A value that could not be measured, or that is not applicable (no PR interval without P waves), has an empty
    value cell and says why; no number is shown for it.

    Examples
    --------
    >>> import numpy as np, neurokit2 as nk
    >>> from mrm.data.recording import Recording
    >>> from mrm.measure import measure_ecg
    >>> ecg = nk.ecg_simulate(duration=10, sampling_rate=500, heart_rate=75, random_state=4)
    >>> m = measure_ecg(Recording(np.tile(ecg, (12, 1)).astype(np.float32), fs=500.0, record_id="sim"))
    >>> table = measurement_table(m)
    >>> table.columns.tolist(), table.iloc[0]["measurement"], table.iloc[0]["status"]
    (['measurement', 'value', 'status'], 'Heart rate', 'measured')
    """
    rows = []
    for m in measurements.all():
        if m.measured:
            value, status = f"{m.value:.0f} {m.unit}", m.status
        else:
            value, status = "", f"{m.status}: {m.reason}" if m.reason else m.status
        rows.append({"measurement": m.label, "value": value, "status": status})
    return pd.DataFrame(rows)


def rpeak_times(measurements: Measurements) -> tuple[float, ...]:
    """R peaks in seconds from the start of the record (the record's own rate), for markers on the tracing.

    Examples
    --------
    >>> import numpy as np
    >>> from mrm.measure import Measurement, Measurements
    >>> x = Measurement("rr", None, "ms", "not measurable", "no beat")
    >>> rpeak_times(Measurements(*[x] * 8, rpeaks=np.array([250, 750]), fs=500.0))
    (0.5, 1.5)
    """
    return tuple(round(float(r) / measurements.fs, 6) for r in measurements.rpeaks)


def measurement_calipers(measurements: Measurements, start: float, end: float, lead: str = "II") -> Calipers:
    """The calipers of a measurement: its global fiducials on every beat, and its intervals on one beat.

    The P onset, QRS onset, QRS offset and T end of the median beat are placed on every beat that went into it
    (:meth:`mrm.measure.Fiducials.on_beats`; ectopic beats left out of the median get none), one line each;
    a fiducial whose interval is not measured is not drawn. The PR, QRS and QT intervals are drawn as labelled
    brackets under ``lead`` on the first of those beats whose whole P-onset-to-T-end span lies in ``[start, end)``
    (the shown window, in seconds), with the values of the measurement table.

    Examples
    --------
    >>> import numpy as np, neurokit2 as nk
    >>> from mrm.data.recording import Recording
    >>> from mrm.measure import measure_ecg
    >>> ecg = nk.ecg_simulate(duration=10, sampling_rate=500, heart_rate=75, random_state=4)
    >>> m = measure_ecg(Recording(np.tile(ecg, (12, 1)).astype(np.float32), fs=500.0, record_id="sim"))
    >>> c = measurement_calipers(m, 0.0, 10.0)
    >>> [line.label for line in c.lines], [s.label.split()[0] for s in c.spans]
    (['P onset', 'QRS onset', 'QRS offset', 'T end'], ['PR', 'QRS', 'QT'])
    """
    beat = measurements.median_beat
    if beat is None or measurements.fiducials.qrs_onset is None:
        return Calipers()
    times = measurements.fiducials.on_beats(beat.beats, measurements.fs)  # (beats, 4)
    lines = tuple(
        Caliper(tuple(round(float(t), 6) for t in times[:, k]), label, colour, dash)
        for k, (label, colour, dash) in enumerate(CALIPER_STYLES)
        if np.isfinite(times[:, k]).all()
    )
    p_on, q_on, q_off, t_end = times.T
    first = np.where(np.isfinite(p_on), p_on, q_on)
    last = np.where(np.isfinite(t_end), t_end, np.where(np.isfinite(q_off), q_off, q_on))
    whole = np.flatnonzero((first >= start) & (last < end))
    if not len(whole):
        return Calipers(lines=lines)
    i = int(whole[0])
    spans = []
    for m, a, b, level, anchor in (
        (measurements.pr, p_on[i], q_on[i], 0, "start"),
        (measurements.qrs, q_on[i], q_off[i], 0, "end"),
        (measurements.qt, q_on[i], t_end[i], 1, "end"),
    ):
        if m.measured and np.isfinite(a) and np.isfinite(b):
            name = m.label.split()[0]  # "PR", "QRS", "QT"
            spans.append(Span(float(a), float(b), f"{name} {m.value:.0f} {m.unit}", lead, level, anchor))
    return Calipers(lines=lines, spans=tuple(spans))
