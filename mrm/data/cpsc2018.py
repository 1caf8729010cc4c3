"""CPSC2018 (China Physiological Signal Challenge 2018): labels, our 10-fold split, and record loading.

A CPSC2018 folder holds ``REFERENCE.csv`` (Recording, First_label, Second_label, Third_label; codes 1-9) and the
signals in either published form, anywhere below it: the challenge's original MATLAB files (``A0001.mat``, a struct
``ECG`` with sex, age and data, no header) or the PhysioNet/CinC 2020 WFDB copy (``A0001.hea`` + ``A0001.mat``,
e.g. in ``g1``..``g7`` sub-folders). The folder is searched once; records without signals are counted
(``n_missing``), never a crash. Labels always come from ``REFERENCE.csv``, not from the headers' ``#Dx`` lines.

The challenge scores one predicted class per record, correct when it is any of the record's labels and otherwise
booked against the first label; the first label is therefore kept (:attr:`CPSC2018.first_label`).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd

from mrm.data.labels import SPLITS, TaskLabels, stratify_folds
from mrm.data.readers import read_cpsc_mat, read_wfdb
from mrm.data.recording import Recording
from mrm.errors import ECGInputError

__all__ = [
    "CLASSES", "CPSC2018", "CPSCClass", "FOLDS_FILE", "SPLITS", "load_cpsc2018", "make_cpsc2018_folds",
]


@dataclass(frozen=True)
class CPSCClass:
    """One of the nine CPSC2018 classes.

    Attributes
    ----------
    code:
        The code in ``REFERENCE.csv`` (1-9).
    abbreviation:
        The challenge's name ("Normal", "AF", "I-AVB", ...).
    name:
        Full name.
    ptbxl:
        The PTB-XL statement it corresponds to (the PTB-XL benchmark's ICBEB mapping, with PTB-XL's own ``PVC``
        where the benchmark wrote ``VPC``, which is no PTB-XL statement).
    snomed:
        SNOMED CT code used for it by the PhysioNet/CinC Challenges 2020/2021.
    """

    code: int
    abbreviation: str
    name: str
    ptbxl: str
    snomed: str


#: The nine classes in code order. SNOMED CT codes from the CinC 2020/2021 ``dx_mapping_scored.csv`` and
#: ``dx_mapping_unscored.csv``, whose CPSC column counts (918, 1221, 722, 236, 1857, 616, 700, 869, 220) equal the
#: records carrying each class in the official ``REFERENCE.csv``; the ``#Dx`` lines of the shared WFDB copies
#: (A0689, A1041, A2712, A5215, A5432) agree for AF, LBBB, RBBB and PAC.
CLASSES: tuple[CPSCClass, ...] = (
    CPSCClass(1, "Normal", "normal ECG (sinus rhythm)", "NORM", "426783006"),
    CPSCClass(2, "AF", "atrial fibrillation", "AFIB", "164889003"),
    CPSCClass(3, "I-AVB", "first-degree atrioventricular block", "1AVB", "270492004"),
    CPSCClass(4, "LBBB", "left bundle branch block", "CLBBB", "164909002"),
    CPSCClass(5, "RBBB", "right bundle branch block", "CRBBB", "59118001"),
    CPSCClass(6, "PAC", "premature atrial contraction", "PAC", "284470004"),
    CPSCClass(7, "PVC", "premature ventricular contraction", "PVC", "164884008"),
    CPSCClass(8, "STD", "ST-segment depression", "STD_", "429622005"),
    CPSCClass(9, "STE", "ST-segment elevation", "STE_", "164931005"),
)

#: Our seeded, stratified 10-fold split of the 6,877 records (columns Recording, fold), made by
#: ``make_cpsc2018_folds(pd.read_csv("REFERENCE.csv"), seed=0)``.
FOLDS_FILE = Path(__file__).with_name("splits") / "cpsc2018_folds.csv"

_LABEL_COLUMNS = ("First_label", "Second_label", "Third_label")
_DOWNLOAD = "python -m mrm download cpsc2018 --dest data"

# A copy of REFERENCE.csv in circulation (Tempelx/ECG_gender, the one in our shared data) codes these 18 Normal
# records 10, a code CPSC2018 does not define; the official file codes them 1, and only with them does Normal
# reach the 918 records of the challenge paper and of the CinC 2020 CPSC counts.
_NORMAL_CODED_10 = frozenset({
    "A0716", "A0945", "A1012", "A1301", "A2495", "A3263", "A3816", "A3867", "A4175",
    "A4351", "A4596", "A4832", "A5114", "A5163", "A5294", "A6485", "A6565", "A6716",
})


def _clean_reference(table: pd.DataFrame, source: str) -> tuple[pd.DataFrame, list[str]]:
    """Validate a REFERENCE table; return it indexed by Recording (sorted), codes as Int64, and warnings."""
    absent = [c for c in ("Recording", *_LABEL_COLUMNS) if c not in table.columns]
    if absent:
        raise ECGInputError(
            f"{source}: column(s) {', '.join(absent)} missing; CPSC2018's REFERENCE.csv has the columns "
            "Recording, First_label, Second_label, Third_label."
        )
    table = table[["Recording", *_LABEL_COLUMNS]].copy()
    table["Recording"] = table["Recording"].astype(str).str.strip()
    repeated = table["Recording"][table["Recording"].duplicated()].unique()
    if len(repeated):
        raise ECGInputError(
            f"{source}: record(s) {', '.join(repeated[:5])} are listed more than once; keep one row per record."
        )
    table = table.set_index("Recording").sort_index()
    warnings = []
    recoded = table.index[(table["First_label"] == 10) & table.index.isin(_NORMAL_CODED_10)]
    if len(recoded):
        table.loc[recoded, "First_label"] = 1
        warnings.append(
            f"{source}: {len(recoded)} records ({', '.join(recoded[:3])}, ...) carry code 10, which CPSC2018 does "
            "not define; the official REFERENCE.csv codes them 1 (Normal), as read here."
        )
    codes = table[list(_LABEL_COLUMNS)].apply(pd.to_numeric, errors="coerce")
    valid = codes.isna() | codes.isin(range(1, 10))
    first_missing = codes["First_label"].isna()
    if not valid.all().all() or first_missing.any():
        bad = table.index[~valid.all(axis=1) | first_missing][:5]
        raise ECGInputError(
            f"{source}: record(s) {', '.join(bad)} have a missing first label or a label outside the CPSC2018 "
            "codes 1-9; restore the official REFERENCE.csv."
        )
    return codes.astype("Int64"), warnings


def _label_matrix(reference: pd.DataFrame) -> np.ndarray:
    """bool (n_records, 9): column c-1 is set when code c is any of a record's labels."""
    codes = reference[list(_LABEL_COLUMNS)].to_numpy(dtype=float, na_value=np.nan)
    return np.stack([(codes == c.code).any(axis=1) for c in CLASSES], axis=1)


