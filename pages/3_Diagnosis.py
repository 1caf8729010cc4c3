"""Diagnosis page: every class of the chosen task with its probability, the card's threshold and the decision,
beside the record's ground truth; both branches' probabilities and a flag when they disagree; CSV/JSON export."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from mrm.app import ui, ui_model
from mrm.app.diagnosis import (
    OUTCOME_COLOURS,
    OUTCOMES,
    diagnosis_rows,
    diagnosis_table,
    disagreement_text,
    outcome_counts,
    prediction_csv,
    prediction_json,
)
from mrm.report import report_file_name
from mrm.viz.probabilities import probability_figure

ui.require_entry()
recording, task, model = ui_model.open_model_page("Diagnosis")
predictor = model.predictor
prediction = ui_model.predict(recording, model)
truth = ui_model.truth_for(recording, task, predictor.classes)
rows = diagnosis_rows(prediction, truth)

if prediction.disagreement_flagged:
    st.error(disagreement_text(prediction), icon=":material/call_split:")
else:
    st.success(disagreement_text(prediction), icon=":material/join:")

positives = ", ".join(f"{c.code} ({c.name})" for c in prediction.positive) or "none"
st.markdown(f"**Model says:** {positives} &nbsp;·&nbsp; `{predictor.name}`, thresholds tuned on fold 9.")
if truth.available:
    counts = outcome_counts(rows)
    true_codes = ", ".join(truth.positive) or "none of the task's classes"
    st.markdown(f"**Ground truth** ({truth.source}): {true_codes}")
    cols = st.columns(4)
    for col, (code, n) in zip(cols, counts.items(), strict=True):
        col.metric(OUTCOMES[code], n)
    if truth.note:
        st.caption(f"Note: {truth.note}")
else:
    st.info(f"No ground truth to compare with: {truth.note}", icon=":material/help:")

table = diagnosis_table(rows)


def _colour(row: pd.Series) -> list[str]:
    outcome = next((code for code, words in OUTCOMES.items() if words == row["outcome"]), None)
    colours = ["" for _ in row]
    if outcome:
        colours = [f"background-color: {OUTCOME_COLOURS[outcome]}" for _ in row]
    if row["branches"].startswith("DISAGREE"):
        colours[list(row.index).index("branches")] = "background-color: #f5b7b1; font-weight: bold"
    return colours


st.dataframe(
    table.style.apply(_colour, axis=1), hide_index=True, key="diagnosis_table",
    height=min(36 * (len(table) + 1) + 3, 600),
    column_config={
        "code": st.column_config.TextColumn(width="small"),
        "probability": st.column_config.ProgressColumn("probability", min_value=0.0, max_value=1.0, format="%.3f",
                                                       help="Fused probability (mean of the HR and LR heads)"),
        "threshold": st.column_config.NumberColumn(format="%.3f", help="The card's threshold, tuned on fold 9"),
        "HR": st.column_config.NumberColumn(format="%.3f", help="High-resolution branch"),
        "LR": st.column_config.NumberColumn(format="%.3f", help="Low-resolution branch"),
        "branches": st.column_config.TextColumn(
            help=f"|HR - LR|; flagged above {prediction.disagreement_flag:g} (the model card's flag: the 99th "
                 "percentile of the branches' disagreement on fold 9)"),
    },
)
st.caption("Rows are coloured by outcome: green true positive, orange false positive, red false negative, grey true "
           f"negative. A class whose branches are more than {prediction.disagreement_flag:g} apart (the model card's "
           "flag, tuned on fold 9) is marked DISAGREE.")
left, _ = st.columns([3, 1])
shown = 15 if len(rows) > 15 else None
left.plotly_chart(probability_figure(prediction, top=shown), key="probabilities", theme=None,
                  config={"displaylogo": False})
left.caption(("The 15 most probable classes; " if shown else "") +
             "bars: fused (dark), HR (orange), LR (blue); red tick: threshold; '!' after a code: the branches "
             "disagree on it.")

with st.expander("How the record was fed to the model", icon=":material/input:"):
    policy = prediction.policy
    st.markdown(
        f"{len(prediction.windows)} windows of {policy.window / policy.fs:g} s every {policy.stride / policy.fs:g} s "
        f"at {policy.fs:g} Hz; a class's probability is the {policy.aggregation} over the windows."
        + (f" Padded by {prediction.padded:g} s." if prediction.padded else ""))
    for warning in prediction.warnings:
        st.caption(warning)

st.subheader("Export", divider="gray")
c1, c2, c3 = st.columns(3)
c1.download_button("Predictions (CSV)", prediction_csv(predictor, prediction, recording),
                   file_name=report_file_name(recording, task, "csv"), mime="text/csv", on_click="ignore",
                   icon=":material/table:", key="download_csv")
c2.download_button("Predictions and truth (JSON)", prediction_json(predictor, prediction, recording, truth),
                   file_name=report_file_name(recording, task, "json"), mime="application/json", on_click="ignore",
                   icon=":material/data_object:", key="download_json")
c3.page_link(ui_model.REPORT_PAGE, label="PDF report", icon=":material/picture_as_pdf:")
st.page_link(ui_model.ATTENTION_PAGE, label="Where did each branch look? Attention on the waveform",
             icon=":material/visibility:")
# Build the Attention page's sheet while the reader looks at this one: opening it then only sends it (cached).
ui_model.attention_sheet(recording, model)
