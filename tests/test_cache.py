"""The training cache (`mrm prepare`) on the shared PTB-XL and CPSC2018 folders.

Expected values come from the files themselves (the PTB-XL CSV and the signal files present, WFDB headers and
MATLAB files of CPSC2018), not from the cache code: 500 PTB-XL records with signals (ecg_id 1-500), 2,492 listed
without, 25 CPSC2018 records of 10-54 s at 500 Hz.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.io
import scipy.signal
import wfdb

from mrm.cli import main
from mrm.data.cache import SignalCache, prepare_cache, write_cache
from mrm.data.cpsc2018 import load_cpsc2018
from mrm.data.ptbxl import load_ptbxl
from mrm.data.recording import LEADS
from mrm.errors import ECGInputError


@pytest.fixture(scope="module")
def ptbxl_expected(ptbxl_dir: Path) -> pd.DataFrame:
    """The CSV rows of the records whose 100 Hz files are present, found with plain pandas and a file listing."""
    database = pd.read_csv(ptbxl_dir / "ptbxl_database.csv", index_col="ecg_id")
    present = database["filename_lr"].map(lambda name: (ptbxl_dir / f"{name}.dat").exists())
    return database[present]


def test_ptbxl_cache_counts(ptbxl_cache: Path, ptbxl_expected: pd.DataFrame):
    cache = SignalCache.open(ptbxl_cache)
    assert len(cache) == len(ptbxl_expected) == 500
    assert cache.meta["n_records"] == 500
    assert cache.meta["n_listed_without_signal"] == 2992 - 500
    assert cache.meta["n_skipped"] == 0 and cache.meta["skipped"] == []
    assert cache.meta["dataset"] == "ptbxl" and cache.fs == 100.0
    assert cache.meta["leads"] == list(LEADS) and cache.meta["units"] == "mV"
    assert cache.index["record_id"].astype(int).tolist() == ptbxl_expected.index.tolist()
    assert cache.index["fold"].tolist() == ptbxl_expected["strat_fold"].tolist()
    folds = cache.index["fold"].value_counts()
    assert folds[folds.index <= 8].sum() == 353 and folds[9] == 81 and folds[10] == 66


def test_ptbxl_cache_index_is_consistent(ptbxl_cache: Path):
    cache = SignalCache.open(ptbxl_cache)
    lengths = cache.index["length"].to_numpy()
    offsets = cache.index["offset"].to_numpy()
    assert (lengths == 1000).all()  # 10 s at 100 Hz
    assert offsets[0] == 0
    np.testing.assert_array_equal(offsets[1:], np.cumsum(lengths)[:-1])
    assert cache.signals.shape == (lengths.sum(), 12) == (cache.meta["total_samples"], 12)
    assert cache.signals.dtype == np.float32
    assert isinstance(cache.signals, np.memmap)  # memory-mapped unless asked to load
    assert not isinstance(SignalCache.open(ptbxl_cache, in_memory=True).signals, np.memmap)


@pytest.mark.parametrize("ecg_id", [1, 137, 500])
def test_ptbxl_cache_signals_equal_the_reader(ptbxl_cache: Path, ptbxl_dir: Path, ecg_id: int):
    cache = SignalCache.open(ptbxl_cache)
    row = int(np.flatnonzero(cache.index["record_id"].astype(int) == ecg_id)[0])
    expected = load_ptbxl(ptbxl_dir).load_record(ecg_id, fs=100).signal
    got = cache.signal(row)
    assert got.shape == (12, 1000) and got.flags["C_CONTIGUOUS"]
    np.testing.assert_array_equal(got, expected)
    # and the reader itself agrees with wfdb's physical values of the 100 Hz file (leads in LEADS order)
    record = wfdb.rdrecord(str(ptbxl_dir / f"records100/00000/{ecg_id:05d}_lr"))
    names = [n.upper() for n in record.sig_name]
    plain = np.stack([record.p_signal[:, names.index(lead.upper())] for lead in LEADS])
    np.testing.assert_allclose(got, plain, atol=1e-6)


def test_limit_keeps_the_first_records(ptbxl_dir: Path, ptbxl_cache: Path, tmp_path: Path):
    full = SignalCache.open(ptbxl_cache)
    cache = SignalCache.open(prepare_cache("ptbxl", ptbxl_dir.parent, tmp_path / "c", workers=1, limit=20,
                                           progress=False))
    assert len(cache) == 20
    assert cache.index["record_id"].tolist() == full.index["record_id"].head(20).tolist()
    np.testing.assert_array_equal(cache.signals, full.signals[: 20 * 1000])


def test_worker_processes_give_the_same_cache(ptbxl_dir: Path, ptbxl_cache: Path, tmp_path: Path):
    full = SignalCache.open(ptbxl_cache)
    # 40 records with chunks of 32: two chunks, in two processes; the order must be kept
    cache = SignalCache.open(prepare_cache("ptbxl", ptbxl_dir, tmp_path / "c", workers=2, limit=40, progress=False))
    assert cache.index["record_id"].tolist() == full.index["record_id"].head(40).tolist()
    np.testing.assert_array_equal(cache.signals, full.signals[: 40 * 1000])


def test_partial_leftover_is_replaced(ptbxl_dir: Path, tmp_path: Path):
    out = tmp_path / "c"
    leftover = tmp_path / "c.partial"
    leftover.mkdir()
    (leftover / "signals.npy").write_bytes(b"half a file")
    path = prepare_cache("ptbxl", ptbxl_dir.parent, out, workers=1, limit=5, progress=False)
    assert path == out and not leftover.exists()
    assert sorted(p.name for p in out.iterdir()) == ["index.csv", "meta.json", "signals.npy"]
    assert len(SignalCache.open(out)) == 5


def _interrupted(items, after: int):
    for i, item in enumerate(items):
        if i == after:
            raise KeyboardInterrupt
        yield item


def test_interrupted_write_leaves_no_cache(tmp_path: Path):
    items = [(str(i), 1, np.full((12, 100), i, np.float32)) for i in range(5)]
    out = tmp_path / "c"
    with pytest.raises(KeyboardInterrupt):
        write_cache(out, _interrupted(items, after=3), dataset="demo", fs=100)
    assert not out.exists()
    with pytest.raises(ECGInputError, match=r"not a finished mrm cache.*mrm prepare"):
        SignalCache.open(out)


def test_interrupted_rewrite_keeps_the_previous_cache(tmp_path: Path):
    items = [(str(i), 1, np.full((12, 100), i, np.float32)) for i in range(5)]
    out = write_cache(tmp_path / "c", items, dataset="demo", fs=100)
    with pytest.raises(KeyboardInterrupt):
        write_cache(out, _interrupted(items[:2] + items, after=6), dataset="demo", fs=100)
    cache = SignalCache.open(out)
    assert len(cache) == 5
    assert [float(cache.signal(i)[0, 0]) for i in range(5)] == [0.0, 1.0, 2.0, 3.0, 4.0]


@pytest.mark.parametrize("lost", ["signals.npy", "index.csv", "meta.json"])
def test_open_refuses_an_incomplete_cache(ptbxl_dir: Path, tmp_path: Path, lost: str):
    out = prepare_cache("ptbxl", ptbxl_dir.parent, tmp_path / "c", workers=1, limit=3, progress=False)
    (out / lost).unlink()
    with pytest.raises(ECGInputError, match=rf"missing {lost}.*python -m mrm prepare"):
        SignalCache.open(out)


def test_open_refuses_a_missing_folder(tmp_path: Path):
    with pytest.raises(ECGInputError, match="mrm prepare"):
        SignalCache.open(tmp_path / "nowhere")


def test_unknown_dataset_is_refused(tmp_path: Path):
    with pytest.raises(ECGInputError, match="unknown dataset 'mitbih'"):
        prepare_cache("mitbih", tmp_path, tmp_path / "c", progress=False)


def test_cli_prepare_json(ptbxl_dir: Path, tmp_path: Path, capsys):
    out = tmp_path / "c"
    code = main(["prepare", "--dataset", "ptbxl", "--data-dir", str(ptbxl_dir.parent), "--out", str(out),
                 "--workers", "1", "--limit", "7", "--json"])
    assert code == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["dataset"] == "ptbxl" and summary["fs"] == 100.0
    assert summary["n_records"] == 7 and summary["n_skipped"] == 0
    assert summary["n_listed_without_signal"] == 2492
    assert Path(summary["cache"]) == out
    assert len(SignalCache.open(out)) == 7


def test_cli_prepare_text(ptbxl_dir: Path, tmp_path: Path, capsys):
    code = main(["prepare", "--dataset", "ptbxl", "--data-dir", str(ptbxl_dir.parent), "--out",
                 str(tmp_path / "c"), "--workers", "1", "--limit", "4"])
    assert code == 0
    assert "4 records of ptbxl at 100 Hz cached in" in capsys.readouterr().out


def _cpsc_length_500hz(path: Path) -> int:
    if path.suffix == ".mat" and path.with_suffix(".hea").exists():
        return wfdb.rdheader(str(path.with_suffix(""))).sig_len
    return scipy.io.loadmat(path)["ECG"]["data"][0, 0].shape[1]


@pytest.fixture(scope="module")
def cpsc_cache(cpsc_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return prepare_cache("cpsc2018", cpsc_dir.parent, tmp_path_factory.mktemp("cpsc") / "c", workers=1,
                         progress=False)


def test_cpsc2018_cache_lengths(cpsc_cache: Path, cpsc_dir: Path):
    cache = SignalCache.open(cpsc_cache)
    assert len(cache) == 25
    assert cache.meta["n_listed_without_signal"] == 6877 - 25 and cache.meta["n_skipped"] == 0
    files = {p.stem: p for p in cpsc_dir.rglob("A*.mat")}
    assert sorted(files) == cache.index["record_id"].tolist()
    expected = [math.ceil(_cpsc_length_500hz(files[r]) / 5) for r in cache.index["record_id"]]
    assert cache.index["length"].tolist() == expected
    assert min(expected) == 1000 and max(expected) > 5000  # 10 s to 54 s
    np.testing.assert_array_equal(cache.index["offset"].to_numpy()[1:], np.cumsum(expected)[:-1])


@pytest.mark.parametrize("record_id", ["A0001", "A1980"])  # one WFDB, one original MATLAB record
def test_cpsc2018_cache_signals_are_the_records_at_100hz(cpsc_cache: Path, cpsc_dir: Path, record_id: str):
    cache = SignalCache.open(cpsc_cache)
    row = int(np.flatnonzero(cache.index["record_id"] == record_id)[0])
    recording = load_cpsc2018(cpsc_dir).load_record(record_id)
    assert recording.fs == 500
    expected = scipy.signal.resample_poly(recording.signal, 1, 5, axis=-1)
    np.testing.assert_allclose(cache.signal(row), expected, atol=1e-5)
    assert cache.index.at[row, "fold"] == recording.fold


def _damaged_copy(ptbxl_cache: Path, tmp_path: Path) -> Path:
    out = tmp_path / "c"
    out.mkdir()
    for name in ("signals.npy", "index.csv", "meta.json"):
        (out / name).write_bytes((ptbxl_cache / name).read_bytes())
    return out


@pytest.mark.parametrize("in_memory", [False, True])
def test_open_refuses_a_truncated_signals_file(ptbxl_cache: Path, tmp_path: Path, in_memory: bool):
    out = _damaged_copy(ptbxl_cache, tmp_path)
    with open(out / "signals.npy", "r+b") as fh:  # as a full disk or an interrupted copy leaves it
        fh.truncate(100_000)
    with pytest.raises(ECGInputError, match=r"damaged mrm cache.*python -m mrm prepare"):
        SignalCache.open(out, in_memory=in_memory)


def test_open_refuses_an_index_of_another_cache(ptbxl_cache: Path, tmp_path: Path):
    out = _damaged_copy(ptbxl_cache, tmp_path)
    small = write_cache(tmp_path / "small", [("1", 1, np.zeros((12, 1000), np.float32))], dataset="demo", fs=100)
    (out / "signals.npy").write_bytes((small / "signals.npy").read_bytes())
    with pytest.raises(ECGInputError, match=r"index.csv reaches sample 500000, signals.npy is \(1000, 12\)"):
        SignalCache.open(out)


def test_open_refuses_a_broken_meta_file(ptbxl_cache: Path, tmp_path: Path):
    out = _damaged_copy(ptbxl_cache, tmp_path)
    (out / "meta.json").write_text('{"dataset": "ptbxl", ')
    with pytest.raises(ECGInputError, match="damaged mrm cache"):
        SignalCache.open(out)
