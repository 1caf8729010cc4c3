"""The input check panel: what was read, before any tracing or number is shown."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from mrm.app.synthetic import SYNTHETIC_LABEL
from mrm.data.preprocess import MODEL_FS
from mrm.data.recording import LEADS, Recording

_DATASET_NAMES = {
    "ptbxl": "PTB-XL", "cpsc2018": "CPSC2018", "upload": "uploaded file", "synthetic": "synthetic demo",
    "file": "file", "ludb": "LUDB", "sample": "sample record",
}


@dataclass(frozen=True)
class InputCheck:
    """What the reader found, as rows for the panel, and every warning of the data layer.

    Attributes
    ----------
    rows:
        ``(item, value)`` pairs: source, sampling rate, duration, samples, units, lead order, amplitude range.
    warnings:
        The reader's and validator's warnings, one sentence each, in the order they were raised.
    notes:
        What the app does with the record that the user should know (resampling for the model).
    """

    rows: tuple[tuple[str, str], ...]
    warnings: tuple[str, ...] = field(default_factory=tuple)
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def ok(self) -> bool:
        """True when the data layer raised no warning."""
        return not self.warnings


def check_input(recording: Recording) -> InputCheck:
    """Describe a record for the input check panel.

    Examples
    --------
    >>> rec = Recording(np.zeros((12, 5000), np.float32), fs=500.0, record_id="demo", warnings=["demo: odd."])
    >>> check = check_input(rec)
    >>> dict(check.rows)["Sampling rate"], dict(check.rows)["Duration"], check.warnings, check.ok
    ('500 Hz', '10.0 s', ('demo: odd.',), False)
    """
    name = _DATASET_NAMES.get(recording.dataset, recording.dataset)
    source = f"{name}: {recording.source}" if recording.source else name
    if recording.dataset == "synthetic":
        source += f" ({SYNTHETIC_LABEL})"
    ptp = np.ptp(recording.signal, axis=1) if recording.n_samples else np.zeros(len(LEADS))
    rows = (
        ("Source", source),
        ("Sampling rate", f"{recording.fs:g} Hz"),
        ("Duration", f"{recording.duration:.1f} s"),
        ("Samples per lead", f"{recording.n_samples:,}"),
        ("Units", f"{recording.units} (read in physical units; shown at the gain chosen)"),
        ("Lead order", f"{', '.join(LEADS)} (matched by name, never by position)"),
        ("Peak-to-peak", f"{ptp.min():.2f}-{ptp.max():.2f} mV across leads"),
    )
    notes = []
    if recording.fs != MODEL_FS:
        notes.append(f"The model sees this record resampled to {MODEL_FS:g} Hz (anti-aliased polyphase filter); "
                     f"the tracing and the measurements use its own {recording.fs:g} Hz.")
    return InputCheck(rows=rows, warnings=tuple(recording.warnings), notes=tuple(notes))
