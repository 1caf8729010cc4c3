"""``mrm evaluate``: recompute a weights file's metrics on a fold, optionally against a second weights file."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from mrm.evaluate.policy import PRECISIONS


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "evaluate",
        help="macro AUC with its interval, per-class AUC and thresholded metrics of a weights file",
        description="Evaluate weights on one fold (default 10, the test fold) of the dataset they were trained on, "
        "with the thresholds of their card (tuned on fold 9). --compare adds a paired bootstrap. --dataset names "
        "another dataset for a cross-dataset check (then every record with a signal, unless --fold is given); on "
        "CPSC2018 the report adds the challenge score.",
    )
    p.add_argument("--weights", required=True, help="a .pt file with its .json card beside it")
    p.add_argument("--data-dir", default="data", help="data root (default: ./data)")
    p.add_argument("--dataset", choices=["ptbxl", "cpsc2018"], default=None,
                   help="dataset to evaluate on (default: the one the weights were trained on)")
    p.add_argument("--fold", default=None,
                   help="a fold 1-10 or 'all' (default: 10 on the training dataset, all on another dataset)")
    p.add_argument("--cache", default=None, help="read signals from a cache made by `mrm prepare`")
    p.add_argument("--compare", default=None, help="second weights file for a paired bootstrap on the same records")
    p.add_argument("--n-boot", type=int, default=1000)
    p.add_argument("--stride", type=int, default=None,
                   help="window stride in samples at 100 Hz instead of the card's (a what-if for serving; "
                   "250 = 2.5-s windows without overlap)")
    p.add_argument("--precision", choices=PRECISIONS, default="float32",
                   help="arithmetic of the forward passes (bfloat16: what `mrm predict --precision bfloat16` costs)")
    p.add_argument("--json", dest="json_out", default=None, help="write the full report to this file ('-': stdout)")
    p.set_defaults(func=run)


def _or_nan(value: float | None) -> float:
    # `value or nan` would also turn a real 0.0 (no call right at these thresholds) into nan
    return float("nan") if value is None else value


def _fold(args: argparse.Namespace) -> int | None:
    if args.fold is None:
        if args.dataset is None or not Path(args.weights).is_file():
            return 10  # (a missing file is reported by the evaluation, with its own sentence)
        from mrm.train.card import read_card

        return 10 if args.dataset == read_card(args.weights)["training_data"]["dataset"] else None
    if args.fold == "all":
        return None
    if not args.fold.isdigit() or not 1 <= int(args.fold) <= 10:
        raise SystemExit(f"mrm evaluate: --fold takes a fold from 1 to 10 or 'all', not {args.fold!r}.")
    return int(args.fold)


def run(args: argparse.Namespace) -> int:
    from mrm.train.run import compare_weights, evaluate_weights

    fold = _fold(args)
    report = evaluate_weights(args.weights, args.data_dir, fold=fold, dataset=args.dataset, cache_dir=args.cache,
                              n_boot=args.n_boot, stride=args.stride, precision=args.precision)
    if args.compare:
        if fold is None or report["cross_dataset"]:
            raise SystemExit("mrm evaluate: --compare works on one fold of the training dataset.")
        report["paired"] = compare_weights(args.weights, args.compare, args.data_dir, fold=fold,
                                           cache_dir=args.cache, n_boot=args.n_boot)
    if args.json_out == "-":
        print(json.dumps(report, indent=1))
        return 0
    if args.json_out:
        with open(args.json_out, "w") as fh:
            json.dump(report, fh, indent=1)
    where = f"fold {fold}" if fold is not None else "all records with signals"
    print(f"{args.weights} on {report['dataset']} {where} ({report['n_records']} records, "
          f"{report['n_classes_used']} classes with positives; "
          f"left out: {', '.join(report['classes_left_out']) or 'none'})")
    print(f"macro AUC {report['macro_auc']:.4f} (95% CI {report['macro_auc_low']:.4f}-{report['macro_auc_high']:.4f})"
          f", macro F1 at fold-9 thresholds {_or_nan(report['macro_f1']):.3f}")
    for name, row in report["per_class"].items():
        auc = "  n/a " if row["auc"] is None else f"{row['auc']:.3f}"
        print(f"  {name:8s} AUC {auc}  positives {row['n_positive']:4d}")
    if "challenge" in report:
        ch = report["challenge"]
        score = "undefined" if ch["score"] is None else f"{ch['score']:.3f}"
        print(f"CPSC2018 challenge score (mean F1 of one call per record) {score} on {ch['n_records']} records; "
              f"undefined (no record booked in the class): {', '.join(ch['undefined']) or 'none'}")
    if "paired" in report:
        pr = report["paired"]
        print(f"paired bootstrap: P(A beats B) = {pr['p_a_beats_b']:.3f}, AUC difference {pr['diff']:+.4f} "
              f"(95% CI {pr['low']:+.4f} to {pr['high']:+.4f})")
    return 0
