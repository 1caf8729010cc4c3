"""Record-level probabilities from a network: the one prediction path of evaluation, training and serving.

Every record goes through the input policy of :mod:`mrm.data.preprocess`: windows of ``window`` samples every
``stride`` (the last flush with the end, short records padded), a forward pass per window, and the windows'
probabilities aggregated per record. Training's fold-9 selection, ``mrm evaluate`` and the Predictor all call
:func:`predict_records`, so they cannot disagree.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from mrm.data.preprocess import aggregate_windows, make_windows
from mrm.evaluate.policy import PRECISIONS, InputPolicy


@dataclass(frozen=True)
class RecordProbabilities:
    """Per-record probabilities (n_records, n_classes) of the fused output and, for MRM-Net, of each head."""

    fused: np.ndarray
    hr: np.ndarray | None = None
    lr: np.ndarray | None = None


#: Windows per forward pass. On a 2-core CPU 64 windows run ~35% faster per window than 256 (the activations stay
#: in cache; `python benchmarks/serving_speed.py --batch-sweep` measures it).
FORWARD_BATCH = 64



@torch.inference_mode()
def predict_records(
    model: nn.Module,
    signals: Sequence[np.ndarray],
    policy: InputPolicy,
    batch_size: int = FORWARD_BATCH,
    precision: str = "float32",
) -> RecordProbabilities:
    """Probabilities per record for standardised (12, n) signals at the policy's sampling rate.

    The model is put in eval mode (no dropout, frozen batch-norm statistics) and left there. ``precision``
    ``"bfloat16"`` runs the forward passes under bfloat16 autocast (see :data:`PRECISIONS`).

    Examples
    --------
    >>> from mrm.model import create_model
    >>> model = create_model("tiny", n_classes=3)
    >>> out = predict_records(model, [np.zeros((12, 1000), np.float32), np.zeros((12, 380), np.float32)],
    ...                       InputPolicy(window=250, stride=125))
    >>> out.fused.shape, out.hr.shape
    ((2, 3), (2, 3))
    """
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, not {precision!r}")
    model.eval()
    device = next(model.parameters()).device
    autocast = torch.autocast(device.type, dtype=torch.bfloat16, enabled=precision == "bfloat16")
    windows, owner = [], []
    for i, signal in enumerate(signals):
        w, _, _ = make_windows(signal, policy.window, policy.stride)
        windows.append(w)
        owner.append(np.full(len(w), i))
    x = np.concatenate(windows)
    owner = np.concatenate(owner)
    parts: dict[str, list[np.ndarray]] = {"fused": [], "hr": [], "lr": []}
    for start in range(0, len(x), batch_size):
        with autocast:
            out = model(torch.from_numpy(x[start : start + batch_size]).to(device))
        parts["fused"].append(torch.sigmoid(out.logits.float()).cpu().numpy())
        if out.has_two_heads:
            parts["hr"].append(torch.sigmoid(out.logits_hr.float()).cpu().numpy())
            parts["lr"].append(torch.sigmoid(out.logits_lr.float()).cpu().numpy())

    def per_record(chunks: list[np.ndarray]) -> np.ndarray | None:
        if not chunks:
            return None
        p = np.concatenate(chunks)
        bounds = np.flatnonzero(np.diff(owner)) + 1
        return np.stack([aggregate_windows(g, policy.aggregation) for g in np.split(p, bounds)])

    return RecordProbabilities(per_record(parts["fused"]), per_record(parts["hr"]), per_record(parts["lr"]))