def make_cpsc2018_folds(reference: pd.DataFrame, seed: int = 0) -> pd.DataFrame:
    """Split CPSC2018 into 10 folds stratified on all labels and on the first label.

    Iterative stratification (Sechidis et al. 2011; :func:`mrm.data.labels.stratify_folds`, the method behind
    PTB-XL's ``strat_fold`` and the benchmark's ICBEB folds) over 18 columns: the nine multi-hot labels, so that
    every class, including the rare second labels (PVC, STD, STE), keeps its share in each fold for the
    multi-label AUC; and the nine one-hot first labels, so that the challenge score, which books errors against
    the first label, sees the same class mix in every fold. ``StratifiedKFold`` on the first label alone would
    leave the 477 second and third labels to chance. Folds 1-8 train, 9 validation, 10 test (:data:`SPLITS`).
    CPSC2018 gives no patient identifiers, so records cannot be grouped by patient.

    Parameters
    ----------
    reference:
        The REFERENCE table as read by ``pd.read_csv`` (Recording, First_label, Second_label, Third_label).
    seed:
        Seed of the stratification's tie-breaking.

    Returns
    -------
    pd.DataFrame
        Columns Recording and fold (1-10), sorted by Recording: the content of :data:`FOLDS_FILE`.

    Examples
    --------
    >>> reference = pd.DataFrame({"Recording": [f"A{i:04d}" for i in range(1, 41)],
    ...                           "First_label": [1, 2, 3, 5] * 10, "Second_label": None, "Third_label": None})
    >>> folds = make_cpsc2018_folds(reference)
    >>> folds["fold"].value_counts().sort_index().tolist()
    [4, 4, 4, 4, 4, 4, 4, 4, 4, 4]
    """
    table, _ = _clean_reference(reference, "REFERENCE.csv")
    multi_hot = _label_matrix(table)
    first = table["First_label"].to_numpy(dtype=int)
    one_hot = first[:, None] == np.array([c.code for c in CLASSES])[None, :]
    folds = stratify_folds(np.hstack([multi_hot, one_hot]), n_folds=10, seed=seed)
    return pd.DataFrame({"Recording": table.index.to_numpy(), "fold": folds})


