"""Choose the sample ECGs bundled with the package (mrm/samples/) from a PTB-XL folder, by rule, never by hand.

    python scripts/select_samples.py --ptbxl data/ptb-xl --out mrm/samples

Only fold 10 (the test fold: never seen in training, threshold tuning or checkpoint choice) at 500 Hz. Each *slot*
below names what a sample must show; its record is the best-ranked fold-10 record meeting the slot's rule, one
record per patient. Ranking, for every slot but the noisy one: fewest signal-quality notes, fewest other
superclasses (a clean example of the finding), the finding's highest likelihood, then the smallest ecg_id; so the
choice is deterministic and changes only when the source folder does.

The output folder is a PTB-XL v1.0.3 folder of its own (``ptbxl_database.csv`` with the chosen rows copied line by
line, ``scp_statements.csv``, ``records500/NNNNN/NNNNN_hr.{hea,dat}`` copied byte for byte), so every PTB-XL reader
opens it, plus ``samples.csv`` (the chosen records, why, and their metadata), ``LICENSE.txt`` (PTB-XL's CC BY 4.0),
``README.md`` (attribution) and ``SHA256SUMS.txt``.
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mrm.data.ptbxl import NOISE_COLUMNS, PTBXL, load_ptbxl  # noqa: E402

TEST_FOLD = 10
#: The bundle must stay small enough to ship inside the package.
MAX_BYTES = 3 * 1024 * 1024
#: Noise columns that describe the recording's quality (extra beats and pacemaker describe the heart).
QUALITY_COLUMNS = ("static_noise", "burst_noise", "baseline_drift", "electrodes_problems")
#: Columns of samples.csv after ``ecg_id``, ``slot`` and ``reason``.
METADATA_COLUMNS = ("patient_id", "age", "sex", "scp_codes", "report", "validated_by_human", *NOISE_COLUMNS,
                    "strat_fold", "filename_hr")


@dataclass(frozen=True)
class Record:
    """What the rules look at in one fold-10 record."""

    ecg_id: int
    codes: dict[str, float]
    superclasses: frozenset[str]
    notes: frozenset[str]  # the noise columns that note something
    validated: bool


@dataclass(frozen=True)
class Slot:
    """One thing the samples must show: a rule, the statement whose likelihood ranks candidates, and why."""

    name: str
    reason: str
    rule: Callable[[Record], bool]
    superclass: str | None = None
    statement: str | None = None
    noisy: bool = False


def _has(*codes: str) -> Callable[[Record], bool]:
    return lambda r: any(c in r.codes for c in codes)


SLOTS: tuple[Slot, ...] = (
    Slot("norm", "normal ECG (NORM 100%) validated by a cardiologist, sinus rhythm, no quality note",
         lambda r: r.validated and r.codes.get("NORM", 0) == 100 and "SR" in r.codes and r.superclasses == {"NORM"}
         and not r.notes, "NORM", "NORM"),
    Slot("imi", "myocardial infarction (MI): inferior (IMI)", _has("IMI"), "MI", "IMI"),
    Slot("asmi", "myocardial infarction (MI): anteroseptal (ASMI)", _has("ASMI"), "MI", "ASMI"),
    Slot("sttc", "ST/T change (STTC): ischemic ST-T changes", _has("ISC_", "ISCAL", "ISCIN", "ISCIL", "ISCAS"),
         "STTC", "ISC_"),
    Slot("lvh", "hypertrophy (HYP): left ventricular hypertrophy (LVH)", _has("LVH"), "HYP", "LVH"),
    Slot("clbbb", "conduction disturbance (CD): complete left bundle branch block (CLBBB)", _has("CLBBB"), "CD",
         "CLBBB"),
    Slot("crbbb", "conduction disturbance (CD): complete right bundle branch block (CRBBB)", _has("CRBBB"), "CD",
         "CRBBB"),
    Slot("lafb", "conduction disturbance (CD): left anterior fascicular block (LAFB)", _has("LAFB"), "CD", "LAFB"),
    Slot("1avb", "conduction disturbance (CD): first-degree AV block (1AVB)", _has("1AVB"), "CD", "1AVB"),
    Slot("afib", "rhythm: atrial fibrillation (AFIB)", _has("AFIB"), None, "AFIB"),
    Slot("aflt", "rhythm: atrial flutter (AFLT)", _has("AFLT"), None, "AFLT"),
    Slot("stach", "rhythm: sinus tachycardia (STACH)", _has("STACH"), None, "STACH"),
    Slot("pvc", "extra beats: ventricular extrasystoles (PVC)", _has("PVC"), None, "PVC"),
    Slot("pace", "pacemaker: paced rhythm (PACE statement and a pacemaker note)",
         lambda r: "PACE" in r.codes and "pacemaker" in r.notes, None, "PACE"),
    Slot("noisy", "noisy recording: the most signal-quality notes (static noise, burst noise, baseline drift, "
         "electrode problems) in the fold", lambda r: bool(r.notes & set(QUALITY_COLUMNS)), noisy=True),
)


def describe_records(index: PTBXL) -> list[Record]:
    """The fold-10 records of ``index`` that have their 500 Hz files, as the rules see them."""
    test = index.filter(folds=TEST_FOLD, fs=500, with_signal=True)
    superclasses: dict[int, set[str]] = {int(i): set() for i in test.ecg_ids}
    classes, y, ids = test.labels_for_task("superdiagnostic")
    for row, ecg_id in zip(y, ids, strict=True):
        superclasses[int(ecg_id)] = {c for c, on in zip(classes, row, strict=True) if on}
    meta = test.metadata
    notes = pd.DataFrame({c: meta[c].fillna("").astype(str).str.strip(" ,") != "" for c in NOISE_COLUMNS})
    return [
        Record(int(ecg_id), dict(meta.at[ecg_id, "scp_codes"]), frozenset(superclasses[int(ecg_id)]),
               frozenset(c for c in NOISE_COLUMNS if notes.at[ecg_id, c]), bool(meta.at[ecg_id, "validated_by_human"]))
        for ecg_id in meta.index
    ]


def rank(slot: Slot, record: Record) -> tuple:
    """Sort key of a candidate for a slot: smaller is better."""
    if slot.noisy:
        return (-len(record.notes & set(QUALITY_COLUMNS)), not record.validated, record.ecg_id)
    others = record.superclasses - {slot.superclass} if slot.superclass else record.superclasses - {"NORM"}
    quality = record.notes & set(QUALITY_COLUMNS)
    likelihood = record.codes.get(slot.statement, 0) if slot.statement else 0
    return (len(quality), len(others), -likelihood, not record.validated, record.ecg_id)


def select(index: PTBXL) -> pd.DataFrame:
    """One record per slot (one per patient): columns ecg_id, slot, reason, in slot order.

    Raises SystemExit naming the slot when no fold-10 record meets its rule.
    """
    records = describe_records(index)
    patients = index.metadata["patient_id"]
    chosen: list[dict] = []
    taken_ids: set[int] = set()
    taken_patients: set[float] = set()
    for slot in SLOTS:
        candidates = [r for r in records if slot.rule(r) and r.ecg_id not in taken_ids
                      and patients.at[r.ecg_id] not in taken_patients]
        if not candidates:
            sys.exit(f"{index.folder}: no fold-{TEST_FOLD} record with a 500 Hz file meets the rule of slot "
                     f"{slot.name!r} ({slot.reason}); use a larger PTB-XL folder.")
        best = min(candidates, key=lambda r: rank(slot, r))
        taken_ids.add(best.ecg_id)
        taken_patients.add(patients.at[best.ecg_id])
        chosen.append({"ecg_id": best.ecg_id, "slot": slot.name, "reason": slot.reason})
    return pd.DataFrame(chosen)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def write_samples(index: PTBXL, chosen: pd.DataFrame, out: Path) -> int:
    """Write the samples folder; returns its size in bytes."""
    source = index.folder
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    wanted = {str(i) for i in chosen["ecg_id"]}
    # Rows copied as text so that the values stay exactly PTB-XL's (pandas would reformat floats and dates).
    lines = (source / "ptbxl_database.csv").read_text().splitlines(keepends=True)
    rows = [line for line in lines[1:] if line.split(",", 1)[0] in wanted]
    rows.sort(key=lambda line: int(line.split(",", 1)[0]))
    (out / "ptbxl_database.csv").write_text(lines[0] + "".join(rows))
    for name in ("scp_statements.csv", "LICENSE.txt"):
        shutil.copyfile(source / name, out / name)
    meta = index.metadata
    for ecg_id in chosen["ecg_id"]:
        relative = meta.at[ecg_id, "filename_hr"]
        for suffix in (".hea", ".dat"):
            target = out / f"{relative}{suffix}"
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source / f"{relative}{suffix}", target)
    table = pd.read_csv(out / "ptbxl_database.csv", index_col="ecg_id", dtype=str, keep_default_na=False)
    rows = table.loc[chosen["ecg_id"], list(METADATA_COLUMNS)].reset_index(drop=True)
    samples = pd.concat([chosen.reset_index(drop=True), rows], axis=1)
    samples.to_csv(out / "samples.csv", index=False)
    (out / "README.md").write_text(README.format(n=len(chosen), fold=TEST_FOLD))
    files = sorted(p for p in out.rglob("*") if p.is_file() and p.name != "SHA256SUMS.txt")
    (out / "SHA256SUMS.txt").write_text("".join(f"{_sha256(p)} {p.relative_to(out).as_posix()}\n" for p in files))
    return sum(p.stat().st_size for p in out.rglob("*") if p.is_file())


README = """# Sample ECGs (PTB-XL)

