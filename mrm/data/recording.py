"""The one signal type of the project: a validated 12-lead ECG in millivolts."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from mrm.errors import ECGInputError

#: The standard 12 leads, in the order every array of the project uses.
LEADS: tuple[str, ...] = ("I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6")

_CANONICAL = {name.lower(): name for name in LEADS}
# Spellings found in the wild (CPSC, PTB, exports of commercial carts), matched after lower-casing.
_ALIASES = {
    "lead i": "I", "lead ii": "II", "lead iii": "III", "d1": "I", "d2": "II", "d3": "III",
    "avr": "aVR", "avl": "aVL", "avf": "aVF",
    "lead avr": "aVR", "lead avl": "aVL", "lead avf": "aVF",
}


def lead_canonical(name: str) -> str | None:
    """Return the standard spelling of a lead name, or None when it is not one of the 12 leads.

    Matching ignores case and surrounding blanks, so ``"AVR"`` (PTB-XL), ``"aVR"`` (CPSC) and
    ``"avr"`` (PTB, LUDB) are the same lead.

    Examples
    --------
    >>> lead_canonical("AVF"), lead_canonical(" v3 "), lead_canonical("vx")
    ('aVF', 'V3', None)
    """
    key = str(name).strip().lower()
    if key in _ALIASES:
        return _ALIASES[key]
    return _CANONICAL.get(key)


def leads_to_standard(signal: np.ndarray, names: list[str], source: str) -> tuple[np.ndarray, list[str]]:
    """Reorder a (channels, n) array into the 12 standard leads by name, never by position.

    Extra channels (Frank leads vx/vy/vz, respiration, ...) are dropped with a warning; a missing or
    duplicated lead raises :class:`ECGInputError` naming it.

    Examples
    --------
    >>> x = np.zeros((13, 4), dtype=np.float32)
    >>> names = ["v6", "v5", "v4", "v3", "v2", "v1", "avf", "avl", "avr", "iii", "ii", "i", "vx"]
    >>> y, warnings = leads_to_standard(x, names, "s0010_re.hea")
    >>> y.shape, warnings
    ((12, 4), ['s0010_re.hea: dropped 1 channel that is not one of the 12 standard leads: vx.'])
    """
    if signal.ndim != 2 or signal.shape[0] != len(names):
        raise ECGInputError(
            f"{source}: {len(names)} lead names were given for a signal of shape {signal.shape}; "
            "give one name per channel."
        )
    index: dict[str, int] = {}
    extra: list[str] = []
    for i, raw in enumerate(names):
        lead = lead_canonical(raw)
        if lead is None:
            extra.append(str(raw).strip())
            continue
        if lead in index:
            raise ECGInputError(
                f"{source}: lead {lead} appears twice (channels {index[lead] + 1} and {i + 1}); "
                "keep one channel per lead."
            )
        index[lead] = i
    missing = [lead for lead in LEADS if lead not in index]
    if missing:
        found = ", ".join(str(n) for n in names) or "none"
        raise ECGInputError(
            f"{source}: {len(missing)} of the 12 standard leads are missing ({', '.join(missing)}; "
            f"channels found: {found}); provide all 12 leads named I, II, III, aVR, aVL, aVF, V1-V6."
        )
    warnings = []
    if extra:
        plural = "channel that is" if len(extra) == 1 else "channels that are"
        warnings.append(
            f"{source}: dropped {len(extra)} {plural} not one of the 12 standard leads: {', '.join(extra)}."
        )
    return signal[[index[lead] for lead in LEADS]], warnings


@dataclass
class Recording:
    """A 12-lead ECG: float32 signal of shape (12, n) in mV, leads in :data:`LEADS` order.

    Build one with a reader (``mrm.data.readers.read_ecg``) or a dataset loader, which validate
    their input; the fields are then trusted everywhere else.

    Attributes
    ----------
    signal:
        float32 array (12, n_samples), millivolts.
    fs:
        Sampling rate in Hz.
    record_id:
        Identifier within its dataset (``"00001"`` for PTB-XL ecg_id 1, ``"A0001"``, a file name).
    dataset:
        ``"ptbxl"``, ``"cpsc2018"``, ``"ludb"``, ``"upload"``, ``"file"``, ``"synthetic"`` or ``"sample"``.
    labels:
        Ground truth when known: statement code -> likelihood in % (PTB-XL), or ``None`` where the
        dataset gives no likelihood (CPSC2018 codes, mapped to PTB-XL statements). ``None`` when unknown.
    fold:
        PTB-XL ``strat_fold`` or CPSC2018 fold of our split, when the record comes from a dataset.
    warnings:
        Everything the reader noticed and corrected or could not check, one sentence each.

    Examples
    --------
    >>> rec = Recording(np.zeros((12, 5000), np.float32), fs=500.0, record_id="demo")
    >>> rec.duration, rec.lead("V1").shape
    (10.0, (5000,))
    """

    signal: np.ndarray
    fs: float
    record_id: str
    dataset: str = "file"
    patient_id: str | None = None
    age: float | None = None
    sex: str | None = None
    labels: dict[str, float | None] | None = None
    fold: int | None = None
    source: str | None = None
    units: str = "mV"
    warnings: list[str] = field(default_factory=list)

    @property
    def n_samples(self) -> int:
        return int(self.signal.shape[1])

    @property
    def duration(self) -> float:
        """Length in seconds."""
        return self.n_samples / self.fs

    @property
    def leads(self) -> tuple[str, ...]:
        return LEADS

    def lead(self, name: str) -> np.ndarray:
        """The samples of one lead, by any accepted spelling of its name."""
        canonical = lead_canonical(name)
        if canonical is None:
            raise KeyError(f"{name!r} is not one of the 12 standard leads {LEADS}")
        return self.signal[LEADS.index(canonical)]

    def time(self) -> np.ndarray:
        """Sample times in seconds from the start of the record."""
        return np.arange(self.n_samples) / self.fs

    def with_signal(self, signal: np.ndarray, fs: float, note: str | None = None) -> Recording:
        """A copy carrying a new signal (e.g. resampled), the same metadata, and an optional extra warning."""
        warnings = list(self.warnings) + ([note] if note else [])
        return replace(self, signal=np.ascontiguousarray(signal, dtype=np.float32), fs=float(fs), warnings=warnings)