def _find_signals(folder: Path) -> tuple[dict[str, Path], dict[str, str]]:
    """Walk the folder once: record -> path of its signal file, and record -> form ("wfdb" or "original")."""
    headers: dict[str, Path] = {}
    mats: dict[str, Path] = {}
    for root, dirs, files in os.walk(folder):
        dirs.sort()
        names = set(files)
        for name in sorted(files):
            stem, ext = os.path.splitext(name)
            if ext == ".hea" and f"{stem}.mat" in names:
                headers.setdefault(stem, Path(root) / name)
            elif ext == ".mat" and f"{stem}.hea" not in names:
                mats.setdefault(stem, Path(root) / name)
    paths = {**mats, **headers}  # a WFDB copy wins over an original file of the same record
    forms = {stem: ("wfdb" if stem in headers else "original") for stem in paths}
    return paths, forms


@dataclass(frozen=True, eq=False)
class CPSC2018:
    """An index of CPSC2018 records: labels, our folds, and where each record's signal is.

    Build it with :func:`load_cpsc2018`; :meth:`filter` returns narrower indexes.

    Attributes
    ----------
    folder:
        The CPSC2018 folder.
    records:
        Indexed by Recording (sorted): ``First_label``, ``Second_label``, ``Third_label`` (codes 1-9, Int64 with
        NA), ``fold`` (1-10, NA for a record outside our fold file), ``path`` (signal file or None) and
        ``form`` ("wfdb", "original" or None).
    n_missing:
        Records of this selection without a signal file (dropped by ``filter(with_signal=True)``).
    warnings:
        What loading noticed and corrected, one sentence each.
    """

    folder: Path
    records: pd.DataFrame
    n_missing: int
    warnings: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.records)

    def __repr__(self) -> str:
        return f"CPSC2018({str(self.folder)!r}, {len(self)} records, {self.n_missing} missing)"

    @property
    def record_ids(self) -> np.ndarray:
        return self.records.index.to_numpy()

    @property
    def first_label(self) -> np.ndarray:
        """Each record's first label as its REFERENCE code (1-9); the column of ``labels().y`` is code - 1."""
        return self.records["First_label"].to_numpy(dtype=int)

    def labels(self) -> TaskLabels:
        """The multi-hot labels: classes are the PTB-XL codes of :data:`CLASSES` in code order.

        Examples
        --------
        >>> index = load_cpsc2018("data/cpsc2018")  # doctest: +SKIP
        >>> classes, y, ids = index.labels()  # doctest: +SKIP
        >>> classes, y.shape  # doctest: +SKIP
        (['NORM', 'AFIB', '1AVB', 'CLBBB', 'CRBBB', 'PAC', 'PVC', 'STD_', 'STE_'], (6877, 9))
        """
        return TaskLabels([c.ptbxl for c in CLASSES], _label_matrix(self.records), self.record_ids)

    def filter(self, *, folds: int | Iterable[int] | None = None, with_signal: bool = True) -> CPSC2018:
        """A narrower index: the records of ``folds`` (e.g. ``SPLITS["test"]``), with a signal file if asked.

        Examples
        --------
        >>> test = load_cpsc2018("data/cpsc2018").filter(folds=SPLITS["test"])  # doctest: +SKIP
        """
        records = self.records
        keep = pd.Series(True, index=records.index)
        if folds is not None:
            keep &= records["fold"].isin([folds] if isinstance(folds, int) else list(folds)).fillna(False)
        present = records["path"].notna()
        n_missing = int((keep & ~present).sum())
        if with_signal:
            keep &= present
        return replace(self, records=records[keep.astype(bool)], n_missing=n_missing)

    def load_record(self, record_id: str) -> Recording:
        """Read one record (either form) as a :class:`Recording` with its labels mapped to PTB-XL codes.

        ``labels`` is ``{ptbxl_code: None}`` (CPSC2018 gives no likelihoods), first label first; age and sex
        come from the file when it holds them.

        Examples
        --------
        >>> rec = load_cpsc2018("data/cpsc2018").load_record("A0001")  # doctest: +SKIP
        >>> rec.fs, rec.labels  # doctest: +SKIP
        (500.0, {'CRBBB': None})
        """
        record_id = str(record_id).strip()
        if record_id not in self.records.index:
            raise ECGInputError(
                f"{self.folder}: record {record_id} is not among the {len(self)} records of this index; "
                "CPSC2018 records are named A0001 to A6877."
            )
        row = self.records.loc[record_id]
        if row["path"] is None:
            raise ECGInputError(
                f"{self.folder}: no signal file of CPSC2018 record {record_id} was found below this folder; "
                f"download the records with `{_DOWNLOAD}`."
            )
        path = Path(row["path"])
        recording = read_wfdb(path) if row["form"] == "wfdb" else read_cpsc_mat(path)
        codes = [int(row[c]) for c in _LABEL_COLUMNS if not pd.isna(row[c])]
        return replace(
            recording,
            dataset="cpsc2018",
            record_id=record_id,
            labels={CLASSES[code - 1].ptbxl: None for code in codes},
            fold=None if pd.isna(row["fold"]) else int(row["fold"]),
            source=str(path.relative_to(self.folder)),
        )


