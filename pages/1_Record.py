"""Record page: choose a record (PTB-XL or CPSC2018 browser, bundled samples, upload, synthetic demo) and check what
was read."""

from __future__ import annotations

import hashlib
from functools import partial
from pathlib import Path

import numpy as np
import streamlit as st

from mrm.app import ui
from mrm.app.sources import (
    PTBXLQuery,
    available_datasets,
    cpsc_table,
    describe_labels,
    needs_fs,
    ptbxl_table,
    samples_table,
)
from mrm.app.synthetic import SYNTHETIC_LABEL
from mrm.data.cpsc2018 import CLASSES
from mrm.data.inventory import DOWNLOAD_COMMANDS
from mrm.data.ptbxl import NOISE_COLUMNS
from mrm.data.readers import ACCEPTED_EXTENSIONS
from mrm.data.recording import Recording
from mrm.data.samples import samples_index

SOURCES = {"PTB-XL": "ptbxl", "CPSC2018": "cpsc2018", "Samples": "samples", "Upload": "upload",
           "Synthetic demo": "synthetic"}
# Selectboxes list at most this many records; the filters, the ecg_id search and the table reach the rest.
MAX_OPTIONS = 1000
MAX_TABLE_ROWS = 2000

ui.require_entry()
root = ui.data_root()
state = ui.view_state()
found = available_datasets(root)
st.title("Record")


def _pick(dataset: str, widget: str) -> None:
    value = st.session_state.get(widget)
    if value is not None:
        ui.choose(dataset, str(value))


def _pick_row(dataset: str, widget: str, ids: list) -> None:
    rows = st.session_state[widget].selection.rows
    if rows:
        ui.choose(dataset, str(ids[rows[0]]))


def _pick_random(dataset: str, ids: list) -> None:
    if ids:
        ui.choose(dataset, str(np.random.default_rng().choice(ids)))


def _seed_choice(widget: str, dataset: str, options: list) -> None:
    """Show the chosen record in a picker when it is among its options."""
    current = state.record if state.dataset == dataset else None
    by_text = {str(o): o for o in options}
    st.session_state[widget] = by_text.get(current)


@st.cache_data(max_entries=16, show_spinner=False)
def _ptbxl_matches(folder: str, query: PTBXLQuery):
    return ptbxl_table(query.apply(ui.dataset_index(Path(folder).parent, "ptbxl")))


@st.cache_data(max_entries=16, show_spinner=False)
def _cpsc_matches(folder: str, classes: tuple[str, ...]):
    return cpsc_table(ui.dataset_index(Path(folder).parent, "cpsc2018"), classes)