{n} real 12-lead ECGs from PTB-XL, fold {fold} (the test fold: never used to train the shipped weights, to choose
their thresholds or their checkpoint), at 500 Hz, 10 s each. They let the dashboard and `mrm predict` show real
recordings with their ground truth on a machine without any dataset.

They were chosen by `scripts/select_samples.py` (by rule, not by hand) to cover the five diagnostic superclasses
(NORM, MI, STTC, CD, HYP), atrial fibrillation and flutter, bundle branch blocks, a paced and a noisy recording and a
normal ECG validated by a cardiologist. `samples.csv` lists each record with the reason it was chosen and its
metadata row; this folder is itself a PTB-XL v1.0.3 folder (`ptbxl_database.csv` holds the records' rows as
published, `scp_statements.csv` the 71 statements, `records500/` the WFDB files as published), so any PTB-XL
reader opens it. `SHA256SUMS.txt` holds the checksums of the files.

## Licence and attribution

The records and their metadata are from PTB-XL, licensed under the Creative Commons Attribution 4.0 International
licence (CC BY 4.0, `LICENSE.txt` in this folder, https://creativecommons.org/licenses/by/4.0/). They are a
selection of PTB-XL's files, not modified: the metadata rows as published, and the 500 Hz WFDB files of PTB-XL
v1.0.3 (those with ecg_id 1-500 are PhysioNet's files; the others were rebuilt in PTB-XL's own format, 16-bit at
1000/mV, from an export of the same records, and are byte-identical to PhysioNet's wherever both were compared).

- Wagner, P., Strodthoff, N., Bousseljot, R., Samek, W., Schaeffter, T. (2022). PTB-XL, a large publicly available
  electrocardiography dataset (version 1.0.3). PhysioNet. https://doi.org/10.13026/kfzx-aw45
- Wagner, P., Strodthoff, N., Bousseljot, R.-D., Kreiseler, D., Lunze, F.I., Samek, W., Schaeffter, T. (2020).
  PTB-XL, a large publicly available electrocardiography dataset. Scientific Data 7, 154.
  https://doi.org/10.1038/s41597-020-0495-6
- Goldberger, A., et al. (2000). PhysioBank, PhysioToolkit, and PhysioNet: Components of a new research resource
  for complex physiologic signals. Circulation 101(23), e215-e220.

A research and teaching tool, not a medical device: these recordings illustrate the software, nothing more.
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ptbxl", required=True, help="a PTB-XL folder holding fold-10 records at 500 Hz")
    parser.add_argument("--out", required=True, help="the samples folder to (re)write, e.g. mrm/samples")
    args = parser.parse_args(argv)
    index = load_ptbxl(args.ptbxl)
    chosen = select(index)
    size = write_samples(index, chosen, Path(args.out))
    for row in chosen.itertuples():
        print(f"{row.ecg_id:>6}  {row.slot:<6} {index.metadata.at[row.ecg_id, 'scp_codes']}")
    print(f"{args.out}: {len(chosen)} records, {size / 1e6:.2f} MB")
    if size > MAX_BYTES:
        print(f"error: {size} bytes is over the {MAX_BYTES}-byte budget of the package", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
