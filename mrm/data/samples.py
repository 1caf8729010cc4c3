"""The sample ECGs shipped inside the package: 15 real PTB-XL records of the test fold, at 500 Hz.

They make the dashboard and ``mrm predict`` usable on a machine without any dataset. ``mrm/samples/`` is a PTB-XL
v1.0.3 folder of its own (chosen by ``scripts/select_samples.py``, see its README for the licence, CC BY 4.0, and
the attribution) plus ``samples.csv``, which says why each record was chosen. A sample loads as the PTB-XL record
it is: ``dataset="ptbxl"``, its ``scp_codes`` as labels, fold 10.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path

import pandas as pd

from mrm.data.ptbxl import NOISE_COLUMNS, PTBXL, load_ptbxl
from mrm.data.recording import Recording
from mrm.errors import ECGInputError

#: Where the samples live: inside the package, next to this package's parent.
SAMPLES_DIR = Path(__file__).resolve().parents[1] / "samples"

__all__ = ["SAMPLES_DIR", "Sample", "list_samples", "load_sample", "sample_file", "samples_index"]


@dataclass(frozen=True)
class Sample:
    """One bundled record, as ``samples.csv`` describes it.

    Attributes
    ----------
    ecg_id:
        PTB-XL's ``ecg_id``.
    slot, reason:
        What the record was chosen to show (``"afib"``; ``"rhythm: atrial fibrillation (AFIB)"``).
    labels:
        PTB-XL ``scp_codes``: statement -> likelihood in % (0 where PTB-XL gives none).
    report:
        The cardiologist's free-text report (often German or Swedish, as published).
    age, sex:
        Age in years (None when unknown or over 89) and ``"M"`` / ``"F"``.
    notes:
        The signal-quality columns that note something (``{"static_noise": "alles"}``), as published.
    validated_by_human, fold:
        PTB-XL's columns (every sample is fold 10).
    path:
        The WFDB header of the 500 Hz record.
    """

    ecg_id: int
    slot: str
    reason: str
    labels: dict[str, float]
    report: str
    age: float | None
    sex: str | None
    validated_by_human: bool
    fold: int
    path: Path
    notes: dict[str, str] = field(default_factory=dict)


@cache
def _table(folder: Path) -> pd.DataFrame:
    path = folder / "samples.csv"
    try:
        table = pd.read_csv(path, keep_default_na=False, dtype=str)
    except (OSError, ValueError) as err:
        raise ECGInputError(
            f"{path}: the bundled sample ECGs cannot be read ({type(err).__name__}); reinstall the package "
            "(pip install .) or restore mrm/samples/ from the repository."
        ) from err
    return table


def list_samples(folder: str | Path = SAMPLES_DIR) -> list[Sample]:
    """The bundled samples in the order of ``samples.csv`` (a validated normal ECG first).

    Examples
    --------
    >>> samples = list_samples()
    >>> len(samples), samples[0].slot, samples[0].labels["NORM"], samples[0].fold
    (15, 'norm', 100.0, 10)
    """
    folder = Path(folder)
    out = []
    for row in _table(folder).itertuples(index=False):
        age = float(row.age) if row.age else None
        out.append(Sample(
            ecg_id=int(row.ecg_id), slot=row.slot, reason=row.reason,
            labels={str(k): float(v) for k, v in ast.literal_eval(row.scp_codes).items()},
            report=row.report.strip(), age=age if age is not None and age < 300 else None,
            sex={"0": "M", "1": "F"}.get(row.sex), validated_by_human=row.validated_by_human == "True",
            fold=int(row.strat_fold), path=folder / f"{row.filename_hr}.hea",
            notes={c: getattr(row, c).strip() for c in NOISE_COLUMNS if getattr(row, c).strip(" ,")},
        ))
    return out


@cache
def _index(folder: Path) -> PTBXL:
    return load_ptbxl(folder)


def samples_index(folder: str | Path = SAMPLES_DIR) -> PTBXL:
    """The samples folder as a PTB-XL index (its statements table names and maps any PTB-XL statement).

    Examples
    --------
    >>> index = samples_index()
    >>> len(index), index.n_missing, index.statement_name("AFIB")
    (15, 0, 'atrial fibrillation')
    """
    return _index(Path(folder).resolve())


def sample_file(ecg_id: int | str, folder: str | Path = SAMPLES_DIR) -> Path:
    """The WFDB header (``.hea``) of a bundled sample, e.g. for ``mrm predict``.

    Examples
    --------
    >>> sample_file(57).relative_to(SAMPLES_DIR).as_posix()
    'records500/00000/00057_hr.hea'
    """
    return _find(ecg_id, Path(folder)).path


def load_sample(ecg_id: int | str, folder: str | Path = SAMPLES_DIR) -> Recording:
    """A bundled sample as a :class:`Recording` at 500 Hz in mV, with its PTB-XL metadata and statements.

    Raises
    ------
    ECGInputError
        When ``ecg_id`` is not one of the bundled samples.

    Examples
    --------
    >>> rec = load_sample(20406)
    >>> rec.dataset, rec.record_id, rec.fs, rec.signal.shape, rec.fold, rec.labels
    ('ptbxl', '20406', 500.0, (12, 5000), 10, {'AFIB': 100.0})
    >>> rec.source
    'mrm/samples/records500/20000/20406_hr'
    >>> load_sample(1)
    Traceback (most recent call last):
    ...
    mrm.errors.ECGInputError: sample 1: not one of the bundled sample ECGs; choose one of 57, 11125, 9953, 2064, \
5911, 1564, 172, 157, 218, 20406, 449, 12720, 4123, 9557, 38 (mrm.data.samples.list_samples()).
    """
    folder = Path(folder)
    sample = _find(ecg_id, folder)
    recording = samples_index(folder).load_record(sample.ecg_id, fs=500)
    return replace(recording, source=f"mrm/samples/{recording.source}")


def _find(ecg_id: int | str, folder: Path) -> Sample:
    samples = list_samples(folder)
    text = str(ecg_id).strip()
    for sample in samples:
        if text.isdigit() and int(text) == sample.ecg_id:
            return sample
    raise ECGInputError(
        f"sample {text}: not one of the bundled sample ECGs; choose one of "
        f"{', '.join(str(s.ecg_id) for s in samples)} (mrm.data.samples.list_samples())."
    )
