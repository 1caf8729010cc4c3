"""``mrm info``: which datasets, folds and record counts a data root holds."""

from __future__ import annotations

import argparse
import json

from mrm.data.inventory import describe_data_root


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("info", help="which datasets, folds and record counts a data root holds",
                              description="Summarise the PTB-XL and CPSC2018 folders of a data root.")
    p.add_argument("--data-dir", default="data", help="data root (default: ./data)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    summaries = describe_data_root(args.data_dir)
    if args.json:
        print(json.dumps([s.to_dict() for s in summaries], indent=2))
        return 0
    for s in summaries:
        if not s.found:
            print(f"{s.dataset}: not found: {s.problem}")
            continue
        folds = ", ".join(f"{k}: {v}" for k, v in sorted(s.folds.items()))
        print(f"{s.dataset}: {s.folder}: {s.n_listed} records listed, {s.n_with_signal} with signals "
              f"({s.n_listed - s.n_with_signal} without); records with signals per fold: {folds or 'none'}")
    return 0
