"""The measurement panel: mrm.measure's values as a table a reader cannot take for a manual reading."""

from __future__ import annotations

import pandas as pd

from mrm.measure import Measurements

#: Heading words of every table and chart of automated measurements.
AUTOMATED_LABEL = "automated estimates (NeuroKit2-based delineation), not a cardiologist's reading"


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
