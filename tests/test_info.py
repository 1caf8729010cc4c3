"""`mrm info` and describe_data_root on the shared data root and on an empty one.

Expected counts are computed here from the files with plain pandas: PTB-XL lists 2,992 records of which 500 have
signal files (folds 1-8: 353, 9: 81, 10: 66); CPSC2018's REFERENCE.csv lists 6,877 records, 25 with signals.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from mrm.cli import main
from mrm.data.cpsc2018 import FOLDS_FILE
from mrm.data.inventory import DOWNLOAD_COMMANDS, describe_data_root


def ptbxl_folds(ptbxl_dir: Path) -> dict[int, int]:
    database = pd.read_csv(ptbxl_dir / "ptbxl_database.csv", index_col="ecg_id")
    present = database["filename_lr"].map(lambda n: (ptbxl_dir / f"{n}.dat").exists()) | database[
        "filename_hr"
    ].map(lambda n: (ptbxl_dir / f"{n}.dat").exists())
    return {int(k): int(v) for k, v in database.loc[present, "strat_fold"].value_counts().sort_index().items()}


def cpsc_folds(cpsc_dir: Path) -> dict[int, int]:
    names = {p.stem for p in cpsc_dir.rglob("A*.mat")}
    folds = pd.read_csv(FOLDS_FILE, index_col="Recording")["fold"]
    return {int(k): int(v) for k, v in folds[folds.index.isin(names)].value_counts().sort_index().items()}


@pytest.fixture(scope="module")
def summaries(shared_data: Path, ptbxl_dir: Path, cpsc_dir: Path):
    return {s.dataset: s for s in describe_data_root(shared_data)}


def test_ptbxl_summary(summaries, ptbxl_dir: Path):
    s = summaries["ptbxl"]
    assert s.found and s.problem is None
    assert s.n_listed == len(pd.read_csv(ptbxl_dir / "ptbxl_database.csv")) == 2992
    assert s.n_with_signal == 500
    assert s.folds == ptbxl_folds(ptbxl_dir)
    assert sum(v for k, v in s.folds.items() if k <= 8) == 353 and s.folds[9] == 81 and s.folds[10] == 66
    assert Path(s.folder) == ptbxl_dir


def test_cpsc2018_summary(summaries, cpsc_dir: Path):
    s = summaries["cpsc2018"]
    assert s.found and s.problem is None
    assert s.n_listed == len(pd.read_csv(cpsc_dir / "REFERENCE.csv")) == 6877
    assert s.n_with_signal == 25
    assert s.folds == cpsc_folds(cpsc_dir) and sum(s.folds.values()) == 25


def test_empty_root(tmp_path: Path):
    summaries = describe_data_root(tmp_path)
    assert [s.dataset for s in summaries] == ["ptbxl", "cpsc2018"]
    for s in summaries:
        assert not s.found
        assert (s.n_listed, s.n_with_signal, s.folds) == (0, 0, {})
        assert s.download == DOWNLOAD_COMMANDS[s.dataset]
        assert s.download in s.problem  # the message tells how to get the data
        assert str(tmp_path) in s.problem


def test_root_with_a_broken_ptbxl_folder(tmp_path: Path):
    (tmp_path / "ptb-xl").mkdir()
    (tmp_path / "ptb-xl" / "ptbxl_database.csv").write_text("not,a,ptbxl\n1,2,3\n")
    s = describe_data_root(tmp_path)[0]
    assert not s.found and s.problem


def test_cli_text(shared_data: Path, ptbxl_dir: Path, cpsc_dir: Path, capsys):
    assert main(["info", "--data-dir", str(shared_data)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("ptbxl: ")
    assert "2992 records listed, 500 with signals (2492 without)" in lines[0]
    assert "9: 81, 10: 66" in lines[0]
    assert lines[1].startswith("cpsc2018: ") and "6877 records listed, 25 with signals (6852 without)" in lines[1]


def test_cli_text_empty_root(tmp_path: Path, capsys):
    assert main(["info", "--data-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "ptbxl: not found:" in out and DOWNLOAD_COMMANDS["ptbxl"] in out
    assert "cpsc2018: not found:" in out and DOWNLOAD_COMMANDS["cpsc2018"] in out


def test_cli_json(shared_data: Path, ptbxl_dir: Path, cpsc_dir: Path, capsys):
    assert main(["info", "--data-dir", str(shared_data), "--json"]) == 0
    data = {d["dataset"]: d for d in json.loads(capsys.readouterr().out)}
    assert set(data) == {"ptbxl", "cpsc2018"}
    assert data["ptbxl"]["found"] and data["ptbxl"]["n_listed"] == 2992 and data["ptbxl"]["n_with_signal"] == 500
    # JSON keys are strings; the counts are those of the files
    assert {int(k): v for k, v in data["ptbxl"]["folds"].items()} == ptbxl_folds(ptbxl_dir)
    assert data["cpsc2018"]["n_listed"] == 6877 and data["cpsc2018"]["n_with_signal"] == 25
    assert {int(k): v for k, v in data["cpsc2018"]["folds"].items()} == cpsc_folds(cpsc_dir)
