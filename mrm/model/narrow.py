"""Drop trailing outputs of a trained network: the auxiliary labels a network was trained with but does not serve."""

from __future__ import annotations

import torch
from torch import nn

from mrm.model.baseline import ResNet1dWang, XResNet1d
from mrm.model.mrmnet import MRMNet
from mrm.model.output import MRMOutput


def _narrow_linear(linear: nn.Linear, n_outputs: int) -> nn.Linear:
    narrow = nn.Linear(linear.in_features, n_outputs, bias=linear.bias is not None)
    with torch.no_grad():
        narrow.weight.copy_(linear.weight[:n_outputs])
        if linear.bias is not None:
            narrow.bias.copy_(linear.bias[:n_outputs])
    return narrow.to(linear.weight.device)


def keep_first_classes(model: nn.Module, n_classes: int) -> nn.Module:
    """Keep the first ``n_classes`` outputs of every head of ``model`` (in place); returns the model.

    The kept outputs are computed exactly as before (a head's rows are independent), so a network trained on
    ``[task labels, auxiliary labels]`` becomes the network of the task alone, with the task's state dict shapes.

    Examples
    --------
    >>> from mrm.model import create_model
    >>> model = create_model("tiny", n_classes=7).eval()
    >>> x = torch.randn(2, 12, 250)
    >>> before = model(x).logits[:, :5]
    >>> bool(torch.allclose(keep_first_classes(model, 5)(x).logits, before, atol=1e-6)), model.n_classes
    (True, 5)
    """
    if not 0 < n_classes <= model.n_classes:
        raise ValueError(f"n_classes must be 1 to {model.n_classes}, not {n_classes}")
    if isinstance(model, MRMNet):
        for head in model.heads.values():
            head.linear = _narrow_linear(head.linear, n_classes)
        if model.fusion_logit is not None:
            model.fusion_logit = nn.Parameter(model.fusion_logit.detach()[:n_classes].clone())
    elif isinstance(model, XResNet1d | ResNet1dWang):
        model.head.mlp[-1] = _narrow_linear(model.head.mlp[-1], n_classes)
    else:
        raise TypeError(f"cannot narrow the heads of {type(model).__name__}")
    model.n_classes = n_classes
    return model


def split_classes(output: MRMOutput, n_classes: int) -> tuple[MRMOutput, MRMOutput]:
    """Split ``output`` into the first ``n_classes`` labels (features and attention kept) and the rest (logits only).

    Examples
    --------
    >>> main, aux = split_classes(MRMOutput(logits=torch.zeros(2, 7)), 5)
    >>> main.logits.shape, aux.logits.shape
    (torch.Size([2, 5]), torch.Size([2, 2]))
    """

    def cut(t, part):
        if t is None:
            return None
        return t[:, :n_classes] if part == 0 else t[:, n_classes:]

    main = MRMOutput(cut(output.logits, 0), cut(output.logits_hr, 0), cut(output.logits_lr, 0),
                     output.feat_hr, output.feat_lr, output.attn_hr, output.attn_lr)
    rest = MRMOutput(cut(output.logits, 1), cut(output.logits_hr, 1), cut(output.logits_lr, 1))
    return main, rest
