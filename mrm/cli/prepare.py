"""``mrm prepare``: build the compact training cache of a dataset."""

from __future__ import annotations

import argparse
import json

from mrm.data.cache import DATASETS, SignalCache, prepare_cache
from mrm.data.preprocess import MODEL_FS


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "prepare",
        help="build the array cache a training epoch reads (no WFDB parsing during training)",
        description="Read every available record of a dataset, resample it to the model's rate, and write "
        "signals.npy + index.csv + meta.json. Absent or unreadable records are skipped and listed in meta.json.",
    )
    parser.add_argument("--dataset", choices=DATASETS, required=True)
    parser.add_argument("--data-dir", default="data", help="data root holding ptb-xl/ or cpsc2018/ (default: ./data)")
    parser.add_argument("--out", default=None, help="cache folder (default: ./cache/<dataset>-100hz)")
    parser.add_argument("--fs", type=float, default=MODEL_FS, help="sampling rate of the cache (default: 100)")
    parser.add_argument("--workers", type=int, default=None, help="reader processes (default: all cores)")
    parser.add_argument("--limit", type=int, default=None, help="only the first N records (for a quick look)")
    parser.add_argument("--json", action="store_true", help="print a JSON summary instead of text")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    path = prepare_cache(
        args.dataset, args.data_dir, args.out, fs=args.fs, workers=args.workers, limit=args.limit,
        progress=not args.json,
    )
    meta = SignalCache.open(path).meta
    summary = {key: meta[key] for key in ("dataset", "fs", "n_records", "n_skipped", "n_listed_without_signal",
                                          "seconds")}
    summary["cache"] = str(path)
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        print(
            f"{summary['n_records']} records of {args.dataset} at {args.fs:g} Hz cached in {path} "
            f"({summary['seconds']} s); {summary['n_skipped']} unreadable, "
            f"{summary['n_listed_without_signal']} listed without signal files."
        )
        for item in meta["skipped"][:10]:
            print(f"  skipped: {item['reason']}")
    return 0
