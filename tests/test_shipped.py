"""The shipped weights reproduce their cards: ``mrm evaluate`` on each ``weights/mrm_TASK.pt``, from the weights and
the card alone, gives the fold-10 numbers the card (and docs/benchmarks.md) publishes.

Fold 10 of the 2,992 PTB-XL records needs the packed records of ``ptb-xl-extra/`` (the shared ``ptb-xl/`` folder holds
the signals of ecg_id 1-500 only), so the session unpacks them once into a temporary data root (about 6 s, 380 MB),
as ``python ../shared/data/ptb-xl-extra/unpack.py data/ptb-xl`` does for users.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mrm.train.config import TASKS
from mrm.train.run import evaluate_weights

REPO = Path(__file__).resolve().parents[1]
#: The cards round to 5 decimals; float32 forward passes on another CPU may move the last one.
TOLERANCE = 2e-5


def _close(got, expected, where: str) -> None:
    if isinstance(expected, dict):
        assert set(got) == set(expected), where
        for key in expected:
            _close(got[key], expected[key], f"{where}.{key}")
    elif isinstance(expected, list):
        assert len(got) == len(expected), where
        for i, (g, e) in enumerate(zip(got, expected, strict=True)):
            _close(g, e, f"{where}[{i}]")
    elif isinstance(expected, float):
        assert got == pytest.approx(expected, abs=TOLERANCE), where
    else:
        assert got == expected, where


@pytest.mark.parametrize("task", TASKS)
def test_shipped_weights_reproduce_their_card(task: str, ptbxl_root: Path):
    weights = REPO / "weights" / f"mrm_{task}.pt"
    card = json.loads(weights.with_suffix(".json").read_text())
    report = evaluate_weights(weights, ptbxl_root, fold=10)
    assert report["n_records"] == card["training_data"]["n_test"]
    _close({k: v for k, v in report.items() if k in card["test"]}, card["test"], task)
    assert set(card["test"]) <= set(report)
