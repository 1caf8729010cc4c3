"""PTB-XL v1.0.3: the record index, its filters, the benchmark's label sets and folds, and record loading.

A PTB-XL folder holds ``ptbxl_database.csv`` (one row per record), ``scp_statements.csv`` (the 71 SCP-ECG
statements) and the signal trees ``records100/`` and ``records500/``. Records listed in the CSV whose files are
absent are counted (``n_missing``), never a crash, so a partial copy (ours holds signals for 500 of 2,992 rows at
100 Hz) is usable.

Label sets follow the PTB-XL benchmark (Strodthoff et al., IEEE JBHI 2021; ``compute_label_aggregations`` and
``select_data`` in helme/ecg_ptbxl_benchmarking ``code/utils/utils.py``):

* every statement listed in ``scp_codes`` counts, whatever its likelihood (``0.0`` means "not given" and is how
  most rhythm and form statements are coded);
* ``diagnostic`` keeps the statements with ``diagnostic == 1``; ``subdiagnostic`` and ``superdiagnostic`` map them
  to their ``diagnostic_subclass`` and ``diagnostic_class``; ``form`` and ``rhythm`` keep the statements flagged so;
  ``all`` keeps every statement;
* a class is kept when more than ``min_samples`` records carry it, ``min_samples = 0`` in every benchmark
  experiment, i.e. every class present in the records is kept (``counts[counts > min_samples]``);
* the class set is computed on all records before the fold split, so a rare class may be absent from a fold;
* records with no label of the task are dropped from that task;
* classes are sorted by code, the order of the benchmark's ``MultiLabelBinarizer``.
"""

from __future__ import annotations

import ast
import os
from collections.abc import Iterable
from dataclasses import dataclass, replace
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd

from mrm.data.labels import SPLITS, TaskLabels
from mrm.data.preprocess import resample
from mrm.data.readers import read_wfdb
from mrm.data.recording import Recording
from mrm.errors import ECGInputError

#: The label sets of the PTB-XL benchmark.
TASKS: tuple[str, ...] = ("all", "diagnostic", "subdiagnostic", "superdiagnostic", "form", "rhythm")

__all__ = ["FILE_COLUMNS", "NOISE_COLUMNS", "PTBXL", "SPLITS", "SUPERCLASSES", "TASKS", "load_ptbxl"]

#: The five diagnostic superclasses and their names.
SUPERCLASSES: dict[str, str] = {
    "NORM": "normal ECG",
    "MI": "myocardial infarction",
    "STTC": "ST/T change",
    "CD": "conduction disturbance",
    "HYP": "hypertrophy",
}

# Subclasses that are not themselves statements; named after the statements they group.
_SUBCLASS_NAMES = {
    "STTC": "ST/T change",
    "LAFB/LPFB": "left anterior or left posterior fascicular block",
    "_AVB": "AV block (first, second or third degree)",
    "ISCA": "ischemic in anterior, anterolateral, anteroseptal or lateral leads",
    "ISCI": "ischemic in inferior or inferolateral leads",
}

#: The signal-quality columns of ``ptbxl_database.csv`` (free text naming the leads affected, empty when none).
NOISE_COLUMNS: tuple[str, ...] = (
    "static_noise", "burst_noise", "baseline_drift", "electrodes_problems", "extra_beats", "pacemaker",
)

#: Sampling rates of the PTB-XL releases, and the column naming each record's files.
FILE_COLUMNS: dict[int, str] = {100: "filename_lr", 500: "filename_hr"}

_REQUIRED_COLUMNS = ("patient_id", "age", "sex", "scp_codes", "strat_fold", "filename_lr", "filename_hr")
_DOWNLOAD = "python -m mrm download ptbxl --dest data"


def _find_folder(folder: Path) -> Path:
    """The PTB-XL folder itself, also when given the data root holding it as ``ptb-xl/``."""
    if not (folder / "ptbxl_database.csv").is_file() and (folder / "ptb-xl" / "ptbxl_database.csv").is_file():
        return folder / "ptb-xl"
    return folder


