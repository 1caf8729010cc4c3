"""The diagnosis panel without Streamlit: which weights serve a task, the record's ground truth in the task's
classes, every class with its prediction beside the truth, and the CSV/JSON export of a prediction.

A PTB-XL record's truth is its ``scp_codes`` mapped to the task's classes the way the benchmark maps them (every
listed statement counts, whatever its likelihood); a CPSC2018 record's truth is its ``REFERENCE.csv`` labels, which
cover only the nine CPSC2018 classes. Uploads and synthetic records have none, and the panel says so.
"""

from __future__ import annotations

import io
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from mrm.data.recording import Recording
from mrm.infer.batch import outcomes_to_json, write_csv
from mrm.infer.predictor import DISAGREEMENT_FLAG, Prediction, Predictor, branch_gap, weights_for_task
from mrm.shipped import default_weights_dir
from mrm.train.config import TASKS

#: How the task selector names each task.
TASK_TITLES: dict[str, str] = {
    "superdiagnostic": "PTB-XL superdiagnostic (5)",
    "subdiagnostic": "PTB-XL subdiagnostic (23)",
    "diagnostic": "PTB-XL diagnostic (44)",
    "form": "PTB-XL form (19)",
    "rhythm": "PTB-XL rhythm (12)",
    "all": "PTB-XL all statements (71)",
    "cpsc2018": "CPSC2018 label set (9)",
}
#: Outcome of a class's decision against its truth.
OUTCOMES: dict[str, str] = {
    "TP": "true positive", "FP": "false positive", "FN": "false negative", "TN": "true negative",
}
#: Background colours of the outcomes (pale, so that the text on them stays readable).
OUTCOME_COLOURS: dict[str, str] = {"TP": "#c8e6c9", "FP": "#ffe0b2", "FN": "#ffcdd2", "TN": "#eeeeee"}


def weights_dir(environ: Mapping[str, str] | None = None) -> Path:
    """The folder of the shipped weights: ``MRM_WEIGHTS_DIR``, else ``./weights``, else the weights installed with
    the package (:func:`mrm.shipped.default_weights_dir`).

    Examples
    --------
    >>> weights_dir({"MRM_WEIGHTS_DIR": "/srv/w"}).as_posix()
    '/srv/w'
    """
    return default_weights_dir(environ)


def tasks_with_weights(folder: str | Path) -> list[str]:
    """The tasks of :data:`mrm.train.config.TASKS` whose shipped weights ``mrm_{task}.pt`` and card are in ``folder``.

    Examples
    --------
    >>> tasks_with_weights("/nonexistent")
    []
    """
    folder = Path(folder)
    return [t for t in TASKS if (folder / f"mrm_{t}.pt").is_file() and (folder / f"mrm_{t}.json").is_file()]


def task_weights(task: str, folder: str | Path) -> Path:
    """The weights file of a task; raises :class:`~mrm.errors.ECGInputError` ("no weights for task X; train them
    with ...") when it is absent. See :func:`mrm.infer.weights_for_task`."""
    return weights_for_task(task, folder)


@dataclass(frozen=True)
class Truth:
    """The ground truth of one class of one record.

    Attributes
    ----------
    present:
        Whether the record carries the class.
    evidence:
        The labels behind it: PTB-XL statements with their likelihood (``"IMI 100%, ILMI 50%"``), the CPSC2018
        label, or ``""`` when absent.
    likelihood:
        The highest likelihood of those statements in % (PTB-XL), None where none is given.
    """

    present: bool
    evidence: str = ""
    likelihood: float | None = None


@dataclass(frozen=True)
class GroundTruth:
    """The truth of a record in the classes of a task, or why there is none.

    Attributes
    ----------
    classes:
        Class code -> :class:`Truth`; empty when no truth is available.
    source:
        Where the truth comes from, in words.
    note:
        Why the truth is missing or partial; empty when it is complete.
    """

    classes: dict[str, Truth] = field(default_factory=dict)
    source: str = ""
    note: str = ""

    @property
    def available(self) -> bool:
        return bool(self.classes)

    @property
    def positive(self) -> list[str]:
        """The codes the record carries."""
        return [code for code, t in self.classes.items() if t.present]


