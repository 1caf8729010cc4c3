"""validate_signal and check_file_size on real PTB-XL signals, spoiled one way at a time."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import wfdb

from mrm.data.recording import LEADS, leads_to_standard
from mrm.data.validate import DEFAULT_MAX_BYTES, check_file_size, validate_signal
from mrm.errors import ECGInputError

SOURCE = "00001_hr.dat"


def _real(ptbxl_dir: Path, record: str = "records500/00000/00001_hr") -> tuple[np.ndarray, float]:
    """A real record as the validator sees it: (12, n) float32 mV in standard lead order."""
    rec = wfdb.rdrecord(str(ptbxl_dir / record))
    signal, _ = leads_to_standard(rec.p_signal.T.astype(np.float32), rec.sig_name, SOURCE)
    return signal.copy(), float(rec.fs)


@pytest.fixture()
def real(ptbxl_dir: Path) -> tuple[np.ndarray, float]:
    return _real(ptbxl_dir)


def _error(signal: np.ndarray, fs: float) -> str:
    with pytest.raises(ECGInputError) as info:
        validate_signal(signal, fs, SOURCE)
    message = str(info.value)
    assert message.startswith(f"{SOURCE}: ")
    return message


def test_real_record_passes_without_warnings(real):
    signal, fs = real
    assert validate_signal(signal, fs, SOURCE) == []


def test_all_shared_ptbxl_records_pass(ptbxl_dir):
    # The thresholds must not reject real ECGs: every 4th record of the shared data, both rates (all 2,992
    # records at 500 Hz pass too, measured once; too slow for the suite).
    headers = sorted(ptbxl_dir.glob("records*/00000/*.hea"))[::4]
    assert len(headers) == 250
    rejected = []
    for header in headers:
        signal, fs = _real(ptbxl_dir, str(header.relative_to(ptbxl_dir).with_suffix("")))
        try:
            validate_signal(signal, fs, header.name)
        except ECGInputError as err:
            rejected.append(str(err))
    assert rejected == []


def test_shape_and_dtype(real):
    signal, fs = real
    assert "shape (11, 5000)" in _error(signal[:11], fs)
    assert "shape (5000, 12)" in _error(signal.T, fs)
    assert "int16" in _error(signal.astype(np.int16), fs)


@pytest.mark.parametrize("fs", [20.0, 5000.0, float("nan"), float("inf")])
def test_sampling_rate_out_of_range(real, fs):
    signal, _ = real
    message = _error(signal, fs)
    assert "50-2000 Hz" in message and f"{fs:g} Hz" in message


def test_too_short(real):
    signal, fs = real
    message = _error(signal[:, : int(2 * fs)], fs)
    assert "2.00 s long" in message and "2.5 s" in message
    assert validate_signal(signal[:, : int(2.5 * fs)], fs, SOURCE) == []


def test_nan_and_inf_named_by_lead_and_count(real):
    signal, fs = real
    signal[LEADS.index("V2"), 100:112] = np.nan
    signal[LEADS.index("V3"), [5, 9, 4000]] = np.inf
    message = _error(signal, fs)
    assert "V2 (12 NaN samples)" in message
    assert "V3 (3 infinite samples)" in message
    assert "I (" not in message


def test_flat_leads_are_named(real):
    signal, fs = real
    signal[LEADS.index("V2")] = 0.1
    signal[LEADS.index("V3")] += np.float32(0.2) - signal[LEADS.index("V3")]
    message = _error(signal, fs)
    assert "leads V2, V3 are flat" in message and "electrodes" in message


def test_one_flat_lead_is_an_error_too(real):
    signal, fs = real
    # A disconnected electrode: a few µV of noise, below the 0.01 mV peak-to-peak floor.
    signal[LEADS.index("aVL")] = np.random.default_rng(0).normal(0, 0.001, signal.shape[1])
    assert "lead aVL is flat" in _error(signal, fs)


def test_all_flat(real):
    signal, fs = real
    assert "all 12 leads are flat" in _error(np.zeros_like(signal), fs)


def test_microvolts_given_as_millivolts(real):
    signal, fs = real
    message = _error(signal * 1000, fs)
    assert "microvolts" in message and "divide by 1000" in message


def test_volts_given_as_millivolts(real):
    signal, fs = real
    message = _error(signal / 1000, fs)
    assert "volts" in message and "multiply by 1000" in message


def test_large_lead_is_a_warning(real):
    signal, fs = real
    v4 = LEADS.index("V4")
    signal[v4] *= 12 / np.ptp(signal[v4])
    warnings = validate_signal(signal, fs, SOURCE)
    assert len(warnings) == 1
    assert "V4 (12.0 mV)" in warnings[0] and "exceeds 10 mV" in warnings[0] and "V5" not in warnings[0]


def test_clipping_is_a_warning(real):
    signal, fs = real
    ii = LEADS.index("II")
    signal[ii] = np.clip(signal[ii], None, signal[ii].max() - 0.3 * np.ptp(signal[ii]))
    warnings = validate_signal(signal, fs, SOURCE)
    assert len(warnings) == 1 and "lead II flattens" in warnings[0] and "clipping" in warnings[0]


def test_value_held_at_the_end_is_not_clipping(real):
    # PTB-XL records often repeat their last value for ~0.1 s; that is padding, not saturation.
    signal, fs = real
    signal[:, -int(0.3 * fs) :] = signal.max(axis=1, keepdims=True)
    assert validate_signal(signal, fs, SOURCE) == []


def test_file_size_limit():
    check_file_size(DEFAULT_MAX_BYTES, "ok.dat")
    with pytest.raises(ECGInputError) as info:
        check_file_size(312_000_000, "holter.dat")
    assert str(info.value) == (
        "holter.dat: the file is 312 MB, larger than the 50 MB limit; trim the record or raise the limit."
    )
    with pytest.raises(ECGInputError, match=r"upload.csv: the file is 2\.0 MB, larger than the 1\.0 MB limit"):
        check_file_size(2_000_000, "upload.csv", limit_bytes=1_000_000)