def ptbxl_browser() -> None:
    index = ui.dataset_index(root, "ptbxl")
    if index is None:
        st.warning(f"No PTB-XL folder in `{root / 'ptb-xl'}`; download it with `{DOWNLOAD_COMMANDS['ptbxl']}` "
                   "or set the data folder in the sidebar.")
        return
    with st.expander("Filters", expanded=True, icon=":material/filter_alt:"):
        c1, c2 = st.columns(2)
        folds = c1.multiselect("Fold", list(range(1, 11)), key=ui.remember("ptbxl_folds", []),
                               on_change=ui.store, args=("ptbxl_folds",),
                               help="strat_fold: 1-8 train the model, 9 validation, 10 test.")
        superclass = c2.multiselect(
            "Superclass", index.task_classes("superdiagnostic"), key=ui.remember("ptbxl_super", []),
            on_change=ui.store, args=("ptbxl_super",), format_func=lambda c: f"{c} · {index.statement_name(c)}")
        c3, c4 = st.columns(2)
        subclass = c3.multiselect(
            "Subclass", index.task_classes("subdiagnostic"), key=ui.remember("ptbxl_sub", []),
            on_change=ui.store, args=("ptbxl_sub",), format_func=lambda c: f"{c} · {index.statement_name(c)}")
        statement = c4.multiselect(
            "Statement", index.task_classes("all"), key=ui.remember("ptbxl_statement", []),
            on_change=ui.store, args=("ptbxl_statement",), format_func=lambda c: f"{c} · {index.statement_name(c)}")
        c5, c6 = st.columns(2)
        validated = c5.selectbox("Validated by a cardiologist", ["any", "yes", "no"],
                                 key=ui.remember("ptbxl_validated", "any"), on_change=ui.store,
                                 args=("ptbxl_validated",))
        noise_names = {c: c.replace("_", " ") for c in NOISE_COLUMNS}
        with_noise = c6.multiselect("Only records with", NOISE_COLUMNS, format_func=noise_names.get,
                                    key=ui.remember("ptbxl_with", []), on_change=ui.store, args=("ptbxl_with",),
                                    help="Signal-quality notes of ptbxl_database.csv.")
        c7, _ = st.columns(2)
        without_noise = c7.multiselect("Only records without", NOISE_COLUMNS, format_func=noise_names.get,
                                       key=ui.remember("ptbxl_without", []), on_change=ui.store,
                                       args=("ptbxl_without",))
    both = sorted(set(with_noise) & set(without_noise))
    if both:
        st.error(f"{', '.join(noise_names[c] for c in both)}: asked both with and without; keep it in one list.")
        return
    noise = {c: True for c in with_noise} | {c: False for c in without_noise}
    query = PTBXLQuery(
        folds=tuple(folds), superclass=tuple(superclass), subclass=tuple(subclass), statement=tuple(statement),
        validated_by_human={"any": None, "yes": True, "no": False}[validated], **noise,
    )
    table = _ptbxl_matches(str(index.folder), query)
    ids = table.index.tolist()
    st.caption(f"{len(ids):,} records with signal files match ({index.n_missing:,} listed records have no signal "
               "file here).")

    options = ids[:MAX_OPTIONS]
    _seed_choice("ptbxl_pick", "ptbxl", options)
    st.selectbox(
        "Record (ecg_id)", options, key="ptbxl_pick", index=None, placeholder="Choose a record",
        format_func=lambda i: f"{i} · {table.at[i, 'statements']}", on_change=_pick, args=("ptbxl", "ptbxl_pick"),
        help=None if len(ids) <= MAX_OPTIONS else f"The first {MAX_OPTIONS} matches; filter or search for others.",
    )
    c2, c3 = st.columns([2, 1], vertical_alignment="bottom")
    c2.text_input("Search ecg_id", key="ptbxl_search", placeholder="e.g. 17", on_change=_search, args=(index,))
    c3.button("Random record", key="ptbxl_random", on_click=_pick_random, args=("ptbxl", ids), disabled=not ids,
              icon=":material/shuffle:")
    if st.session_state.get("ptbxl_search_error"):
        st.error(st.session_state.pop("ptbxl_search_error"))
    shown = table.head(MAX_TABLE_ROWS)
    st.dataframe(shown, key="ptbxl_table", selection_mode="single-row", height=260,
                 on_select=partial(_pick_row, "ptbxl", "ptbxl_table", shown.index.tolist()))


def _search(index) -> None:
    text = st.session_state.get("ptbxl_search", "").strip()
    if not text:
        return
    if not text.isdigit() or int(text) not in index.metadata.index:
        st.session_state["ptbxl_search_error"] = (
            f"ecg_id {text!r} is not among the {len(index):,} PTB-XL records listed in {index.folder}; "
            "give a number from the table.")
        return
    if not bool(index.has_signal(100).at[int(text)]):
        st.session_state["ptbxl_search_error"] = (
            f"ecg_id {text} is listed but its signal files are not in {index.folder}; download them with "
            f"`{DOWNLOAD_COMMANDS['ptbxl']}`.")
        return
    ui.choose("ptbxl", text)


def cpsc_browser() -> None:
    index = ui.dataset_index(root, "cpsc2018")
    if index is None:
        st.warning(f"No CPSC2018 folder in `{root / 'cpsc2018'}`; download it with "
                   f"`{DOWNLOAD_COMMANDS['cpsc2018']}` or set the data folder in the sidebar.")
        return
    names = {c.abbreviation: c.name for c in CLASSES}
    classes = st.multiselect("Class", list(names), format_func=lambda c: f"{c} · {names[c]}",
                             key=ui.remember("cpsc_classes", []), on_change=ui.store, args=("cpsc_classes",),
                             help="Records carrying any of these labels (REFERENCE.csv).")
    table = _cpsc_matches(str(index.folder), tuple(classes))
    ids = table.index.tolist()
    st.caption(f"{len(ids):,} records with signal files match ({index.n_missing:,} listed records have no "
               "signal file here).")
    c1, c2 = st.columns([4, 1], vertical_alignment="bottom")
    options = ids[:MAX_OPTIONS]
    _seed_choice("cpsc_pick", "cpsc2018", options)
    c1.selectbox("Record", options, key="cpsc_pick", index=None, placeholder="Choose a record",
                 format_func=lambda r: f"{r} · {table.at[r, 'labels']}", on_change=_pick,
                 args=("cpsc2018", "cpsc_pick"))
    c2.button("Random record", key="cpsc_random", on_click=_pick_random, args=("cpsc2018", ids), disabled=not ids,
              icon=":material/shuffle:")
    shown = table.head(MAX_TABLE_ROWS)
    st.dataframe(shown, key="cpsc_table", selection_mode="single-row", height=260,
                 on_select=partial(_pick_row, "cpsc2018", "cpsc_table", shown.index.tolist()))


