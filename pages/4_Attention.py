"""Attention page: where the high- and low-resolution branches looked, over the calibrated 12-lead view; where
they agree; and what drove one class over leads x time."""

from __future__ import annotations

from dataclasses import replace

import streamlit as st

from mrm.app import ui, ui_model
from mrm.app.attention import attention_agreement
from mrm.data.recording import LEADS
from mrm.viz.attention import agreement_figure, attribution_figure

PLOT_CONFIG = {"scrollZoom": True, "displaylogo": False, "modeBarButtonsToRemove": ["select2d", "lasso2d"]}
METHOD_NAMES = {
    "integrated_gradients": "integrated gradients (per lead)",
    "grad_cam_hr": "Grad-CAM, HR branch (all leads)",
    "grad_cam_lr": "Grad-CAM, LR branch (all leads)",
}

ui.require_entry()
recording, task, model = ui_model.open_model_page("Attention on the waveform")
prediction = ui_model.predict(recording, model)
maps = ui_model.attention(recording, model)
positives = ", ".join(c.code for c in prediction.positive) or "none"
st.markdown(f"**Model says:** {positives}" + (" &nbsp;·&nbsp; **the branches disagree** on "
                                              f"{prediction.disagreement_class} (gap {prediction.disagreement:.2f})"
                                              if prediction.disagreement_flagged else ""))
if maps is None:
    st.info(f"{model.predictor.name} has no attention blocks: there are no attention maps to show.")


def _set_layout() -> None:
    ui.set_view_state(replace(ui.view_state(), layout=st.session_state["_w_attention_layout"]))


@st.fragment
def sheet() -> None:
    """The overlay controls and the sheet: a toggle reruns only this part (streamlit#6978)."""
    st.session_state["_w_attention_layout"] = ui.view_state().layout
    c1, c2, c3, c4 = st.columns([3, 2, 2, 3])
    c1.segmented_control("Layout", ["3x4", "12x1"], key="_w_attention_layout", on_change=_set_layout,
                         required=True, format_func={"3x4": "3x4 + rhythm II", "12x1": "12x1"}.get)
    defaults = ui_model.ATTENTION_DEFAULTS
    c2.toggle("HR attention", key=ui.remember("show_hr", defaults["show_hr"]), on_change=ui.store, args=("show_hr",),
              help="High-resolution branch: orange, upper half of each row.")
    c3.toggle("LR attention", key=ui.remember("show_lr", defaults["show_lr"]), on_change=ui.store, args=("show_lr",),
              help="Low-resolution branch: blue, lower half of each row.")
    c4.slider("Opacity", 0.1, 1.0, key=ui.remember("attention_opacity", defaults["attention_opacity"]), step=0.05,
              on_change=ui.store, args=("attention_opacity",))
    branches, _ = ui_model.attention_settings()
    figure = ui_model.attention_sheet(recording, model)
    st.plotly_chart(figure, key="attention_sheet", theme=None, config=PLOT_CONFIG)
    where = {("hr", "lr"): "orange: the high-resolution branch (upper half of each row); blue: the low-resolution "
                           "branch (lower half)",
             ("hr",): "orange: the high-resolution branch", ("lr",): "blue: the low-resolution branch",
             (): "no branch shown"}[branches]
    st.caption(f"Temporal attention, one value per time step shared by all 12 leads; {where}. Each branch is "
               "scaled to its own range on this record; the tint grows with its square, so the stretches a branch "
               "singled out stand out.")


if maps is not None:
    sheet()

    st.header("Where the branches agree", divider="gray")
    agreement = attention_agreement(maps)
    c1, c2, c3 = st.columns(3)
    c1.metric("Correlation", f"{agreement.correlation:.2f}", help="Pearson correlation of the two maps over the record")
    c2.metric(f"Overlap of the top {agreement.share:.0%}", f"{agreement.overlap:.2f}",
              help="Jaccard index of the stretches where each branch is in its own top 20%")
    c3.metric("Mean gap", f"{agreement.mean_gap:.2f}", help="Mean |HR - LR| of the scaled maps")
    st.markdown(f"The two branches **{agreement.verdict}** on this record.")
    st.plotly_chart(agreement_figure(maps), key="agreement", theme=None, config={"displaylogo": False})
    st.caption("Top: both maps over time. Bottom: their difference; orange where the HR branch attended more, "
               "blue where the LR branch did.")


@st.fragment
def attribution() -> None:
    """One class's attribution; picking another class reruns only this part."""
    classes = sorted(prediction.classes, key=lambda c: -c.probability)
    names = {c.code: f"{c.code} · {c.name} (p = {c.probability:.2f})" for c in classes}
    c1, c2 = st.columns(2)
    code = c1.selectbox("Class", list(names), format_func=names.get, key="attribution_class", index=None,
                        placeholder="Pick a class to see what drove it", help="Most probable first.")
    method = c2.selectbox("Method", list(METHOD_NAMES), format_func=METHOD_NAMES.get,
                          key="attribution_method")
    if code is None:
        # Computed on request: integrated gradients cost about a second of CPU, which would otherwise compete with
        # the browser drawing the sheet above.
        st.caption("The attribution of one class over leads and time is computed when you pick the class (about a "
                   "second for integrated gradients).")
        return
    result = ui_model.attribution(recording, model, code, method)
    st.plotly_chart(attribution_figure(result), key="attribution", theme=None, config={"displaylogo": False})
    totals = result.lead_totals()
    if result.lead_resolved:
        top = ", ".join(LEADS[i] for i in totals.argsort()[::-1][:3])
        st.caption(f"Red speaks for {code}, blue against it; the leads that spoke most for it: {top}. Integrated "
                   "gradients from a flat 0 mV record to this one, on the model's 100 Hz input.")
    else:
        st.caption(f"Grad-CAM of one branch has no lead resolution: one row for all leads. Red: where the branch's "
                   f"features pushed {code} up.")


st.header("What drove a class", divider="gray")
attribution()
st.page_link(ui_model.REPORT_PAGE, label="PDF report with the attention strip", icon=":material/picture_as_pdf:")
