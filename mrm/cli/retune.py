"""``mrm retune``: give trained weights another serving stride (thresholds and fold-10 report redone)."""

from __future__ import annotations

import argparse


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "retune",
        help="apply another window stride to trained weights: fold-9 thresholds and the fold-10 report redone",
        description="Rewrite a weights file's card for another test-time window stride: the input policy, the "
        "thresholds tuned on fold 9, the fold-9 probabilities and the fold-10 report. The network is not changed; "
        "the previous policy and its fold-9 AUC stay in the card (input_policy_history). Compare strides on fold 9 "
        "first with `mrm evaluate --fold 9 --stride N`.",
    )
    p.add_argument("--weights", required=True, help="a .pt file with its .json card beside it (rewritten in place)")
    p.add_argument("--stride", type=int, required=True,
                   help="samples at the model's rate between window starts (250 = 2.5-s windows without overlap)")
    p.add_argument("--data-dir", default="data", help="data root (default: ./data)")
    p.add_argument("--cache", default=None, help="read signals from a cache made by `mrm prepare`")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from mrm.train.run import set_stride

    set_stride(args.weights, args.stride, args.data_dir, cache_dir=args.cache)
    return 0
