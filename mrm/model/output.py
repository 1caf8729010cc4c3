"""The one output type every network of the package returns, so that training and inference have one code path."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor


@dataclass
class MRMOutput:
    """What a forward pass returns.

    Every model fills ``logits``; the fields of the two branches are ``None`` where a model has no such branch
    (the baselines, and MRM-Net with ``single_branch`` set, which fills only its own branch's fields).

    Attributes
    ----------
    logits : Tensor
        (B, n_classes) logits of the prediction to use. For MRM-Net, the fused prediction: the logit of the mean of
        the two heads' probabilities, so that ``sigmoid(logits)`` is always the probability.
    logits_hr, logits_lr : Tensor or None
        (B, n_classes) logits of the high- and low-resolution heads.
    feat_hr, feat_lr : Tensor or None
        (B, D) flattened attended feature maps of the two branches, of equal size D, for the feature-level loss.
    attn_hr, attn_lr : Tensor or None
        (B, L_hr) and (B, L_lr) temporal attention maps in [0, 1]; ``None`` without attention.

    Examples
    --------
    >>> out = MRMOutput(logits=torch.zeros(2, 5))
    >>> out.probabilities()[0, 0].item()
    0.5
    """

    logits: Tensor
    logits_hr: Tensor | None = None
    logits_lr: Tensor | None = None
    feat_hr: Tensor | None = None
    feat_lr: Tensor | None = None
    attn_hr: Tensor | None = None
    attn_lr: Tensor | None = None

    def probabilities(self) -> Tensor:
        """Return the per-label probabilities of the prediction to use, ``sigmoid(logits)``."""
        return torch.sigmoid(self.logits)

    @property
    def has_two_heads(self) -> bool:
        """Whether both branch heads are present (what the mutual-learning terms need)."""
        return self.logits_hr is not None and self.logits_lr is not None
