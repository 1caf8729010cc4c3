"""``mrm predict`` on real files and folders: JSON and CSV, a broken file skipped, --task lookup."""

from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess
import sys

import numpy as np
import pytest

from mrm.cli import main
from mrm.data import read_ecg
from mrm.infer.predictor import Predictor
from tests.conftest import REPO


@pytest.fixture
def folder(ptbxl_dir, cpsc_dir, tmp_path):
    """Two PTB-XL records (500 and 100 Hz), a CPSC2018 .mat, and a PTB-XL record whose .dat was truncated."""
    for name in ("records500/00000/00011_hr", "records100/00000/00012_lr"):
        for ext in (".hea", ".dat"):
            shutil.copy(ptbxl_dir / f"{name}{ext}", tmp_path)
    shutil.copy(cpsc_dir / "original" / "A1986.mat", tmp_path)
    shutil.copy(ptbxl_dir / "records500/00000/00013_hr.hea", tmp_path)
    (tmp_path / "00013_hr.dat").write_bytes((ptbxl_dir / "records500/00000/00013_hr.dat").read_bytes()[:5000])
    return tmp_path


def test_a_folder_with_one_broken_file_predicts_the_rest(tiny_weights, folder, capsys):
    code = main(["predict", str(folder), "--weights", str(tiny_weights)])
    out, err = capsys.readouterr()
    assert code == 1
    document = json.loads(out)
    assert document["n_predicted"] == 3 and document["n_skipped"] == 1
    assert [p["record_id"] for p in document["predictions"]] == ["00011_hr", "00012_lr", "A1986"]
    (skipped,) = document["skipped"]
    assert skipped["path"].endswith("00013_hr.hea") and "corrupt or truncated" in skipped["error"]
    assert "skipped: 00013_hr.dat: corrupt or truncated file" in err
    assert "predicted 3 records with mrm_tiny_superdiagnostic" in err
    # the same numbers as the Predictor gives for each file
    predictor = Predictor.load(tiny_weights)
    for row in document["predictions"]:
        expected = predictor.predict(read_ecg(row["path"])).probabilities()
        np.testing.assert_allclose([c["probability"] for c in row["classes"]], expected, atol=1e-6)
    cpsc = document["predictions"][2]
    assert cpsc["fs"] == 500.0 and cpsc["duration_s"] == 43.0 and cpsc["input"]["n_windows"] == 18


def test_csv_has_one_row_per_input_in_order(tiny_weights, folder, tmp_path_factory, capsys):
    out_file = tmp_path_factory.mktemp("out") / "predictions.csv"
    code = main(["predict", str(folder / "00012_lr.hea"), str(folder), "--weights", str(tiny_weights),
                 "--format", "csv", "--out", str(out_file), "--quiet"])
    assert code == 1 and capsys.readouterr().err == ""
    rows = list(csv.DictReader(io.StringIO(out_file.read_text())))
    assert [r["record_id"] for r in rows] == ["00012_lr", "00011_hr", "00012_lr", "", "A1986"]
    assert rows[3]["path"].endswith("00013_hr.hea") and "corrupt or truncated" in rows[3]["error"]
    predictor = Predictor.load(tiny_weights)
    first = predictor.predict(read_ecg(folder / "00012_lr.hea"))
    for c in first.classes:
        assert float(rows[0][c.code]) == pytest.approx(c.probability, abs=1e-6)
        assert float(rows[0][f"{c.code}_hr"]) == pytest.approx(c.probability_hr, abs=1e-6)
        assert rows[0][f"{c.code}_decision"] == str(int(c.decision))
    assert rows[0]["n_windows"] == "4" and rows[0]["fs"] == "100.0"
    assert float(rows[0]["disagreement"]) == pytest.approx(first.disagreement, abs=1e-6)


def test_task_picks_the_shipped_weights(tiny_weights, folder, tmp_path_factory, capsys):
    weights_dir = tmp_path_factory.mktemp("weights")
    for suffix in (".pt", ".json"):
        shutil.copy(tiny_weights.with_suffix(suffix), weights_dir / f"mrm_superdiagnostic{suffix}")
    code = main(["predict", str(folder / "00011_hr.hea"), "--task", "superdiagnostic", "--weights-dir",
                 str(weights_dir)])
    out, _ = capsys.readouterr()
    assert code == 0
    document = json.loads(out)
    assert document["weights"].endswith("mrm_superdiagnostic.pt") and document["n_predicted"] == 1
    assert document["classes"] == ["CD", "HYP", "MI", "NORM", "STTC"]

    assert main(["predict", str(folder), "--task", "rhythm", "--weights-dir", str(weights_dir)]) == 2
    assert "mrm_rhythm.pt: no weights for task rhythm" in capsys.readouterr().err


def test_missing_paths_and_csv_without_rate_are_reported(tiny_weights, folder, ptbxl_dir, tmp_path, capsys):
    rec = read_ecg(ptbxl_dir / "records100/00000/00012_lr.hea")
    np.save(tmp_path / "lone.npy", rec.signal)
    code = main(["predict", str(tmp_path / "nothing.hea"), str(tmp_path / "lone.npy"), "--weights",
                 str(tiny_weights)])
    document = json.loads(capsys.readouterr().out)
    assert code == 1 and document["n_predicted"] == 0
    errors = [s["error"] for s in document["skipped"]]
    assert "no such file or folder" in errors[0] and "give it (fs in Hz" in errors[1]
    assert main(["predict", str(tmp_path / "lone.npy"), "--fs", "100", "--weights", str(tiny_weights)]) == 0
    (row,) = json.loads(capsys.readouterr().out)["predictions"]
    expected = Predictor.load(tiny_weights).predict(rec).probabilities()
    np.testing.assert_allclose([c["probability"] for c in row["classes"]], expected, atol=1e-6)


def test_the_command_runs_as_a_module(tiny_weights, folder):
    result = subprocess.run(
        [sys.executable, "-m", "mrm", "predict", str(folder), "--weights", str(tiny_weights), "--format", "csv",
         "--threads", "1"],
        capture_output=True, text=True, cwd=REPO, timeout=120,
    )
    assert result.returncode == 1
    assert len(result.stdout.strip().splitlines()) == 5
    assert "predicting" in result.stderr  # the progress bar of a folder


def test_precision_option(tiny_weights, folder, capsys):
    """`--precision bfloat16` predicts the same records with probabilities within 0.02 of float32."""
    runs = {}
    for precision in ("float32", "bfloat16"):
        main(["predict", str(folder / "00012_lr.hea"), "--weights", str(tiny_weights), "--precision", precision,
              "--quiet"])
        runs[precision] = json.loads(capsys.readouterr().out)["predictions"][0]["classes"]
    np.testing.assert_allclose([c["probability"] for c in runs["bfloat16"]],
                               [c["probability"] for c in runs["float32"]], atol=0.02)
