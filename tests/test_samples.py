"""The sample ECGs bundled in mrm/samples: small enough to ship, chosen by the script, PTB-XL's own files and rows,
covering what the issue asks for, loadable as Recordings with their labels, licensed and attributed."""

from __future__ import annotations

import hashlib
import importlib.util
import shutil
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mrm.app.sources import samples_table
from mrm.data.ptbxl import load_ptbxl
from mrm.data.samples import SAMPLES_DIR, list_samples, load_sample, sample_file, samples_index
from mrm.errors import ECGInputError

REPO = Path(__file__).resolve().parents[1]


def _select_script():
    spec = importlib.util.spec_from_file_location("select_samples", REPO / "scripts" / "select_samples.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_bundle_is_at_most_3_mb_and_fold_10_only():
    files = [p for p in SAMPLES_DIR.rglob("*") if p.is_file()]
    size = sum(p.stat().st_size for p in files)
    assert 1_000_000 < size <= 3 * 1024 * 1024
    samples = list_samples()
    assert len(samples) == 15
    assert {s.fold for s in samples} == {10}
    assert len({s.ecg_id for s in samples}) == 15
    index = samples_index()
    assert len(index) == 15 and index.n_missing == 0
    assert index.metadata["patient_id"].nunique() == 15  # one record per patient
    # Nothing but what the index describes: 15 records x (.hea, .dat) plus the 6 files of the folder.
    assert len(files) == 30 + 6


def test_files_match_their_checksums():
    lines = (SAMPLES_DIR / "SHA256SUMS.txt").read_text().splitlines()
    listed = dict(reversed(line.split(" ", 1)) for line in lines)
    on_disk = {p.relative_to(SAMPLES_DIR).as_posix() for p in SAMPLES_DIR.rglob("*") if p.is_file()}
    assert set(listed) == on_disk - {"SHA256SUMS.txt"}
    for name, digest in listed.items():
        assert hashlib.sha256((SAMPLES_DIR / name).read_bytes()).hexdigest() == digest, name


def test_samples_cover_the_issue():
    samples = {s.slot: s for s in list_samples()}
    classes, y, ids = samples_index().labels_for_task("superdiagnostic")
    assert classes == ["CD", "HYP", "MI", "NORM", "STTC"] and y.any(axis=0).all()
    assert "AFIB" in samples["afib"].labels
    assert {"CLBBB", "CRBBB"} <= {code for s in samples.values() for code in s.labels}
    assert "PACE" in samples["pace"].labels and "pacemaker" in samples["pace"].notes
    noisy = samples["noisy"].notes
    assert {"static_noise", "burst_noise"} & set(noisy)
    normal = samples["norm"]
    assert normal.validated_by_human and normal.labels == {"NORM": 100.0, "SR": 0.0} and not normal.notes
    assert list_samples()[0].slot == "norm"  # the app opens on it


def test_each_sample_loads_as_its_ptbxl_record():
    files = pd.read_csv(SAMPLES_DIR / "samples.csv", index_col="ecg_id")["filename_hr"]
    for sample in list_samples():
        rec = load_sample(sample.ecg_id)
        assert rec.dataset == "ptbxl" and rec.record_id == f"{sample.ecg_id:05d}"
        assert rec.fs == 500.0 and rec.signal.shape == (12, 5000) and rec.signal.dtype == np.float32
        assert rec.labels == sample.labels
        assert rec.fold == 10 and rec.sex == sample.sex
        assert np.isfinite(rec.signal).all()
        # Real ECGs in mV: every lead moves, none by more than a few mV.
        ptp = np.ptp(rec.signal, axis=1)
        assert (ptp > 0.05).all() and (ptp < 15).all(), (sample.ecg_id, ptp)
        assert sample_file(sample.ecg_id) == SAMPLES_DIR / f"{files[sample.ecg_id]}.hea"
    # The first sample is the validated normal ECG the app opens on; the labels round-trip through samples.csv.
    assert load_sample("00057").labels == {"NORM": 100.0, "SR": 0.0}


def test_unknown_sample_is_refused_with_the_choices():
    with pytest.raises(ECGInputError, match=r"sample 1: not one of the bundled sample ECGs; choose one of 57, "):
        load_sample(1)
    with pytest.raises(ECGInputError, match="sample abc"):
        load_sample("abc")


def test_rows_and_files_are_ptbxls_own(ptbxl_dir):
    """The metadata rows are PTB-XL's lines as published; the records within ecg_id 1-500 (PhysioNet's files in the
    shared data) are byte copies."""
    shared_lines = {line.split(",", 1)[0]: line for line in (ptbxl_dir / "ptbxl_database.csv").read_text().splitlines()}
    ours = (SAMPLES_DIR / "ptbxl_database.csv").read_text().splitlines()
    assert ours[0] == shared_lines["ecg_id"]
    assert len(ours) == 16
    for line in ours[1:]:
        assert line == shared_lines[line.split(",", 1)[0]]
    assert (SAMPLES_DIR / "scp_statements.csv").read_bytes() == (ptbxl_dir / "scp_statements.csv").read_bytes()
    assert (SAMPLES_DIR / "LICENSE.txt").read_bytes() == (ptbxl_dir / "LICENSE.txt").read_bytes()
    compared = 0
    for sample in list_samples():
        for suffix in (".hea", ".dat"):
            relative = sample_file(sample.ecg_id).with_suffix(suffix).relative_to(SAMPLES_DIR)
            if (ptbxl_dir / relative).is_file():
                assert (SAMPLES_DIR / relative).read_bytes() == (ptbxl_dir / relative).read_bytes()
                compared += 1
    assert compared == 12  # ecg_id 38, 57, 157, 172, 218, 449


def test_the_script_chooses_exactly_these_samples(ptbxl_dir, tmp_path):
    """Rerun the selection on the shared PTB-XL metadata: it needs only the rows and which 500 Hz files exist, so the
    fold-10 files are stood in for by empty files."""
    folder = tmp_path / "ptb-xl"
    folder.mkdir()
    for name in ("ptbxl_database.csv", "scp_statements.csv"):
        shutil.copyfile(ptbxl_dir / name, folder / name)
    index = load_ptbxl(folder)
    for relative in index.metadata.loc[index.metadata["strat_fold"] == 10, "filename_hr"]:
        (folder / relative).parent.mkdir(parents=True, exist_ok=True)
        for suffix in (".hea", ".dat"):
            (folder / f"{relative}{suffix}").touch()
    chosen = _select_script().select(load_ptbxl(folder))
    committed = pd.read_csv(SAMPLES_DIR / "samples.csv")
    assert chosen["ecg_id"].tolist() == committed["ecg_id"].tolist()
    assert chosen["slot"].tolist() == committed["slot"].tolist()
    assert chosen["reason"].tolist() == committed["reason"].tolist()


def test_licence_and_attribution_travel_with_the_samples():
    licence = (SAMPLES_DIR / "LICENSE.txt").read_text()
    assert licence.startswith("Creative Commons Attribution 4.0 International Public License")
    readme = (SAMPLES_DIR / "README.md").read_text()
    for needed in ("CC BY 4.0", "Wagner", "PhysioNet", "https://doi.org/10.13026/kfzx-aw45", "fold 10"):
        assert needed in readme


def test_samples_table_for_the_record_page():
    table = samples_table()
    assert table.index.tolist() == [s.ecg_id for s in list_samples()]
    assert table.loc[57, "statements"] == "NORM 100%, SR"
    assert table.loc[38, "noise"].startswith("static noise")
    assert table.loc[9557, "noise"] == "pacemaker"
    assert table["age"].notna().all() and set(table["sex"]) == {"M", "F"}


def test_mrm_samples_lists_the_files(capsys):
    from mrm.cli import build_parser

    args = build_parser("samples").parse_args(["samples", "--paths"])
    assert args.func(args) == 0
    paths = capsys.readouterr().out.splitlines()
    assert paths == [str(s.path) for s in list_samples()] and all(Path(p).is_file() for p in paths)
    args = build_parser("samples").parse_args(["samples"])
    assert args.func(args) == 0
    out = capsys.readouterr().out
    assert "20406  rhythm: atrial fibrillation (AFIB)\n        AFIB 100%; " in out and "CC BY 4.0" in out
