"""``mrm train``: train one task, select on fold 9, evaluate on fold 10, write weights and card."""

from __future__ import annotations

import argparse
import json

from mrm.model import list_models
from mrm.train.config import TASKS, TrainConfig


def _override(text: str) -> tuple[str, object]:
    key, _, value = text.partition("=")
    if not key or not value:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    try:
        return key, json.loads(value)
    except json.JSONDecodeError:
        return key, value


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    defaults = TrainConfig()
    p = subparsers.add_parser(
        "train",
        help="train MRM-Net or a baseline on one task",
        description="Train on folds 1-8, choose the epoch and thresholds on fold 9, report fold 10. Writes "
        "checkpoint.pt every epoch (use --resume after an interruption), history.jsonl, and NAME.pt + NAME.json "
        "(+ NAME.fold9.npz). Under torchrun it trains with DistributedDataParallel.",
    )
    p.add_argument("--dataset", default="ptbxl", choices=["ptbxl", "cpsc2018"],
                   help="ptbxl (any task), or cpsc2018 (task cpsc2018, on its own records and 10-fold split)")
    p.add_argument("--task", required=True, choices=TASKS)
    p.add_argument("--config", default=defaults.model, choices=list_models(), help="network (default: cpu)")
    p.add_argument("--data-dir", default="data", help="data root holding ptb-xl/ or cpsc2018/ (default: ./data)")
    p.add_argument("--cache", default=None, help="cache folder from `mrm prepare` (default: ./cache/DATASET-100hz)")
    p.add_argument("--out", required=True, help="run folder")
    p.add_argument("--name", default=None, help="file name of the weights (default: mrm_CONFIG_TASK)")
    p.add_argument("--epochs", type=int, default=defaults.epochs)
    p.add_argument("--batch-size", type=int, default=defaults.batch_size)
    p.add_argument("--lr", type=float, default=defaults.lr, help="peak learning rate of the one-cycle schedule")
    p.add_argument("--weight-decay", type=float, default=defaults.weight_decay)
    p.add_argument("--crop", type=int, default=defaults.crop, choices=[250, 1000],
                   help="250: random 2.5-s crops, max over 2.5-s windows at test time; 1000: whole 10-s records")
    p.add_argument("--aggregation", default=defaults.aggregation, choices=["max", "mean"])
    p.add_argument("--stride", type=int, default=None,
                   help="test-time step between windows, samples at 100 Hz (default: the window, no overlap)")
    p.add_argument("--kl", dest="kl_kind", default=defaults.kl_kind, choices=["softmax", "bernoulli"])
    p.add_argument("--w-logit", type=float, default=defaults.w_logit, help="weight of the KL between the heads")
    p.add_argument("--w-feat", type=float, default=defaults.w_feat, help="weight of the KL between the features")
    p.add_argument("--temperature", type=float, default=defaults.temperature)
    p.add_argument("--train-fraction", type=float, default=1.0, help="seeded share of the training records")
    p.add_argument("--set", dest="overrides", type=_override, action="append", default=[], metavar="KEY=VALUE",
                   help="model configuration field, e.g. exchange=false, attention=false, single_branch=hr")
    p.add_argument("--aux-task", default=None, choices=[t for t in TASKS if t != "cpsc2018"],
                   help="also train on this PTB-XL task's labels of the same records (extra outputs, removed "
                   "after training)")
    p.add_argument("--aux-weight", type=float, default=defaults.aux_weight,
                   help="weight of the auxiliary labels' BCE (default: 1)")
    p.add_argument("--ema", type=float, default=defaults.ema,
                   help="decay of an exponential moving average of the weights, validated and shipped instead of "
                   "the last step's (e.g. 0.99; default: 0, off)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=None, help="CPU threads (default: all cores)")
    p.add_argument("--device", default=None, help="cpu or cuda (default: cuda when available)")
    p.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint.pt")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import torch

    from mrm.train.run import train_task

    if args.threads:
        torch.set_num_threads(args.threads)
    config = TrainConfig(
        dataset=args.dataset, task=args.task, model=args.config, model_overrides=dict(args.overrides),
        epochs=args.epochs, batch_size=args.batch_size, lr=args.lr, weight_decay=args.weight_decay,
        crop=args.crop, aggregation=args.aggregation, stride=args.stride, kl_kind=args.kl_kind, w_logit=args.w_logit,
        w_feat=args.w_feat, temperature=args.temperature, train_fraction=args.train_fraction, seed=args.seed,
        aux_task=args.aux_task, aux_weight=args.aux_weight, ema=args.ema,
    )
    path = train_task(config, args.data_dir, args.out, cache_dir=args.cache, name=args.name, resume=args.resume,
                      device=args.device, progress=not args.quiet)
    if not torch.distributed.is_initialized() or torch.distributed.get_rank() == 0:  # under torchrun: rank 0 wrote
        print(f"weights: {path}")
    if torch.distributed.is_initialized():
        torch.distributed.destroy_process_group()
    return 0
