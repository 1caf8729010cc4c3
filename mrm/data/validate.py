"""Checks that a signal is a usable 12-lead ECG in millivolts, before anything else trusts it.

Errors are :class:`~mrm.errors.ECGInputError` with one sentence each (which input, what is wrong, what to
do); oddities that still leave a readable ECG come back as warnings.
"""

from __future__ import annotations

import numpy as np

from mrm.data.recording import LEADS
from mrm.errors import ECGInputError

#: Largest file a reader accepts by default (50 MB: a 12-lead record at 1000 Hz for ~30 minutes in 16 bits).
DEFAULT_MAX_BYTES = 50_000_000

FS_MIN, FS_MAX = 50.0, 2000.0
MIN_DURATION_S = 2.5
# Peak-to-peak thresholds in mV. A working lead shows at least the QRS (~0.3 mV even in low-voltage ECGs);
# a disconnected one shows quantisation noise of a few µV.
FLAT_MV = 0.01
TINY_MV = 0.05
MICROVOLT_MEDIAN_MV = 20.0
LARGE_MV = 10.0
# A clipped lead sits on its extreme value (see _is_clipped).
CLIP_LONG_S, CLIP_SHORT_S = 0.1, 0.01


def check_file_size(size_bytes: int, source: str, limit_bytes: int = DEFAULT_MAX_BYTES) -> None:
    """Raise when a file is larger than the limit, before reading it.

    Parameters
    ----------
    size_bytes : int
        Size of the file (or the sum of a record's files) in bytes.
    source : str
        File name, used in the message.
    limit_bytes : int
        Largest accepted size.

    Examples
    --------
    >>> check_file_size(1_200_000, "00001_hr.dat")
    >>> check_file_size(312_000_000, "holter.dat")
    Traceback (most recent call last):
    ...
    mrm.errors.ECGInputError: holter.dat: the file is 312 MB, larger than the 50 MB limit; trim the record \
or raise the limit.
    """
    if size_bytes > limit_bytes:
        raise ECGInputError(
            f"{source}: the file is {_format_size(size_bytes)}, larger than the {_format_size(limit_bytes)} limit; "
            "trim the record or raise the limit."
        )


def validate_signal(signal: np.ndarray, fs: float, source: str) -> list[str]:
    """Check a (12, n) signal in mV, leads in :data:`~mrm.data.recording.LEADS` order; return warnings.

    Checks, in this order, each raising :class:`~mrm.errors.ECGInputError`: shape and float dtype; sampling
    rate finite and within 50-2000 Hz; at least 2.5 s long; no NaN or infinite samples; amplitudes that are
    all tiny (volts given as mV, or no signal at all); any flat lead (peak-to-peak < 0.01 mV), since every
    lead feeds the model; amplitudes ~1000x too large (µV given as mV). A lead larger than 10 mV
    peak-to-peak and a lead that flattens at its extreme value (clipping) are only warnings.

    Parameters
    ----------
    signal : np.ndarray
        Float array of shape (12, n_samples), millivolts.
    fs : float
        Sampling rate in Hz.
    source : str
        Name of the input (file name), used in every message.

    Returns
    -------
    list[str]
        Warnings, one sentence each; empty when nothing looks odd.

    Examples
    --------
    >>> t = np.arange(5000) / 500
    >>> signal = np.tile(np.sin(2 * np.pi * 1.2 * t), (12, 1)).astype(np.float32)
    >>> validate_signal(signal, 500, "demo.csv")
    []
    >>> validate_signal(signal * 1000, 500, "demo.csv")
    Traceback (most recent call last):
    ...
    mrm.errors.ECGInputError: demo.csv: the values look like microvolts, not millivolts (median lead \
peak-to-peak 2000 mV, expected 0.5-5 mV); divide by 1000 or set units to uV.
    """
    signal = np.asarray(signal)
    _check_shape(signal, source)
    _check_fs(fs, source)
    duration = signal.shape[1] / fs
    if duration < MIN_DURATION_S:
        raise ECGInputError(
            f"{source}: the record is {duration:.2f} s long ({signal.shape[1]} samples at {fs:g} Hz), shorter than "
            f"the {MIN_DURATION_S} s needed; provide a longer recording (10 s is standard)."
        )
    _check_finite(signal, source)
    ptp = np.ptp(signal, axis=1)
    _check_amplitude(ptp, source)
    return _large_lead_warnings(ptp, source) + _clipping_warnings(signal, fs, source)


def _check_shape(signal: np.ndarray, source: str) -> None:
    if signal.ndim != 2 or signal.shape[0] != len(LEADS):
        raise ECGInputError(
            f"{source}: the signal has shape {signal.shape}, not (12, n_samples); provide the 12 standard leads "
            "as rows."
        )
    if not np.issubdtype(signal.dtype, np.floating):
        raise ECGInputError(
            f"{source}: the signal has dtype {signal.dtype}, not floating point; convert it to millivolts as floats."
        )


