"""MRM-ECG dashboard: the entry point (shared sidebar, page router) and the home page.

Run it with ``streamlit run streamlit_app.py``. Pages live in pages/ and are found by their number prefix, so
later pages (diagnosis, attention, model card, report) appear by adding ``pages/N_Name.py``.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import streamlit as st

from mrm.app import ui
from mrm.app.sources import available_datasets, find_weights
from mrm.app.synthetic import SYNTHETIC_LABEL
from mrm.data.inventory import describe_data_root
from mrm.data.labels import SPLITS
from mrm.data.samples import list_samples
from mrm.shipped import default_weights_dir

HERE = Path(__file__).resolve().parent
#: Titles and icons of the pages (others get a title from their file name).
PAGES = {
    "1_Record.py": ("Record", ":material/folder_open:"),
    "2_ECG.py": ("12-lead ECG", ":material/monitor_heart:"),
    "3_Diagnosis.py": ("Diagnosis", ":material/stethoscope:"),
    "4_Attention.py": ("Attention", ":material/visibility:"),
    "5_Model_card.py": ("Model card", ":material/model_training:"),
    "6_Teaching.py": ("Teaching", ":material/school:"),
    "7_Report.py": ("Report", ":material/picture_as_pdf:"),
}
#: What a machine without any dataset opens on: the first bundled sample (a normal ECG validated by a cardiologist).
DEFAULT_SAMPLE = str(list_samples()[0].ecg_id)


@st.cache_data(ttl=60, show_spinner="Looking at the data folder ...")
def _inventory(root: str) -> pd.DataFrame:
    rows = []
    for s in describe_data_root(root):
        splits = ", ".join(
            f"{name} {sum(s.folds.get(f, 0) for f in folds)}" for name, folds in SPLITS.items()
        ) if s.folds else ""
        rows.append({
            "dataset": {"ptbxl": "PTB-XL", "cpsc2018": "CPSC2018"}[s.dataset],
            "folder": s.folder,
            "found": s.found,
            "records listed": s.n_listed,
            "with signals": s.n_with_signal,
            "folds 1-8 / 9 / 10 (with signals)": splits,
            "how to get it": "" if s.found else s.download,
        })
    return pd.DataFrame(rows)


def home() -> None:
    """What the tool is, what it found, and where to start."""
    st.title("MRM-ECG")
    st.markdown(
        "Multi-label 12-lead ECG diagnosis with **MRM-Net** (multi-resolution mutual learning, arXiv 2406.16928) "
        "on **PTB-XL** and **CPSC2018**. Pick a record, check what was read, and read its 12 leads on calibrated "
        "ECG paper with automated interval estimates."
    )
    st.caption("A research and teaching tool, not a medical device: nothing here is a diagnosis.")

    root = ui.data_root()
    st.header("Datasets", divider="gray")
    st.markdown(f"Data folder: `{root}` (change it in the sidebar, or set `MRM_DATA_DIR`).")
    inventory = _inventory(str(root))
    st.dataframe(inventory, hide_index=True)
    missing = inventory[~inventory["found"]]
    if len(missing):
        st.markdown("Not found: " + "; ".join(f"{name}, get it with `{command}`" for name, command
                                              in zip(missing["dataset"], missing["how to get it"], strict=True)) + ".")
    st.markdown(
        f"**Sample ECGs**: {len(list_samples())} real PTB-XL records of the test fold, bundled with the app, are "
        "always there (Record page, source *Samples*). PTB-XL: Wagner et al., PhysioNet, CC BY 4.0."
    )
    if not inventory["found"].any():
        st.info(
            f"No dataset was found in `{root}`. The app opens a **real sample ECG** (PTB-XL ecg_id {DEFAULT_SAMPLE}, "
            f"with its ground truth); the other samples are on the Record page, next to a synthetic demo ECG "
            f"({SYNTHETIC_LABEL}).",
            icon=":material/ecg_heart:",
        )

    st.header("Trained weights", divider="gray")
    weights_dir = default_weights_dir()
    weights = find_weights(weights_dir)
    if weights:
        st.dataframe(pd.DataFrame([{
            "name": w.name, "model": w.model, "task": w.task, "trained on": w.dataset, "classes": w.n_classes,
            "file": str(w.path), "problem": w.problem or "",
        } for w in weights]), hide_index=True)
    else:
        st.markdown(
            f"No weights in `{weights_dir}` yet. The 12-lead view and the measurements work without them; the "
            "diagnosis pages need a trained model (`python -m mrm train`, see the README)."
        )

    st.header("Where to start", divider="gray")
    st.page_link(ui.RECORD_PAGE, label="Record: pick a PTB-XL or CPSC2018 record or a bundled sample, upload a file, "
                 "or use the synthetic demo",
                 icon=":material/folder_open:")
    st.page_link(ui.ECG_PAGE, label="12-lead ECG: the chosen record on ECG paper, with measurements",
                 icon=":material/monitor_heart:")
    st.caption("The chosen record stays chosen across pages, and the address bar holds a link to the view "
               "(dataset, record, task, layout) that opens it again.")


def _pages() -> list:
    def number(path: Path) -> int:
        return int(path.name.split("_", 1)[0])

    pages = [st.Page(home, title="Home", icon=":material/home:", default=True)]
    for path in sorted((HERE / "pages").glob("[0-9]*_*.py"), key=number):
        default_title = re.sub(r"^\d+_", "", path.stem).replace("_", " ")
        title, icon = PAGES.get(path.name, (default_title, None))
        pages.append(st.Page(f"pages/{path.name}", title=title, icon=icon))
    return pages


st.set_page_config(page_title="MRM-ECG", page_icon=":material/ecg_heart:", layout="wide")
root = ui.data_dir_sidebar()
state = ui.view_state()
if state.dataset is None and not available_datasets(root):
    ui.choose("samples", DEFAULT_SAMPLE)
for problem in st.session_state.pop("link_problems", []):
    st.warning(f"The link could not be followed in full: {problem}")
current = ui.view_state()
if current.dataset:
    st.sidebar.caption(f"Chosen record: {current.dataset} {current.record}"
                       + (f" ({SYNTHETIC_LABEL})" if current.dataset == "synthetic" else ""))
page = st.navigation(_pages())
ui.entry_ran()
page.run()
ui.sync_link()
