"""PTB-XL index, filters, label sets, splits and record loading, on the shared 2,992-record folder.

Expected values are computed here independently with plain pandas from the two CSV files, and checked against
the facts the data README states (fold sizes, 69 of 71 statements present, 2,492 records without signals).
"""

from __future__ import annotations

import ast
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import wfdb

from mrm.data.ptbxl import SPLITS, SUPERCLASSES, TASKS, load_ptbxl
from mrm.data.recording import LEADS
from mrm.errors import ECGInputError

FOLD_SIZES = {1: 260, 2: 307, 3: 307, 4: 266, 5: 307, 6: 281, 7: 288, 8: 315, 9: 333, 10: 328}


@pytest.fixture(scope="module")
def index(ptbxl_dir: Path):
    return load_ptbxl(ptbxl_dir)


@pytest.fixture(scope="module")
def tables(ptbxl_dir: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    database = pd.read_csv(ptbxl_dir / "ptbxl_database.csv", index_col="ecg_id")
    database["scp_codes"] = database["scp_codes"].map(ast.literal_eval)
    return database, pd.read_csv(ptbxl_dir / "scp_statements.csv", index_col=0)


def plain_labels(database: pd.DataFrame, statements: pd.DataFrame, task: str) -> dict[int, set[str]]:
    """Each record's labels for a task, written out the long way (every statement counts, any likelihood)."""
    diagnostic = statements[statements["diagnostic"] == 1]
    out = {}
    for ecg_id, codes in database["scp_codes"].items():
        if task == "all":
            labels = set(codes)
        elif task == "diagnostic":
            labels = {c for c in codes if c in diagnostic.index}
        elif task == "subdiagnostic":
            labels = {diagnostic.at[c, "diagnostic_subclass"] for c in codes if c in diagnostic.index}
        elif task == "superdiagnostic":
            labels = {diagnostic.at[c, "diagnostic_class"] for c in codes if c in diagnostic.index}
        else:
            labels = {c for c in codes if c in statements.index and statements.at[c, task] == 1}
        if labels:
            out[ecg_id] = labels
    return out


def test_fold_sizes_and_splits(index, tables):
    database, _ = tables
    assert len(index) == 2992
    assert index.metadata["strat_fold"].value_counts().to_dict() == FOLD_SIZES
    assert database["strat_fold"].value_counts().to_dict() == FOLD_SIZES
    sizes = {name: len(index.filter(folds=folds, with_signal=False)) for name, folds in SPLITS.items()}
    assert sizes == {"train": 2331, "val": 333, "test": 328}
    assert len(index.filter(folds=4, with_signal=False)) == 266


def test_task_classes_of_the_statements_table(index):
    assert [len(index.task_classes(task)) for task in TASKS] == [71, 44, 23, 5, 19, 12]
    assert index.task_classes("superdiagnostic") == sorted(SUPERCLASSES)


def test_label_sets_on_all_records_match_plain_pandas(index, tables):
    database, statements = tables
    present = {}
    for task in TASKS:
        expected = plain_labels(database, statements, task)
        classes, y, ids = index.labels_for_task(task)
        assert ids.tolist() == sorted(expected)
        assert classes == sorted(set().union(*expected.values()))
        for row, ecg_id in enumerate(ids):
            assert {classes[c] for c in np.flatnonzero(y[row])} == expected[ecg_id]
        present[task] = len(classes)
    # The README's facts about the 2,992 records: 69 of 71 statements occur, every sub-/superclass, form, rhythm.
    assert present == {"all": 69, "diagnostic": 42, "subdiagnostic": 23, "superdiagnostic": 5, "form": 19,
                       "rhythm": 12}
    missing = sorted(set(index.task_classes("all")) - set(index.labels_for_task("all").classes))
    assert len(missing) == 2


@pytest.mark.parametrize("task", TASKS)
def test_label_sets_per_split_on_records_with_signals(index, tables, task):
    database, statements = tables
    present = index.filter()  # ecg_id 1-500 have signal files
    labels = present.labels_for_task(task)
    expected = {k: v for k, v in plain_labels(database, statements, task).items() if k <= 500}
    assert labels.ids.tolist() == sorted(expected)
    folds = present.metadata.loc[labels.ids, "strat_fold"].to_numpy()
    for name, split_folds in SPLITS.items():
        rows = np.isin(folds, split_folds)
        in_split = {k: v for k, v in expected.items() if database.at[k, "strat_fold"] in split_folds}
        assert rows.sum() == len(in_split)
        counts = dict(zip(labels.classes, labels.y[rows].sum(axis=0).tolist(), strict=True))
        for code in labels.classes:
            assert counts[code] == sum(code in v for v in in_split.values()), (name, code)


def test_fixed_classes_and_min_samples(index):
    rhythm = index.labels_for_task("rhythm")
    counts = rhythm.counts()
    kept = index.labels_for_task("rhythm", min_samples=10)
    assert kept.classes == [c for c in rhythm.classes if counts[c] > 10]
    assert len(kept.classes) < len(rhythm.classes)
    fixed = index.labels_for_task("rhythm", classes=["SR", "AFIB"])
    assert fixed.classes == ["SR", "AFIB"]
    assert fixed.y.any(axis=1).all()  # records with neither class are dropped
    assert fixed.y.sum(axis=0).tolist() == [counts["SR"], counts["AFIB"]]
    with pytest.raises(ECGInputError, match="NORM is not a class of the PTB-XL task 'rhythm'"):
        index.labels_for_task("rhythm", classes=["NORM"])
    with pytest.raises(ECGInputError, match="unknown PTB-XL task 'rhythms'"):
        index.labels_for_task("rhythms")


def test_filters(index, tables):
    database, statements = tables
    everything = index.filter(with_signal=False)
    assert len(everything) == 2992
    noisy = index.filter(static_noise=True, with_signal=False)
    assert len(noisy) == int(database["static_noise"].notna().sum()) == 451
    clean = index.filter(static_noise=False, with_signal=False)
    assert len(noisy) + len(clean) == 2992
    assert len(index.filter(validated_by_human=False, with_signal=False)) == 639
    assert len(index.filter(pacemaker=True, with_signal=False)) == 37
    mi_codes = set(statements.index[(statements["diagnostic"] == 1) & (statements["diagnostic_class"] == "MI")])
    expected_mi = {k for k, v in database["scp_codes"].items() if set(v) & mi_codes}
    mi = index.filter(superclass="MI", with_signal=False)
    assert set(mi.ecg_ids) == expected_mi
    afib_test = index.filter(statement="AFIB", folds=SPLITS["test"], with_signal=False)
    assert set(afib_test.ecg_ids) == {k for k, v in database["scp_codes"].items()
                                      if "AFIB" in v and database.at[k, "strat_fold"] == 10}
    avb = index.filter(subclass=["_AVB", "CLBBB"], with_signal=False)
    assert all({"1AVB", "2AVB", "3AVB", "CLBBB"} & set(codes) for codes in avb.metadata["scp_codes"])
    chosen = index.filter(ecg_ids=[3, 1, 523, 999999], with_signal=False)
    assert chosen.ecg_ids.tolist() == [1, 3, 523] and chosen.n_missing == 1
    assert index.filter(ecg_ids=[3, 1, 523]).ecg_ids.tolist() == [1, 3]
    with pytest.raises(ECGInputError, match="XYZ: not a PTB-XL superclass"):
        index.filter(superclass="XYZ")


def test_missing_files_are_counted_not_fatal(index):
    assert index.n_missing == 2492
    assert int(index.metadata["has_100"].sum()) == int(index.metadata["has_500"].sum()) == 500
    present = index.filter()
    assert (len(present), present.n_missing) == (500, 2492)
    assert present.ecg_ids.min() == 1 and present.ecg_ids.max() == 500
    test = index.filter(folds=SPLITS["test"])
    assert (len(test), test.n_missing) == (66, 262)
    listed = index.filter(folds=SPLITS["test"], with_signal=False)
    assert (len(listed), listed.n_missing) == (328, 262)


def test_statement_names(index):
    assert index.statement_name("AFIB") == "atrial fibrillation"
    assert index.statement_name("NORM") == "normal ECG"
    assert index.statement_name("HYP") == "hypertrophy"
    assert index.statement_name("_AVB").startswith("AV block")
    assert all(index.statement_name(code) for task in TASKS for code in index.task_classes(task))
    with pytest.raises(KeyError):
        index.statement_name("NOPE")


def test_load_record_at_100_and_500_hz(index, ptbxl_dir):
    low = index.load_record(1)
    assert (low.fs, low.signal.shape, low.record_id, low.dataset) == (100.0, (12, 1000), "00001", "ptbxl")
    assert (low.patient_id, low.age, low.sex, low.fold) == ("15709", 56.0, "F", 3)
    assert low.labels == {"NORM": 100.0, "LVOLT": 0.0, "SR": 0.0}
    assert low.source == "records100/00000/00001_lr" and low.warnings == []
    high = index.load_record(1, fs=500)
    assert (high.fs, high.signal.shape) == (500.0, (12, 5000))
    raw = wfdb.rdrecord(str(ptbxl_dir / "records500" / "00000" / "00001_hr"))
    assert [name.upper() for name in raw.sig_name] == [lead.upper() for lead in LEADS]
    np.testing.assert_allclose(high.signal, raw.p_signal.T, atol=1e-6)
    assert index.load_record(2).sex == "M"  # PTB-XL: 0 male, 1 female


def test_load_record_errors(index):
    with pytest.raises(ECGInputError, match=r"ecg_id 999999 is not among"):
        index.load_record(999999)
    absent = int(index.ecg_ids[index.ecg_ids > 500][0])
    with pytest.raises(ECGInputError, match=rf"ecg_id {absent} has no records100 or records500 file"):
        index.load_record(absent)
    with pytest.raises(ECGInputError, match="python -m mrm download ptbxl"):
        index.load_record(absent, fs=500)
    with pytest.raises(ECGInputError, match="not at 250 Hz"):
        index.load_record(1, fs=250)


def test_500_hz_resampled_to_100_agrees_with_the_100_hz_file(index, ptbxl_dir, tmp_path):
    # A PTB-XL folder with records500 only: every 100 Hz request falls back to the 500 Hz file.
    for name in ("ptbxl_database.csv", "scp_statements.csv"):
        (tmp_path / name).symlink_to(ptbxl_dir / name)
    (tmp_path / "records500").symlink_to(ptbxl_dir / "records500")
    only500 = load_ptbxl(tmp_path)
    assert int(only500.metadata["has_100"].sum()) == 0 and len(only500.filter()) == 500
    ours, decimated = [], []
    for ecg_id in range(1, 501, 50):
        native = index.load_record(ecg_id)
        rebuilt = only500.load_record(ecg_id)
        assert (rebuilt.fs, rebuilt.signal.shape) == (100.0, (12, 1000))
        assert rebuilt.source == f"records500/00000/{ecg_id:05d}_hr"
        assert any("resampled from 500 Hz to 100 Hz" in w for w in rebuilt.warnings)
        assert any("100 Hz file is absent" in w for w in rebuilt.warnings)
        ours.append(agreement(native.signal, rebuilt.signal))
        decimated.append(agreement(native.signal, index.load_record(ecg_id, fs=500).signal[:, ::5]))
    correlations, rms = np.concatenate([c for c, _ in ours]), np.concatenate([r for _, r in ours])
    # Measured: median 0.995, min 0.987, 94% of leads above 0.99; RMS median 0.015 mV, max 0.057 mV.
    assert np.median(correlations) > 0.99 and (correlations > 0.99).mean() >= 0.9 and correlations.min() > 0.98
    assert np.median(rms) < 0.03 and rms.max() < 0.08  # mV
    # The criterion has teeth: keeping every 5th sample without an anti-aliasing filter fails it (67%, 0.967).
    plain = np.concatenate([c for c, _ in decimated])
    assert (plain > 0.99).mean() < 0.9 and plain.min() < 0.98


def agreement(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-lead correlation and RMS difference (mV) of two 100 Hz records over their inner 9.5 s.

    PTB-XL's own 100 Hz files differ from their 500 Hz files in the first and last tenths of a second (ecg_id 2
    holds a beat in its last 0.1 s at 100 Hz only), so the first and last 0.25 s are left out.
    """
    a, b = a[:, 25:-25], b[:, 25:-25]
    correlation = np.array([np.corrcoef(a[lead], b[lead])[0, 1] for lead in range(12)])
    return correlation, np.sqrt(((a - b) ** 2).mean(axis=1))


def test_load_ptbxl_boundary_errors(tmp_path, ptbxl_dir):
    with pytest.raises(ECGInputError, match="no such folder"):
        load_ptbxl(tmp_path / "absent")
    with pytest.raises(ECGInputError, match=r"ptbxl_database\.csv is missing.*python -m mrm download ptbxl"):
        load_ptbxl(tmp_path)
    shutil.copy(ptbxl_dir / "ptbxl_database.csv", tmp_path)
    with pytest.raises(ECGInputError, match=r"scp_statements\.csv is missing"):
        load_ptbxl(tmp_path)
    shutil.copy(ptbxl_dir / "scp_statements.csv", tmp_path)
    assert len(load_ptbxl(tmp_path)) == 2992 and load_ptbxl(tmp_path).n_missing == 2992
    database = pd.read_csv(ptbxl_dir / "ptbxl_database.csv")
    broken = database.copy()
    broken.loc[3, "scp_codes"] = "{'NORM': 100.0"
    broken.to_csv(tmp_path / "ptbxl_database.csv", index=False)
    with pytest.raises(ECGInputError, match=r"scp_codes of ecg_id 4 is not a dictionary"):
        load_ptbxl(tmp_path)
    pd.concat([database, database.head(1)]).to_csv(tmp_path / "ptbxl_database.csv", index=False)
    with pytest.raises(ECGInputError, match=r"ecg_id 1 appear\(s\) more than once"):
        load_ptbxl(tmp_path)
    database.drop(columns="strat_fold").to_csv(tmp_path / "ptbxl_database.csv", index=False)
    with pytest.raises(ECGInputError, match="lack the column.*strat_fold"):
        load_ptbxl(tmp_path)


def test_data_root_is_accepted(ptbxl_dir):
    assert load_ptbxl(ptbxl_dir.parent).folder == ptbxl_dir


def test_full_size_metadata_indexes(tmp_path, ptbxl_dir):
    # 21,799 rows, the size of the full PTB-XL, built from the shared rows with fresh ecg_ids.
    database = pd.read_csv(ptbxl_dir / "ptbxl_database.csv")
    copies = [database.assign(ecg_id=database["ecg_id"] + 30000 * k) for k in range(8)]
    pd.concat(copies).head(21799).to_csv(tmp_path / "ptbxl_database.csv", index=False)
    shutil.copy(ptbxl_dir / "scp_statements.csv", tmp_path)
    big = load_ptbxl(tmp_path)
    assert len(big) == 21799 and big.n_missing == 21799
