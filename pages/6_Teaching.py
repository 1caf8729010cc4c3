"""Teaching mode: a random case (filterable by class); the learner ticks the diagnoses they see, then reveals the
truth, the model's output and its attention; a score is kept for the session."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from mrm.app import ui, ui_model
from mrm.app.diagnosis import OUTCOME_COLOURS, diagnosis_rows
from mrm.app.teaching import Score, draw_case, grade_answer
from mrm.app.view import ViewOptions
from mrm.data.labels import SPLITS
from mrm.errors import ECGInputError

PLOT_CONFIG = {"scrollZoom": True, "displaylogo": False, "modeBarButtonsToRemove": ["select2d", "lasso2d"]}
FOLDS = {"test": "Test fold (10): records the model never saw", "all": "Every fold (training records too)"}

ui.require_entry()
st.title("Teaching mode")
st.caption("Read the ECG, tick what you see, then reveal the truth (the PTB-XL cardiologists' statements or the "
           "CPSC2018 labels), the model's output and where it looked. For learning, not for patients.")
c1, c2, c3 = st.columns([2, 2, 3])
task = ui_model.task_selector(c1)
model = ui_model.load_model(task)
if model is None:
    st.stop()
predictor = model.predictor
dataset = "cpsc2018" if task == "cpsc2018" else "ptbxl"
if ui.dataset_index(ui.data_root(), dataset) is None:
    if dataset == "cpsc2018":
        st.warning(f"Teaching cases of the {task} task come from CPSC2018, which is not in the data folder "
                   f"`{ui.data_root()}`; set it in the sidebar.")
        st.stop()
    dataset = "samples"
    st.info(f"PTB-XL is not in the data folder `{ui.data_root()}`: cases come from the 15 bundled samples "
            "(test fold). Set a data folder in the sidebar for thousands more.", icon=":material/info:")
names = dict(zip(predictor.classes, predictor.class_names, strict=True))
wanted = c2.multiselect("Cases with", predictor.classes, format_func=lambda c: f"{c} · {names[c]}",
                        key=ui.remember("teaching_classes", []), on_change=ui.store, args=("teaching_classes",),
                        help="Draw only records carrying any of these classes; empty: any record.")
folds = c3.radio("From", list(FOLDS), format_func=FOLDS.get, key=ui.remember("teaching_folds", "test"),
                 on_change=ui.store, args=("teaching_folds",), horizontal=True)
try:
    pool = ui_model.teaching_pool(dataset, task, predictor.classes, tuple(wanted),
                                  tuple(SPLITS["test"]) if folds == "test" else None)
except ECGInputError as err:
    st.error(str(err))
    st.stop()


def _new_case() -> None:
    case = st.session_state.get("teaching_case")
    seen = st.session_state.setdefault("teaching_seen", [])
    if case:
        seen.append(case["record"])
    try:
        record = draw_case(pool, np.random.default_rng(), seen)
    except ECGInputError as err:
        st.session_state["teaching_problem"] = str(err)
        return
    st.session_state["teaching_case"] = {"dataset": dataset, "record": record, "task": task, "revealed": False}
    for code in predictor.classes:
        st.session_state[f"tick_{code}"] = False
    st.session_state["teaching_number"] = st.session_state.get("teaching_number", 0) + 1


score: Score = st.session_state.setdefault("teaching_score", Score())
b1, b2 = st.columns([1, 3], vertical_alignment="center")
b1.button("New case", key="teaching_new", on_click=_new_case, icon=":material/shuffle:", type="primary",
          disabled=not pool)
b2.caption(f"{len(pool):,} records match. Session score: {score.cases} case(s), {score.exact} exactly right, mean "
           f"Jaccard {score.mean_jaccard:.2f}" + (f"; the model was exactly right on {score.model_exact}" if score.cases
                                                 else "") + ".")
if st.session_state.get("teaching_problem"):
    st.error(st.session_state.pop("teaching_problem"))
case = st.session_state.get("teaching_case")
if not case or case["task"] != task or case["dataset"] != dataset:
    st.info("Press **New case** to draw a record.")
    st.stop()

recording = ui_model.load_case(case["dataset"], case["record"])
patient = ", ".join(p for p in (recording.sex, f"{recording.age:g} y" if recording.age is not None else None) if p)
st.subheader(f"Case {st.session_state.get('teaching_number', 1)}" + (f" · {patient}" if patient else "")
             + f" · {recording.fs:g} Hz, {recording.duration:.1f} s")
truth = ui_model.truth_for(recording, task, predictor.classes)
key = ui.record_key(recording)

def _reveal() -> None:
    """Grade the ticked classes once, when the learner reveals the truth (a button callback)."""
    answer = [c for c in predictor.classes if st.session_state.get(f"tick_{c}")]
    prediction = ui_model.predict(recording, model)
    grade = grade_answer(answer, truth.positive, predictor.classes)
    model_grade = grade_answer([c.code for c in prediction.positive], truth.positive, predictor.classes)
    st.session_state["teaching_score"] = st.session_state["teaching_score"].add(grade, model_grade)
    st.session_state["teaching_case"] = dict(case, revealed=True, answer=answer)


if not case["revealed"]:
    st.plotly_chart(ui.view_figure(key, ViewOptions(), (), _recording=recording), key="teaching_sheet", theme=None,
                    config=PLOT_CONFIG)
    st.markdown("**Which of these do you see?**")
    columns = st.columns(3)
    for i, code in enumerate(predictor.classes):
        columns[i % 3].checkbox(f"{code} · {names[code]}", key=f"tick_{code}")
    st.button("Reveal the truth", key="teaching_reveal", on_click=_reveal, icon=":material/visibility:",
              type="primary")
    st.stop()

# Revealed: the truth, the learner's answer and the model's output side by side, then the attention.
prediction = ui_model.predict(recording, model)
answer = set(case.get("answer", []))
grade = grade_answer(answer, truth.positive, predictor.classes)
model_grade = grade_answer([c.code for c in prediction.positive], truth.positive, predictor.classes)
if grade.exact:
    st.success(f"Exactly right: {', '.join(truth.positive) or 'none of the classes'}.", icon=":material/check:")
else:
    parts = [f"{label}: {', '.join(codes)}" for label, codes in (
        ("found", grade.hits), ("missed", grade.misses), ("not there", grade.false_alarms)) if codes]
    st.warning(f"Jaccard {grade.jaccard:.2f}. " + "; ".join(parts) + ".", icon=":material/school:")
st.caption(f"The model: Jaccard {model_grade.jaccard:.2f}" + (", exactly right." if model_grade.exact else ".")
           + (f" Truth note: {truth.note}" if truth.note else ""))
rows = diagnosis_rows(prediction, truth)
table = pd.DataFrame({
    "class": [f"{r.code} · {r.name}" for r in rows],
    "truth": ["present" if r.truth and r.truth.present else "absent" for r in rows],
    "evidence": [r.truth.evidence if r.truth else "" for r in rows],
    "you": ["ticked" if r.code in answer else "" for r in rows],
    "model": ["positive" if r.decision else ("negative" if r.decision is not None else "no threshold")
              for r in rows],
    "probability": [round(r.probability, 3) for r in rows],
    "threshold": [None if r.threshold is None else round(r.threshold, 3) for r in rows],
})


def _colour(row: pd.Series) -> list[str]:
    present = row["truth"] == "present"
    you = {(True, True): "TP", (False, True): "FP", (True, False): "FN", (False, False): "TN"}[
        (present, row["you"] == "ticked")]
    them = {(True, True): "TP", (False, True): "FP", (True, False): "FN", (False, False): "TN"}[
        (present, row["model"] == "positive")]
    return ["", "", "", f"background-color: {OUTCOME_COLOURS[you]}", f"background-color: {OUTCOME_COLOURS[them]}",
            "", ""]


st.dataframe(table.style.apply(_colour, axis=1), hide_index=True, key="teaching_table",
             column_config={c: st.column_config.NumberColumn(format="%.3f") for c in ("probability", "threshold")})
st.caption("Green: found; orange: called but not there; red: missed; grey: rightly left out.")
maps = ui_model.attention(recording, model)
if maps is not None:
    figure = ui_model.attention_figure(recording, model, maps, ViewOptions(), ("hr", "lr"), 0.6)
    st.plotly_chart(figure, key="teaching_attention", theme=None, config=PLOT_CONFIG)
    st.caption("Where the model looked: orange the high-resolution branch (upper half of each row), blue the "
               "low-resolution branch (lower half).")
st.button("Open this case on the other pages", key="teaching_open", icon=":material/open_in_new:",
          on_click=ui.choose, args=(case["dataset"], case["record"]),
          help="Makes it the chosen record: its diagnosis, attention and report pages.")