def statement_classes(statements: pd.DataFrame, task: str) -> dict[str, str]:
    """Statement code -> class of a PTB-XL task, from ``scp_statements.csv`` (the benchmark's aggregation).

    ``all`` keeps every statement, ``diagnostic`` those with ``diagnostic == 1``, ``subdiagnostic`` and
    ``superdiagnostic`` map those to ``diagnostic_subclass`` and ``diagnostic_class``, ``form`` and ``rhythm`` keep
    the statements flagged so. ``cpsc2018`` keeps the nine statements of the CPSC2018 classes.

    Examples
    --------
    >>> table = pd.DataFrame({"diagnostic": [1, None], "form": [None, None], "rhythm": [None, 1],
    ...                       "diagnostic_class": ["MI", None], "diagnostic_subclass": ["IMI", None]},
    ...                      index=["ILMI", "SR"])
    >>> statement_classes(table, "superdiagnostic"), statement_classes(table, "rhythm")
    ({'ILMI': 'MI'}, {'SR': 'SR'})
    """
    from mrm.data.cpsc2018 import CLASSES

    codes = pd.Series(statements.index, index=statements.index)
    diagnostic = statements["diagnostic"] == 1
    mapped = {
        "all": codes,
        "diagnostic": codes[diagnostic],
        "subdiagnostic": statements["diagnostic_subclass"][diagnostic],
        "superdiagnostic": statements["diagnostic_class"][diagnostic],
        "form": codes[statements["form"] == 1],
        "rhythm": codes[statements["rhythm"] == 1],
        "cpsc2018": codes[codes.isin([c.ptbxl for c in CLASSES])],
    }
    if task not in mapped:
        raise ValueError(f"unknown task {task!r}; choose one of {', '.join(TASKS)}")
    return {str(k): str(v) for k, v in mapped[task].dropna().items()}


def ground_truth(
    recording: Recording, task: str, classes: Sequence[str], statements: pd.DataFrame | None = None
) -> GroundTruth:
    """The record's truth in the classes of a task's weights.

    Parameters
    ----------
    recording:
        The record; its ``labels`` are PTB-XL ``scp_codes`` ({code: likelihood}) or CPSC2018 classes as PTB-XL
        codes ({code: None}).
    task:
        The weights' task (one of :data:`mrm.train.config.TASKS`).
    classes:
        The weights' classes, in order.
    statements:
        PTB-XL's ``scp_statements.csv`` (``PTBXL.statements``); needed for a PTB-XL record.

    Examples
    --------
    >>> import numpy as np
    >>> rec = Recording(np.zeros((12, 5000), np.float32), 500.0, "A0001", "cpsc2018", labels={"CRBBB": None})
    >>> truth = ground_truth(rec, "cpsc2018", ["NORM", "AFIB", "CRBBB"])
    >>> truth.positive, truth.classes["CRBBB"].evidence
    (['CRBBB'], 'RBBB')
    >>> ground_truth(rec, "superdiagnostic", ["MI", "NORM"]).note
    'CPSC2018 labels cover its nine classes only, not the superdiagnostic classes; choose the cpsc2018 task to \
compare with the truth.'
    """
    if recording.dataset == "synthetic":
        return GroundTruth(note="a synthetic ECG has no ground truth.")
    if recording.dataset == "upload":
        return GroundTruth(note="an uploaded file brings no labels the app can check; the model's output stands alone.")
    if recording.dataset == "cpsc2018":
        return _cpsc_truth(recording, task, classes)
    if recording.dataset != "ptbxl" or not recording.labels:
        return GroundTruth(note=f"record {recording.record_id} carries no labels.")
    if statements is None:
        return GroundTruth(note="the PTB-XL statements table was not found; set the data folder in the sidebar.")
    to_class = statement_classes(statements, task)
    backing: dict[str, list[tuple[str, float]]] = {c: [] for c in classes}
    for code, likelihood in recording.labels.items():
        target = to_class.get(code)
        if target in backing:
            backing[target].append((code, float(likelihood or 0.0)))
    truth = {}
    for c in classes:
        items = sorted(backing[c], key=lambda item: (-item[1], item[0]))
        evidence = ", ".join(f"{code} {value:g}%" if value else code for code, value in items)
        best = max((value for _, value in items if value), default=None)
        truth[c] = Truth(bool(items), evidence, best)
    source = "PTB-XL statements (scp_codes) of the record"
    notes = []
    if task == "cpsc2018":
        notes.append("the CPSC2018 classes are read from the record's PTB-XL statements.")
    if not any(t.present for t in truth.values()):
        notes.append(f"the record carries no statement of the {task} task (the benchmark leaves such records out of "
                     "the task), so every class counts as absent.")
    return GroundTruth(truth, source=source, note=" ".join(notes))


