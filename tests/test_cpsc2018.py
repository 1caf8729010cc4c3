"""CPSC2018 labels, classes, fold file and record loading, on the shared folder (labels of 6,877, 25 signals)."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mrm.data.cpsc2018 import CLASSES, FOLDS_FILE, SPLITS, load_cpsc2018, make_cpsc2018_folds
from mrm.data.labels import stratify_folds
from mrm.errors import ECGInputError

# Records carrying each class in the official REFERENCE.csv: the CPSC column of the CinC 2020/2021
# dx_mapping files, an independent source.
CINC_COUNTS = [918, 1221, 722, 236, 1857, 616, 700, 869, 220]
SHARED_RECORDS = [f"A{i:04d}" for i in range(1, 11)] + ["A0689", "A1041"] + [f"A{i}" for i in range(1980, 1990)] \
    + ["A2712", "A5215", "A5432"]


@pytest.fixture(scope="module")
def index(cpsc_dir: Path):
    return load_cpsc2018(cpsc_dir)


@pytest.fixture(scope="module")
def reference(cpsc_dir: Path) -> pd.DataFrame:
    return pd.read_csv(cpsc_dir / "REFERENCE.csv")


def test_classes_table():
    assert [c.code for c in CLASSES] == list(range(1, 10))
    assert [c.abbreviation for c in CLASSES] == ["Normal", "AF", "I-AVB", "LBBB", "RBBB", "PAC", "PVC", "STD", "STE"]
    assert [c.ptbxl for c in CLASSES] == ["NORM", "AFIB", "1AVB", "CLBBB", "CRBBB", "PAC", "PVC", "STD_", "STE_"]
    assert [c.snomed for c in CLASSES] == ["426783006", "164889003", "270492004", "164909002", "59118001",
                                           "284470004", "164884008", "429622005", "164931005"]


def test_snomed_codes_agree_with_the_dx_lines_of_the_wfdb_copies(index, cpsc_dir):
    by_snomed = {c.snomed: c.code for c in CLASSES}
    checked = 0
    for header in sorted((cpsc_dir / "wfdb").glob("*.hea")):
        dx = [line.split(":", 1)[1].strip() for line in header.read_text().splitlines() if line.startswith("#Dx")]
        if not dx or not dx[0]:
            continue
        codes = {by_snomed[s] for s in dx[0].split(",")}
        row = index.records.loc[header.stem]
        assert codes == {int(row[c]) for c in ("First_label", "Second_label", "Third_label") if not pd.isna(row[c])}
        checked += 1
    assert checked == 5


def test_label_counts_match_reference_and_cinc(index, reference):
    assert len(index) == 6877
    classes, y, ids = index.labels()
    assert classes == [c.ptbxl for c in CLASSES] and y.shape == (6877, 9) and y.dtype == bool
    assert ids.tolist() == sorted(reference["Recording"])
    # Independently from the raw file: the 18 records the shared copy codes 10 are Normal in the official one.
    raw = reference.set_index("Recording").sort_index()
    raw.loc[raw["First_label"] == 10, "First_label"] = 1
    labels = raw[["First_label", "Second_label", "Third_label"]]
    expected = [int((labels == code).any(axis=1).sum()) for code in range(1, 10)]
    assert y.sum(axis=0).tolist() == expected == CINC_COUNTS
    assert np.bincount(index.first_label, minlength=10)[1:].tolist() == [
        int((labels["First_label"] == code).sum()) for code in range(1, 10)
    ] == [918, 1098, 704, 207, 1695, 574, 653, 826, 202]
    assert (y.sum(axis=1) >= 1).all() and int((y.sum(axis=1) > 1).sum()) == 476  # A0953 lists PAC twice
    assert y[np.arange(len(y)), index.first_label - 1].all()
    assert len(index.warnings) == 1 and "18 records" in index.warnings[0] and "code 10" in index.warnings[0]


def test_bad_reference_codes_are_refused(tmp_path, reference):
    bad = reference.copy()
    bad.loc[bad["Recording"] == "A0001", "Second_label"] = 11
    bad.to_csv(tmp_path / "REFERENCE.csv", index=False)
    with pytest.raises(ECGInputError, match=r"A0001.*outside the CPSC2018 codes 1-9"):
        load_cpsc2018(tmp_path)
    bad = reference.copy()
    bad.loc[bad["Recording"] == "A0002", "First_label"] = 10  # code 10 on a record not known to be Normal
    bad.to_csv(tmp_path / "REFERENCE.csv", index=False)
    with pytest.raises(ECGInputError, match="A0002"):
        load_cpsc2018(tmp_path)
    pd.concat([reference, reference.head(1)]).to_csv(tmp_path / "REFERENCE.csv", index=False)
    with pytest.raises(ECGInputError, match="A0001 are listed more than once"):
        load_cpsc2018(tmp_path)
    reference.drop(columns="Third_label").to_csv(tmp_path / "REFERENCE.csv", index=False)
    with pytest.raises(ECGInputError, match="Third_label missing"):
        load_cpsc2018(tmp_path)
    (tmp_path / "empty").mkdir()
    with pytest.raises(ECGInputError, match=r"REFERENCE\.csv is missing.*python -m mrm download cpsc2018"):
        load_cpsc2018(tmp_path / "empty")
    with pytest.raises(ECGInputError, match="no such folder"):
        load_cpsc2018(tmp_path / "absent")


def test_signals_found_in_both_forms_and_missing_counted(index):
    present = index.filter()
    assert present.record_ids.tolist() == sorted(SHARED_RECORDS)
    assert (index.n_missing, present.n_missing) == (6852, 6852)
    assert present.records["form"].value_counts().to_dict() == {"wfdb": 15, "original": 10}
    assert set(present.records.index[present.records["form"] == "original"]) == {f"A{i}" for i in range(1980, 1990)}
    assert len(index.filter(with_signal=False)) == 6877


def test_the_25_records_load(index, cpsc_dir):
    present = index.filter()
    durations = []
    for record_id in present.record_ids:
        rec = present.load_record(record_id)
        row = present.records.loc[record_id]
        assert (rec.dataset, rec.record_id, rec.fs, rec.signal.shape[0]) == ("cpsc2018", record_id, 500.0, 12)
        assert rec.signal.dtype == np.float32 and np.isfinite(rec.signal).all()
        codes = [int(row[c]) for c in ("First_label", "Second_label", "Third_label") if not pd.isna(row[c])]
        assert list(rec.labels) == [CLASSES[c - 1].ptbxl for c in codes]
        assert all(v is None for v in rec.labels.values())
        assert rec.fold == int(row["fold"]) and 1 <= rec.fold <= 10
        assert rec.age is not None and rec.sex in ("M", "F")
        assert (cpsc_dir / rec.source).is_file()
        durations.append(rec.duration)
    assert 10.0 <= min(durations) and max(durations) < 55.0
    assert round(max(durations), 1) == 54.3  # A1988
    first = present.load_record("A1041")
    assert first.labels == {"CLBBB": None, "AFIB": None} and (first.age, first.sex) == (66.0, "M")
    assert present.load_record("A1980").labels == {"PAC": None}


def test_load_record_errors(index):
    with pytest.raises(ECGInputError, match="record A9999 is not among"):
        index.load_record("A9999")
    with pytest.raises(ECGInputError, match=r"no signal file of CPSC2018 record A0011.*python -m mrm download"):
        index.load_record("A0011")


def test_recursive_search_and_data_root(tmp_path, cpsc_dir):
    # The PhysioNet/CinC 2020 tree keeps the WFDB copies in g1..g7 sub-folders.
    root = tmp_path / "data"
    folder = root / "cpsc2018"
    (folder / "training" / "g1").mkdir(parents=True)
    shutil.copy(cpsc_dir / "REFERENCE.csv", folder)
    for ext in (".hea", ".mat"):
        shutil.copy(cpsc_dir / "wfdb" / f"A0003{ext}", folder / "training" / "g1")
    shutil.copy(cpsc_dir / "original" / "A1982.mat", folder)
    (folder / "training" / "g1" / "A0004.hea").write_text((cpsc_dir / "wfdb" / "A0004.hea").read_text())
    index = load_cpsc2018(root)
    assert index.folder == folder
    present = index.filter()
    assert present.records["form"].to_dict() == {"A0003": "wfdb", "A1982": "original"}
    assert present.n_missing == 6875  # a header without its .mat is no signal
    assert present.load_record("A0003").source == "training/g1/A0003.hea"


def test_filter_by_split(index):
    folds = pd.read_csv(FOLDS_FILE).set_index("Recording")["fold"]
    test = index.filter(folds=SPLITS["test"], with_signal=False)
    assert set(test.record_ids) == set(folds.index[folds == 10])
    assert len(index.filter(folds=SPLITS["train"], with_signal=False)) == int(folds.isin(range(1, 9)).sum())
    present_test = index.filter(folds=10)
    assert present_test.record_ids.tolist() == ["A0007"] and present_test.n_missing == len(test) - 1


def test_fold_file_is_what_the_function_makes(reference):
    stored = pd.read_csv(FOLDS_FILE, dtype={"Recording": str})
    made = make_cpsc2018_folds(reference, seed=0)
    pd.testing.assert_frame_equal(made, stored)
    assert not make_cpsc2018_folds(reference, seed=1)["fold"].equals(stored["fold"])  # the seed matters
    shuffled = reference.sample(frac=1.0, random_state=3)
    pd.testing.assert_frame_equal(make_cpsc2018_folds(shuffled, seed=0), stored)  # row order does not


def test_folds_keep_class_proportions(index):
    folds = pd.read_csv(FOLDS_FILE).set_index("Recording")["fold"].reindex(index.record_ids).to_numpy()
    sizes = np.bincount(folds)[1:]
    assert len(sizes) == 10 and sizes.min() >= 680 and sizes.max() <= 695
    y = index.labels().y
    first = np.eye(9, dtype=bool)[index.first_label - 1]
    for fold in range(1, 11):
        rows = folds == fold
        # Measured: within 0.16 percentage points for every class, 0.23 for first labels.
        assert np.abs(y[rows].mean(axis=0) - y.mean(axis=0)).max() < 0.005
        assert np.abs(first[rows].mean(axis=0) - first.mean(axis=0)).max() < 0.005


def test_stratify_folds_balances_a_rare_label():
    rng = np.random.default_rng(5)
    y = rng.random((1000, 4)) < np.array([0.5, 0.1, 0.02, 0.3])
    folds = stratify_folds(y, n_folds=10, seed=0)
    per_fold = np.array([y[folds == f].sum(axis=0) for f in range(1, 11)])
    assert (per_fold.max(axis=0) - per_fold.min(axis=0) <= 1).all()
    assert np.array_equal(folds, stratify_folds(y, n_folds=10, seed=0))