def _list_signal_files(folder: Path) -> set[str]:
    """Relative paths (``records100/00000/00001_lr.hea``) of the files in the two record trees.

    One ``os.scandir`` per sub-folder (43 for full PTB-XL) instead of two stat calls per record.
    """
    names: set[str] = set()
    for tree in ("records100", "records500"):
        root = folder / tree
        if not root.is_dir():
            continue
        with os.scandir(root) as groups:
            for group in groups:
                if not group.is_dir():
                    continue
                with os.scandir(group.path) as files:
                    names.update(f"{tree}/{group.name}/{entry.name}" for entry in files)
    return names


def _parse_scp_codes(text: pd.Series, source: Path) -> pd.Series:
    parsed = []
    for ecg_id, value in text.items():
        try:
            codes = ast.literal_eval(value)
        except (ValueError, SyntaxError, TypeError):
            codes = None
        if not isinstance(codes, dict):
            raise ECGInputError(
                f"{source}: scp_codes of ecg_id {ecg_id} is not a dictionary of statements ({value!r}); "
                f"restore the file from PhysioNet with `{_DOWNLOAD}`."
            )
        parsed.append(codes)
    return pd.Series(parsed, index=text.index, name="scp_codes", dtype=object)


def _as_set(value: str | Iterable[str] | None) -> set[str] | None:
    if value is None:
        return None
    return {value} if isinstance(value, str) else set(value)


def _non_empty(column: pd.Series) -> pd.Series:
    return column.fillna("").astype(str).str.strip() != ""


