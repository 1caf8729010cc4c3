"""The rule that decides what ships: ``benchmarks/model_suite.py switch`` replaces a shipped weights file by a run
only at a fold-9 gain of SWITCH_GAIN or more, and records the replaced choice in the card.

The runs here are stand-ins (a card, a fold-9 file of labels and probabilities, and placeholder weight bytes): the
rule reads only the fold-9 files and copies files, so no network is needed.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def suite():
    spec = importlib.util.spec_from_file_location("model_suite", REPO / "benchmarks" / "model_suite.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _write(stem: Path, scores: np.ndarray, y: np.ndarray, chosen: str | None = None) -> None:
    """A stand-in run: weights bytes, a card already at the serving stride, and its fold-9 file."""
    stem.parent.mkdir(parents=True, exist_ok=True)
    stem.with_suffix(".pt").write_bytes(stem.name.encode())
    card = {"name": stem.name, "input_policy": {"window": 250, "stride": 250}, "disagreement_flag": 0.2}
    if chosen:
        card["chosen_on_fold9"] = {"chosen": chosen, "fold9_macro_auc": {chosen: 0.0}}
    stem.with_suffix(".json").write_text(json.dumps(card))
    np.savez(stem.with_suffix(".fold9.npz"), y=y, p=scores, ids=np.arange(len(y)))


def _scores_with_auc(y: np.ndarray, swaps: int) -> np.ndarray:
    """Scores that rank every positive above every negative, except ``swaps`` positive-negative pairs."""
    p = y.astype(float).copy()
    pos, neg = np.flatnonzero(y[:, 0] == 1), np.flatnonzero(y[:, 0] == 0)
    for k in range(swaps):
        p[pos[k], 0], p[neg[k], 0] = 0.4, 0.6
    return p


def test_switch_replaces_only_at_the_fixed_gain(suite, tmp_path: Path, capsys):
    rng = np.random.default_rng(0)
    y = np.zeros((200, 1), int)
    y[rng.choice(200, 100, replace=False), 0] = 1
    runs, weights = tmp_path / "runs", tmp_path / "weights"
    # 100 x 100 positive-negative pairs; k swaps misorder k * k of them: AUC = 1 - k^2 / 10,000
    _write(weights / "mrm_all", _scores_with_auc(y, 10), y, chosen="nomutual_all")  # AUC 0.9900
    _write(runs / "ema_nomutual_all" / "ema_nomutual_all", _scores_with_auc(y, 8), y)  # 0.9936: +0.0036
    _write(weights / "mrm_form", _scores_with_auc(y, 10), y, chosen="nomutual_form")
    _write(runs / "ema_nomutual_form" / "ema_nomutual_form", _scores_with_auc(y, 5), y)  # 0.9975: +0.0075
    args = argparse.Namespace(suite=["ema"], stride=250, data_dir="unused", cache=None, runs=str(runs),
                              weights=str(weights), ship=True)
    suite.switch(args)
    out = capsys.readouterr().out
    assert "| all | 0.9900 | ema_nomutual_all | 0.9936 | +0.0036 | no |" in out
    assert "| form | 0.9900 | ema_nomutual_form | 0.9975 | +0.0075 | **yes** |" in out
    assert (weights / "mrm_all.pt").read_bytes() == b"mrm_all"
    assert (weights / "mrm_form.pt").read_bytes() == b"ema_nomutual_form"
    card = json.loads((weights / "mrm_form.json").read_text())
    assert card["name"] == "mrm_form"
    choice = card["chosen_on_fold9"]
    assert choice["chosen"] == "ema_nomutual_form" and choice["previous"]["chosen"] == "nomutual_form"
    assert choice["fold9_macro_auc"] == {"nomutual_form": 0.99, "ema_nomutual_form": 0.9975}
    assert "0.005" in choice["rule"]