def _check_fs(fs: float, source: str) -> None:
    try:
        fs = float(fs)
    except (TypeError, ValueError):
        raise ECGInputError(f"{source}: the sampling rate {fs!r} is not a number; give it in Hz, e.g. 500.") from None
    if not np.isfinite(fs) or not FS_MIN <= fs <= FS_MAX:
        raise ECGInputError(
            f"{source}: the sampling rate {fs:g} Hz is outside the supported {FS_MIN:g}-{FS_MAX:g} Hz range; "
            "check the sampling rate of the export."
        )


def _check_finite(signal: np.ndarray, source: str) -> None:
    nan = np.isnan(signal).sum(axis=1)
    inf = np.isinf(signal).sum(axis=1)
    if not nan.any() and not inf.any():
        return
    parts = []
    for lead, n_nan, n_inf in zip(LEADS, nan, inf, strict=True):
        bad = [f"{n} NaN" for n in [n_nan] if n] + [f"{n} infinite" for n in [n_inf] if n]
        if bad:
            parts.append(f"{lead} ({' and '.join(bad)} samples)")
    raise ECGInputError(
        f"{source}: {_leads(parts)} {_verb(parts, 'holds', 'hold')} missing or infinite values; fill or cut the gaps "
        "before loading the record."
    )


def _check_amplitude(ptp: np.ndarray, source: str) -> None:
    if ptp.max() < TINY_MV:
        if ptp.max() == 0:
            raise ECGInputError(f"{source}: all 12 leads are flat (constant); the record holds no signal.")
        raise ECGInputError(
            f"{source}: every lead is below {TINY_MV} mV peak-to-peak (largest {ptp.max():.3g} mV): the values look "
            "like volts, not millivolts, or the record holds no signal; multiply by 1000 (units V) or check the "
            "electrodes."
        )
    flat = [lead for lead, p in zip(LEADS, ptp, strict=True) if p < FLAT_MV]
    if flat:
        raise ECGInputError(
            f"{source}: {_leads(flat)} {_verb(flat, 'is', 'are')} flat (no signal, peak-to-peak "
            f"below {FLAT_MV} mV); check the electrodes or the export."
        )
    median = float(np.median(ptp))
    if median > MICROVOLT_MEDIAN_MV:
        raise ECGInputError(
            f"{source}: the values look like microvolts, not millivolts (median lead peak-to-peak {median:.0f} mV, "
            "expected 0.5-5 mV); divide by 1000 or set units to uV."
        )


def _large_lead_warnings(ptp: np.ndarray, source: str) -> list[str]:
    large = [f"{lead} ({p:.1f} mV)" for lead, p in zip(LEADS, ptp, strict=True) if p > LARGE_MV]
    if not large:
        return []
    return [
        f"{source}: {_leads(large)} {_verb(large, 'exceeds', 'exceed')} {LARGE_MV:g} mV peak-to-peak, which is "
        "unusual for an ECG; check for artefacts or baseline wander."
    ]


def _clipping_warnings(signal: np.ndarray, fs: float, source: str) -> list[str]:
    clipped = [lead for lead, x in zip(LEADS, signal, strict=True) if _is_clipped(x, fs)]
    if not clipped:
        return []
    return [
        f"{source}: {_leads(clipped)} {_verb(clipped, 'flattens', 'flatten')} repeatedly at the extreme value, "
        "which looks like clipping (amplifier saturation); amplitudes there are not reliable."
    ]


def _is_clipped(x: np.ndarray, fs: float) -> bool:
    """Whether a lead sits on its exact extreme value for 0.1 s once, or for 10 ms in three separate places.

    A real R peak or S trough is a point, not a plateau: on the 2,992 PTB-XL records (500 Hz; 100 Hz for 500 of
    them), LUDB and CPSC2018 no lead meets this rule, while cutting the top 30 % of a lead's range triggers it in
    97 % of leads.
    """
    short, long = max(2, round(CLIP_SHORT_S * fs)), max(3, round(CLIP_LONG_S * fs))
    for at_extreme in (x == x.max(), x == x.min()):
        runs = _inner_runs(at_extreme)
        if runs.size and (runs.max() >= long or np.count_nonzero(runs >= short) >= 3):
            return True
    return False


def _inner_runs(mask: np.ndarray) -> np.ndarray:
    """Lengths of the runs of True in a boolean array, leaving out runs that touch either end.

    Recorders often hold the last value for the final ~0.1 s (PTB-XL does); that is padding, not clipping.
    """
    edges = np.flatnonzero(np.diff(np.concatenate(([0], mask.view(np.int8), [0]))))
    starts, stops = edges[::2], edges[1::2]
    inner = (starts > 0) & (stops < mask.size)
    return (stops - starts)[inner]


def _leads(names: list[str]) -> str:
    return ("lead " if len(names) == 1 else "leads ") + ", ".join(names)


def _verb(names: list[str], singular: str, plural: str) -> str:
    return singular if len(names) == 1 else plural


def _format_size(n_bytes: int) -> str:
    if n_bytes >= 10_000_000:
        return f"{n_bytes / 1e6:.0f} MB"
    if n_bytes >= 1_000_000:
        return f"{n_bytes / 1e6:.1f} MB"
    if n_bytes >= 1_000:
        return f"{n_bytes / 1e3:.0f} kB"
    return f"{n_bytes} bytes"
