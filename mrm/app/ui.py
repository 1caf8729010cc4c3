"""Streamlit pieces shared by the pages: the chosen record (session state + URL), the data root, cached loading,
the input check panel and the record banner. The only module of :mod:`mrm.app` that imports Streamlit.

Widget values are lost when the user switches pages (streamlit#5689), so everything that must survive lives in
plain session-state keys (``view``, ``data_dir``, ``upload``) and the view is mirrored in the URL.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from mrm.app.check import check_input
from mrm.app.measurements import measurement_calipers, rpeak_times
from mrm.app.sources import load_record, read_upload, record_title, resolve_data_dir
from mrm.app.state import ViewState, training_note
from mrm.app.synthetic import SYNTHETIC_LABEL
from mrm.app.view import ViewOptions, build_view
from mrm.data.cpsc2018 import CPSC2018, load_cpsc2018
from mrm.data.preprocess import MODEL_FS
from mrm.data.ptbxl import PTBXL, load_ptbxl
from mrm.data.recording import LEADS, Recording
from mrm.errors import ECGInputError
from mrm.measure import Measurements, measure_ecg
from mrm.viz import Calipers, Marker

#: Pages, as registered with ``st.navigation`` in streamlit_app.py (paths relative to it).
RECORD_PAGE = "pages/1_Record.py"
ECG_PAGE = "pages/2_ECG.py"


def entry_ran() -> None:
    """Mark this run as started by streamlit_app.py (the entry script calls it before running the page)."""
    st.session_state["_entry_ran"] = True


def require_entry() -> None:
    """Make sure the entry script (shared sidebar, link restore, page router) runs around this page.

    Every page calls this first. A server whose first request is a page's address (a shared link, after a restart)
    runs that page alone, the way Streamlit ran apps with a pages/ folder before ``st.navigation``; the switch to
    ``st.navigation`` only happens once the entry script has run. So a page that finds itself run alone switches
    the server to ``st.navigation`` and reruns: the same address then goes through the entry script.
    """
    if st.session_state.pop("_entry_ran", False):
        return
    from streamlit.runtime.pages_manager import PagesManager

    PagesManager.uses_pages_directory = False  # what st.navigation itself sets
    st.rerun()


def remember(name: str, default: object) -> str:
    """The key of a widget whose value must outlive page switches; seed it from the plain key ``name``.

    Pass ``on_change=store, args=(name,)`` to the widget so that its value goes back to ``name``.
    """
    if name not in st.session_state:
        st.session_state[name] = default
    st.session_state[f"_w_{name}"] = st.session_state[name]
    return f"_w_{name}"


def store(name: str) -> None:
    """Copy a remembered widget's value to its plain key (a widget callback)."""
    st.session_state[name] = st.session_state[f"_w_{name}"]


def view_state() -> ViewState:
    """The chosen record, task and layout: from session state, or from the URL on a session's first run."""
    if "view" not in st.session_state:
        state, problems = ViewState.from_query_params(st.query_params.to_dict())
        st.session_state["view"] = state
        st.session_state["link_problems"] = problems
    return st.session_state["view"]


def set_view_state(state: ViewState) -> None:
    """Choose a record or layout for every page, and put it in the URL."""
    st.session_state["view"] = state
    sync_link()


def sync_link() -> None:
    """Write the view into the URL (a page switch clears the query parameters)."""
    wanted = view_state().to_query_params()
    if st.query_params.to_dict() != wanted:
        st.query_params.from_dict(wanted)


def choose(dataset: str, record: str) -> None:
    """Make ``record`` of ``dataset`` the chosen record (usable as a widget callback)."""
    set_view_state(view_state().choose(dataset, str(record)))


def data_dir_sidebar() -> Path:
    """The sidebar's data folder field (default ``MRM_DATA_DIR`` or ./data); returns the data root."""
    key = remember("data_dir", str(resolve_data_dir(None)))
    st.sidebar.text_input(
        "Data folder", key=key, on_change=store, args=("data_dir",),
        help="The folder holding ptb-xl/ and cpsc2018/ (what `python -m mrm download ... --dest data` makes). "
             "Default: the MRM_DATA_DIR environment variable, else ./data.",
    )
    if st.sidebar.button("Rescan the data folder", help="Forget the indexes read so far (after a download)."):
        _ptbxl_index.clear()
        _cpsc_index.clear()
        _load.clear()
    return data_root()


def data_root() -> Path:
    """The data root chosen in the sidebar (the pages read it; only the entry script draws the field)."""
    return resolve_data_dir(st.session_state.get("data_dir"))


@st.cache_resource(show_spinner="Reading the PTB-XL index ...")
def _ptbxl_index(folder: str) -> PTBXL:
    return load_ptbxl(folder)


@st.cache_resource(show_spinner="Reading the CPSC2018 index ...")
def _cpsc_index(folder: str) -> CPSC2018:
    return load_cpsc2018(folder)


def dataset_index(root: Path, dataset: str) -> PTBXL | CPSC2018 | None:
    """The cached index of a dataset of the data root, or None when its folder is absent or unusable."""
    folder = root / {"ptbxl": "ptb-xl", "cpsc2018": "cpsc2018"}[dataset]
    if not folder.is_dir():
        return None
    loader = _ptbxl_index if dataset == "ptbxl" else _cpsc_index
    try:
        return loader(str(folder.resolve()))
    except ECGInputError:
        return None


