"""The dashboard's shareable state: which record, task and layout are chosen, as URL query parameters.

Streamlit forgets widget values when the user switches pages (streamlit#5689), so the pages keep the chosen
record in plain session-state keys and mirror it in the URL (``?dataset=ptbxl&record=1&task=...&layout=3x4``)
so that a view can be shared by link. This module parses and writes those parameters; it never imports Streamlit.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace

from mrm.data.labels import SPLITS
from mrm.data.recording import Recording
from mrm.train.config import TASKS

#: Where a record can come from. ``upload`` cannot be restored from a link (the file lives in the browser);
#: ``samples`` are the PTB-XL records bundled with the package (:mod:`mrm.data.samples`), named by ecg_id.
DATASETS: tuple[str, ...] = ("ptbxl", "cpsc2018", "samples", "upload", "synthetic")
LAYOUTS: tuple[str, ...] = ("3x4", "12x1")
DEFAULT_TASK = "superdiagnostic"

_RECORD_PATTERNS = {
    "ptbxl": re.compile(r"^0*([1-9][0-9]{0,4})$"),
    "samples": re.compile(r"^0*([1-9][0-9]{0,4})$"),
    "cpsc2018": re.compile(r"^[Aa]([0-9]{4})$"),
    "synthetic": re.compile(r"^([3-9][0-9]|1[0-9]{2})bpm$"),
}
_RECORD_KINDS = {
    "ptbxl": "a PTB-XL ecg_id",
    "samples": "the ecg_id of a bundled sample",
    "cpsc2018": "a CPSC2018 record (A0001-A6877)",
    "synthetic": "a synthetic heart rate (30bpm-199bpm)",
}


@dataclass(frozen=True)
class ViewState:
    """What a link to the dashboard names.

    Attributes
    ----------
    dataset:
        One of :data:`DATASETS`, or None before a record is chosen.
    record:
        The record within the dataset: PTB-XL ``ecg_id`` without leading zeros (``"1"``; bundled samples too),
        CPSC2018 ``"A0001"``, synthetic ``"70bpm"`` (its heart rate), or the uploaded file's name.
    task:
        The label set predictions are shown for (part 2 of the dashboard): one of the training tasks.
    layout:
        ``"3x4"`` (with a lead II rhythm strip) or ``"12x1"``.

    Examples
    --------
    >>> state, problems = ViewState.from_query_params({"dataset": "ptbxl", "record": "00017", "layout": "12x1"})
    >>> state.record, state.layout, state.task, problems
    ('17', '12x1', 'superdiagnostic', [])
    >>> state.to_query_params()
    {'dataset': 'ptbxl', 'record': '17', 'task': 'superdiagnostic', 'layout': '12x1'}
    """

    dataset: str | None = None
    record: str | None = None
    task: str = DEFAULT_TASK
    layout: str = "3x4"

    @classmethod
    def from_query_params(cls, params: Mapping[str, str | list[str]]) -> tuple[ViewState, list[str]]:
        """Parse URL query parameters; values that make no sense are dropped and explained, never raised.

        Examples
        --------
        >>> state, problems = ViewState.from_query_params({"dataset": "ptbxl", "record": "abc", "layout": "2x6"})
        >>> state.dataset, state.record, state.layout
        ('ptbxl', None, '3x4')
        >>> problems
        ["record 'abc' is not a PTB-XL ecg_id; pick the record again.", "layout '2x6' is unknown; use 3x4 or 12x1."]
        """
        values = {key: _first(value) for key, value in params.items()}
        problems: list[str] = []
        dataset = values.get("dataset") or None
        if dataset is not None and dataset not in DATASETS:
            problems.append(f"dataset {dataset!r} is unknown; use one of {', '.join(DATASETS)}.")
            dataset = None
        record = values.get("record") or None
        if record is not None:
            record = normalise_record(dataset, record) if dataset else None
            if record is None:
                what = _RECORD_KINDS.get(dataset or "", "a record of a known dataset")
                problems.append(f"record {values['record']!r} is not {what}; pick the record again.")
        task = values.get("task") or DEFAULT_TASK
        if task not in TASKS:
            problems.append(f"task {task!r} is unknown; use one of {', '.join(TASKS)}.")
            task = DEFAULT_TASK
        layout = values.get("layout") or "3x4"
        if layout not in LAYOUTS:
            problems.append(f"layout {layout!r} is unknown; use {' or '.join(LAYOUTS)}.")
            layout = "3x4"
        return cls(dataset, record, task, layout), problems

    def to_query_params(self) -> dict[str, str]:
        """The parameters of a link to this view (unset fields left out)."""
        return {key: value for key, value in asdict(self).items() if value is not None}

    def choose(self, dataset: str, record: str) -> ViewState:
        """The same view of another record.

        Examples
        --------
        >>> ViewState(layout="12x1").choose("cpsc2018", "a0005")
        ViewState(dataset='cpsc2018', record='A0005', task='superdiagnostic', layout='12x1')
        """
        if dataset not in DATASETS:
            raise ValueError(f"dataset must be one of {DATASETS}, got {dataset!r}")
        return replace(self, dataset=dataset, record=normalise_record(dataset, record) or record)

    @property
    def restorable(self) -> bool:
        """Whether the record can be loaded again from the link alone (uploads cannot)."""
        return self.dataset in ("ptbxl", "cpsc2018", "samples", "synthetic") and self.record is not None


def normalise_record(dataset: str | None, record: str) -> str | None:
    """The canonical spelling of a record id of a dataset, or None when it cannot be one.

    Examples
    --------
    >>> normalise_record("ptbxl", "00042"), normalise_record("cpsc2018", "a0001"), normalise_record("ptbxl", "x")
    ('42', 'A0001', None)
    >>> normalise_record("samples", "020406")
    '20406'
    """
    record = str(record).strip()
    if dataset == "upload":
        return record or None
    pattern = _RECORD_PATTERNS.get(dataset or "")
    match = pattern.match(record) if pattern else None
    if match is None:
        return None
    if dataset in ("ptbxl", "samples"):
        return match.group(1)
    if dataset == "cpsc2018":
        return f"A{match.group(1)}"
    return record


def training_note(recording: Recording) -> str | None:
    """What a reader of predictions on this record must know about the folds it came from, or None.

    PTB-XL ``strat_fold`` and our CPSC2018 folds: 1-8 train the model, 9 choose its thresholds and checkpoint,
    10 test it. A prediction on a training record says little about how the model does on new patients.

    Examples
    --------
    >>> import numpy as np
    >>> rec = Recording(np.zeros((12, 1000), np.float32), fs=100.0, record_id="00001", dataset="ptbxl", fold=3)
    >>> training_note(rec)
    "PTB-XL fold 3: this record was in the model's training folds (1-8), so predictions on it are not a fair test."
    >>> training_note(Recording(np.zeros((12, 1000), np.float32), fs=100.0, record_id="u", dataset="upload"))
    """
    if recording.dataset not in ("ptbxl", "cpsc2018") or recording.fold is None:
        return None
    name = {"ptbxl": "PTB-XL", "cpsc2018": "CPSC2018"}[recording.dataset]
    if recording.fold in SPLITS["train"]:
        return (f"{name} fold {recording.fold}: this record was in the model's training folds (1-8), "
                "so predictions on it are not a fair test.")
    if recording.fold in SPLITS["val"]:
        return (f"{name} fold {recording.fold}: this record is in the validation fold, on which the model's "
                "thresholds and checkpoint were chosen.")
    return None


def _first(value: str | list[str]) -> str:
    if isinstance(value, (list, tuple)):
        return str(value[0]) if value else ""
    return str(value)
