"""Predictions for many files and folders: a broken file is reported and skipped, the rest still predicted.

JSON output (``python -m mrm predict ... --format json``) is one document::

    {"model": ..., "task": ..., "weights": ..., "classes": [...], "n_predicted": N, "n_skipped": M,
     "predictions": [Prediction.to_dict() plus "path", ...],
     "skipped": [{"path": ..., "error": "one sentence: which file, what is wrong, what to do"}, ...]}

CSV output has one row per input file, in input order: ``path``, ``record_id``, ``error`` (empty when predicted),
``fs``, ``duration_s``, ``n_windows``, ``padded_s``, then per class ``CODE`` (fused probability),
``CODE_decision`` (1/0, empty without a threshold), ``CODE_hr``, ``CODE_lr``, then ``disagreement``,
``disagreement_class``, ``disagreement_flagged`` and ``warnings`` (joined with " | ").
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import TextIO

from tqdm import tqdm

from mrm.data.readers import read_ecg, read_folder
from mrm.data.recording import Recording
from mrm.errors import ECGInputError
from mrm.infer.predictor import Prediction, Predictor

Outcome = tuple[Path, Prediction | ECGInputError]
Read = tuple[Path, Recording | ECGInputError]


def read_inputs(paths: Sequence[str | Path], fs: float | None = None) -> Iterator[Read]:
    """Read files and folders (each folder's ECG files, not its subfolders), yielding the error of a broken one.

    Examples
    --------
    >>> [(p.name, type(r).__name__) for p, r in read_inputs(["no-such-file.hea"])]
    [('no-such-file.hea', 'ECGInputError')]
    """
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            yield from read_folder(path, fs=fs)
            continue
        if not path.exists() and not path.with_suffix(".hea").exists():
            yield path, ECGInputError(f"{path}: no such file or folder; check the path.")
            continue
        try:
            yield path, read_ecg(path, fs=fs)
        except ECGInputError as err:
            yield path, err


def predict_paths(
    predictor: Predictor,
    paths: Sequence[str | Path],
    *,
    fs: float | None = None,
    chunk: int = 64,
    progress: bool = False,
) -> Iterator[Outcome]:
    """Predict every ECG of ``paths`` (files or folders), in order; a file that cannot be read yields its error.

    Records are predicted ``chunk`` at a time so that their windows share forward passes.

    Examples
    --------
    >>> for path, outcome in predict_paths(predictor, ["data/uploads"], progress=True):  # doctest: +SKIP
    ...     print(path.name, outcome if isinstance(outcome, ECGInputError) else outcome.positive)
    """
    pending: list[Read] = []
    items = tqdm(read_inputs(paths, fs), desc="predicting", unit="record", disable=not progress)
    for item in items:
        pending.append(item)
        if sum(isinstance(r, Recording) for _, r in pending) >= chunk:
            yield from _flush(predictor, pending)
            pending = []
    yield from _flush(predictor, pending)


def _flush(predictor: Predictor, pending: list[Read]) -> Iterator[Outcome]:
    recordings = [r for _, r in pending if isinstance(r, Recording)]
    predictions = iter(predictor.predict_many(recordings))
    for path, item in pending:
        yield path, next(predictions) if isinstance(item, Recording) else item


def outcomes_to_json(predictor: Predictor, outcomes: Iterable[Outcome]) -> dict:
    """The JSON document of a batch (layout in the module docstring)."""
    predictions, skipped = [], []
    for path, outcome in outcomes:
        if isinstance(outcome, ECGInputError):
            skipped.append({"path": str(path), "error": str(outcome)})
        else:
            predictions.append({"path": str(path), **outcome.to_dict()})
    return {
        "model": predictor.name,
        "task": predictor.task,
        "weights": None if predictor.weights is None else str(predictor.weights),
        "classes": list(predictor.classes),
        "n_predicted": len(predictions),
        "n_skipped": len(skipped),
        "predictions": predictions,
        "skipped": skipped,
    }


def write_csv(predictor: Predictor, outcomes: Iterable[Outcome], out: TextIO) -> tuple[int, int]:
    """Write one CSV row per input (layout in the module docstring); returns (predicted, skipped) counts."""
    columns = ["path", "record_id", "error", "fs", "duration_s", "n_windows", "padded_s"]
    for code in predictor.classes:
        columns += [code, f"{code}_decision", f"{code}_hr", f"{code}_lr"]
    columns += ["disagreement", "disagreement_class", "disagreement_flagged", "warnings"]
    writer = csv.DictWriter(out, fieldnames=columns)
    writer.writeheader()
    counts = [0, 0]
    for path, outcome in outcomes:
        if isinstance(outcome, ECGInputError):
            writer.writerow({"path": str(path), "error": str(outcome)})
            counts[1] += 1
            continue
        row = {
            "path": str(path), "record_id": outcome.record_id, "error": "", "fs": outcome.fs,
            "duration_s": round(outcome.duration, 6), "n_windows": len(outcome.windows),
            "padded_s": round(outcome.padded, 6),
            "disagreement": "" if outcome.disagreement is None else round(outcome.disagreement, 6),
            "disagreement_class": outcome.disagreement_class or "",
            "disagreement_flagged": int(outcome.disagreement_flagged),
            "warnings": " | ".join(outcome.warnings),
        }
        for c in outcome.classes:
            row[c.code] = round(c.probability, 6)
            row[f"{c.code}_decision"] = "" if c.decision is None else int(c.decision)
            row[f"{c.code}_hr"] = "" if c.probability_hr is None else round(c.probability_hr, 6)
            row[f"{c.code}_lr"] = "" if c.probability_lr is None else round(c.probability_lr, 6)
        writer.writerow(row)
        counts[0] += 1
    return counts[0], counts[1]
