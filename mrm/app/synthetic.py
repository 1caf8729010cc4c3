"""A synthetic 12-lead ECG, so that a fresh machine without any dataset still shows every part of the app.

It is NeuroKit2's multi-lead ECGSYN simulation (McSharry et al., 2003): a dynamical model with per-lead wave
amplitudes, not a recording of a heart. NeuroKit2 scales every lead to span -0.4 to 1.2 mV, so the leads are
not related as Einthoven's and Goldberger's equations require; good for showing the tool, not for teaching.
"""

from __future__ import annotations

import neurokit2 as nk
import numpy as np

from mrm.data.recording import Recording, leads_to_standard
from mrm.data.validate import validate_signal

#: The words every view of a synthetic record carries.
SYNTHETIC_LABEL = "synthetic, not a real patient"


def simulate_recording(
    heart_rate: int = 70, *, duration: float = 10.0, fs: float = 500.0, seed: int = 0
) -> Recording:
    """A reproducible 12-lead ECG from NeuroKit2's ``ecg_simulate(method="multileads")``, labelled synthetic.

    Parameters
    ----------
    heart_rate:
        Mean heart rate in beats per minute (30-199).
    duration, fs:
        Length in seconds and sampling rate in Hz.
    seed:
        Random state of the simulation (the same seed gives the same signal).

    Returns
    -------
    Recording
        ``dataset="synthetic"``, ``record_id`` like ``"70bpm"``, ``source`` naming the simulation; the pages
        print :data:`SYNTHETIC_LABEL` wherever it is shown.

    Examples
    --------
    >>> rec = simulate_recording(60, duration=5.0, fs=250.0)
    >>> rec.dataset, rec.record_id, rec.signal.shape, rec.source
    ('synthetic', '60bpm', (12, 1250), 'NeuroKit2 ECGSYN multi-lead simulation at 60 bpm, seed 0')
    """
    if not 30 <= int(heart_rate) <= 199:
        raise ValueError(f"heart_rate must be 30-199 bpm, got {heart_rate}")
    record_id = f"{int(heart_rate)}bpm"
    table = nk.ecg_simulate(
        duration=duration, sampling_rate=int(fs), heart_rate=int(heart_rate), method="multileads", random_state=seed
    )
    signal, _ = leads_to_standard(table.to_numpy(dtype=np.float64).T, list(table.columns), record_id)
    # ECGSYN puts each lead's isoelectric line wherever its -0.4..1.2 mV scaling lands it; the median sample of
    # an ECG is on the baseline, so subtracting it gives the 0 mV baseline a real record has.
    signal = (signal - np.median(signal, axis=1, keepdims=True)).astype(np.float32)
    warnings = validate_signal(signal, fs, record_id)
    source = f"NeuroKit2 ECGSYN multi-lead simulation at {int(heart_rate)} bpm, seed {seed}"
    return Recording(signal, float(fs), record_id, dataset="synthetic", source=source, warnings=warnings)
