"""Model card page: per task, the shipped weights' fold-10 macro AUC with its interval, per-class AUC and ROC
curves, a threshold explorer on the fold-9 predictions shipped with the weights, and the benchmark table."""

from __future__ import annotations

import math

import pandas as pd
import streamlit as st

from mrm.app import ui, ui_model
from mrm.app.diagnosis import TASK_TITLES, tasks_with_weights, weights_dir
from mrm.app.modelcard import (
    COMPARABILITY_NOTE,
    ModelCard,
    benchmark_table,
    load_fold9,
    operating_curves,
    operating_point,
    read_model_card,
)
from mrm.viz.roc import roc_figure, threshold_figure


@st.cache_data(max_entries=16, show_spinner=False)
def _card(path: str, mtime_ns: int) -> ModelCard:
    return read_model_card(path)


@st.cache_data(max_entries=16, show_spinner=False)
def _fold9(path: str, mtime_ns: int, classes: tuple[str, ...]):
    return load_fold9(path, classes)


ui.require_entry()
st.title("Model card")
folder = weights_dir()
shipped = tasks_with_weights(folder)
cards = {t: _card(str(folder / f"mrm_{t}.pt"), (folder / f"mrm_{t}.json").stat().st_mtime_ns) for t in shipped}
c1, _ = st.columns([2, 3])
task = ui_model.task_selector(c1)
model = ui_model.load_model(task)


def _fmt(value, digits: int = 3) -> str:
    return "-" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.{digits}f}"


if model is not None:
    card = cards.get(task) or _card(str(model.path), model.path.stat().st_mtime_ns)
    st.subheader(f"{card.name}: {TASK_TITLES.get(task, task)}")
    c1, c2, c3, c4 = st.columns(4)
    c1.metric("Fold-10 macro AUC", _fmt(card.macro_auc),
              help=f"{card.auc_text}; 95% interval by bootstrap over the test records")
    c2.metric("95% interval", f"{_fmt(card.macro_auc_low)}-{_fmt(card.macro_auc_high)}")
    c3.metric("HR head alone", _fmt(card.macro_auc_hr))
    c4.metric("LR head alone", _fmt(card.macro_auc_lr))
    parameters = f"{card.n_parameters:,}" if card.n_parameters else "?"
    st.caption(f"Network {card.model} ({parameters} parameters) trained on {card.dataset}: "
               f"{card.n_train} training, {card.n_val} validation (fold 9), {card.n_test} test records (fold 10). "
               f"{card.records}. Made {card.created} by mrm {card.code_version}."
               + (f" Training: {card.recipe}." if card.recipe else "")
               + (f" Recipe {card.choice}." if card.choice else ""))

    st.markdown("**Per class, fold 10** (metrics at the card's threshold)")
    st.dataframe(card.per_class, hide_index=True, key="per_class", height=min(36 * (len(card.per_class) + 1) + 3, 560),
                 column_config={c: st.column_config.NumberColumn(format="%.3f") for c in (
                     "AUC", "AUC low", "AUC high", "threshold", "F1", "sensitivity", "specificity", "PPV")})
    ranked = card.per_class.dropna(subset=["AUC"]).sort_values("AUC", ascending=False)
    codes = [c for c in ranked["code"] if c in card.roc]
    left, _ = st.columns([3, 2])
    chosen = left.multiselect("ROC curves of", codes, default=codes[: min(5, len(codes))], key="roc_classes")
    aucs = dict(zip(ranked["code"], ranked["AUC"], strict=True))
    left.plotly_chart(roc_figure({c: card.roc[c] for c in chosen}, {c: f"{c} (AUC {aucs[c]:.2f})" for c in chosen}),
                      key="roc", theme=None, config={"displaylogo": False})

    st.header("Threshold explorer", divider="gray")
    fold9 = _fold9(str(model.path), model.path.stat().st_mtime_ns, tuple(model.predictor.classes))

    @st.fragment
    def explorer() -> None:
        """Moving the threshold reruns only this part."""
        names = dict(zip(model.predictor.classes, model.predictor.class_names, strict=True))
        usable = [c for c in fold9.classes if fold9.column(c)[0].any()]
        c1, c2 = st.columns([2, 3])
        code = c1.selectbox("Class", usable, format_func=lambda c: f"{c} · {names[c]}", key="explorer_class")
        card_threshold = model.predictor.thresholds[model.predictor.classes.index(code)]
        start = 0.5 if math.isnan(card_threshold) else float(card_threshold)
        threshold = c2.slider("Threshold", 0.0, 1.0, value=round(start, 2), step=0.01, key=f"threshold_{code}",
                              help="Records with a probability at or above it are called positive.")
        y, p = fold9.column(code)
        point = operating_point(y, p, threshold)
        m1, m2, m3, m4 = st.columns(4)
        m1.metric("Sensitivity", _fmt(point.sensitivity, 2), help=f"{point.tp} of {point.tp + point.fn} positives")
        m2.metric("Specificity", _fmt(point.specificity, 2), help=f"{point.tn} of {point.tn + point.fp} negatives")
        m3.metric("PPV", _fmt(point.ppv, 2), help=f"{point.tp} of {point.tp + point.fp} called positive")
        m4.metric("Called positive", f"{point.tp + point.fp} of {len(y)}")
        st.plotly_chart(threshold_figure(y, p, threshold, curves=operating_curves(y, p),
                                         card_threshold=None if math.isnan(card_threshold) else card_threshold),
                        key="threshold_figure", theme=None, config={"displaylogo": False})
        st.caption(f"Fold 9 ({len(y)} validation records, {int(y.sum())} with {code}): the fold the card's threshold "
                   f"({_fmt(card_threshold)}, dashed) was tuned on, so these rates are optimistic there; fold 10 "
                   "figures are in the table above.")

    if fold9 is None:
        st.info(f"No fold-9 predictions ({model.path.stem}.fold9.npz) beside the weights: the explorer needs them.")
    else:
        explorer()

st.header("Benchmark", divider="gray")
st.markdown("Macro ROC-AUC on the test fold (fold 10). Published rows: the PTB-XL benchmark and the 2025 "
            "foundation-model benchmark (complete datasets); our row: the shipped cards.")
table = benchmark_table(cards)
st.dataframe(table.map(lambda v: None if v is None or pd.isna(v) else round(float(v), 3)), key="benchmark",
             column_config={t: st.column_config.NumberColumn(t, format="%.3f", help=TASK_TITLES.get(t, t))
                            for t in table.columns})
st.warning(COMPARABILITY_NOTE, icon=":material/compare_arrows:")
missing = [t for t in TASK_TITLES if t not in shipped]
if missing:
    st.caption(f"No shipped weights in `{folder}` for: {', '.join(missing)}; train them with "
               "`python -m mrm train --task TASK`.")
