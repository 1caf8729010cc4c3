"""``mrm samples``: the sample ECGs bundled with the package, what each shows, and where its file is."""

from __future__ import annotations

import argparse


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "samples", help="list the sample ECGs bundled with the package (real PTB-XL records, CC BY 4.0)",
        description="List the 15 real PTB-XL records of the test fold bundled with the package: ecg_id, what the "
        "record shows, its PTB-XL statements and its WFDB header, e.g. for `mrm predict $(mrm samples --paths)`.",
    )
    p.add_argument("--paths", action="store_true", help="print only the header paths, one per line")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from mrm.data.samples import SAMPLES_DIR, list_samples

    samples = list_samples()
    if args.paths:
        print("\n".join(str(s.path) for s in samples))
        return 0
    for s in samples:
        statements = ", ".join(f"{code} {value:g}%" if value else code for code, value in s.labels.items())
        print(f"{s.ecg_id:>6}  {s.reason}\n        {statements}; {s.path}")
    print(f"PTB-XL (Wagner et al., PhysioNet), CC BY 4.0: see {SAMPLES_DIR / 'README.md'}")
    return 0
