"""Weight files and their cards: a state dict (``NAME.pt``), a JSON card (``NAME.json``) and the fold-9
probabilities and labels (``NAME.fold9.npz``) for the dashboard's threshold explorer.

The card says everything needed to use the weights: the network and its configuration, the classes in output
order with full names, thresholds, the standardiser, the input policy, the training data and the fold-10 metrics.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import torch
from torch import nn

from mrm.data.preprocess import Standardizer
from mrm.errors import ECGInputError
from mrm.evaluate.policy import InputPolicy
from mrm.model import create_model

CARD_FORMAT = 1


def code_version() -> str:
    """``mrm`` version plus the git commit when the code runs from a checkout."""
    from mrm import __version__

    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, timeout=5,
            cwd=Path(__file__).resolve().parent,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        commit = ""
    return f"{__version__}+{commit}" if commit else __version__


def save_weights(stem: str | Path, model: nn.Module, card: dict, fold9: dict[str, np.ndarray] | None = None) -> Path:
    """Write ``stem.pt``, ``stem.json`` and (if given) ``stem.fold9.npz``; returns the ``.pt`` path."""
    stem = Path(stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    torch.save(model.state_dict(), stem.with_suffix(".pt"))
    stem.with_suffix(".json").write_text(json.dumps({"format": CARD_FORMAT, **card}, indent=1) + "\n")
    if fold9 is not None:
        np.savez_compressed(stem.with_suffix(".fold9.npz"), **fold9)
    return stem.with_suffix(".pt")


def read_card(weights: str | Path) -> dict:
    """The JSON card beside a weights file (``x.pt`` -> ``x.json``)."""
    path = Path(weights).with_suffix(".json")
    if not path.exists():
        raise ECGInputError(
            f"{weights}: no model card {path.name} beside the weights; keep the .pt and .json files together."
        )
    return json.loads(path.read_text())


def load_weights(weights: str | Path) -> tuple[nn.Module, dict]:
    """Rebuild the network of a card and load its weights safely (``weights_only=True``), in eval mode.

    Examples
    --------
    >>> model, card = load_weights("weights/mrm_superdiagnostic.pt")  # doctest: +SKIP
    >>> card["classes"]  # doctest: +SKIP
    ['CD', 'HYP', 'MI', 'NORM', 'STTC']
    """
    weights = Path(weights)
    if not weights.exists():
        raise ECGInputError(f"{weights}: weights file not found; pass a .pt file from weights/ or a training run.")
    card = read_card(weights)
    model = create_model(card["model"]["name"], len(card["classes"]), **card["model"]["config"])
    try:
        state = torch.load(weights, map_location="cpu", weights_only=True)
        model.load_state_dict(state)
    except (RuntimeError, ValueError, OSError) as err:
        raise ECGInputError(f"{weights}: not loadable weights for the network its card describes ({err}).") from err
    model.eval()
    return model, card


def card_standardizer(card: dict) -> Standardizer:
    return Standardizer.from_dict(card["standardizer"])


def card_policy(card: dict) -> InputPolicy:
    return InputPolicy.from_dict(card["input_policy"])


def card_thresholds(card: dict) -> np.ndarray:
    """Thresholds in class order; NaN for a class that has none (no fold-9 positive)."""
    return np.array([np.nan if t is None else t for t in card["thresholds"]], dtype=float)
