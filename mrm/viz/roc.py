"""Model card charts: fold-10 ROC curves from a weights card, and the threshold explorer's view of the fold-9
predictions (how positives and negatives spread over the probability, and sensitivity, specificity and PPV as the
threshold moves)."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.colors import qualitative
from plotly.subplots import make_subplots

from mrm.viz.probabilities import THRESHOLD_COLOUR

_CURVE_COLOURS = {"sensitivity": "#c0392b", "specificity": "#2e86c1", "PPV": "#27ae60"}


def roc_figure(
    curves: Mapping[str, tuple[np.ndarray, np.ndarray]],
    labels: Mapping[str, str] | None = None,
    *,
    height: int = 520,
) -> go.Figure:
    """ROC curves of several classes on one chart, with the chance diagonal.

    Parameters
    ----------
    curves:
        Class code -> ``(fpr, tpr)``, e.g. the ``roc`` points of a card's test report.
    labels:
        Class code -> legend text (e.g. ``"MI 0.91"``); the code by default.

    Examples
    --------
    >>> fig = roc_figure({"MI": (np.array([0, 0.2, 1]), np.array([0, 0.8, 1]))}, {"MI": "MI (AUC 0.80)"})
    >>> [t.name for t in fig.data], fig.data[1].x.tolist()
    (['chance', 'MI (AUC 0.80)'], [0.0, 0.2, 1.0])
    """
    labels = labels or {}
    palette = qualitative.Dark24
    traces = [go.Scatter(x=[0, 1], y=[0, 1], mode="lines", name="chance", hoverinfo="skip",
                         line=dict(color="#999999", dash="dot", width=1))]
    for i, (code, (fpr, tpr)) in enumerate(curves.items()):
        traces.append(go.Scatter(
            x=np.asarray(fpr, float), y=np.asarray(tpr, float), mode="lines", name=labels.get(code, code),
            line=dict(color=palette[i % len(palette)], width=1.6),
            hovertemplate=f"{code}: 1 - specificity %{{x:.2f}}, sensitivity %{{y:.2f}}<extra></extra>",
        ))
    layout = go.Layout(
        template="plotly_white", height=height, margin=dict(l=10, r=10, t=20, b=10), hovermode="closest",
        xaxis=dict(title="1 - specificity (false positive rate)", range=[0, 1], constrain="domain"),
        yaxis=dict(title="sensitivity", range=[0, 1.01], scaleanchor="x", scaleratio=1, constrain="domain"),
        legend=dict(font=dict(size=11), orientation="h", x=0, y=-0.18, xanchor="left", yanchor="top"),
    )
    return go.Figure(data=traces, layout=layout)


def threshold_figure(
    y: np.ndarray,
    p: np.ndarray,
    threshold: float,
    *,
    curves: pd.DataFrame | None = None,
    card_threshold: float | None = None,
    height: int = 440,
) -> go.Figure:
    """One class on the validation fold: the probabilities of its positive and negative records (top) and, when
    ``curves`` is given, sensitivity, specificity and PPV over thresholds (bottom); the chosen threshold is a solid
    line, the card's a dashed one.

    Parameters
    ----------
    y, p:
        Labels (bool) and fused probabilities of the class on fold 9.
    threshold:
        The threshold the user chose.
    curves:
        Columns ``threshold``, ``sensitivity``, ``specificity``, ``PPV`` (:func:`mrm.app.modelcard.operating_curves`).
    card_threshold:
        The card's threshold (tuned on fold 9), for reference.

    Examples
    --------
    >>> fig = threshold_figure(np.array([1, 0, 0]), np.array([0.9, 0.2, 0.4]), 0.5, card_threshold=0.6)
    >>> [t.name for t in fig.data], [round(s.x0, 2) for s in fig.layout.shapes]
    (['positive records (1)', 'negative records (2)'], [0.5, 0.6])
    """
    y = np.asarray(y, bool)
    p = np.asarray(p, float)
    rows = 2 if curves is not None else 1
    fig = make_subplots(rows=rows, cols=1, shared_xaxes=True, vertical_spacing=0.1,
                        row_heights=[0.5, 0.5] if rows == 2 else [1.0])
    bins = dict(start=0.0, end=1.0, size=0.02)
    for name, mask, colour in (("positive", y, "#c0392b"), ("negative", ~y, "#7f8c8d")):
        fig.add_trace(go.Histogram(
            x=p[mask], xbins=bins, name=f"{name} records ({int(mask.sum())})", marker_color=colour, opacity=0.6,
            hovertemplate=f"{name}: %{{y}} records at %{{x}}<extra></extra>",
        ), row=1, col=1)
    if curves is not None:
        for column, colour in _CURVE_COLOURS.items():
            fig.add_trace(go.Scatter(
                x=curves["threshold"], y=curves[column], mode="lines", name=column, line=dict(color=colour, width=2),
                hovertemplate=f"{column} %{{y:.2f}} at threshold %{{x:.2f}}<extra></extra>",
            ), row=2, col=1)
        fig.update_yaxes(title_text="rate", range=[0, 1.02], row=2, col=1)
    for value, dash in ((threshold, "solid"), (card_threshold, "dash")):
        if value is not None and np.isfinite(value):
            for row in range(1, rows + 1):
                fig.add_vline(x=float(value), line=dict(color=THRESHOLD_COLOUR, dash=dash, width=2), row=row, col=1)
    fig.update_layout(
        template="plotly_white", height=height, barmode="overlay", margin=dict(l=10, r=10, t=30, b=40),
        legend=dict(orientation="h", x=0, y=1.02, xanchor="left", yanchor="bottom"), hovermode="closest",
    )
    fig.update_yaxes(title_text="records", row=1, col=1)
    fig.update_xaxes(range=[0, 1], row=rows, col=1, title_text="fused probability (fold 9)")
    return fig