@dataclass(frozen=True, eq=False)
class PTBXL:
    """An index of PTB-XL records: metadata, statements, and which signal files exist.

    Build it with :func:`load_ptbxl`; :meth:`filter` returns narrower indexes.

    Attributes
    ----------
    folder:
        The PTB-XL folder.
    metadata:
        ``ptbxl_database.csv`` indexed by ``ecg_id``, ``scp_codes`` parsed into dicts {code: likelihood}, plus
        bool columns ``has_100`` and ``has_500`` (header and data file of that rate present).
    statements:
        ``scp_statements.csv`` indexed by statement code.
    n_missing:
        Records of this selection listed in the CSV whose signal files are absent (dropped by
        ``filter(with_signal=True)``, still listed otherwise). For a fresh index: records with neither file.
    """

    folder: Path
    metadata: pd.DataFrame
    statements: pd.DataFrame
    n_missing: int

    def __len__(self) -> int:
        return len(self.metadata)

    def __repr__(self) -> str:
        return f"PTBXL({str(self.folder)!r}, {len(self)} records, {self.n_missing} missing)"

    @property
    def ecg_ids(self) -> np.ndarray:
        """The ``ecg_id`` of every record of the index, ascending."""
        return self.metadata.index.to_numpy()

    @cached_property
    def _statement_pairs(self) -> pd.DataFrame:
        """One row per (record, statement) listed in ``scp_codes``: columns ecg_id, code."""
        codes = self.metadata["scp_codes"]
        return pd.DataFrame({
            "ecg_id": np.repeat(codes.index.to_numpy(), codes.map(len).to_numpy()),
            "code": [code for statements in codes for code in statements],
        })

    def has_signal(self, fs: int = 100) -> pd.Series:
        """Whether :meth:`load_record` can read each record at ``fs`` (at 100 Hz, either file will do)."""
        if fs == 100:
            return self.metadata["has_100"] | self.metadata["has_500"]
        if fs == 500:
            return self.metadata["has_500"].copy()
        raise ECGInputError(f"PTB-XL exists at 100 Hz and 500 Hz, not at {fs} Hz; choose fs=100 or fs=500.")

    def task_classes(self, task: str) -> list[str]:
        """Every class a task can have, from the statements table (all 71, diagnostic 44, subdiagnostic 23,
        superdiagnostic 5, form 19, rhythm 12), sorted.

        Examples
        --------
        >>> index = load_ptbxl("data/ptb-xl")  # doctest: +SKIP
        >>> [len(index.task_classes(task)) for task in TASKS]  # doctest: +SKIP
        [71, 44, 23, 5, 19, 12]
        """
        return sorted(set(self._task_map(task).dropna()))

    def _task_map(self, task: str) -> pd.Series:
        """Statement code -> class of the task (NaN where the statement is not part of the task)."""
        table = self.statements
        if task == "all":
            return pd.Series(table.index, index=table.index)
        diagnostic = table["diagnostic"] == 1
        if task == "diagnostic":
            return pd.Series(table.index, index=table.index).where(diagnostic)
        if task == "subdiagnostic":
            return table["diagnostic_subclass"].where(diagnostic)
        if task == "superdiagnostic":
            return table["diagnostic_class"].where(diagnostic)
        if task in ("form", "rhythm"):
            return pd.Series(table.index, index=table.index).where(table[task] == 1)
        raise ECGInputError(f"unknown PTB-XL task {task!r}; choose one of {', '.join(TASKS)}.")

    def labels_for_task(
        self, task: str, classes: Iterable[str] | None = None, min_samples: int = 0
    ) -> TaskLabels:
        """The multi-hot labels of a benchmark task over the records of this index.

        Parameters
        ----------
        task:
            One of :data:`TASKS`.
        classes:
            Fix the columns (e.g. to a model's classes, in its order); by default the classes carried by more
            than ``min_samples`` records of this index, sorted. Records with none of the classes are dropped.
        min_samples:
            The benchmark's class filter; 0 keeps every class present.

        Returns
        -------
        TaskLabels
            ``(classes, y, ids)``: y is bool (n_records, n_classes), ids the ``ecg_id`` of each row.

        Examples
        --------
        >>> index = load_ptbxl("data/ptb-xl")  # doctest: +SKIP
        >>> classes, y, ids = index.labels_for_task("superdiagnostic")  # doctest: +SKIP
        >>> classes  # doctest: +SKIP
        ['CD', 'HYP', 'MI', 'NORM', 'STTC']
        """
        to_class = self._task_map(task)
        pairs = self._statement_pairs
        pairs = pd.DataFrame({"ecg_id": pairs["ecg_id"], "label": pairs["code"].map(to_class)}).dropna()
        pairs = pairs.drop_duplicates()
        if classes is None:
            counts = pairs["label"].value_counts()
            classes = sorted(counts.index[counts > min_samples])
        else:
            classes = list(classes)
            unknown = sorted(set(classes) - set(to_class.dropna()))
            if unknown:
                raise ECGInputError(
                    f"{', '.join(unknown)} {'is' if len(unknown) == 1 else 'are'} not a class of the PTB-XL task "
                    f"{task!r}; use the task the classes come from."
                )
        pairs = pairs[pairs["label"].isin(classes)]
        ids = self.metadata.index[self.metadata.index.isin(pairs["ecg_id"])]
        y = np.zeros((len(ids), len(classes)), dtype=bool)
        y[ids.get_indexer(pairs["ecg_id"]), pd.Index(classes).get_indexer(pairs["label"])] = True
        return TaskLabels(classes, y, ids.to_numpy())

    def statement_name(self, code: str) -> str:
        """The full name of a statement, subclass or superclass code.

        Examples
        --------
        >>> index = load_ptbxl("data/ptb-xl")  # doctest: +SKIP
        >>> index.statement_name("AFIB"), index.statement_name("MI")  # doctest: +SKIP
        ('atrial fibrillation', 'myocardial infarction')
        """
        if code in SUPERCLASSES:
            return SUPERCLASSES[code]
        if code in self.statements.index:
            return str(self.statements.at[code, "description"])
        if code in _SUBCLASS_NAMES:
            return _SUBCLASS_NAMES[code]
        raise KeyError(f"{code!r} is not a PTB-XL statement, subclass or superclass")

    def filter(
        self,
        *,
        ecg_ids: Iterable[int] | None = None,
        folds: int | Iterable[int] | None = None,
        superclass: str | Iterable[str] | None = None,
        subclass: str | Iterable[str] | None = None,
        statement: str | Iterable[str] | None = None,
        validated_by_human: bool | None = None,
        static_noise: bool | None = None,
        burst_noise: bool | None = None,
        baseline_drift: bool | None = None,
        electrodes_problems: bool | None = None,
        extra_beats: bool | None = None,
        pacemaker: bool | None = None,
        with_signal: bool = True,
        fs: int = 100,
    ) -> PTBXL:
        """A narrower index: the records meeting every condition given (``None`` = no condition).

        Parameters
        ----------
        ecg_ids:
            Keep only these records (ids not in the index are ignored).
        folds:
            ``strat_fold`` value(s), e.g. ``SPLITS["train"]``.
        superclass, subclass, statement:
            Keep records carrying any of these codes (any likelihood, as the label sets count them).
        validated_by_human:
            Keep records whose report was (True) or was not (False) validated by a cardiologist.
        static_noise, burst_noise, baseline_drift, electrodes_problems, extra_beats, pacemaker:
            True keeps records where the column notes something, False records where it is empty.
        with_signal:
            Drop records that cannot be loaded at ``fs`` (counted in ``n_missing`` of the result).
        fs:
            The rate the records are meant to be loaded at (100: either file will do; 500: the 500 Hz file).

        Examples
        --------
        >>> index = load_ptbxl("data/ptb-xl")  # doctest: +SKIP
        >>> test = index.filter(folds=SPLITS["test"], superclass="MI", static_noise=False)  # doctest: +SKIP
        """
        meta = self.metadata
        keep = pd.Series(True, index=meta.index)
        if ecg_ids is not None:
            keep &= meta.index.isin(np.asarray(list(ecg_ids), dtype=np.int64))
        if folds is not None:
            keep &= meta["strat_fold"].isin([folds] if isinstance(folds, int) else list(folds))
        for task, wanted in (("superdiagnostic", superclass), ("subdiagnostic", subclass), ("all", statement)):
            codes = _as_set(wanted)
            if codes is None:
                continue
            known = set(self._task_map(task).dropna())
            unknown = sorted(codes - known)
            if unknown:
                kind = {"superdiagnostic": "superclass", "subdiagnostic": "subclass", "all": "statement"}[task]
                raise ECGInputError(
                    f"{', '.join(unknown)}: not a PTB-XL {kind}; choose among {', '.join(sorted(known))}."
                )
            pairs = self._statement_pairs
            hit = pairs["ecg_id"][pairs["code"].map(self._task_map(task)).isin(codes)]
            keep &= meta.index.isin(hit)
        if validated_by_human is not None:
            keep &= meta["validated_by_human"].astype(bool) == validated_by_human
        noise = {
            "static_noise": static_noise, "burst_noise": burst_noise, "baseline_drift": baseline_drift,
            "electrodes_problems": electrodes_problems, "extra_beats": extra_beats, "pacemaker": pacemaker,
        }
        for column, wanted in noise.items():
            if wanted is not None:
                keep &= _non_empty(meta[column]) == wanted
        loadable = self.has_signal(fs)
        n_missing = int((keep & ~loadable).sum())
        if with_signal:
            keep &= loadable
        return replace(self, metadata=meta[keep], n_missing=n_missing)

    def load_record(self, ecg_id: int, fs: int = 100) -> Recording:
        """Read one record as a :class:`Recording` in mV with its metadata and statements.

        At 100 Hz, a record whose ``records100`` file is absent is read from ``records500`` and resampled with
        the project's anti-aliased polyphase filter (:func:`mrm.data.preprocess.resample`); its warnings say so.

        Examples
        --------
        >>> rec = load_ptbxl("data/ptb-xl").load_record(1, fs=500)  # doctest: +SKIP
        >>> rec.record_id, rec.signal.shape, rec.sex, rec.fold  # doctest: +SKIP
        ('00001', (12, 5000), 'F', 3)
        """
        ecg_id = int(ecg_id)
        if ecg_id not in self.metadata.index:
            raise ECGInputError(
                f"{self.folder}: ecg_id {ecg_id} is not among the {len(self)} records of this index; "
                "check the id (PTB-XL ids run from 1 to 21837) or the filters applied."
            )
        row = self.metadata.loc[ecg_id]
        loadable = self.has_signal(fs)
        if not loadable.at[ecg_id]:
            wanted = "records500 file" if fs == 500 else "records100 or records500 file"
            raise ECGInputError(
                f"{self.folder}: PTB-XL ecg_id {ecg_id} has no {wanted} ({row[FILE_COLUMNS[fs]]}); "
                f"download the records with `{_DOWNLOAD}`."
            )
        native = fs if row["has_500" if fs == 500 else "has_100"] else 500
        relative = row[FILE_COLUMNS[native]]
        recording = read_wfdb(self.folder / relative)
        warnings = list(recording.warnings)
        age = None if pd.isna(row["age"]) else float(row["age"])
        if age is not None and age >= 300:
            # PTB-XL codes ages above 89 as 300 (HIPAA); a 300-year-old would poison any age statistic.
            warnings.append(f"PTB-XL ecg_id {ecg_id}: age is over 89 years (coded 300 for privacy); left unknown.")
            age = None
        recording = replace(
            recording,
            dataset="ptbxl",
            record_id=f"{ecg_id:05d}",
            patient_id=None if pd.isna(row["patient_id"]) else str(int(row["patient_id"])),
            age=age,
            sex={0: "M", 1: "F"}.get(int(row["sex"])) if not pd.isna(row["sex"]) else None,
            labels=dict(row["scp_codes"]),
            fold=int(row["strat_fold"]),
            source=relative,
            warnings=warnings,
        )
        if native != fs:
            recording = replace(recording, warnings=recording.warnings + [
                f"PTB-XL ecg_id {ecg_id}: the {fs} Hz file is absent; read the {native} Hz file ({relative})."
            ])
            recording = resample(recording, fs)
        return recording


