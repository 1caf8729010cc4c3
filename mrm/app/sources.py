"""Where the dashboard's records come from: the data root, the PTB-XL and CPSC2018 browsers, the sample ECGs
bundled with the package, uploads, weights.

Everything here is plain Python over the data layer (:mod:`mrm.data`); the pages add the widgets and caching.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields, replace
from pathlib import Path

import numpy as np
import pandas as pd

from mrm.app.state import normalise_record
from mrm.app.synthetic import SYNTHETIC_LABEL, simulate_recording
from mrm.data.cpsc2018 import CLASSES, CPSC2018
from mrm.data.ptbxl import NOISE_COLUMNS, PTBXL
from mrm.data.readers import ACCEPTED_EXTENSIONS, read_ecg, read_wfdb_bytes
from mrm.data.recording import Recording
from mrm.data.samples import list_samples, load_sample
from mrm.data.validate import DEFAULT_MAX_BYTES
from mrm.errors import ECGInputError
from mrm.shipped import default_weights_dir

#: Where the app looks for datasets when neither the sidebar nor ``MRM_DATA_DIR`` names a folder:
#: where ``python -m mrm download ... --dest data`` puts them.
DEFAULT_DATA_DIR = "data"
DEFAULT_WEIGHTS_DIR = "weights"
#: Most files one upload may hold: a WFDB header with up to three signal files.
MAX_UPLOAD_FILES = 4
#: Extensions whose files do not carry their sampling rate.
NEEDS_FS = (".csv", ".npy")


def resolve_data_dir(chosen: str | None = None, environ: Mapping[str, str] | None = None) -> Path:
    """The data root to use: the folder typed in the sidebar, else ``MRM_DATA_DIR``, else ``./data``.

    Examples
    --------
    >>> resolve_data_dir(None, {"MRM_DATA_DIR": "/srv/ecg"}).as_posix(), resolve_data_dir("  ", {}).as_posix()
    ('/srv/ecg', 'data')
    >>> resolve_data_dir("~/ecg", {}) == Path.home() / "ecg"
    True
    """
    environ = os.environ if environ is None else environ
    for candidate in (chosen, environ.get("MRM_DATA_DIR")):
        if candidate and candidate.strip():
            return Path(candidate.strip()).expanduser()
    return Path(DEFAULT_DATA_DIR)


def available_datasets(root: str | Path) -> list[str]:
    """The datasets whose index files are in the data root (a quick look; the indexes are read later).

    Examples
    --------
    >>> available_datasets("/nonexistent")
    []
    """
    root = Path(root)
    found = []
    if (root / "ptb-xl" / "ptbxl_database.csv").is_file():
        found.append("ptbxl")
    if (root / "cpsc2018" / "REFERENCE.csv").is_file():
        found.append("cpsc2018")
    return found


@dataclass(frozen=True)
class PTBXLQuery:
    """The PTB-XL browser's filters; empty tuples and None mean "no condition".

    Noise fields: True keeps records whose ``ptbxl_database.csv`` column notes that problem, False keeps records
    free of it. Hashable, so the pages can cache the filtered table by it.

    Examples
    --------
    >>> PTBXLQuery(folds=(10,), superclass=("MI",), static_noise=False).conditions()
    {'folds': [10], 'superclass': ['MI'], 'static_noise': False}
    """

    folds: tuple[int, ...] = ()
    superclass: tuple[str, ...] = ()
    subclass: tuple[str, ...] = ()
    statement: tuple[str, ...] = ()
    validated_by_human: bool | None = None
    static_noise: bool | None = None
    burst_noise: bool | None = None
    baseline_drift: bool | None = None
    electrodes_problems: bool | None = None
    extra_beats: bool | None = None
    pacemaker: bool | None = None

    def conditions(self) -> dict:
        """The keyword arguments of :meth:`mrm.data.ptbxl.PTBXL.filter` this query sets."""
        out: dict = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, tuple):
                if value:
                    out[f.name] = list(value)
            elif value is not None:
                out[f.name] = value
        return out

    def apply(self, index: PTBXL) -> PTBXL:
        """The records of ``index`` that meet every condition and whose signal files are present."""
        return index.filter(**self.conditions(), with_signal=True, fs=100)


def ptbxl_table(index: PTBXL) -> pd.DataFrame:
    """One row per record for the PTB-XL browser: what a cardiologist scans before opening a record.

    Columns: fold, age, sex, statements (codes, most likely first, with likelihood when given), validated
    (by a cardiologist), noise (which quality columns note something), rates (the files present).

    Examples
    --------
    >>> table = ptbxl_table(load_ptbxl("data/ptb-xl"))  # doctest: +SKIP
    >>> table.loc[1, "statements"]  # doctest: +SKIP
    'NORM 100%, LVOLT, SR'
    """
    meta = index.metadata
    noise = pd.DataFrame({c: meta[c].fillna("").astype(str).str.strip(" ,").ne("") for c in NOISE_COLUMNS})
    noise_text = noise.apply(lambda row: ", ".join(c.replace("_", " ") for c in NOISE_COLUMNS if row[c]), axis=1)
    rates = np.where(meta["has_500"] & meta["has_100"], "100, 500 Hz", np.where(meta["has_500"], "500 Hz", "100 Hz"))
    age = meta["age"].where(meta["age"] < 300).round().astype("Int64")  # 300 codes "over 89" (HIPAA): unknown
    return pd.DataFrame({
        "fold": meta["strat_fold"].astype(int),
        "age": age,
        "sex": meta["sex"].map({0: "M", 1: "F"}),
        "statements": meta["scp_codes"].map(_statements_text),
        "validated": meta["validated_by_human"].astype(bool),
        "noise": noise_text if len(meta) else pd.Series(dtype=str),
        "rates": rates,
    }, index=meta.index.rename("ecg_id"))


def cpsc_table(index: CPSC2018, classes: Sequence[str] = ()) -> pd.DataFrame:
    """One row per CPSC2018 record with a signal file, optionally only those carrying any of ``classes``.

    ``classes`` are the challenge's abbreviations (``"AF"``, ``"RBBB"``, ...). Columns: labels (first label
    first), fold (our split), form (``wfdb`` or ``original``).

    Examples
    --------
    >>> table = cpsc_table(load_cpsc2018("data/cpsc2018"), ["AF"])  # doctest: +SKIP
    """
    by_name = {c.abbreviation: c for c in CLASSES}
    unknown = [c for c in classes if c not in by_name]
    if unknown:
        raise ECGInputError(
            f"{', '.join(unknown)}: not a CPSC2018 class; choose among {', '.join(by_name)}."
        )
    index = index.filter(with_signal=True)
    records = index.records
    label_columns = ["First_label", "Second_label", "Third_label"]
    codes = records[label_columns]
    if classes:
        wanted = [by_name[c].code for c in classes]
        records = records[codes.isin(wanted).any(axis=1)]
        codes = records[label_columns]
    labels = codes.apply(lambda row: ", ".join(CLASSES[int(c) - 1].abbreviation for c in row if not pd.isna(c)),
                         axis=1)
    return pd.DataFrame({
        "labels": labels if len(records) else pd.Series(dtype=str),
        "fold": records["fold"],
        "form": records["form"],
    }, index=records.index.rename("record"))


def load_record(index: PTBXL | CPSC2018 | None, dataset: str, record: str) -> Recording:
    """Load a record a :class:`~mrm.app.state.ViewState` names: PTB-XL at 500 Hz where its file is present
    (else 100 Hz), CPSC2018 as published, a bundled sample by its ecg_id, synthetic by its heart rate.

    Examples
    --------
    >>> load_record(None, "synthetic", "75bpm").record_id
    '75bpm'
    >>> load_record(None, "samples", "20406").labels
    {'AFIB': 100.0}
    """
    record_id = normalise_record(dataset, record)
    if dataset == "synthetic":
        if record_id is None:
            raise ECGInputError(f"synthetic record {record!r}: name it by its heart rate, e.g. 70bpm.")
        return simulate_recording(int(record_id[:-3]))
    if dataset == "samples":
        return load_sample(record_id or record)
    if index is None:
        raise ECGInputError(f"{dataset} record {record}: the dataset was not found; set its folder in the sidebar.")
    if dataset == "ptbxl":
        if record_id is None:
            raise ECGInputError(f"PTB-XL record {record!r}: not an ecg_id; give a number from 1 to 21837.")
        ecg_id = int(record_id)
        has_500 = ecg_id in index.metadata.index and bool(index.metadata.at[ecg_id, "has_500"])
        return index.load_record(ecg_id, fs=500 if has_500 else 100)
    if dataset == "cpsc2018":
        if record_id is None:
            raise ECGInputError(f"CPSC2018 record {record!r}: not a record name; give one from A0001 to A6877.")
        return index.load_record(record_id)
    raise ECGInputError(f"dataset {dataset!r}: records of this source cannot be loaded by name; upload the file.")


def samples_table() -> pd.DataFrame:
    """One row per bundled sample ECG (:func:`mrm.data.samples.list_samples`), in the order chosen: what it
    shows, its statements, the patient, and its signal-quality notes.

    Examples
    --------
    >>> table = samples_table()
    >>> len(table), table.loc[20406, "shows"], table.loc[20406, "statements"]
    (15, 'rhythm: atrial fibrillation (AFIB)', 'AFIB 100%')
    """
    samples = list_samples()
    return pd.DataFrame({
        "shows": [s.reason for s in samples],
        "statements": [_statements_text(s.labels) for s in samples],
        "age": pd.array([round(s.age) if s.age is not None else None for s in samples], dtype="Int64"),
        "sex": [s.sex for s in samples],
        "noise": [", ".join(c.replace("_", " ") for c in s.notes) for s in samples],
    }, index=pd.Index([s.ecg_id for s in samples], name="ecg_id"))


def needs_fs(names: Sequence[str]) -> bool:
    """Whether an upload needs a sampling rate from the user (CSV and NumPy files do not carry one).

    Examples
    --------
    >>> needs_fs(["ecg.CSV"]), needs_fs(["x.hea", "x.dat"])
    (True, False)
    """
    return any(Path(name).suffix.lower() in NEEDS_FS for name in names)


def read_upload(
    files: Sequence[tuple[str, bytes]],
    *,
    fs: float | None = None,
    units: str = "mV",
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> Recording:
    """Read what was dropped on the upload box: a WFDB header with its signal file(s), or one other file.

    Parameters
    ----------
    files:
        ``(file name, content)`` pairs, as the browser sent them.
    fs, units:
        Sampling rate in Hz and units (``"mV"``, ``"uV"``) of CSV and NumPy files; ignored for files that carry
        theirs.
    max_bytes:
        Largest accepted total size.

    Returns
    -------
    Recording
        ``dataset="upload"``, ``source`` the file name (the header's for WFDB), ``record_id`` its stem.

    Examples
    --------
    >>> t = np.arange(5000) / 500
    >>> table = pd.DataFrame({lead: np.sin(2 * np.pi * 1.2 * t) for lead in ("I", "II", "III", "aVR", "aVL",
    ...                       "aVF", "V1", "V2", "V3", "V4", "V5", "V6")})
    >>> rec = read_upload([("ecg.csv", table.to_csv(index=False).encode())], fs=500)
    >>> rec.dataset, rec.record_id, rec.source, rec.fs
    ('upload', 'ecg', 'ecg.csv', 500.0)
    >>> read_upload([("a.csv", b""), ("b.csv", b"")])
    Traceback (most recent call last):
    ...
    mrm.errors.ECGInputError: a.csv, b.csv: 2 files were uploaded that are not one WFDB record; upload one \
record at a time (a .hea with its signal file, or one .mat, .csv or .npy file).
    """
    if not files:
        raise ECGInputError("upload: no file was received; drop an ECG file on the upload box.")
    names = [Path(name).name for name, _ in files]
    listing = ", ".join(names)
    if len(files) > MAX_UPLOAD_FILES:
        raise ECGInputError(
            f"{listing}: {len(files)} files were uploaded; upload one record at a time "
            f"(at most {MAX_UPLOAD_FILES} files: a .hea with its signal files)."
        )
    unsupported = [n for n in names if Path(n).suffix.lower() not in ACCEPTED_EXTENSIONS]
    if unsupported:
        raise ECGInputError(
            f"{', '.join(unsupported)}: this kind of file is not read; upload a WFDB record (.hea with its .dat "
            "or .mat), a CPSC2018 .mat, a .csv or a .npy file."
        )
    is_wfdb = any(Path(n).suffix.lower() in (".hea", ".dat") for n in names)
    if len(files) > 1 and not is_wfdb:
        raise ECGInputError(
            f"{listing}: {len(files)} files were uploaded that are not one WFDB record; upload one record at a "
            "time (a .hea with its signal file, or one .mat, .csv or .npy file)."
        )
    if is_wfdb:
        recording = read_wfdb_bytes(dict(files), max_bytes=max_bytes)
    else:
        name, data = files[0]
        recording = read_ecg(bytes(data), name=name, fs=fs, units=units, max_bytes=max_bytes)
    return replace(recording, dataset="upload")


def record_title(recording: Recording) -> str:
    """A one-line name of a record for headings: dataset, id, patient, fold, rate and length.

    Examples
    --------
    >>> record_title(simulate_recording(70))
    'Synthetic ECG 70bpm (synthetic, not a real patient) · 500 Hz, 10.0 s'
    """
    rate = f"{recording.fs:g} Hz, {recording.duration:.1f} s"
    if recording.dataset == "synthetic":
        return f"Synthetic ECG {recording.record_id} ({SYNTHETIC_LABEL}) · {rate}"
    name = {
        "ptbxl": f"PTB-XL ecg_id {int(recording.record_id)}" if recording.record_id.isdigit() else "PTB-XL",
        "cpsc2018": f"CPSC2018 {recording.record_id}",
        "upload": f"Upload {recording.record_id}",
    }.get(recording.dataset, recording.record_id)
    parts = [name]
    patient = ", ".join(p for p in (recording.sex, f"{recording.age:g} y" if recording.age is not None else None) if p)
    if patient:
        parts.append(patient)
    if recording.fold is not None:
        parts.append(f"fold {recording.fold}")
    parts.append(rate)
    return " · ".join(parts)


def describe_labels(recording: Recording, index: PTBXL | None = None) -> list[str]:
    """The record's ground truth in words: PTB-XL statements with their likelihood, CPSC2018 classes.

    Examples
    --------
    >>> rec = Recording(np.zeros((12, 5000), np.float32), 500.0, "A0001", "cpsc2018", labels={"CRBBB": None})
    >>> describe_labels(rec)
    ['CRBBB (right bundle branch block)']
    """
    if not recording.labels:
        return []
    cpsc_names = {c.ptbxl: c.name for c in CLASSES}
    out = []
    for code, likelihood in sorted(recording.labels.items(), key=lambda item: -(item[1] or 0)):
        try:
            name = index.statement_name(code) if index is not None else cpsc_names.get(code)
        except KeyError:
            name = None
        text = f"{code} ({name})" if name else code
        out.append(f"{text} {likelihood:g}%" if likelihood else text)
    return out


@dataclass(frozen=True)
class WeightsInfo:
    """A weights file found for the app, described by its card."""

    name: str
    path: Path
    task: str | None
    model: str | None
    dataset: str | None
    n_classes: int
    problem: str | None = None


def find_weights(folder: str | Path | None = None) -> list[WeightsInfo]:
    """The weights files (``*.pt``) of a folder with what their JSON cards say; a file without a card is listed
    with the problem. Default folder: :func:`mrm.shipped.default_weights_dir` (``MRM_WEIGHTS_DIR``, else
    ``./weights``, else the weights installed with the package).

    Examples
    --------
    >>> find_weights("/nonexistent")
    []
    """
    folder = default_weights_dir() if folder is None else Path(folder)
    if not folder.is_dir():
        return []
    found = []
    for path in sorted(folder.glob("*.pt")):
        card_path = path.with_suffix(".json")
        try:
            card = json.loads(card_path.read_text())
        except (OSError, ValueError) as err:
            found.append(WeightsInfo(path.stem, path, None, None, None, 0,
                                     problem=f"no readable card {card_path.name} ({type(err).__name__})"))
            continue
        model = card.get("model", {})
        found.append(WeightsInfo(
            name=str(card.get("name", path.stem)), path=path, task=card.get("task"),
            model=model.get("name") if isinstance(model, dict) else str(model),
            dataset=(card.get("training_data") or {}).get("dataset"), n_classes=len(card.get("classes", [])),
        ))
    return found


def _statements_text(codes: dict[str, float]) -> str:
    ordered = sorted(codes.items(), key=lambda item: (-item[1], item[0]))
    return ", ".join(f"{code} {value:g}%" if value else code for code, value in ordered)
