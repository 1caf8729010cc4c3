"""Report page: the PDF report of the chosen record (tracing, measurements, predictions with thresholds, the
attention strip), and its predictions as CSV and JSON."""

from __future__ import annotations

import streamlit as st

from mrm.app import ui, ui_model
from mrm.app.diagnosis import prediction_csv, prediction_json
from mrm.report import DISCLAIMER, report_file_name

ui.require_entry()
recording, task, model = ui_model.open_model_page("Report")
prediction = ui_model.predict(recording, model)
truth = ui_model.truth_for(recording, task, model.predictor.classes)

st.markdown(
    "The PDF holds three A4 landscape pages:\n"
    "1. the record and the patient, the model, and the calibrated 3x4 tracing with a lead II rhythm strip at true "
    "scale (25 mm/s, 10 mm/mV; print at 100 %);\n"
    "2. the automated measurements, and every class's probability with the card's threshold, the decision, both "
    "branches and the ground truth" + (" (none for this record)" if not truth.available else "") + ";\n"
    "3. the attention strip: where each branch looked on lead II, and how far they agree.")

c1, c2, c3 = st.columns(3)
c1.download_button(
    "Download the PDF report", ui_model.report_builder(recording, model, ui.powerline()),
    file_name=report_file_name(recording, task), mime="application/pdf", on_click="ignore", type="primary",
    icon=":material/picture_as_pdf:", key="download_pdf",
    help="Built when you click (a second or two), then kept for this record and model.",
)
c2.download_button("Predictions (CSV)", prediction_csv(model.predictor, prediction, recording),
                   file_name=report_file_name(recording, task, "csv"), mime="text/csv", on_click="ignore",
                   icon=":material/table:", key="report_csv")
c3.download_button("Predictions and truth (JSON)", prediction_json(model.predictor, prediction, recording, truth),
                   file_name=report_file_name(recording, task, "json"), mime="application/json", on_click="ignore",
                   icon=":material/data_object:", key="report_json")
st.caption(f"The measurements use the mains frequency set on the 12-lead page ({ui.powerline():g} Hz). "
           "CSV and JSON hold every class in the layout of `python -m mrm predict`; the JSON adds the ground truth.")
st.info(DISCLAIMER, icon=":material/info:")
