"""Repeatability of ``measure_ecg`` without a reference: each 10-s record measured on its two 5-s halves.

    python benchmarks/measure_repeatability.py --ptbxl data/ptb-xl [--limit N] [--compare single-t-window] [--csv F]

Two halves of one resting ECG come from the same heart minutes apart at most, so their PR, QRS and QT should
agree to within beat-to-beat variation; a large difference is a measurement that jumped (a T end taken on a
different wave, a P wave missed in one half). For each setting and interval: records measured in both halves, the
SD of the difference, the median absolute difference, and how many records differ by more than 30 and 60 ms.
Needs no annotation, so it can judge a change on all 2,992 PTB-XL records without touching LUDB's held-out half.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mrm.data.ptbxl import load_ptbxl  # noqa: E402
from mrm.measure import measure_ecg  # noqa: E402
from mrm.measure.delineate import DEFAULT  # noqa: E402

INTERVALS = ("pr", "qrs", "qt")
#: Named alternatives to compare against the shipped settings.
VARIANTS = {
    "shipped": DEFAULT,
    # The seventh round's T end: one reference window, one percentile (no averaging over their neighbourhood).
    "single-t-window": replace(DEFAULT, t_spread_window=0.0),
    "t-outlier-60": replace(DEFAULT, t_outlier=0.06),
    "t-outlier-100": replace(DEFAULT, t_outlier=0.10),
}


def halves_differences(recording, settings) -> dict[str, float | None]:
    """PR, QRS and QT of the first 5 s minus those of the last 5 s (ms; None unless both halves measured)."""
    n = recording.signal.shape[1] // 2
    first = measure_ecg(replace(recording, signal=recording.signal[:, :n]), settings=settings)
    second = measure_ecg(replace(recording, signal=recording.signal[:, n:]), settings=settings)
    out = {}
    for name in INTERVALS:
        a, b = getattr(first, name), getattr(second, name)
        out[name] = a.value - b.value if a.measured and b.measured else None
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ptbxl", type=Path, required=True, help="PTB-XL folder (its 500 Hz records are used)")
    parser.add_argument("--limit", type=int, help="only the first N records")
    parser.add_argument("--compare", nargs="*", default=["single-t-window"], choices=sorted(VARIANTS),
                        help="settings to compare with the shipped ones")
    parser.add_argument("--csv", type=Path, help="also write each record's differences here (ecg_id, settings, ms)")
    args = parser.parse_args(argv)
    index = load_ptbxl(args.ptbxl)
    ids = [int(i) for i in index.metadata.index[index.has_signal(500)]][: args.limit]
    names = ["shipped", *[v for v in args.compare if v != "shipped"]]
    diffs = {name: {k: [] for k in INTERVALS} for name in names}
    rows = []
    for count, ecg_id in enumerate(ids, 1):
        recording = index.load_record(ecg_id, fs=500)
        for name in names:
            values = halves_differences(recording, VARIANTS[name])
            rows.append((ecg_id, name, *values.values()))
            for k, v in values.items():
                if v is not None:
                    diffs[name][k].append(v)
        if count % 250 == 0:
            print(f"{count}/{len(ids)} records", file=sys.stderr, flush=True)
    if args.csv:
        pd.DataFrame(rows, columns=["ecg_id", "settings", *INTERVALS]).to_csv(args.csv, index=False)
    print(f"PTB-XL records: {len(ids)} (500 Hz), each measured on its first and its last 5 s\n")
    print("| settings | interval | measured in both | SD of difference (ms) | median abs (ms) | > 30 ms | > 60 ms |")
    print("|---|---|---|---|---|---|---|")
    for name in names:
        for k in INTERVALS:
            d = np.array(diffs[name][k])
            if len(d) < 2:
                print(f"| {name} | {k.upper()} | {len(d)} | - | - | - | - |")
                continue
            print(f"| {name} | {k.upper()} | {len(d)} | {d.std(ddof=1):.1f} | {np.median(np.abs(d)):.1f} "
                  f"| {(np.abs(d) > 30).sum()} | {(np.abs(d) > 60).sum()} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
