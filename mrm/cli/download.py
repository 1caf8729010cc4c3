"""``python -m mrm download ptbxl|cpsc2018 --dest DIR``: fetch a dataset from PhysioNet, resumable and verified."""

from __future__ import annotations

import argparse
import json
import sys

from mrm.data.download import DATASETS, DownloadPlan, DownloadReport, download_dataset, plan_download
from mrm.errors import ECGInputError


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register the ``download`` command."""
    parser = subparsers.add_parser(
        "download",
        help="fetch PTB-XL or CPSC2018 from PhysioNet (resumable, SHA256-verified)",
        description=(
            "Fetch the official PhysioNet files into a data root: PTB-XL v1.0.3 into DEST/ptb-xl/, CPSC2018 "
            "(PhysioNet/CinC Challenge 2020 v1.0.2, training/cpsc_2018) into DEST/cpsc2018/ with a REFERENCE.csv "
            "derived from the headers. Every file is checked against the published SHA256SUMS.txt; rerun the "
            "same command to resume an interrupted download."
        ),
    )
    parser.add_argument("dataset", choices=list(DATASETS), help="which dataset")
    parser.add_argument("--dest", required=True, help="data root; the dataset goes into a folder inside it")
    parser.add_argument("--only", choices=("100", "500"),
                        help="PTB-XL only: keep the records at this rate (100 skips records500/, 5/6 of the bytes)")
    parser.add_argument("--base-url", help="folder holding SHA256SUMS.txt (default: the official PhysioNet one)")
    parser.add_argument("--dry-run", action="store_true", help="list the files and the total size, fetch nothing")
    parser.add_argument("--json", action="store_true", help="print a JSON summary on stdout")
    parser.add_argument("--workers", type=int, default=8, help="files fetched at once (default 8)")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds to wait for the server (default 30)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Plan, then fetch (unless ``--dry-run``); exit 1 when any file is bad or could not be fetched."""
    if args.workers < 1 or not args.timeout > 0:
        raise ECGInputError(f"--workers {args.workers} --timeout {args.timeout:g}: need at least 1 worker and a "
                            "timeout above 0 seconds; fix the option.")
    plan = plan_download(args.dataset, args.dest, base_url=args.base_url, only=args.only,
                         timeout=args.timeout, workers=args.workers)
    if args.dry_run:
        print(json.dumps(plan.to_dict(), indent=1) if args.json else describe_plan(plan))
        return 0
    report = download_dataset(args.dataset, args.dest, workers=args.workers, timeout=args.timeout,
                              progress=not args.json, plan=plan)
    if args.json:
        print(json.dumps(report.to_dict(), indent=1))
    else:
        print(describe_report(report))
    if not report.ok:
        for result in report.with_status("bad") + report.with_status("failed"):
            print(f"{result.status}: {result.path}: {result.error}", file=sys.stderr)
    return 0 if report.ok else 1


def _size(n: int | None) -> str:
    if n is None:
        return "size unknown"
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    raise AssertionError("the loop returns on GiB")


def describe_plan(plan: DownloadPlan) -> str:
    """Every file with its size and state, then the totals.

    Examples
    --------
    >>> from pathlib import Path
    >>> from mrm.data.download import RemoteFile
    >>> plan = DownloadPlan("ptbxl", Path("data/ptb-xl"), "http://127.0.0.1:8000/",
    ...                     [RemoteFile("LICENSE.txt", "LICENSE.txt", "0" * 64, 1000, True)])
    >>> print(describe_plan(plan))
    LICENSE.txt  1000 B  missing
    ptbxl: 1 files into data/ptb-xl (1 missing, 0 partial, 0 present); 1000 B to fetch.
    """
    lines = [f"{item.local}  {_size(item.size)}{'' if item.size_exact else ' (est.)'}  {item.state}"
             for item in plan.files]
    estimated = "" if plan.sizes_exact else "about "
    lines.append(
        f"{plan.dataset}: {len(plan.files)} files into {plan.folder} ({plan.count('missing')} missing, "
        f"{plan.count('partial')} partial, {plan.count('present')} present); "
        f"{estimated}{_size(plan.bytes_to_fetch)} to fetch."
    )
    return "\n".join(lines)


def describe_report(report: DownloadReport) -> str:
    """One line of counts, then the notes."""
    counts = ", ".join(f"{len(report.with_status(s))} {s}" for s in ("downloaded", "resumed", "present", "bad",
                                                                    "failed"))
    lines = [f"{report.dataset}: {counts}; {_size(report.bytes_fetched)} in {report.seconds:.1f} s "
             f"into {report.folder}."]
    if report.reference:
        lines.append(f"labels written to {report.reference}")
    return "\n".join(lines + report.notes)
