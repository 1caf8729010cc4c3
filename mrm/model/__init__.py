"""Networks and losses, tensor code only: MRM-Net, the benchmark baselines, the mutual-learning loss.

>>> import torch
>>> from mrm.model import create_model, MutualLoss
>>> model = create_model("tiny", n_classes=5)
>>> out = model(torch.randn(4, 12, 250))
>>> terms = MutualLoss()(out, torch.randint(0, 2, (4, 5)).float())
>>> terms.total.backward()
"""

from mrm.model.losses import LossTerms, MutualLoss, bernoulli_kl, softmax_kl, symmetric_kl
from mrm.model.mrmnet import MRMConfig, MRMNet, count_parameters, fuse_probabilities
from mrm.model.output import MRMOutput
from mrm.model.registry import BASELINES, CONFIGS, create_model, list_models

__all__ = [
    "BASELINES",
    "CONFIGS",
    "LossTerms",
    "MRMConfig",
    "MRMNet",
    "MRMOutput",
    "MutualLoss",
    "bernoulli_kl",
    "count_parameters",
    "create_model",
    "fuse_probabilities",
    "list_models",
    "softmax_kl",
    "symmetric_kl",
]
