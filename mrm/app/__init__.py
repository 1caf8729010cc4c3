"""What the dashboard needs besides Streamlit: the shareable view state, record sources, the synthetic demo,
the input check and the 12-lead view options. Nothing here imports Streamlit except :mod:`mrm.app.ui`, which
only the pages import.
"""

from mrm.app.check import InputCheck, check_input
from mrm.app.sources import (
    PTBXLQuery,
    cpsc_table,
    find_weights,
    ptbxl_table,
    read_upload,
    record_title,
    resolve_data_dir,
)
from mrm.app.state import ViewState, training_note
from mrm.app.synthetic import SYNTHETIC_LABEL, simulate_recording
from mrm.app.view import ViewOptions, build_view

__all__ = [
    "SYNTHETIC_LABEL",
    "InputCheck",
    "PTBXLQuery",
    "ViewOptions",
    "ViewState",
    "build_view",
    "check_input",
    "cpsc_table",
    "find_weights",
    "ptbxl_table",
    "read_upload",
    "record_title",
    "resolve_data_dir",
    "simulate_recording",
    "training_note",
]
