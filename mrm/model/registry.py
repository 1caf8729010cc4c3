"""Every network by name: the MRM-Net configurations and the benchmark baselines, built by one function.

A model card can store ``name``, ``n_classes`` and ``dataclasses.asdict(model.config)``; passing them back to
:func:`create_model` rebuilds the same network.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import fields, replace

from torch import nn

from mrm.model.baseline import ResNet1dWang, ResNetWangConfig, XResNet1d, XResNetConfig
from mrm.model.mrmnet import MRMConfig, MRMNet

CONFIGS: dict[str, MRMConfig] = {
    # The authors' sizes: stem 16-32-64-64 (kernels 11/7/5/3), split kernels 3/13/23/33, HR 64 and LR 128
    # channels, three residual blocks per branch (ECA and SE blocks between them in LR), attention reduced by
    # two residual blocks. Here the three blocks form three stages with an exchange after each.
    "paper": MRMConfig(),
    # The shipped default, sized for 2 CPU cores (measured with torch.set_num_threads(2), see the report of
    # issue 8): ~0.85 M parameters, ~0.2 s per training batch of 64 x 12 x 250, ~7 ms for one 10-s record.
    "cpu": MRMConfig(
        stem_channels=(16, 32, 48),
        stem_kernels=(11, 7, 5),
        ms_kernels=(3, 9, 15, 21),
        hr_channels=48,
        lr_channels=96,
        n_stages=3,
        blocks_per_stage=1,
        attention_blocks=1,
        head_dropout=0.2,
    ),
    # For tests: the smallest network with every part present.
    "tiny": MRMConfig(
        stem_channels=(8, 8),
        stem_kernels=(7, 3),
        ms_kernels=(3, 7),
        hr_channels=8,
        lr_channels=16,
        n_stages=2,
        attention_blocks=1,
        attention_reduction=4,
    ),
}

BASELINES: dict[str, Callable[..., nn.Module]] = {
    "xresnet1d101": lambda n_classes, **o: XResNet1d(XResNetConfig(**o), n_classes),
    "xresnet1d50": lambda n_classes, **o: XResNet1d(XResNetConfig(**{"layers": (3, 4, 6, 3), **o}), n_classes),
    "resnet1d_wang": lambda n_classes, **o: ResNet1dWang(ResNetWangConfig(**o), n_classes),
}


def list_models() -> list[str]:
    """Return the names :func:`create_model` accepts: the MRM-Net configurations, then the baselines.

    Examples
    --------
    >>> list_models()
    ['paper', 'cpu', 'tiny', 'xresnet1d101', 'xresnet1d50', 'resnet1d_wang']
    """
    return [*CONFIGS, *BASELINES]


def create_model(name: str, n_classes: int, **overrides) -> nn.Module:
    """Build the network ``name`` for ``n_classes`` labels, with any configuration fields overridden.

    Parameters
    ----------
    name : str
        One of :func:`list_models`.
    n_classes : int
        Number of labels.
    **overrides
        Fields of the model's configuration (``MRMConfig`` for MRM-Net, ``XResNetConfig`` or
        ``ResNetWangConfig`` for the baselines), e.g. the ablations ``exchange=False``, ``attention=False``,
        ``single_branch="hr"``.

    Returns
    -------
    nn.Module
        A network whose ``forward(x)`` maps (B, 12, L) to an :class:`~mrm.model.output.MRMOutput`; its
        configuration is ``model.config``.

    Examples
    --------
    >>> model = create_model("tiny", n_classes=5, exchange=False)
    >>> model.config.exchange, model.exchanges is None
    (False, True)
    """
    if n_classes < 1:
        raise ValueError(f"n_classes must be at least 1, not {n_classes}")
    if name in CONFIGS:
        allowed = {f.name for f in fields(MRMConfig)}
        unknown = sorted(set(overrides) - allowed)
        if unknown:
            raise ValueError(f"unknown MRMConfig fields {unknown}; valid fields are {sorted(allowed)}")
        return MRMNet(replace(CONFIGS[name], **overrides), n_classes)
    if name in BASELINES:
        return BASELINES[name](n_classes, **overrides)
    raise ValueError(f"unknown model {name!r}; choose one of {', '.join(list_models())}")