@st.cache_data(max_entries=32, show_spinner="Reading the record ...")
def _load(root: str, dataset: str, record: str) -> Recording:
    index = dataset_index(Path(root), dataset) if dataset in ("ptbxl", "cpsc2018") else None
    return load_record(index, dataset, record)


@st.cache_data(max_entries=8, show_spinner="Reading the upload ...")
def read_upload_cached(files: tuple[tuple[str, bytes], ...], fs: float | None, units: str) -> Recording:
    """:func:`mrm.app.sources.read_upload`, cached by the files' content and the rate given."""
    return read_upload(list(files), fs=fs, units=units)


def current_recording(root: Path) -> Recording | None:
    """The chosen record, loaded (cached); problems are shown with ``st.error`` and give None."""
    state = view_state()
    if state.dataset is None or state.record is None:
        return None
    if state.dataset == "upload":
        upload = st.session_state.get("upload")
        if upload is None or upload.source != state.record:
            st.warning(f"The uploaded file {state.record} is not in this session any more; upload it again on the "
                       "Record page (uploads cannot be shared by link).")
            return None
        return upload
    try:
        return _load(str(root.resolve()), state.dataset, state.record)
    except ECGInputError as err:
        st.error(str(err))
        return None


def record_key(recording: Recording) -> str:
    """A cache key for figures and measurements of a record: its identity and a digest of its samples."""
    digest = hashlib.blake2b(recording.signal.tobytes(), digest_size=12).hexdigest()
    return f"{recording.dataset}/{recording.record_id}/{recording.fs:g}/{digest}"


@st.cache_data(max_entries=64, show_spinner=False)
def view_figure(
    key: str, options: ViewOptions, marker_times: tuple[float, ...], _recording: Recording,
    calipers: Calipers | None = None,
) -> go.Figure:
    """:func:`mrm.app.view.build_view`, cached by (record key, options, R-peak times, calipers)."""
    markers = [Marker(list(marker_times), lead=options.rhythm_lead, label="R peak (automated)")] if marker_times \
        else []
    return build_view(_recording, options, markers=markers, calipers=calipers)


@st.cache_data(max_entries=32, show_spinner="Measuring ...")
def measurements(key: str, powerline: float, _recording: Recording) -> Measurements:
    """:func:`mrm.measure.measure_ecg` at the record's own rate, cached by (record key, mains frequency)."""
    return measure_ecg(_recording, powerline=powerline)


def powerline() -> float:
    """The mains frequency the measurements notch out (the 12-lead page's setting; 50 Hz by default)."""
    return float(st.session_state.get("powerline", 50))


def view_options(recording: Recording) -> ViewOptions:
    """The 12-lead view options of this session: the layout from the view state, the rest from the 12-lead page's
    remembered controls (gain, speed, model input, leads, start), fitted to this record."""
    values = st.session_state
    compare = values.get("compare", "hide")
    options = ViewOptions(
        layout=view_state().layout, gain=values.get("gain", 10), speed=values.get("speed", 25),
        compare=None if compare == "hide" or recording.fs == MODEL_FS else compare,
    )
    if options.layout == "12x1" or options.compare:
        chosen = values.get("leads", list(LEADS))
        options = replace(options, leads=tuple(lead for lead in LEADS if lead in chosen))
    starts = options.starts(recording)
    start = min(starts, key=lambda s: abs(s - float(values.get("start", 0.0))))
    return replace(options, start=start)


def sheet_figure(recording: Recording, options: ViewOptions) -> go.Figure:
    """The 12-lead figure with the R peaks and calipers of the automated measurement when the page asks for them
    (cached)."""
    key = record_key(recording)
    marks = rpeak_times(measurements(key, powerline(), recording)) if st.session_state.get("mark_rpeaks", True) \
        else ()
    calipers = None
    if st.session_state.get("show_calipers", False):
        start, duration = options.window(recording)
        lead = options.rhythm_lead if options.rhythm_lead in options.leads else options.leads[0]
        calipers = measurement_calipers(measurements(key, powerline(), recording), start, start + duration, lead)
    return view_figure(key, options, marks, _recording=recording, calipers=calipers)


def record_banner(recording: Recording, *, predictions: bool = False) -> None:
    """The record's name, the synthetic label, and the training-fold note (a warning on pages that show
    predictions, where it matters, a caption elsewhere)."""
    st.subheader(record_title(recording))
    if recording.dataset == "synthetic":
        st.warning(f"Synthetic ECG: {SYNTHETIC_LABEL}.", icon=":material/science:")
    note = training_note(recording)
    if note and predictions:
        st.warning(note, icon=":material/school:")
    elif note:
        st.caption(note)


def input_check_panel(recording: Recording, *, expanded: bool = True) -> None:
    """Sampling rate, duration, units, lead order and every warning of the data layer."""
    check = check_input(recording)
    label = "Input check: no warnings" if check.ok else f"Input check: {len(check.warnings)} warning(s)"
    with st.expander(label, expanded=expanded or not check.ok, icon=":material/fact_check:"):
        table = pd.DataFrame({"value": [value for _, value in check.rows]}, index=[item for item, _ in check.rows])
        st.table(table)
        for warning in check.warnings:
            st.warning(warning)
        for note in check.notes:
            st.info(note)
        if check.ok:
            st.success("The data layer raised no warning for this record.")


def show_errors(action: Callable[[], object]) -> object | None:
    """Run ``action``; an :class:`ECGInputError` is shown as its sentence (never a traceback) and gives None."""
    try:
        return action()
    except ECGInputError as err:
        st.error(str(err))
        return None
