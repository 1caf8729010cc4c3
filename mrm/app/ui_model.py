"""Streamlit pieces of the model pages (diagnosis, attention, model card, teaching, report): the task selector,
the Predictor per weights file, and the cached predictions, explanations and reports.

Caching (streamlit#5998, #4382): one :class:`~mrm.infer.Predictor` per weights file and modification time
(``st.cache_resource``: every session shares it); predictions, attention maps, attributions, figures and PDF bytes
with ``st.cache_data`` keyed on (record key, weights key), where the weights key names the file and its mtime, so
new weights dropped into the folder are picked up without a restart. Like :mod:`mrm.app.ui`, only pages import it.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import plotly.graph_objects as go
import streamlit as st
import torch

from mrm.app import ui
from mrm.app.attention import attention_view
from mrm.app.diagnosis import TASK_TITLES, GroundTruth, ground_truth, tasks_with_weights, weights_dir
from mrm.app.sources import load_record
from mrm.app.teaching import case_pool
from mrm.app.view import ViewOptions
from mrm.data.recording import Recording
from mrm.data.samples import samples_index
from mrm.errors import ECGInputError
from mrm.infer import AttentionMaps, Attribution, Prediction, Predictor, attention_maps, attribute, weights_for_task
from mrm.measure import Measurements
from mrm.report import build_report
from mrm.train.config import TASKS

DIAGNOSIS_PAGE = "pages/3_Diagnosis.py"
ATTENTION_PAGE = "pages/4_Attention.py"
MODEL_CARD_PAGE = "pages/5_Model_card.py"
TEACHING_PAGE = "pages/6_Teaching.py"
REPORT_PAGE = "pages/7_Report.py"


@dataclass(frozen=True)
class Model:
    """A loaded Predictor and the key its cached outputs are filed under (weights path and mtime)."""

    predictor: Predictor
    key: str
    path: Path


def _return_freed_memory() -> None:
    """Make glibc hand large freed blocks back to the system (Linux only; elsewhere nothing happens).

    glibc raises its mmap threshold after a large block is freed, so later large tensors come from the heap of the
    thread's arena and stay resident after use: integrated gradients (0.3-0.4 GB for a 10-s record) in one script
    thread after another left the server at 1.5-1.8 GB with 5 sessions. A fixed threshold of 128 kB (glibc's
    default, made static by setting it) maps every large block separately and unmaps it on free.
    """
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.mallopt(-3, 128 * 1024)  # M_MMAP_THRESHOLD
    except (OSError, AttributeError):
        pass


_return_freed_memory()

#: Intra-op threads of torch in the server (``MRM_TORCH_THREADS``, default 1): sessions already run in parallel
#: threads, and on a busy 2-core machine two OpenMP threads per forward pass made a prediction 5-10 times slower
#: (0.3-0.7 s against 0.05 s for a 10-s record, docs/benchmarks.md, section 3.2).
TORCH_THREADS_ENV = "MRM_TORCH_THREADS"


@st.cache_resource(max_entries=8, show_spinner="Loading the model ...")
def _predictor(path: str, mtime_ns: int) -> Predictor:
    # Threads started after this call (every later script run) inherit the setting.
    torch.set_num_threads(max(1, int(os.environ.get(TORCH_THREADS_ENV) or 1)))
    return Predictor.load(path)


def _set_task() -> None:
    ui.set_view_state(replace(ui.view_state(), task=st.session_state["_w_task"]))


def task_selector(container=st) -> str:
    """The task selectbox (the six PTB-XL tasks and the CPSC2018 label set); the choice lives in the view state
    and the URL, so every page shows the same task. Tasks without shipped weights say so in the list."""
    state = ui.view_state()
    found = set(tasks_with_weights(weights_dir()))
    st.session_state["_w_task"] = state.task
    container.selectbox(
        "Task", list(TASKS), key="_w_task", on_change=_set_task,
        format_func=lambda t: TASK_TITLES.get(t, t) + ("" if t in found else " (no weights)"),
        help="Each task is served by its shipped weights weights/mrm_{task}.pt (folder: MRM_WEIGHTS_DIR).",
    )
    return ui.view_state().task


def open_model_page(title: str) -> tuple[Recording, str, Model]:
    """The start every page that shows predictions shares: title, the chosen record's banner (with the
    training-fold note), the task selector and the task's weights; the page stops where one is missing."""
    recording = ui.current_recording(ui.data_root())
    st.title(title)
    if recording is None:
        st.info("No record is chosen yet.")
        st.page_link(ui.RECORD_PAGE, label="Choose a record", icon=":material/folder_open:")
        st.stop()
    ui.record_banner(recording, predictions=True)
    c1, _ = st.columns([2, 3])
    task = task_selector(c1)
    model = load_model(task)
    if model is None:
        st.stop()
    return recording, task, model


