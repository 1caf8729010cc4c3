"""CPSC2018 as a training and evaluation dataset: its own records and 10-fold split, the challenge score, and the
cross-dataset check of the PTB-XL-trained ``cpsc2018`` weights on CPSC2018's records."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from mrm.cli import main
from mrm.data import load_cpsc2018
from mrm.data.cache import prepare_cache
from mrm.data.cpsc2018 import CLASSES
from mrm.errors import ECGInputError
from mrm.evaluate.challenge import challenge_score
from mrm.infer import Predictor
from mrm.infer.predictor import weights_for_task
from mrm.train.data import load_task_data


@pytest.fixture(scope="module")
def cpsc_cache(cpsc_dir: Path, tmp_path_factory) -> Path:
    return prepare_cache("cpsc2018", cpsc_dir.parent, tmp_path_factory.mktemp("cache") / "cpsc2018-100hz",
                         workers=1, progress=False)


def test_task_data_from_the_files_and_from_the_cache_agree(cpsc_dir: Path, cpsc_cache: Path):
    index = load_cpsc2018(cpsc_dir).filter(with_signal=True)
    files = load_task_data("cpsc2018", "cpsc2018", cpsc_dir.parent)
    cached = load_task_data("cpsc2018", "cpsc2018", cpsc_dir.parent, cache_dir=cpsc_cache)
    assert list(files.ids) == list(cached.ids) == list(index.record_ids)
    np.testing.assert_array_equal(files.y, cached.y)
    for a, b in zip(files.signals, cached.signals, strict=True):
        np.testing.assert_allclose(a, b, atol=1e-6)
    # No STE record among the 25 shared ones is in folds 1-8: the class cannot be learned and is left out.
    assert files.excluded == {"STE_": "no positive record in the training folds"} and "STE_" not in files.classes
    # A record's first label, as a column of y, is one of its labels.
    assert files.first_label is not None and files.y[np.arange(len(files.ids)), files.first_label].all()
    codes = [c.ptbxl for c in CLASSES]
    assert [files.classes[k] for k in files.first_label] == [codes[f - 1] for f in index.first_label]
    test = load_task_data("cpsc2018", "cpsc2018", cpsc_dir.parent, folds=(9,))
    assert set(test.folds) == {9} and len(test.ids) == 3


def test_cpsc2018_carries_only_its_own_label_set(cpsc_dir: Path):
    with pytest.raises(ECGInputError, match="use --task cpsc2018"):
        load_task_data("cpsc2018", "superdiagnostic", cpsc_dir.parent)


def test_train_on_cpsc2018_and_evaluate_with_the_challenge_score(cpsc_dir: Path, cpsc_cache: Path,
                                                               tmp_path: Path, capsys):
    assert main(["train", "--dataset", "cpsc2018", "--task", "cpsc2018", "--config", "tiny", "--epochs", "1",
                 "--data-dir", str(cpsc_dir.parent), "--cache", str(cpsc_cache), "--out", str(tmp_path),
                 "--name", "cpsc", "--threads", "1", "--quiet"]) == 0
    card = json.loads((tmp_path / "cpsc.json").read_text())
    assert card["training_data"]["dataset"] == "cpsc2018" and card["training_data"]["n_train"] == 21
    assert "complete CPSC2018 has 6,877" in card["training_data"]["records"]
    fold9 = load_cpsc2018(cpsc_dir).filter(folds=9).record_ids.tolist()
    assert np.load(tmp_path / "cpsc.fold9.npz", allow_pickle=False)["ids"].tolist() == fold9
    capsys.readouterr()
    assert main(["evaluate", "--weights", str(tmp_path / "cpsc.pt"), "--data-dir", str(cpsc_dir.parent),
                 "--fold", "all", "--json", "-"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["n_records"] == 25 and report["dataset"] == "cpsc2018" and not report["cross_dataset"]
    assert 0.0 <= report["challenge"]["score"] <= 1.0 and report["challenge"]["n_records"] == 25


def test_cross_dataset_check_matches_the_predictor(cpsc_dir: Path, capsys):
    """The PTB-XL-trained cpsc2018 weights on CPSC2018's own records: the challenge score of `mrm evaluate`
    equals the one computed from the Predictor's probabilities on the same records."""
    weights = weights_for_task("cpsc2018")
    assert main(["evaluate", "--weights", str(weights), "--data-dir", str(cpsc_dir.parent), "--dataset",
                 "cpsc2018", "--n-boot", "50", "--json", "-"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["cross_dataset"] and report["fold"] is None and report["n_records"] == 25
    index = load_cpsc2018(cpsc_dir).filter(with_signal=True)
    predictor = Predictor.load(weights)
    probs = np.array([p.probabilities() for p in predictor.predict_many([index.load_record(r)
                                                                          for r in index.record_ids])])
    data = load_task_data("cpsc2018", "cpsc2018", cpsc_dir.parent, classes=predictor.classes)
    expected = challenge_score(data.y, data.first_label, probs)
    assert report["challenge"]["score"] == pytest.approx(expected.score, abs=1e-6)
