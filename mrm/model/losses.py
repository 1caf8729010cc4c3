"""The mutual-learning loss of MRM-Net: BCE on each head plus symmetric KL between the branches.

``total = BCE(hr) + BCE(lr) + w_logit * [KL(hr||lr) + KL(lr||hr)] + w_feat * [KL(f_hr||f_lr) + KL(f_lr||f_hr)]``

The authors use w_logit = 0.1, w_feat = 0.01, T = 4, a Hinton-style KL (softmax over dimension 1, times T^2,
summed over classes and averaged over the batch) on both logits and flattened features, and no stop-gradient.
A softmax across the labels of a multi-label problem treats them as exclusive; ``kind="bernoulli"`` replaces the
logit term by a per-label Bernoulli KL between temperature-scaled sigmoids (also times T^2, averaged over labels
and batch, as the BCE is: summed over 69 labels it outweighed the BCE and the "all" task collapsed, fold-9 macro AUC
0.72 against 0.85). The feature term is always the softmax KL over the flattened map, since features are
not per-label probabilities. The "no mutual loss" ablation is ``MutualLoss(w_logit=0, w_feat=0)``.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from mrm.model.output import MRMOutput

KL_KINDS = ("softmax", "bernoulli")


def softmax_kl(logits_p: Tensor, logits_q: Tensor, temperature: float = 4.0) -> Tensor:
    """Return KL(p || q) * T^2 averaged over the batch, p = softmax(logits_p / T) and q = softmax(logits_q / T).

    This is the authors' ``DistillKL(y_s=logits_q, y_t=logits_p)``; inputs are (B, D), the softmax runs over D.

    Examples
    --------
    >>> a = torch.tensor([[1.0, 0.0]])
    >>> round(softmax_kl(a, a).item(), 6)
    0.0
    >>> round(softmax_kl(a, torch.tensor([[0.0, 1.0]]), temperature=1.0).item(), 4)
    0.4621
    """
    log_p = F.log_softmax(logits_p / temperature, dim=1)
    log_q = F.log_softmax(logits_q / temperature, dim=1)
    return F.kl_div(log_q, log_p, reduction="sum", log_target=True) * temperature**2 / logits_p.shape[0]


def bernoulli_kl(logits_p: Tensor, logits_q: Tensor, temperature: float = 4.0) -> Tensor:
    """Return the per-label Bernoulli KL(p || q) * T^2, averaged over labels and batch (like the BCE it joins).

    p = sigmoid(logits_p / T) and q = sigmoid(logits_q / T) per label; computed from log-sigmoids so that
    saturated labels stay finite.

    Examples
    --------
    >>> round(bernoulli_kl(torch.tensor([[0.0]]), torch.tensor([[2.0]]), temperature=1.0).item(), 4)
    0.4338
    """
    zp, zq = logits_p / temperature, logits_q / temperature
    p = torch.sigmoid(zp)
    kl = p * (F.logsigmoid(zp) - F.logsigmoid(zq)) + (1 - p) * (F.logsigmoid(-zp) - F.logsigmoid(-zq))
    return kl.mean() * temperature**2


def symmetric_kl(logits_a: Tensor, logits_b: Tensor, temperature: float = 4.0, kind: str = "softmax") -> Tensor:
    """Return KL(a || b) + KL(b || a) of the given ``kind`` ("softmax" or "bernoulli"), with no stop-gradient.

    Examples
    --------
    >>> a, b = torch.tensor([[1.0, -1.0]]), torch.tensor([[0.5, 2.0]])
    >>> bool(torch.isclose(symmetric_kl(a, b, kind="bernoulli"), symmetric_kl(b, a, kind="bernoulli")))
    True
    """
    if kind not in KL_KINDS:
        raise ValueError(f"kind must be one of {KL_KINDS}, not {kind!r}")
    kl = softmax_kl if kind == "softmax" else bernoulli_kl
    return kl(logits_a, logits_b, temperature) + kl(logits_b, logits_a, temperature)


@dataclass
class LossTerms:
    """Each term of the loss, for logging; ``total`` is what to back-propagate.

    ``bce`` is the sum of the heads' BCEs (the single BCE of a one-head model, which leaves ``bce_hr``, ``bce_lr``
    ``None``); the KL terms are unweighted and zero where they do not apply; ``bce_fused`` is zero unless
    ``w_fused`` is set and the output has two heads.

    Examples
    --------
    >>> terms = MutualLoss()(MRMOutput(logits=torch.zeros(1, 3)), torch.ones(1, 3))
    >>> {k: round(v, 4) for k, v in terms.as_floats().items()}
    {'total': 0.6931, 'bce': 0.6931, 'kl_logits': 0.0, 'kl_features': 0.0, 'bce_fused': 0.0}
    """

    total: Tensor
    bce: Tensor
    kl_logits: Tensor
    kl_features: Tensor
    bce_fused: Tensor
    bce_hr: Tensor | None = None
    bce_lr: Tensor | None = None

    def as_floats(self) -> dict[str, float]:
        """Return the present terms as plain floats, for a training log."""
        # not dataclasses.asdict: it deep-copies, and tensors inside the autograd graph refuse that
        values = ((f.name, getattr(self, f.name)) for f in fields(self))
        return {k: float(v.detach()) for k, v in values if v is not None}


class MutualLoss(nn.Module):
    """BCE on each head + weighted symmetric KL between the heads' logits and between their features.

    Parameters
    ----------
    w_logit, w_feat : float
        Weights of the logit and feature KL terms (authors: 0.1 and 0.01). Zero skips the term.
    temperature : float
        Distillation temperature T (authors: 4).
    kind : {"softmax", "bernoulli"}
        KL between the heads' predictions: the authors' softmax over labels, or per-label Bernoulli.
    pos_weight : Tensor, optional
        (n_classes,) positive-class weights of every BCE.
    w_fused : float
        Weight of a BCE on the fused logits; needed to train ``fusion="learned"``, zero otherwise.

    Notes
    -----
    For an output with one head (baselines, single-branch MRM-Net) the loss is the BCE of ``logits`` alone.

    Examples
    --------
    >>> out = MRMOutput(logits=torch.zeros(1, 2), logits_hr=torch.zeros(1, 2), logits_lr=torch.zeros(1, 2),
    ...                 feat_hr=torch.zeros(1, 4), feat_lr=torch.zeros(1, 4))
    >>> terms = MutualLoss()(out, torch.tensor([[1.0, 0.0]]))
    >>> round(terms.total.item(), 4), round(terms.kl_logits.item(), 4)
    (1.3863, 0.0)
    """

    def __init__(
        self,
        w_logit: float = 0.1,
        w_feat: float = 0.01,
        temperature: float = 4.0,
        kind: str = "softmax",
        pos_weight: Tensor | None = None,
        w_fused: float = 0.0,
    ):
        super().__init__()
        if kind not in KL_KINDS:
            raise ValueError(f"kind must be one of {KL_KINDS}, not {kind!r}")
        if temperature <= 0:
            raise ValueError(f"temperature must be positive, not {temperature}")
        self.w_logit, self.w_feat, self.w_fused = w_logit, w_feat, w_fused
        self.temperature, self.kind = temperature, kind
        self.register_buffer("pos_weight", None if pos_weight is None else torch.as_tensor(pos_weight).float())

    def bce(self, logits: Tensor, target: Tensor) -> Tensor:
        """Return the mean binary cross-entropy of ``logits`` against the 0/1 ``target``.

        Examples
        --------
        >>> round(MutualLoss().bce(torch.zeros(2, 3), torch.ones(2, 3)).item(), 4)
        0.6931
        """
        return F.binary_cross_entropy_with_logits(logits, target, pos_weight=self.pos_weight)

    def forward(self, output: MRMOutput, target: Tensor) -> LossTerms:
        target = target.to(output.logits.dtype)
        zero = output.logits.new_zeros(())
        if not output.has_two_heads:
            bce = self.bce(output.logits, target)
            return LossTerms(total=bce, bce=bce, kl_logits=zero, kl_features=zero, bce_fused=zero)
        bce_fused = self.bce(output.logits, target) if self.w_fused else zero
        bce_hr, bce_lr = self.bce(output.logits_hr, target), self.bce(output.logits_lr, target)
        kl_logits = (
            symmetric_kl(output.logits_hr, output.logits_lr, self.temperature, self.kind) if self.w_logit else zero
        )
        has_feat = output.feat_hr is not None and output.feat_lr is not None
        kl_features = (
            symmetric_kl(output.feat_hr, output.feat_lr, self.temperature, "softmax")
            if self.w_feat and has_feat
            else zero
        )
        total = bce_hr + bce_lr + self.w_logit * kl_logits + self.w_feat * kl_features + self.w_fused * bce_fused
        return LossTerms(total=total, bce=bce_hr + bce_lr, kl_logits=kl_logits, kl_features=kl_features,
                         bce_fused=bce_fused, bce_hr=bce_hr, bce_lr=bce_lr)
