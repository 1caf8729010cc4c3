"""MRM-Net: a multi-resolution mutual-learning network for multi-label 12-lead ECG classification.

Data flow (B = batch, L = input samples)::

    x (B, 12, L) -> stem -+-> split HR (C_hr, L/2) -> n x [stage -> exchange] -> attention -> head HR -+-> fused
                          +-> split LR (C_lr, L/4) -> n x [stage -> exchange] -> attention -> head LR -+

The exchange (HR -> LR by a stride-2 conv, LR -> HR by upsampling, each added to the other stream) follows every
stage, the last included: the paper's feature complementary mechanism, which the authors' released forward pass
never calls. Attention comes once per branch, after the last exchange, so that each returned temporal attention
map is exactly the gate on the features its own head pools.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from mrm.model.blocks import BasicBlock, BranchExchange, DualAttention, GatedBlock, MultiScaleBlock, conv_bn_relu
from mrm.model.output import MRMOutput


@dataclass(frozen=True)
class MRMConfig:
    """Sizes and switches of MRM-Net; the named configurations are in ``mrm.model.registry.CONFIGS``.

    Attributes
    ----------
    in_channels : int
        Input leads.
    stem_channels, stem_kernels : tuple of int
        The shared stem: one Conv-BN-ReLU per entry, full length kept.
    ms_kernels : tuple of int
        Odd kernel sizes of the parallel convolutions of the resolution split.
    hr_channels, lr_channels : int
        Channels of the high-resolution (L/2 steps) and low-resolution (L/4 steps) branches; ``lr_channels``
        must be a multiple of ``hr_channels`` so that both branches' feature maps flatten to the same size.
    n_stages, blocks_per_stage : int
        Each stage holds ``blocks_per_stage`` residual blocks per branch; an exchange follows each stage.
    lr_gates : bool
        Follow each residual block of the LR branch by an ECA and an SE block, as the authors do.
    attention : bool
        Dual-resolution attention at the end of each branch (ablation: False).
    attention_reduction, attention_kernel, attention_blocks : int
        Channel bottleneck ratio, temporal conv kernel, and residual blocks reducing the 2C attended maps to C.
    exchange : bool
        Bidirectional exchange after every stage (ablation: False, the released code's behaviour).
    single_branch : {None, "hr", "lr"}
        Build one branch only (ablation); the output then has only that branch's fields.
    fusion : {"mean", "learned"}
        "mean": the fused probability is the mean of the heads' probabilities. "learned": a per-label convex weight,
        trained only through a loss on the fused logits (the heads are detached there, so it cannot change them).
    split_dropout, head_dropout : float
        Dropout after the resolution split (the authors' 0.2) and before each head's linear layer.

    Examples
    --------
    >>> MRMConfig(hr_channels=32, lr_channels=64).n_stages
    3
    """

    in_channels: int = 12
    stem_channels: tuple[int, ...] = (16, 32, 64, 64)
    stem_kernels: tuple[int, ...] = (11, 7, 5, 3)
    ms_kernels: tuple[int, ...] = (3, 13, 23, 33)
    hr_channels: int = 64
    lr_channels: int = 128
    n_stages: int = 3
    blocks_per_stage: int = 1
    lr_gates: bool = True
    attention: bool = True
    attention_reduction: int = 8
    attention_kernel: int = 7
    attention_blocks: int = 2
    exchange: bool = True
    single_branch: str | None = None
    fusion: str = "mean"
    split_dropout: float = 0.2
    head_dropout: float = 0.0

    def __post_init__(self):
        # Configurations round-trip through JSON model cards, where tuples come back as lists.
        for f in fields(self):
            if isinstance(getattr(self, f.name), list):
                object.__setattr__(self, f.name, tuple(getattr(self, f.name)))
        if len(self.stem_channels) != len(self.stem_kernels) or not self.stem_channels:
            raise ValueError("stem_channels and stem_kernels must be non-empty and of equal length")
        if any(k % 2 == 0 for k in (*self.ms_kernels, *self.stem_kernels, self.attention_kernel)):
            raise ValueError("kernel sizes must be odd so that convolutions are centred")
        if self.lr_channels % self.hr_channels:
            raise ValueError(f"lr_channels ({self.lr_channels}) must be a multiple of hr_channels ({self.hr_channels})")
        if self.single_branch not in (None, "hr", "lr"):
            raise ValueError(f"single_branch must be None, 'hr' or 'lr', not {self.single_branch!r}")
        if self.fusion not in ("mean", "learned"):
            raise ValueError(f"fusion must be 'mean' or 'learned', not {self.fusion!r}")
        if self.n_stages < 1 or self.blocks_per_stage < 1 or self.attention_blocks < 1:
            raise ValueError("n_stages, blocks_per_stage and attention_blocks must be at least 1")

    @property
    def branches(self) -> tuple[str, ...]:
        """The branches this configuration builds: ("hr", "lr"), ("hr",) or ("lr",)."""
        return (self.single_branch,) if self.single_branch else ("hr", "lr")


def fuse_probabilities(logits_hr: Tensor, logits_lr: Tensor, weight_hr: Tensor | float = 0.5) -> Tensor:
    """Return the logit of ``w * sigmoid(logits_hr) + (1 - w) * sigmoid(logits_lr)``, computed in log space.

    Working with log-sigmoids keeps the result finite where the probabilities round to 0 or 1.

    Examples
    --------
    >>> a, b = torch.tensor([2.0, -30.0]), torch.tensor([-1.0, -40.0])
    >>> torch.sigmoid(fuse_probabilities(a, b))
    tensor([5.7487e-01, 4.6790e-14])
    >>> fuse_probabilities(torch.tensor([60.0]), torch.tensor([60.0]))  # torch.logit of the mean gives inf
    tensor([60.])
    """
    w = torch.as_tensor(weight_hr, dtype=logits_hr.dtype, device=logits_hr.device)
    log_w, log_1mw = torch.log(w), torch.log1p(-w)
    log_p = torch.logaddexp(log_w + F.logsigmoid(logits_hr), log_1mw + F.logsigmoid(logits_lr))
    log_q = torch.logaddexp(log_w + F.logsigmoid(-logits_hr), log_1mw + F.logsigmoid(-logits_lr))
    return log_p - log_q


class Head(nn.Module):
    """Global average pooling -> LayerNorm -> Dropout -> Linear, as the authors' heads.

    Examples
    --------
    >>> Head(32, 5)(torch.randn(2, 32, 125)).shape
    torch.Size([2, 5])
    """

    def __init__(self, channels: int, n_classes: int, dropout: float = 0.0):
        super().__init__()
        self.norm = nn.LayerNorm(channels, eps=1e-6)
        self.dropout = nn.Dropout(dropout)
        self.linear = nn.Linear(channels, n_classes)

    def forward(self, x: Tensor) -> Tensor:
        return self.linear(self.dropout(self.norm(x.mean(dim=2))))


class MRMNet(nn.Module):
    """MRM-Net: shared stem, HR and LR branches with exchange after every stage, dual attention, two heads.

    Parameters
    ----------
    config : MRMConfig
        Sizes and ablation switches.
    n_classes : int
        Number of labels.

    Notes
    -----
    ``forward(x)`` takes (B, 12, L) with any L >= 16 (2.5-s crops and whole 10-s records at 100 Hz alike) and
    returns an :class:`MRMOutput`. ``attn_hr`` (B, L_hr) and ``attn_lr`` (B, L_lr), L_hr = L // 2 and
    L_lr ~ L / 4, are the temporal gates of each branch's attention block, which sits after the last stage:
    step i of a map covers input samples [i * L / L_map, (i + 1) * L / L_map). ``feat_hr`` and ``feat_lr`` are
    the flattened attended maps, the HR map average-pooled in time to ``L_lr * lr_channels / hr_channels`` steps
    so that both have ``lr_channels * L_lr`` values (at the paper's sizes on 1000 samples this is the identity:
    64 x 500 = 128 x 250).

    Examples
    --------
    >>> from mrm.model.registry import CONFIGS
    >>> model = MRMNet(CONFIGS["tiny"], n_classes=5).eval()
    >>> out = model(torch.randn(2, 12, 250))
    >>> out.logits.shape, out.attn_hr.shape, out.attn_lr.shape
    (torch.Size([2, 5]), torch.Size([2, 125]), torch.Size([2, 62]))
    """

    def __init__(self, config: MRMConfig, n_classes: int):
        super().__init__()
        self.config = config
        self.n_classes = n_classes
        c = config
        stem, in_ch = [], c.in_channels
        for out_ch, k in zip(c.stem_channels, c.stem_kernels, strict=True):
            stem.append(conv_bn_relu(in_ch, out_ch, k))
            in_ch = out_ch
        self.stem = nn.Sequential(*stem)

        channels = {"hr": c.hr_channels, "lr": c.lr_channels}
        strides = {"hr": 1, "lr": 2}
        self.split = nn.ModuleDict(
            {b: MultiScaleBlock(in_ch, channels[b], c.ms_kernels, strides[b], c.split_dropout) for b in c.branches}
        )
        self.stages = nn.ModuleDict(
            {b: nn.ModuleList(self._make_stage(b, channels[b]) for _ in range(c.n_stages)) for b in c.branches}
        )
        two = len(c.branches) == 2
        self.exchanges = (
            nn.ModuleList(BranchExchange(c.hr_channels, c.lr_channels) for _ in range(c.n_stages))
            if c.exchange and two
            else None
        )
        self.attention = (
            nn.ModuleDict(
                {
                    b: DualAttention(channels[b], c.attention_reduction, c.attention_kernel, c.attention_blocks)
                    for b in c.branches
                }
            )
            if c.attention
            else None
        )
        self.heads = nn.ModuleDict({b: Head(channels[b], n_classes, c.head_dropout) for b in c.branches})
        # Logit of the HR weight of the learned fusion; 0 starts it at the plain mean.
        self.fusion_logit = nn.Parameter(torch.zeros(n_classes)) if c.fusion == "learned" and two else None

    def _make_stage(self, branch: str, channels: int) -> nn.Sequential:
        blocks = []
        for _ in range(self.config.blocks_per_stage):
            blocks.append(BasicBlock(channels, channels))
            if branch == "lr" and self.config.lr_gates:
                blocks += [GatedBlock(channels, "eca"), GatedBlock(channels, "se")]
        return nn.Sequential(*blocks)

    def forward(self, x: Tensor) -> MRMOutput:
        if x.ndim != 3 or x.shape[1] != self.config.in_channels or x.shape[2] < 16:
            raise ValueError(
                f"MRMNet expects (batch, {self.config.in_channels}, length >= 16) input, got {tuple(x.shape)}"
            )
        shared = self.stem(x)
        streams = {b: self.split[b](shared) for b in self.config.branches}
        for i in range(self.config.n_stages):
            streams = {b: self.stages[b][i](s) for b, s in streams.items()}
            if self.exchanges is not None:
                streams["hr"], streams["lr"] = self.exchanges[i](streams["hr"], streams["lr"])
        attn = {}
        if self.attention is not None:
            for b in self.config.branches:
                streams[b], attn[b] = self.attention[b](streams[b])
        logits = {b: self.heads[b](s) for b, s in streams.items()}

        if len(logits) == 1:
            (branch,) = logits
            return MRMOutput(logits=logits[branch], **{f"logits_{branch}": logits[branch]}, **_attn_fields(attn))
        hr, lr = streams["hr"], streams["lr"]
        target_steps = lr.shape[-1] * self.config.lr_channels // self.config.hr_channels
        if self.fusion_logit is None:
            fused = fuse_probabilities(logits["hr"], logits["lr"])
        else:
            fused = fuse_probabilities(logits["hr"].detach(), logits["lr"].detach(), torch.sigmoid(self.fusion_logit))
        return MRMOutput(
            logits=fused,
            logits_hr=logits["hr"],
            logits_lr=logits["lr"],
            feat_hr=F.adaptive_avg_pool1d(hr, target_steps).flatten(1),
            feat_lr=lr.flatten(1),
            **_attn_fields(attn),
        )


def _attn_fields(attn: dict[str, Tensor]) -> dict[str, Tensor]:
    return {f"attn_{b}": a for b, a in attn.items()}


def count_parameters(model: nn.Module) -> int:
    """Return the number of trainable parameters of ``model``.

    Examples
    --------
    >>> count_parameters(nn.Linear(10, 2))
    22
    """
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
