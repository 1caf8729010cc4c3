"""``mrm evaluate``: recompute a weights file's metrics on a fold, optionally against a second weights file."""

from __future__ import annotations

import argparse
import json


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "evaluate",
        help="macro AUC with its interval, per-class AUC and thresholded metrics of a weights file",
        description="Evaluate weights on one fold (default 10, the test fold) of the dataset they were trained on, "
        "with the thresholds of their card (tuned on fold 9). --compare adds a paired bootstrap.",
    )
    p.add_argument("--weights", required=True, help="a .pt file with its .json card beside it")
    p.add_argument("--data-dir", default="data", help="data root (default: ./data)")
    p.add_argument("--fold", type=int, default=10)
    p.add_argument("--cache", default=None, help="read signals from a cache made by `mrm prepare`")
    p.add_argument("--compare", default=None, help="second weights file for a paired bootstrap on the same records")
    p.add_argument("--n-boot", type=int, default=1000)
    p.add_argument("--json", dest="json_out", default=None, help="write the full report to this file ('-': stdout)")
    p.set_defaults(func=run)


def _or_nan(value: float | None) -> float:
    # `value or nan` would also turn a real 0.0 (no call right at these thresholds) into nan
    return float("nan") if value is None else value


def run(args: argparse.Namespace) -> int:
    from mrm.train.run import compare_weights, evaluate_weights

    report = evaluate_weights(args.weights, args.data_dir, fold=args.fold, cache_dir=args.cache, n_boot=args.n_boot)
    if args.compare:
        report["paired"] = compare_weights(args.weights, args.compare, args.data_dir, fold=args.fold,
                                           cache_dir=args.cache, n_boot=args.n_boot)
    if args.json_out == "-":
        print(json.dumps(report, indent=1))
        return 0
    if args.json_out:
        with open(args.json_out, "w") as fh:
            json.dump(report, fh, indent=1)
    print(f"{args.weights} on fold {args.fold} ({report['n_records']} records, {report['n_classes_used']} classes"
          f" with positives; left out: {', '.join(report['classes_left_out']) or 'none'})")
    print(f"macro AUC {report['macro_auc']:.4f} (95% CI {report['macro_auc_low']:.4f}-{report['macro_auc_high']:.4f})"
          f", macro F1 at fold-9 thresholds {_or_nan(report['macro_f1']):.3f}")
    for name, row in report["per_class"].items():
        auc = "  n/a " if row["auc"] is None else f"{row['auc']:.3f}"
        print(f"  {name:8s} AUC {auc}  positives {row['n_positive']:4d}")
    if "paired" in report:
        pr = report["paired"]
        print(f"paired bootstrap: P(A beats B) = {pr['p_a_beats_b']:.3f}, AUC difference {pr['diff']:+.4f} "
              f"(95% CI {pr['low']:+.4f} to {pr['high']:+.4f})")
    return 0