def load_ptbxl(folder: str | Path) -> PTBXL:
    """Index a PTB-XL v1.0.3 folder: metadata, statements, and which signal files exist.

    Also accepts the data root holding the folder as ``ptb-xl/``. Only the two CSV files are required; records
    without signal files are counted in ``n_missing``. About one second for the 21,799 records of PTB-XL.

    Raises
    ------
    ECGInputError
        When the folder or one of the two CSV files is missing or lacks the columns of PTB-XL v1.0.3.

    Examples
    --------
    >>> index = load_ptbxl("data/ptb-xl")  # doctest: +SKIP
    >>> len(index), index.n_missing  # doctest: +SKIP
    (2992, 0)
    """
    folder = _find_folder(Path(folder))
    if not folder.is_dir():
        raise ECGInputError(f"{folder}: no such folder; download PTB-XL with `{_DOWNLOAD}` or give its path.")
    for name in ("ptbxl_database.csv", "scp_statements.csv"):
        if not (folder / name).is_file():
            raise ECGInputError(
                f"{folder}: {name} is missing, so this is not a PTB-XL v1.0.3 folder; "
                f"download PTB-XL with `{_DOWNLOAD}` or point to the folder that holds {name}."
            )
    database = folder / "ptbxl_database.csv"
    try:
        metadata = pd.read_csv(database, index_col="ecg_id")
        statements = pd.read_csv(folder / "scp_statements.csv", index_col=0)
    except (ValueError, pd.errors.ParserError) as err:
        raise ECGInputError(
            f"{folder}: ptbxl_database.csv or scp_statements.csv cannot be read as PTB-XL tables ({err}); "
            f"restore them with `{_DOWNLOAD}`."
        ) from err
    absent = [c for c in _REQUIRED_COLUMNS if c not in metadata.columns]
    absent += [c for c in ("description", "diagnostic", "form", "rhythm", "diagnostic_class",
                           "diagnostic_subclass") if c not in statements.columns]
    if absent:
        raise ECGInputError(
            f"{folder}: the PTB-XL tables lack the column(s) {', '.join(absent)}; "
            f"restore ptbxl_database.csv and scp_statements.csv of v1.0.3 with `{_DOWNLOAD}`."
        )
    if not metadata.index.is_unique:
        repeated = metadata.index[metadata.index.duplicated()].unique()[:5].tolist()
        raise ECGInputError(
            f"{database}: ecg_id {', '.join(map(str, repeated))} appear(s) more than once; "
            f"restore the file with `{_DOWNLOAD}`."
        )
    metadata["scp_codes"] = _parse_scp_codes(metadata["scp_codes"], database)
    files = _list_signal_files(folder)
    for fs, column in FILE_COLUMNS.items():
        stems = metadata[column].astype(str)
        metadata[f"has_{fs}"] = (stems + ".hea").isin(files) & (stems + ".dat").isin(files)
    n_missing = int((~(metadata["has_100"] | metadata["has_500"])).sum())
    return PTBXL(folder=folder, metadata=metadata.sort_index(), statements=statements, n_missing=n_missing)
