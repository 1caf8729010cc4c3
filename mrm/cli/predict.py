"""``mrm predict``: probabilities, thresholds and decisions for ECG files and folders, as JSON or CSV."""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from pathlib import Path

from mrm.evaluate.policy import PRECISIONS


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "predict",
        help="predict ECG files or folders with shipped or trained weights",
        description="Predict every ECG given (WFDB .hea/.dat/.mat, CPSC2018 .mat, .csv, .npy; a folder: its files, "
        "not its subfolders). A file that cannot be read is reported on stderr and skipped; the rest are still "
        "predicted. Exit status: 0 when every input was predicted, 1 when some were skipped.",
    )
    p.add_argument("paths", nargs="+", metavar="PATH", help="ECG files and/or folders")
    which = p.add_mutually_exclusive_group()
    which.add_argument("--weights", default=None, help="a .pt file with its .json card beside it")
    which.add_argument("--task", default="superdiagnostic",
                       help="use the shipped weights WEIGHTS_DIR/mrm_TASK.pt (default: superdiagnostic)")
    p.add_argument("--weights-dir", default=None,
                   help="folder of the shipped weights (default: MRM_WEIGHTS_DIR, else ./weights, else the weights "
                   "installed with the package)")
    p.add_argument("--fs", type=float, default=None, help="sampling rate (Hz) of .csv and .npy files")
    p.add_argument("--format", choices=["json", "csv"], default="json", help="output format (default: json)")
    p.add_argument("--out", default=None, help="output file (default: stdout)")
    p.add_argument("--threads", type=int, default=None, help="CPU threads for the network (default: torch's)")
    p.add_argument("--precision", choices=PRECISIONS, default="float32",
                   help="arithmetic of the network: float32 (default, the card's numbers) or bfloat16 (about 1.8x "
                   "faster on CPUs with AVX-512 BF16, probabilities within about 0.01)")
    p.add_argument("--quiet", action="store_true", help="no progress bar, no per-file messages")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import torch
    from tqdm import tqdm

    from mrm.errors import ECGInputError
    from mrm.infer.batch import outcomes_to_json, predict_paths, write_csv
    from mrm.infer.predictor import Predictor

    if args.threads:
        torch.set_num_threads(args.threads)
    predictor = (Predictor.load(args.weights, args.precision) if args.weights
                 else Predictor.for_task(args.task, args.weights_dir, args.precision))
    progress = not args.quiet and any(Path(p).is_dir() for p in args.paths)

    def outcomes():
        for path, outcome in predict_paths(predictor, args.paths, fs=args.fs, progress=progress):
            if isinstance(outcome, ECGInputError) and not args.quiet:
                tqdm.write(f"skipped: {outcome}", file=sys.stderr)
            yield path, outcome

    with contextlib.ExitStack() as stack:
        out = stack.enter_context(open(args.out, "w", newline="")) if args.out else sys.stdout
        if args.format == "csv":
            n_ok, n_bad = write_csv(predictor, outcomes(), out)
        else:
            document = outcomes_to_json(predictor, outcomes())
            json.dump(document, out, indent=1)
            out.write("\n")
            n_ok, n_bad = document["n_predicted"], document["n_skipped"]
    if not args.quiet:
        where = f" into {args.out}" if args.out else ""
        print(f"predicted {n_ok} record{'s' * (n_ok != 1)} with {predictor.name}{where}; skipped {n_bad}.",
              file=sys.stderr)
    return 1 if n_bad else 0
