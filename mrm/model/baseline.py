"""Baselines of the PTB-XL benchmark (Strodthoff et al. 2021), in plain PyTorch: xresnet1d and resnet1d_wang.

Sizes, kernels, head and initialisation follow the benchmark's code as it trains them (``fastai_model.py``):
kernel 5, a concat-pooling head with one hidden layer of 128 and dropout 0.25/0.5, Kaiming-normal weights, zero
biases, BatchNorm at weight 1 and bias 0. Both return an :class:`MRMOutput` with only ``logits`` set, so the
training harness has one code path for every model.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import torch
from torch import Tensor, nn

from mrm.model.output import MRMOutput


def _tuples_from_lists(config) -> None:
    # Configurations round-trip through JSON model cards, where tuples come back as lists.
    for f in fields(config):
        if isinstance(getattr(config, f.name), list):
            object.__setattr__(config, f.name, tuple(getattr(config, f.name)))


def conv_bn(in_channels: int, out_channels: int, kernel_size: int, stride: int = 1, relu: bool = True) -> nn.Sequential:
    """Return Conv1d (no bias, 'same' padding) -> BatchNorm [-> ReLU], fastai's ConvLayer for one dimension.

    Examples
    --------
    >>> conv_bn(12, 32, 5, stride=2)(torch.zeros(1, 12, 250)).shape
    torch.Size([1, 32, 125])
    """
    layers = [
        nn.Conv1d(in_channels, out_channels, kernel_size, stride=stride, padding=(kernel_size - 1) // 2, bias=False),
        nn.BatchNorm1d(out_channels),
    ]
    if relu:
        layers.append(nn.ReLU(inplace=True))
    return nn.Sequential(*layers)


class ConcatPoolHead(nn.Module):
    """The benchmark's head: [max pool, average pool] -> (BN -> Dropout -> Linear -> ReLU) -> BN -> Dropout -> Linear.

    With ``hidden=0`` the hidden layer is left out.

    Examples
    --------
    >>> ConcatPoolHead(64, 5)(torch.randn(3, 64, 20)).shape
    torch.Size([3, 5])
    """

    def __init__(self, channels: int, n_classes: int, hidden: int = 128, dropout: float = 0.5):
        super().__init__()
        widths = [2 * channels, hidden, n_classes] if hidden else [2 * channels, n_classes]
        drops = [dropout / 2] * (len(widths) - 2) + [dropout]
        layers: list[nn.Module] = []
        for i, (n_in, n_out, p) in enumerate(zip(widths[:-1], widths[1:], drops, strict=True)):
            layers += [nn.BatchNorm1d(n_in), nn.Dropout(p), nn.Linear(n_in, n_out)]
            if i < len(widths) - 2:
                layers.append(nn.ReLU(inplace=True))
        self.mlp = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        return self.mlp(torch.cat([x.amax(dim=2), x.mean(dim=2)], dim=1))


def init_weights(module: nn.Module) -> None:
    """Kaiming-normal conv and linear weights, zero biases, BatchNorm at 1 and 0 (the benchmark's ``weight_init``).

    Examples
    --------
    >>> layer = nn.Linear(4, 2)
    >>> init_weights(layer)
    >>> layer.bias.abs().sum().item()
    0.0
    """
    for m in module.modules():
        if isinstance(m, nn.Conv1d | nn.Linear):
            nn.init.kaiming_normal_(m.weight)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm1d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)


@dataclass(frozen=True)
class XResNetConfig:
    """Sizes of an xresnet1d; the defaults are the benchmark's xresnet1d101.

    The benchmark's one-dimensional xresnet keeps 64 bottleneck channels (256 out) in every group, unlike the
    image xresnet, whose widths double.

    Examples
    --------
    >>> XResNetConfig(layers=(3, 4, 6, 3)).expansion
    4
    """

    in_channels: int = 12
    layers: tuple[int, ...] = (3, 4, 23, 3)
    expansion: int = 4
    stem_channels: tuple[int, ...] = (32, 32, 64)
    block_channels: int = 64
    kernel_size: int = 5
    head_hidden: int = 128
    head_dropout: float = 0.5

    def __post_init__(self):
        _tuples_from_lists(self)


class Bottleneck(nn.Module):
    """xresnet block: 1x1 -> k (strided) -> 1x1 convs; shortcut: average pool (if strided) then 1x1 conv-BN.

    Examples
    --------
    >>> Bottleneck(64, 64, 256, kernel_size=5, stride=2)(torch.randn(2, 64, 63)).shape
    torch.Size([2, 256, 32])
    """

    def __init__(self, in_channels: int, mid_channels: int, out_channels: int, kernel_size: int, stride: int):
        super().__init__()
        if out_channels == mid_channels:  # expansion 1: two k-convs, as fastai's ResBlock
            convs = [
                conv_bn(in_channels, mid_channels, kernel_size, stride),
                conv_bn(mid_channels, out_channels, kernel_size, relu=False),
            ]
        else:
            convs = [
                conv_bn(in_channels, mid_channels, 1),
                conv_bn(mid_channels, mid_channels, kernel_size, stride),
                conv_bn(mid_channels, out_channels, 1, relu=False),
            ]
        self.convs = nn.Sequential(*convs)
        shortcut: list[nn.Module] = []
        if stride != 1:
            shortcut.append(nn.AvgPool1d(2, ceil_mode=True))
        if in_channels != out_channels:
            shortcut.append(conv_bn(in_channels, out_channels, 1, relu=False))
        self.shortcut = nn.Sequential(*shortcut)

    def forward(self, x: Tensor) -> Tensor:
        return torch.relu(self.convs(x) + self.shortcut(x))


class XResNet1d(nn.Module):
    """xresnet1d as in the PTB-XL benchmark: 3-conv stem (first strided), max pool, bottleneck groups, concat head.

    Examples
    --------
    >>> model = XResNet1d(XResNetConfig(layers=(1, 1, 1, 1)), n_classes=5).eval()
    >>> model(torch.randn(2, 12, 250)).logits.shape
    torch.Size([2, 5])
    """

    def __init__(self, config: XResNetConfig, n_classes: int):
        super().__init__()
        self.config = config
        self.n_classes = n_classes
        c = config
        stem, in_ch = [], c.in_channels
        for i, out_ch in enumerate(c.stem_channels):
            stem.append(conv_bn(in_ch, out_ch, c.kernel_size, stride=2 if i == 0 else 1))
            in_ch = out_ch
        stem.append(nn.MaxPool1d(3, stride=2, padding=1))
        out_ch = c.block_channels * c.expansion
        groups = []
        for g, n_blocks in enumerate(c.layers):
            blocks = [
                Bottleneck(in_ch if i == 0 else out_ch, c.block_channels, out_ch, c.kernel_size,
                           stride=2 if (g > 0 and i == 0) else 1)
                for i in range(n_blocks)
            ]
            groups.append(nn.Sequential(*blocks))
            in_ch = out_ch
        self.body = nn.Sequential(*stem, *groups)
        self.head = ConcatPoolHead(out_ch, n_classes, c.head_hidden, c.head_dropout)
        init_weights(self)

    def forward(self, x: Tensor) -> MRMOutput:
        return MRMOutput(logits=self.head(self.body(x)))


@dataclass(frozen=True)
class ResNetWangConfig:
    """Sizes of resnet1d_wang (Wang et al. 2017 as in the benchmark): 128 channels, kernels 5 and 3, no stem pool.

    Examples
    --------
    >>> ResNetWangConfig().channels
    128
    """

    in_channels: int = 12
    channels: int = 128
    layers: tuple[int, ...] = (1, 1, 1)
    kernel_sizes: tuple[int, int] = (5, 3)
    stem_kernel: int = 7
    head_hidden: int = 128
    head_dropout: float = 0.5

    def __post_init__(self):
        _tuples_from_lists(self)


class WangBlock(nn.Module):
    """Basic residual block with kernels (k1, k2); shortcut a strided 1x1 conv-BN where the stride is 2.

    Examples
    --------
    >>> WangBlock(16, (5, 3), stride=2)(torch.randn(2, 16, 125)).shape
    torch.Size([2, 16, 63])
    """

    def __init__(self, channels: int, kernel_sizes: tuple[int, int], stride: int):
        super().__init__()
        self.convs = nn.Sequential(
            conv_bn(channels, channels, kernel_sizes[0], stride),
            conv_bn(channels, channels, kernel_sizes[1], relu=False),
        )
        self.shortcut = conv_bn(channels, channels, 1, stride, relu=False) if stride != 1 else nn.Identity()

    def forward(self, x: Tensor) -> Tensor:
        return torch.relu(self.convs(x) + self.shortcut(x))


class ResNet1dWang(nn.Module):
    """resnet1d_wang: one stem conv, residual groups at fixed width (the first unstrided), concat head.

    Examples
    --------
    >>> ResNet1dWang(ResNetWangConfig(), n_classes=3).eval()(torch.randn(1, 12, 251)).logits.shape
    torch.Size([1, 3])
    """

    def __init__(self, config: ResNetWangConfig, n_classes: int):
        super().__init__()
        self.config = config
        self.n_classes = n_classes
        c = config
        layers: list[nn.Module] = [conv_bn(c.in_channels, c.channels, c.stem_kernel)]
        for g, n_blocks in enumerate(c.layers):
            # Only the first block of a group gets the group's kernels; the benchmark builds later ones at 3/3.
            layers += [
                WangBlock(c.channels, c.kernel_sizes if i == 0 else (3, 3), stride=2 if (g > 0 and i == 0) else 1)
                for i in range(n_blocks)
            ]
        self.body = nn.Sequential(*layers)
        self.head = ConcatPoolHead(c.channels, n_classes, c.head_hidden, c.head_dropout)
        init_weights(self)

    def forward(self, x: Tensor) -> MRMOutput:
        return MRMOutput(logits=self.head(self.body(x)))