def _find_folder(folder: Path) -> Path:
    """The CPSC2018 folder itself, also when given the data root holding it as ``cpsc2018/``."""
    if not (folder / "REFERENCE.csv").is_file() and (folder / "cpsc2018" / "REFERENCE.csv").is_file():
        return folder / "cpsc2018"
    return folder


def load_cpsc2018(folder: str | Path, folds_file: str | Path = FOLDS_FILE) -> CPSC2018:
    """Index a CPSC2018 folder: REFERENCE.csv labels, our folds, and the signal files found below it.

    Also accepts the data root holding the folder as ``cpsc2018/``.

    Raises
    ------
    ECGInputError
        When the folder or its REFERENCE.csv is missing or malformed.

    Examples
    --------
    >>> index = load_cpsc2018("data/cpsc2018")  # doctest: +SKIP
    >>> len(index), index.labels().y.sum(axis=0).tolist()  # doctest: +SKIP
    (6877, [918, 1221, 722, 236, 1857, 616, 700, 869, 220])
    """
    folder = _find_folder(Path(folder))
    if not folder.is_dir():
        raise ECGInputError(f"{folder}: no such folder; download CPSC2018 with `{_DOWNLOAD}` or give its path.")
    reference_file = folder / "REFERENCE.csv"
    if not reference_file.is_file():
        raise ECGInputError(
            f"{folder}: REFERENCE.csv is missing, so the records have no labels; "
            f"download CPSC2018 with `{_DOWNLOAD}` or point to the folder that holds REFERENCE.csv."
        )
    try:
        raw = pd.read_csv(reference_file, dtype={"Recording": str})
    except (ValueError, pd.errors.ParserError) as err:
        raise ECGInputError(
            f"{reference_file}: not a readable CSV table ({err}); restore it with `{_DOWNLOAD}`."
        ) from err
    records, warnings = _clean_reference(raw, str(reference_file))
    folds = pd.read_csv(folds_file, dtype={"Recording": str}).set_index("Recording")["fold"]
    records["fold"] = folds.reindex(records.index).astype("Int64")
    paths, forms = _find_signals(folder)
    records["path"] = pd.Series({r: str(p) for r, p in paths.items()}, dtype=object).reindex(records.index)
    records["path"] = records["path"].astype(object).where(records["path"].notna(), None)
    records["form"] = pd.Series(forms, dtype=object).reindex(records.index)
    records["form"] = records["form"].astype(object).where(records["form"].notna(), None)
    n_missing = int(records["path"].isna().sum())
    return CPSC2018(folder=folder, records=records, n_missing=n_missing, warnings=warnings)