def _cpsc_truth(recording: Recording, task: str, classes: Sequence[str]) -> GroundTruth:
    from mrm.data.cpsc2018 import CLASSES

    if task != "cpsc2018":
        return GroundTruth(note=f"CPSC2018 labels cover its nine classes only, not the {task} classes; choose the "
                                "cpsc2018 task to compare with the truth.")
    names = {c.ptbxl: c.abbreviation for c in CLASSES}
    truth = {c: Truth(c in recording.labels, names.get(c, c) if c in recording.labels else "") for c in classes}
    return GroundTruth(truth, source="CPSC2018 REFERENCE.csv")


@dataclass(frozen=True)
class DiagnosisRow:
    """One class of a prediction next to its truth.

    Attributes
    ----------
    code, name:
        The class.
    probability, probability_hr, probability_lr:
        Fused, high-resolution and low-resolution probabilities (the heads' are None for one-head networks).
    threshold, decision:
        The card's threshold (fold 9) and ``probability >= threshold``; None without a threshold.
    truth:
        The class's :class:`Truth`, or None when the record has none.
    """

    code: str
    name: str
    probability: float
    probability_hr: float | None
    probability_lr: float | None
    threshold: float | None
    decision: bool | None
    truth: Truth | None = None
    flag: float = DISAGREEMENT_FLAG

    @property
    def gap(self) -> float | None:
        """``|p_hr - p_lr|``: how far the two branches are apart on this class."""
        return branch_gap(self.probability_hr, self.probability_lr)

    @property
    def disagree(self) -> bool:
        """Whether the branches are further apart than the prediction's disagreement flag (``flag``)."""
        return self.gap is not None and self.gap > self.flag

    @property
    def outcome(self) -> str | None:
        """``"TP"``, ``"FP"``, ``"FN"`` or ``"TN"``; None without a truth or a decision."""
        if self.truth is None or self.decision is None:
            return None
        return {(True, True): "TP", (False, True): "FP", (True, False): "FN", (False, False): "TN"}[
            (self.truth.present, bool(self.decision))]


def diagnosis_rows(prediction: Prediction, truth: GroundTruth | None = None) -> list[DiagnosisRow]:
    """Every class of a prediction with its truth, most probable first.

    Examples
    --------
    >>> from mrm.infer.predictor import ClassPrediction
    >>> from mrm.evaluate.policy import InputPolicy
    >>> pred = Prediction("r", None, "m", "t", [ClassPrediction("A", "a", 0.2, 0.5, False, 0.1, 0.3),
    ...     ClassPrediction("B", "b", 0.9, 0.5, True, 0.95, 0.85)], 0.2, "A", True, 100.0, 10.0, InputPolicy(), [])
    >>> rows = diagnosis_rows(pred, GroundTruth({"A": Truth(True, "A"), "B": Truth(False)}))
    >>> [(r.code, r.outcome, round(r.gap, 2)) for r in rows]
    [('B', 'FP', 0.1), ('A', 'FN', 0.2)]
    """
    truth = truth if truth is not None and truth.available else None
    rows = [
        DiagnosisRow(c.code, c.name, c.probability, c.probability_hr, c.probability_lr, c.threshold, c.decision,
                     truth.classes.get(c.code) if truth else None, prediction.disagreement_flag)
        for c in prediction.classes
    ]
    return sorted(rows, key=lambda r: (-r.probability, r.code))


def diagnosis_table(rows: Sequence[DiagnosisRow]) -> pd.DataFrame:
    """The rows as the page shows them: class, probabilities, threshold, decision, truth and outcome.

    Examples
    --------
    >>> row = DiagnosisRow("MI", "myocardial infarction", 0.7, 0.8, 0.5, 0.4, True, Truth(True, "IMI 100%", 100.0))
    >>> diagnosis_table([row]).iloc[0].to_dict()  # doctest: +NORMALIZE_WHITESPACE
    {'code': 'MI', 'class': 'myocardial infarction', 'probability': 0.7, 'threshold': 0.4, 'decision': 'positive',
     'HR': 0.8, 'LR': 0.5, 'branches': 'DISAGREE by 0.30', 'truth': 'present: IMI 100%', 'outcome': 'true positive'}
    """
    def decision(row: DiagnosisRow) -> str:
        return "no threshold" if row.decision is None else ("positive" if row.decision else "negative")

    def truth(row: DiagnosisRow) -> str:
        if row.truth is None:
            return "unknown"
        if not row.truth.present:
            return "absent"
        return f"present: {row.truth.evidence}" if row.truth.evidence else "present"

    return pd.DataFrame({
        "code": [r.code for r in rows],
        "class": [r.name for r in rows],
        "probability": [round(r.probability, 4) for r in rows],
        "threshold": [None if r.threshold is None else round(r.threshold, 4) for r in rows],
        "decision": [decision(r) for r in rows],
        "HR": [None if r.probability_hr is None else round(r.probability_hr, 4) for r in rows],
        "LR": [None if r.probability_lr is None else round(r.probability_lr, 4) for r in rows],
        "branches": [_branches(r) for r in rows],
        "truth": [truth(r) for r in rows],
        "outcome": [OUTCOMES.get(r.outcome, "") for r in rows],
    })


