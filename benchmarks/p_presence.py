"""The P-presence test against PTB-XL's rhythm statements: how each correlation threshold sorts sinus and AF records.

    python benchmarks/p_presence.py --ptbxl data/ptb-xl [--limit N]

For every PTB-XL record with a 500 Hz file and a sinus statement (SR, SBRAD, STACH, SARRH) or an atrial
fibrillation / flutter one (AFIB, AFLT), and no pacemaker (PACE), the median correlation of the beats' P windows
with the median beat's and the P wave's amplitude / scatter ratio (``Delineation.p_correlation``, ``p_snr``) are
computed once; then, for a range of correlation thresholds at the shipped amplitude / scatter threshold, the
number of AF / flutter records called "P waves present" and of sinus records called "no P wave". Records where the
test cannot run (the T wave runs into the next QRS) are counted apart.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mrm.data.ptbxl import load_ptbxl  # noqa: E402
from mrm.measure.beats import beat_epochs, clean_signal, find_rpeaks, median_beat, remove_spikes  # noqa: E402
from mrm.measure.delineate import DEFAULT, delineate_beat  # noqa: E402

SINUS = ("SR", "SBRAD", "STACH", "SARRH")
ATRIAL = ("AFIB", "AFLT")
THRESHOLDS = (0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85)


def p_features(recording) -> tuple[float, float] | None:
    """(median P-window correlation, P amplitude / scatter) of a record; None where the test cannot run."""
    x = clean_signal(recording.signal.astype(float), recording.fs)
    despiked = remove_spikes(x, recording.fs)
    beat = median_beat(x, find_rpeaks(despiked, recording.fs, despiked=True), recording.fs)
    if beat is None:
        return None
    d = delineate_beat(beat, beat_epochs(despiked, beat), DEFAULT)
    return None if d.p_correlation is None else (d.p_correlation, d.p_snr)


def _present(features: np.ndarray, threshold: float) -> np.ndarray:
    """Which records the test calls "P waves present" at a correlation threshold."""
    if not len(features):
        return np.zeros(0, dtype=bool)
    return (features[:, 0] >= threshold) & (features[:, 1] >= DEFAULT.p_min_snr)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ptbxl", type=Path, required=True, help="PTB-XL folder (its 500 Hz records are used)")
    parser.add_argument("--limit", type=int, help="only the first N records")
    args = parser.parse_args(argv)
    index = load_ptbxl(args.ptbxl)
    ids = [int(i) for i in index.metadata.index[index.has_signal(500)]][: args.limit]
    features: dict[str, list[tuple[float, float]]] = {"sinus": [], "atrial": []}
    untested = {"sinus": 0, "atrial": 0}
    for ecg_id in ids:
        codes = index.metadata.at[ecg_id, "scp_codes"]
        if "PACE" in codes:
            continue
        kind = "atrial" if any(c in codes for c in ATRIAL) else "sinus" if any(c in codes for c in SINUS) else None
        if kind is None:
            continue
        f = p_features(index.load_record(ecg_id, fs=500))
        if f is None:
            untested[kind] += 1
        else:
            features[kind].append(f)
    sinus, atrial = np.array(features["sinus"]).reshape(-1, 2), np.array(features["atrial"]).reshape(-1, 2)
    print(f"PTB-XL records (500 Hz): {len(sinus)} sinus and {len(atrial)} atrial fibrillation / flutter tested; "
          f"{untested['sinus']} and {untested['atrial']} without a P window to test.\n")
    print(f"Amplitude / scatter threshold: {DEFAULT.p_min_snr:g} (shipped); shipped correlation threshold: "
          f"{DEFAULT.p_min_correlation:g}.\n")
    print("| correlation threshold | AF / flutter called \"P waves present\" | sinus called \"no P wave\" | errors |")
    print("|---|---|---|---|")
    for t in THRESHOLDS:
        wrong_af, wrong_sinus = int(_present(atrial, t).sum()), int((~_present(sinus, t)).sum())
        print(f"| {t:.2f} | {wrong_af} of {len(atrial)} | {wrong_sinus} of {len(sinus)} | {wrong_af + wrong_sinus} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
