"""Robustness of ``measure_ecg`` on whole datasets: no exception, how often each value is measured, time per record.

    python benchmarks/measure_robustness.py --ptbxl data/ptb-xl --cpsc ../shared/data/cpsc2018 [--limit N]

Every PTB-XL record with a 500 Hz file and every CPSC2018 record present is measured at its own rate (500 Hz).
Prints, per dataset: records, exceptions (any is a bug), the status counts of each measurement, the reasons
given for "not measurable", the median / 95th percentile / maximum time per record, how the PR status relates
to the records' rhythm statements (AFIB, AFLT, PACE), how often pacing was detected with and without the PACE
statement (pacemaker), and, for PTB-XL, our frontal axis per ``heart_axis`` class.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
import traceback
from collections import Counter
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mrm.data.cpsc2018 import load_cpsc2018  # noqa: E402
from mrm.data.ptbxl import load_ptbxl  # noqa: E402
from mrm.measure import measure_ecg  # noqa: E402

RHYTHMS = ("AFIB", "AFLT", "PACE")


def run(name: str, records: list, load, axis_class=None) -> str:
    pr_by_rhythm: dict[str, Counter] = {}
    paced: dict[bool, Counter] = {True: Counter(), False: Counter()}
    axes: dict[str, list[float]] = {}
    statuses: dict[str, Counter] = {}
    reasons: Counter = Counter()
    examples: dict[str, str] = {}
    failures, seconds, timed = [], [], []
    for record in records:
        recording = load(record)
        start = time.perf_counter()
        try:
            m = measure_ecg(recording)
        except Exception:  # noqa: BLE001 - the point is to count every kind
            failures.append((record, traceback.format_exc(limit=3)))
            continue
        seconds.append(time.perf_counter() - start)
        timed.append(record)
        labels = recording.labels or {}
        rhythm = next((code for code in RHYTHMS if code in labels), "other")
        pr_by_rhythm.setdefault(rhythm, Counter())[m.pr.status] += 1
        paced["PACE" in labels][m.paced] += 1
        if axis_class is not None and m.axis.measured and isinstance(axis_class(record), str):
            axes.setdefault(axis_class(record), []).append(m.axis.value)
        for value in m.all():
            statuses.setdefault(value.name, Counter())[value.status] += 1
            if value.status == "not measurable":
                # Reasons quote the values found; counted by their wording, one example kept for each.
                kind = f"{value.name}: {re.sub(r'[0-9]+', 'N', value.reason)}"
                reasons[kind] += 1
                examples.setdefault(kind, f"{value.name}: {value.reason}")
    s = np.array(seconds) * 1000
    lines = [
        f"### {name}: {len(records)} records, {len(failures)} exceptions",
        "",
        "| value | measured | not measurable | not applicable |",
        "|---|---|---|---|",
    ]
    for value, counts in statuses.items():
        lines.append(
            f"| {value} | {counts['measured']} | {counts['not measurable']} | {counts['not applicable']} |"
        )
    lines += ["", "Reasons for \"not measurable\" (N: the value quoted varies; one example each):", ""]
    lines += [
        f"- {count} x {kind}" + (f" (e.g. {examples[kind].split(': ', 1)[1]})" if examples[kind] != kind else "")
        for kind, count in reasons.most_common()
    ]
    if len(s):
        lines += [
            "",
            f"Time per record: median {np.median(s):.0f} ms, 95th percentile {np.percentile(s, 95):.0f} ms, "
            f"max {s.max():.0f} ms ({timed[int(np.argmax(s))]}).",
        ]
    lines += [
        "",
        "PR status by rhythm statement of the record (AFIB, AFLT, PACE; other: none of them):",
        "",
        "| rhythm | records | measured | not applicable | not measurable |",
        "|---|---|---|---|---|",
    ]
    for rhythm, counts in sorted(pr_by_rhythm.items()):
        lines.append(
            f"| {rhythm} | {sum(counts.values())} | {counts['measured']} | {counts['not applicable']} "
            f"| {counts['not measurable']} |"
        )
    lines += [
        "",
        "Pacing detected (pacemaker stimuli before at least half of the beats) by the PACE statement:",
        "",
        "| PACE statement | records | paced | not paced |",
        "|---|---|---|---|",
    ]
    for has_pace in (True, False):
        counts = paced[has_pace]
        lines.append(
            f"| {'yes' if has_pace else 'no'} | {sum(counts.values())} | {counts[True]} | {counts[False]} |"
        )
    if axes:
        lines += ["", "Frontal QRS axis (degrees) by the dataset's axis class:", "",
                  "| class | records | 5% | median | 95% |", "|---|---|---|---|---|"]
        for cls, values in sorted(axes.items(), key=lambda kv: np.median(kv[1])):
            p5, p50, p95 = np.percentile(values, [5, 50, 95])
            lines.append(f"| {cls} | {len(values)} | {p5:.0f} | {p50:.0f} | {p95:.0f} |")
    for record, trace in failures[:5]:
        lines += ["", f"Exception on {record}:", "```", trace, "```"]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ptbxl", type=Path, help="PTB-XL folder (records500 is used)")
    parser.add_argument("--cpsc", type=Path, help="CPSC2018 folder")
    parser.add_argument("--limit", type=int, help="only the first N records of each dataset")
    args = parser.parse_args(argv)
    parts = []
    if args.ptbxl:
        index = load_ptbxl(args.ptbxl)
        ids = [int(i) for i in index.metadata.index[index.has_signal(500)]][: args.limit]
        heart_axis = index.metadata["heart_axis"]
        parts.append(
            run("PTB-XL (500 Hz)", ids, lambda i: index.load_record(i, fs=500), axis_class=heart_axis.get)
        )
    if args.cpsc:
        cpsc = load_cpsc2018(args.cpsc).filter(with_signal=True)
        ids = list(cpsc.record_ids)[: args.limit]
        parts.append(run("CPSC2018 (500 Hz)", ids, cpsc.load_record))
    print("\n\n".join(parts))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
