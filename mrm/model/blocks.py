"""Building blocks of MRM-Net: convolutions, residual and gating blocks, dual attention, the branch exchange.

All blocks take and return (B, C, L) tensors.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn


def conv_bn_relu(in_channels: int, out_channels: int, kernel_size: int, stride: int = 1) -> nn.Sequential:
    """Return Conv1d (no bias, 'same' padding) -> BatchNorm -> ReLU.

    Examples
    --------
    >>> conv_bn_relu(12, 16, 11)(torch.zeros(2, 12, 250)).shape
    torch.Size([2, 16, 250])
    """
    return nn.Sequential(
        nn.Conv1d(in_channels, out_channels, kernel_size, stride=stride, padding=kernel_size // 2, bias=False),
        nn.BatchNorm1d(out_channels),
        nn.ReLU(inplace=True),
    )


class ChannelLayerNorm(nn.LayerNorm):
    """LayerNorm over the channels of a (B, C, L) tensor, at each time step.

    Examples
    --------
    >>> y = ChannelLayerNorm(4)(torch.randn(2, 4, 10))
    >>> bool(y.mean(dim=1).abs().max() < 1e-5)
    True
    """

    def forward(self, x: Tensor) -> Tensor:
        return super().forward(x.transpose(1, 2)).transpose(1, 2)


class MultiScaleConv(nn.Module):
    """The mean of parallel convolutions with different (odd) kernel sizes, computed as one convolution.

    The mean of centred convolutions equals one convolution whose kernel is the mean of the zero-padded kernels;
    with kernels 3/13/23/33 that costs 33 taps instead of 72. Each kernel keeps its own parameters and default
    initialisation, so this is the authors' block, only cheaper.

    Examples
    --------
    >>> MultiScaleConv(8, 16, (3, 13), stride=2)(torch.zeros(1, 8, 100)).shape
    torch.Size([1, 16, 50])
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_sizes: tuple[int, ...], stride: int = 1):
        super().__init__()
        self.convs = nn.ModuleList(nn.Conv1d(in_channels, out_channels, k, bias=False) for k in kernel_sizes)
        self.width = max(kernel_sizes)
        self.stride = stride

    def merged_weight(self) -> Tensor:
        """Return the (out, in, max_kernel) kernel equivalent to the mean of the parallel convolutions."""
        padded = [F.pad(c.weight, ((self.width - c.kernel_size[0]) // 2,) * 2) for c in self.convs]
        return torch.stack(padded).mean(dim=0)

    def forward(self, x: Tensor) -> Tensor:
        return F.conv1d(x, self.merged_weight(), stride=self.stride, padding=self.width // 2)


class MultiScaleBlock(nn.Module):
    """The resolution split: multi-scale conv -> BN -> ReLU -> MaxPool(2) -> Dropout, plus a conv shortcut.

    With ``stride=1`` the output has half the input's time steps (the high-resolution branch); with ``stride=2``
    a quarter (the low-resolution branch).

    Examples
    --------
    >>> block = MultiScaleBlock(16, 32, (3, 13, 23, 33), stride=2)
    >>> block(torch.zeros(2, 16, 1000)).shape
    torch.Size([2, 32, 250])
    """

    def __init__(
        self, in_channels: int, out_channels: int, kernel_sizes: tuple[int, ...], stride: int, dropout: float = 0.2
    ):
        super().__init__()
        self.main = nn.Sequential(
            MultiScaleConv(in_channels, out_channels, kernel_sizes, stride=stride),
            nn.BatchNorm1d(out_channels),
            nn.ReLU(inplace=True),
            nn.MaxPool1d(2),
            nn.Dropout(dropout),
        )
        self.shortcut = nn.Sequential(conv_bn_relu(in_channels, out_channels, 3, stride=stride), nn.MaxPool1d(2))

    def forward(self, x: Tensor) -> Tensor:
        return self.main(x) + self.shortcut(x)


class BasicBlock(nn.Module):
    """Residual block: conv-BN-ReLU-conv-BN plus identity (or a 1x1 conv-BN when the channels change), then ReLU.

    Examples
    --------
    >>> BasicBlock(32, 16)(torch.zeros(2, 32, 50)).shape
    torch.Size([2, 16, 50])
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 3):
        super().__init__()
        self.convs = nn.Sequential(
            conv_bn_relu(in_channels, out_channels, kernel_size),
            nn.Conv1d(out_channels, out_channels, kernel_size, padding=kernel_size // 2, bias=False),
            nn.BatchNorm1d(out_channels),
        )
        self.shortcut = (
            nn.Identity()
            if in_channels == out_channels
            else nn.Sequential(nn.Conv1d(in_channels, out_channels, 1, bias=False), nn.BatchNorm1d(out_channels))
        )

    def forward(self, x: Tensor) -> Tensor:
        return F.relu(self.convs(x) + self.shortcut(x))


class ECAGate(nn.Module):
    """Efficient channel attention: a 1-d conv across the pooled channel descriptor, sigmoid, multiplied in.

    Examples
    --------
    >>> ECAGate(64).conv.kernel_size
    (3,)
    """

    def __init__(self, channels: int, gamma: int = 2, b: int = 1):
        super().__init__()
        t = int(abs((math.log2(channels) + b) / gamma))
        k = t if t % 2 else t + 1
        self.conv = nn.Conv1d(1, 1, k, padding=k // 2, bias=False)

    def forward(self, x: Tensor) -> Tensor:
        descriptor = x.mean(dim=2, keepdim=True).transpose(1, 2)
        return x * torch.sigmoid(self.conv(descriptor)).transpose(1, 2)


class SEGate(nn.Module):
    """Squeeze-excitation: global average pool -> bottleneck MLP -> sigmoid, multiplied in.

    Examples
    --------
    >>> SEGate(32)(torch.ones(1, 32, 7)).shape
    torch.Size([1, 32, 7])
    """

    def __init__(self, channels: int, reduction: int = 4):
        super().__init__()
        hidden = max(channels // reduction, 1)
        self.mlp = nn.Sequential(
            nn.Conv1d(channels, hidden, 1, bias=False),
            nn.ReLU(inplace=True),
            nn.Conv1d(hidden, channels, 1, bias=False),
            nn.Sigmoid(),
        )

    def forward(self, x: Tensor) -> Tensor:
        return x * self.mlp(x.mean(dim=2, keepdim=True))


class GatedBlock(nn.Module):
    """Residual grouped conv -> BN -> ReLU -> channel gate (ECA or SE), as interleaved in the authors' LR branch.

    Examples
    --------
    >>> GatedBlock(64, "se")(torch.zeros(2, 64, 30)).shape
    torch.Size([2, 64, 30])
    """

    def __init__(self, channels: int, gate: str, kernel_size: int | None = None):
        super().__init__()
        if gate not in ("eca", "se"):
            raise ValueError(f"gate must be 'eca' or 'se', not {gate!r}")
        kernel_size = kernel_size or (7 if gate == "eca" else 3)
        groups = max(channels // 16, 1)
        self.body = nn.Sequential(
            nn.Conv1d(channels, channels, kernel_size, padding=kernel_size // 2, groups=groups, bias=False),
            nn.BatchNorm1d(channels),
            nn.ReLU(inplace=True),
            ECAGate(channels) if gate == "eca" else SEGate(channels),
        )

    def forward(self, x: Tensor) -> Tensor:
        return x + self.body(x)


class DualAttention(nn.Module):
    """Channel and temporal attention in parallel, concatenated, layer-normed and reduced back to C channels.

    Channel gate: a shared 1x1 bottleneck over global max and average pooling, summed, sigmoid. Temporal gate:
    channel-wise max and mean stacked (2 x L) -> conv -> BN -> sigmoid; it is returned as the branch's
    attention map, the "where did this branch look" explanation.

    Returns
    -------
    (Tensor, Tensor)
        The attended (B, C, L) features and the (B, L) temporal attention map in [0, 1].

    Examples
    --------
    >>> features, attn = DualAttention(32)(torch.randn(2, 32, 125))
    >>> features.shape, attn.shape
    (torch.Size([2, 32, 125]), torch.Size([2, 125]))
    """

    def __init__(self, channels: int, reduction: int = 8, kernel_size: int = 7, n_blocks: int = 1):
        super().__init__()
        hidden = max(channels // reduction, 1)
        self.channel_mlp = nn.Sequential(
            nn.Conv1d(channels, hidden, 1, bias=False),
            nn.ReLU(inplace=True),
            nn.Conv1d(hidden, channels, 1, bias=False),
        )
        self.temporal_conv = nn.Sequential(
            nn.Conv1d(2, 1, kernel_size, padding=kernel_size // 2, bias=False), nn.BatchNorm1d(1)
        )
        self.norm = ChannelLayerNorm(2 * channels, eps=1e-6)
        self.reduce = nn.Sequential(
            BasicBlock(2 * channels, channels), *(BasicBlock(channels, channels) for _ in range(n_blocks - 1))
        )

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        channel_gate = torch.sigmoid(
            self.channel_mlp(x.amax(dim=2, keepdim=True)) + self.channel_mlp(x.mean(dim=2, keepdim=True))
        )
        stacked = torch.cat([x.amax(dim=1, keepdim=True), x.mean(dim=1, keepdim=True)], dim=1)
        temporal_gate = torch.sigmoid(self.temporal_conv(stacked))
        fused = torch.cat([x * channel_gate, x * temporal_gate], dim=1)
        return self.reduce(self.norm(fused)), temporal_gate.squeeze(1)


def resize_time(x: Tensor, length: int) -> Tensor:
    """Return ``x`` (B, C, L) with exactly ``length`` time steps (nearest neighbour), unchanged if already so.

    Examples
    --------
    >>> resize_time(torch.arange(3.0).view(1, 1, 3), 6)
    tensor([[[0., 0., 1., 1., 2., 2.]]])
    """
    return x if x.shape[-1] == length else F.interpolate(x, size=length, mode="nearest")


class BranchExchange(nn.Module):
    """Bidirectional feature exchange: HR -> LR by a stride-2 conv, LR -> HR by conv + upsampling, each added.

    Both directions are resized to the exact length of the receiving stream, so odd lengths work.

    Examples
    --------
    >>> hr, lr = BranchExchange(32, 64)(torch.randn(2, 32, 125), torch.randn(2, 64, 62))
    >>> hr.shape, lr.shape
    (torch.Size([2, 32, 125]), torch.Size([2, 64, 62]))
    """

    def __init__(self, hr_channels: int, lr_channels: int):
        super().__init__()
        self.hr_to_lr = conv_bn_relu(hr_channels, lr_channels, 3, stride=2)
        self.lr_to_hr = nn.Sequential(
            nn.Conv1d(lr_channels, hr_channels, 3, padding=1, bias=False), nn.BatchNorm1d(hr_channels)
        )

    def forward(self, hr: Tensor, lr: Tensor) -> tuple[Tensor, Tensor]:
        to_lr = resize_time(self.hr_to_lr(hr), lr.shape[-1])
        to_hr = resize_time(self.lr_to_hr(lr), hr.shape[-1])
        return hr + to_hr, lr + to_lr