def load_model(task: str) -> Model | None:
    """The task's shipped weights, loaded once per file; shows why and returns None when there are none."""
    folder = weights_dir()
    try:
        path = weights_for_task(task, folder)
        mtime = path.stat().st_mtime_ns
        predictor = _predictor(str(path.resolve()), mtime)
    except ECGInputError as err:
        found = tasks_with_weights(folder)
        st.warning(f"No weights for task {task}: {err}", icon=":material/model_training:")
        if found:
            st.caption("Tasks with weights in `" + str(folder) + "`: " + ", ".join(found) + ".")
        return None
    return Model(predictor, f"{path.resolve()}:{mtime}", path)


@st.cache_data(max_entries=64, show_spinner="Predicting ...")
def _prediction(key: str, model_key: str, _predictor: Predictor, _recording: Recording) -> Prediction:
    return _predictor.predict(_recording)


def predict(recording: Recording, model: Model) -> Prediction:
    """The model's prediction for a record (cached by record and weights)."""
    return _prediction(ui.record_key(recording), model.key, model.predictor, recording)


@st.cache_data(max_entries=64, show_spinner="Computing the attention maps ...")
def _attention(key: str, model_key: str, _predictor: Predictor, _recording: Recording) -> AttentionMaps | None:
    try:
        return attention_maps(_predictor, _recording)
    except ValueError:
        return None  # a network without attention blocks


def attention(recording: Recording, model: Model) -> AttentionMaps | None:
    """Both branches' attention maps of a record, None for networks without attention (cached)."""
    return _attention(ui.record_key(recording), model.key, model.predictor, recording)


@st.cache_resource
def _attribution_lock() -> threading.Lock:
    return threading.Lock()


@st.cache_data(max_entries=32, show_spinner="Attributing the class over leads and time ...")
def _attribution(key: str, model_key: str, code: str, method: str, _predictor: Predictor,
                 _recording: Recording) -> Attribution:
    # Integrated gradients run all their steps through the network at once: about 0.4 GB for a 10-s record with
    # the cpu network. One attribution at a time keeps the server's memory bounded when sessions ask together.
    with _attribution_lock():
        return attribute(_predictor, _recording, code, method=method)


def attribution(recording: Recording, model: Model, code: str, method: str) -> Attribution:
    """One class's attribution over leads x time (cached by record, weights, class and method)."""
    return _attribution(ui.record_key(recording), model.key, code, method, model.predictor, recording)


@st.cache_data(max_entries=32, show_spinner=False)
def _attention_figure(key: str, model_key: str, options: ViewOptions, branches: tuple[str, ...], opacity: float,
                      _recording: Recording, _maps: AttentionMaps) -> go.Figure:
    return attention_view(_recording, options, _maps, branches=branches, opacity=opacity)


def attention_figure(recording: Recording, model: Model, maps: AttentionMaps, options: ViewOptions,
                     branches: tuple[str, ...], opacity: float) -> go.Figure:
    """The 12-lead view with the attention overlay (cached by record, weights, view options and overlay)."""
    return _attention_figure(ui.record_key(recording), model.key, options, branches, round(float(opacity), 2),
                             recording, maps)