def upload() -> None:
    files = st.file_uploader(
        "ECG file(s)", type=[ext.lstrip(".") for ext in ACCEPTED_EXTENSIONS], accept_multiple_files=True,
        key="uploader",
        help="A WFDB record (drop its .hea with the .dat or .mat together), a CPSC2018 .mat, a .csv with a column "
             "per lead, or a .npy array (12, n). Size limit: server.maxUploadSize in .streamlit/config.toml.",
    )
    if not files:
        st.caption("Uploads stay in this browser session: they cannot be shared by link.")
        return
    names = [f.name for f in files]
    fs, units = None, "mV"
    if needs_fs(names):
        c1, c2 = st.columns(2)
        fs = c1.number_input("Sampling rate (Hz)", min_value=50.0, max_value=2000.0, value=500.0, step=50.0,
                             help="CSV and NumPy files do not carry their sampling rate.")
        units = c2.selectbox("Units of the values", ["mV", "uV"], format_func={"mV": "mV", "uV": "µV"}.get)
    content = tuple((f.name, f.getvalue()) for f in files)
    digest = hashlib.blake2b(repr((names, fs, units)).encode() + b"".join(c for _, c in content),
                             digest_size=12).hexdigest()
    recording = ui.show_errors(lambda: ui.read_upload_cached(content, fs, units))
    if recording is None:
        return
    current = ui.view_state()
    chosen = (current.dataset, current.record) == ("upload", recording.source)
    if st.session_state.get("upload_digest") != digest or not chosen:
        st.session_state["upload"] = recording
        st.session_state["upload_digest"] = digest
        ui.choose("upload", recording.source)
        st.rerun()


@st.cache_data(show_spinner=False)
def _samples_table():
    return samples_table()


def samples() -> None:
    table = _samples_table()
    ids = table.index.tolist()
    st.caption(f"{len(ids)} real ECGs bundled with the app: PTB-XL records of the test fold (fold 10, never used to "
               "train the model), 500 Hz, 10 s, chosen to show each superclass and common findings. PTB-XL: Wagner "
               "et al., PhysioNet, CC BY 4.0.")
    _seed_choice("samples_pick", "samples", ids)
    st.selectbox("Sample ECG", ids, key="samples_pick", index=None, placeholder="Choose a sample",
                 format_func=lambda i: f"{i} · {table.at[i, 'shows']}", on_change=_pick,
                 args=("samples", "samples_pick"))
    st.dataframe(table, key="samples_table", selection_mode="single-row", height=260,
                 on_select=partial(_pick_row, "samples", "samples_table", ids))


def synthetic() -> None:
    st.info(f"NeuroKit2's multi-lead simulation ({SYNTHETIC_LABEL}), for trying the app without any dataset.",
            icon=":material/science:")
    current = int(state.record[:-3]) if state.dataset == "synthetic" and state.record else 70
    rate = st.slider("Heart rate (bpm)", 40, 150, current, step=5, key="synthetic_rate")
    st.button("Use this synthetic ECG", key="synthetic_use", icon=":material/science:", on_click=ui.choose,
              args=("synthetic", f"{rate}bpm"))


def chosen_record() -> Recording | None:
    st.markdown("**Chosen record**")
    recording = ui.current_recording(root)
    if recording is None:
        st.info("No record is chosen yet: pick one on the left.")
        return None
    ui.record_banner(recording)
    index = None
    if recording.dataset == "ptbxl":
        # PTB-XL publishes one statements table; the bundled samples' copy names the codes without a data folder.
        index = ui.dataset_index(root, "ptbxl")
        index = index if index is not None else samples_index()
    labels = describe_labels(recording, index)
    if labels:
        st.markdown("**Labels** (ground truth): " + "; ".join(labels))
    st.page_link(ui.ECG_PAGE, label="Open the 12-lead view", icon=":material/monitor_heart:")
    ui.input_check_panel(recording)
    return recording


if "source" not in st.session_state:
    default = state.dataset or (found[0] if found else "samples")
    st.session_state["source"] = next(name for name, key in SOURCES.items() if key == default)
left, right = st.columns([3, 2], gap="large")
with left:
    source = st.segmented_control("Source", list(SOURCES), key=ui.remember("source", st.session_state["source"]),
                                  on_change=ui.store, args=("source",), required=True)
    {"PTB-XL": ptbxl_browser, "CPSC2018": cpsc_browser, "Samples": samples, "Upload": upload,
     "Synthetic demo": synthetic}[source]()
with right:
    chosen = chosen_record()
upcoming = ui.view_options(chosen) if chosen is not None else None
if upcoming is not None and upcoming.leads:
    # Build the 12-lead view while the user reads the input check: opening it then only sends it (caches).
    ui.sheet_figure(chosen, upcoming)
