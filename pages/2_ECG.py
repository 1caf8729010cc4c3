"""12-lead ECG page: the chosen record on calibrated ECG paper (3x4 + rhythm strip, or 12x1), with measurements."""

from __future__ import annotations

from dataclasses import replace

import streamlit as st

from mrm.app import ui
from mrm.app.measurements import AUTOMATED_LABEL, measurement_table
from mrm.app.view import COMPARE_MODES, GAINS, SPEEDS
from mrm.data.preprocess import MODEL_FS
from mrm.data.recording import LEADS

PLOT_CONFIG = {"scrollZoom": True, "displaylogo": False, "modeBarButtonsToRemove": ["select2d", "lasso2d"]}

ui.require_entry()
root = ui.data_root()
recording = ui.current_recording(root)
if recording is None:
    st.title("12-lead ECG")
    st.info("No record is chosen yet.")
    st.page_link(ui.RECORD_PAGE, label="Choose a record", icon=":material/folder_open:")
    st.stop()

ui.record_banner(recording)
ui.input_check_panel(recording, expanded=False)


def _set_layout() -> None:
    ui.set_view_state(replace(ui.view_state(), layout=st.session_state["_w_layout"]))


@st.fragment
def sheet() -> None:
    """Controls and the tracing: a control change reruns only this part of the page (streamlit#6978)."""
    state = ui.view_state()
    st.session_state["_w_layout"] = state.layout
    c1, c2, c3, c4, c5 = st.columns([3, 2, 2, 3, 2])
    c1.segmented_control("Layout", ["3x4", "12x1"], key="_w_layout", on_change=_set_layout, required=True,
                         format_func={"3x4": "3x4 + rhythm II", "12x1": "12x1"}.get)
    c2.segmented_control("Gain (mm/mV)", GAINS, key=ui.remember("gain", 10), on_change=ui.store, args=("gain",),
                         required=True)
    c3.segmented_control("Speed (mm/s)", SPEEDS, key=ui.remember("speed", 25), on_change=ui.store, args=("speed",),
                         required=True)
    c4.selectbox(
        f"Model input ({MODEL_FS:g} Hz)", ["hide", *COMPARE_MODES], key=ui.remember("compare", "hide"),
        on_change=ui.store, args=("compare",),
        format_func={"hide": "hide", "overlay": "overlay on the record", "stacked": "row under each lead"}.get,
        help=f"The record at its own {recording.fs:g} Hz next to the {MODEL_FS:g} Hz signal the model sees "
             "(12x1 rows).", disabled=recording.fs == MODEL_FS,
    )
    c5.toggle("R peaks", key=ui.remember("mark_rpeaks", True), on_change=ui.store, args=("mark_rpeaks",),
              help="Mark the R peaks found by the automated measurement on lead II and its rhythm strip.")
    c5.toggle("Calipers", key=ui.remember("show_calipers", False), on_change=ui.store, args=("show_calipers",),
              help="Draw where the automated measurement placed the P onset, QRS onset and offset and T end (the "
                   "global fiducials of the median beat) on every beat it used, and the PR, QRS and QT intervals "
                   "as brackets under the rhythm lead.")
    # The controls keep their values in session state (callbacks run before this line), so the options come
    # from there: the Record page builds the same figure ahead of time from the same keys.
    options = ui.view_options(recording)
    if options.layout == "12x1" or options.compare:
        st.multiselect("Leads", LEADS, key=ui.remember("leads", list(LEADS)), on_change=ui.store, args=("leads",))
        if not options.leads:
            st.warning("No lead is selected; select at least one lead.")
            return
    starts = options.starts(recording)
    if len(starts) > 1:
        key = ui.remember("start", 0.0)
        st.session_state[key] = options.start  # the nearest start when the speed changes the choices
        st.select_slider("Start of the sheet (s)", starts, key=key, on_change=ui.store, args=("start",),
                         help=f"The record is {recording.duration:.1f} s long; the sheet shows "
                              f"{options.window(recording)[1]:g} s at {options.speed:g} mm/s.")
    st.plotly_chart(ui.sheet_figure(recording, options), key="ecg_sheet", theme=None, config=PLOT_CONFIG)
    st.caption("Zoom: drag a box, or scroll over the sheet; pan with the pan tool; double-click to reset. "
               f"The tracing is the record at its own {recording.fs:g} Hz.")


sheet()

st.header("Measurements", divider="gray")
st.info(f"Heart rate, intervals and axis below are {AUTOMATED_LABEL}: check them on the tracing.",
        icon=":material/straighten:")
c1, _ = st.columns([1, 3])
c1.selectbox("Mains frequency (Hz)", [50, 60], key=ui.remember("powerline", 50), on_change=ui.store,
             args=("powerline",), help="Notched out before measuring: 50 Hz in Europe and China, 60 Hz in America.")
result = ui.measurements(ui.record_key(recording), ui.powerline(), recording)
st.table(measurement_table(result).set_index("measurement"))
for warning in result.warnings:
    st.warning(warning)
st.caption(f"Measured on the record at its own {recording.fs:g} Hz: R peaks from all leads together "
           f"({len(result.rpeaks)} beats), intervals on the median beat, global onsets and offsets over the leads. "
           "A value that fails or lies outside physiological limits is reported as not measurable, never as a "
           "number.")