@st.cache_data(max_entries=32, show_spinner="Reading the case ...")
def _case(root: str, dataset: str, record: str) -> Recording:
    index = None if dataset == "samples" else ui.dataset_index(Path(root), dataset)
    return load_record(index, dataset, record)


def load_case(dataset: str, record: str) -> Recording:
    """A record of the data folder that is not the chosen record (teaching cases), cached."""
    return _case(str(ui.data_root().resolve()), dataset, record)


@st.cache_data(max_entries=32, show_spinner=False)
def _pool(root: str, dataset: str, task: str, classes: tuple[str, ...], wanted: tuple[str, ...],
          folds: tuple[int, ...] | None) -> list[str]:
    index = samples_index() if dataset == "samples" else ui.dataset_index(Path(root), dataset)
    return case_pool(index, task, classes, wanted=wanted, folds=folds)


def teaching_pool(dataset: str, task: str, classes: list[str], wanted: tuple[str, ...],
                  folds: tuple[int, ...] | None) -> list[str]:
    """The records a teaching case can be drawn from (:func:`mrm.app.teaching.case_pool`), cached; ``dataset``
    "samples" draws from the bundled PTB-XL samples."""
    return _pool(str(ui.data_root().resolve()), dataset, task, tuple(classes), wanted, folds)


#: Defaults of the attention overlay's controls (the Attention page's toggles and slider).
ATTENTION_DEFAULTS = {"show_hr": True, "show_lr": True, "attention_opacity": 0.5}


def attention_settings() -> tuple[tuple[str, ...], float]:
    """The overlay this session asked for: branches shown and opacity (the Attention page's remembered controls)."""
    values = {name: st.session_state.get(name, default) for name, default in ATTENTION_DEFAULTS.items()}
    branches = tuple(b for b, on in (("hr", values["show_hr"]), ("lr", values["show_lr"])) if on)
    return branches, float(values["attention_opacity"])


def attention_sheet(recording: Recording, model: Model) -> go.Figure | None:
    """The 12-lead view with this session's attention overlay (cached); None for networks without attention.

    The Diagnosis page calls it after drawing its own content, so that opening the Attention page next only sends
    the figure.
    """
    maps = attention(recording, model)
    if maps is None:
        return None
    branches, opacity = attention_settings()
    options = replace(ui.view_options(recording), compare=None)
    return attention_figure(recording, model, maps, options, branches, opacity)


def truth_for(recording: Recording, task: str, classes: list[str]) -> GroundTruth:
    """The record's ground truth in the task's classes (the PTB-XL statements table from the data folder, else the
    bundled samples' copy: PTB-XL publishes one table for all its records)."""
    statements = None
    if recording.dataset == "ptbxl":
        index = ui.dataset_index(ui.data_root(), "ptbxl")
        statements = (index if index is not None else samples_index()).statements
    return ground_truth(recording, task, classes, statements)


@st.cache_data(max_entries=16, show_spinner=False)
def _report(key: str, model_key: str, powerline: float, _recording: Recording, _prediction: Prediction,
            _maps: AttentionMaps | None, _measured: Measurements, _truth: GroundTruth) -> bytes:
    return build_report(_recording, _prediction, measurements=_measured, attention=_maps, truth=_truth)


def report_builder(recording: Recording, model: Model, powerline: float) -> Callable[[], bytes]:
    """What a download button calls to get the PDF report: built on the click (in the button's own thread, so
    only plain values go in), cached by record, weights and mains frequency (streamlit#4382)."""
    key = ui.record_key(recording)
    prediction = predict(recording, model)
    maps = attention(recording, model)
    measured = ui.measurements(key, powerline, recording)
    truth = truth_for(recording, model.predictor.task, model.predictor.classes)
    return lambda: _report(key, model.key, powerline, recording, prediction, maps, measured, truth)
