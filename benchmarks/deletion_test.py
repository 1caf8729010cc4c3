"""Faithfulness of the explanations: the deletion test on a fold of PTB-XL, and how often the branches disagree.

Not a test: run it by hand and paste its tables into docs/benchmarks.md (section 2.4) with the command line.

    python benchmarks/deletion_test.py --weights weights/mrm_superdiagnostic.pt --data-dir data --json out.json

For every record of the fold and every class, the 10% most-attributed samples of the 100 Hz model input are set to
0 mV and the class's AUC over the fold is recomputed; the same with a random 10% (single samples for integrated
gradients, whole time steps for the temporal maps), averaged over three draws. Records are read through the
evaluation path's loader (``load_task_data``), so the AUC before deletion is the card's fold-10 AUC.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from mrm.data.recording import Recording  # noqa: E402
from mrm.infer.faithfulness import deletion_test  # noqa: E402
from mrm.infer.predictor import Predictor  # noqa: E402
from mrm.train.data import load_task_data  # noqa: E402

METHODS = ("integrated_gradients", "integrated_gradients_time", "grad_cam_hr", "grad_cam_lr", "attention_hr",
           "attention_lr")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--weights", type=Path, required=True)
    parser.add_argument("--data-dir", default="data", help="data root holding ptb-xl/ (default: ./data)")
    parser.add_argument("--fold", type=int, default=10)
    parser.add_argument("--share", type=float, default=0.1)
    parser.add_argument("--n-steps", type=int, default=16, help="integration points of integrated gradients")
    parser.add_argument("--methods", nargs="+", default=[m for m in METHODS if m != "integrated_gradients_time"],
                        choices=METHODS)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--limit", type=int, default=None, help="only the first N records (a quick look)")
    parser.add_argument("--json", type=Path, default=None, help="also write the numbers here")
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    predictor = Predictor.load(args.weights)
    data = load_task_data(predictor.card["training_data"]["dataset"], predictor.task, args.data_dir,
                          classes=predictor.classes, folds=(args.fold,))
    n = len(data.ids) if args.limit is None else min(args.limit, len(data.ids))
    records = [Recording(data.signals[i], 100.0, f"{int(data.ids[i]):05d}") for i in range(n)]
    y = data.y[:n]

    preds = predictor.predict_many(records)
    gaps = np.array([p.disagreement for p in preds])
    flagged = np.array([p.disagreement_flagged for p in preds])
    print(f"{predictor.name} on fold {args.fold} of {args.data_dir} ({n} records, {len(predictor.classes)} classes)")
    print(f"branch disagreement (max over classes of |p_hr - p_lr|): median {np.median(gaps):.3f}, "
          f"95th percentile {np.percentile(gaps, 95):.3f}, max {gaps.max():.3f}; flagged above "
          f"{predictor.disagreement_flag}: {flagged.sum()} of {n} ({100 * flagged.mean():.1f}%)")

    started = time.perf_counter()
    results = deletion_test(predictor, records, y, args.methods, share=args.share, n_steps=args.n_steps,
                            progress=True)
    print(f"deletion test: {time.perf_counter() - started:.0f} s, share {args.share:.0%}, IG steps {args.n_steps}")
    print("| explanation | macro AUC | after top-10% deletion | after random 10% | AUC drop (top) | AUC drop (random)"
          " | positives' p drop (top) | (random) | s/record |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in results:
        d = r.to_dict()
        print(f"| {r.method} | {d['macro_auc']:.3f} | {np.nanmean(r.auc_deleted):.3f} | {np.nanmean(r.auc_random):.3f}"
              f" | {d['macro_auc_drop']:+.3f} | {d['macro_auc_drop_random']:+.3f} | "
              f"{d['positive_probability_drop']:+.3f} | {d['positive_probability_drop_random']:+.3f} | "
              f"{d['seconds_per_record']:.3f} |")
    print()
    print("AUC drop per class, top vs random:")
    print("| explanation | " + " | ".join(predictor.classes) + " |")
    print("|---|" + "---|" * len(predictor.classes))
    for r in results:
        cells = [f"{a:+.3f} / {b:+.3f}" for a, b in zip(r.auc_drop, r.auc_drop_random, strict=True)]
        print(f"| {r.method} | " + " | ".join(cells) + " |")
    if args.json:
        args.json.write_text(json.dumps({
            "weights": str(args.weights), "fold": args.fold, "n_records": n, "n_steps": args.n_steps,
            "disagreement": {"median": float(np.median(gaps)), "p95": float(np.percentile(gaps, 95)),
                             "max": float(gaps.max()), "flagged": int(flagged.sum()),
                             "flag_above": predictor.disagreement_flag},
            "results": [r.to_dict() for r in results],
        }, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