def _branches(row: DiagnosisRow) -> str:
    if row.gap is None:
        return ""
    return f"DISAGREE by {row.gap:.2f}" if row.disagree else f"agree ({row.gap:.2f})"


def outcome_counts(rows: Sequence[DiagnosisRow]) -> dict[str, int]:
    """How many classes are true/false positives/negatives (classes without truth or decision left out).

    Examples
    --------
    >>> outcome_counts([DiagnosisRow("A", "a", 0.9, None, None, 0.5, True, Truth(False))])
    {'TP': 0, 'FP': 1, 'FN': 0, 'TN': 0}
    """
    counts = dict.fromkeys(OUTCOMES, 0)
    for r in rows:
        if r.outcome:
            counts[r.outcome] += 1
    return counts


def disagreement_text(prediction: Prediction) -> str:
    """One sentence on how far the two branches are apart, naming the class where they are furthest.

    Examples
    --------
    >>> from mrm.infer.predictor import ClassPrediction
    >>> from mrm.evaluate.policy import InputPolicy
    >>> pred = Prediction("r", None, "m", "t", [ClassPrediction("MI", "myocardial infarction", 0.5, 0.5, True,
    ...     0.8, 0.2)], 0.6, "MI", True, 100.0, 10.0, InputPolicy(), [])
    >>> disagreement_text(pred)
    'The high- and low-resolution branches disagree on MI (myocardial infarction): HR 0.80 vs LR 0.20, a gap of \
0.60 (flagged above 0.15); read the fused probability with care.'
    """
    if prediction.disagreement is None:
        return "This network has a single head: there are no branch probabilities to compare."
    c = next(c for c in prediction.classes if c.code == prediction.disagreement_class)
    detail = f"HR {c.probability_hr:.2f} vs LR {c.probability_lr:.2f}, a gap of {prediction.disagreement:.2f}"
    if prediction.disagreement_flagged:
        return (f"The high- and low-resolution branches disagree on {c.code} ({c.name}): {detail} "
                f"(flagged above {prediction.disagreement_flag:g}); read the fused probability with care.")
    return (f"The two branches agree: their largest gap is on {c.code} ({detail}), within the "
            f"{prediction.disagreement_flag:g} flag.")


def export_name(recording: Recording) -> str:
    """Where a prediction came from, for the ``path`` column of exports: the file, else dataset/record.

    Examples
    --------
    >>> import numpy as np
    >>> export_name(Recording(np.zeros((12, 10), np.float32), 100.0, "00017", "ptbxl"))
    'ptbxl/00017'
    """
    return recording.source if recording.dataset == "upload" and recording.source else \
        f"{recording.dataset}/{recording.record_id}"


def prediction_csv(predictor: Predictor, prediction: Prediction, recording: Recording) -> str:
    """The prediction as ``python -m mrm predict --format csv`` writes it (one row).

    Examples
    --------
    >>> text = prediction_csv(predictor, predictor.predict(rec), rec)  # doctest: +SKIP
    """
    out = io.StringIO()
    write_csv(predictor, [(Path(export_name(recording)), prediction)], out)
    return out.getvalue()


def prediction_json(
    predictor: Predictor, prediction: Prediction, recording: Recording, truth: GroundTruth | None = None
) -> str:
    """The prediction as ``python -m mrm predict --format json`` writes it, plus the record's ground truth.

    ``ground_truth`` holds ``available``, ``source``, ``note`` and per class ``present``, ``evidence``.
    """
    document = outcomes_to_json(predictor, [(Path(export_name(recording)), prediction)])
    truth = truth or GroundTruth()
    document["ground_truth"] = {
        "available": truth.available, "source": truth.source, "note": truth.note,
        "classes": {code: {"present": t.present, "evidence": t.evidence} for code, t in truth.classes.items()},
    }
    return json.dumps(document, indent=1)
