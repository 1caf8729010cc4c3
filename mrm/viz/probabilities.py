"""The probabilities of a prediction as one plotly chart: fused, high- and low-resolution per class, with the
card's threshold, and the classes where the two branches disagree marked."""

from __future__ import annotations

import plotly.graph_objects as go

from mrm.infer.predictor import Prediction

#: Colours of the two branches, shared by every chart of the dashboard (attention bands included).
HR_COLOUR = "#e67e22"
LR_COLOUR = "#2e86c1"
FUSED_COLOUR = "#333333"
THRESHOLD_COLOUR = "#c0392b"


def probability_figure(prediction: Prediction, *, top: int | None = 15, height: int | None = None) -> go.Figure:
    """Horizontal bars of every class's fused probability with the two branches' beside it, most probable on top.

    Parameters
    ----------
    prediction:
        What the Predictor said about a record.
    top:
        Show only the ``top`` most probable classes (None: all); a 71-class task otherwise makes a very tall chart.
    height:
        Figure height in pixels (default: 26 px per class).

    Returns
    -------
    go.Figure
        Traces ``fused``, ``HR``, ``LR`` (bars) and ``threshold`` (markers); a class whose ``|p_hr - p_lr|`` is
        above the prediction's disagreement flag gets a "!" after its code on the axis.

    Examples
    --------
    >>> from mrm.evaluate.policy import InputPolicy
    >>> from mrm.infer.predictor import ClassPrediction
    >>> pred = Prediction("r", None, "m", "t", [ClassPrediction("MI", "myocardial infarction", 0.5, 0.4, True,
    ...     0.8, 0.2), ClassPrediction("NORM", "normal ECG", 0.1, 0.6, False, 0.1, 0.1)], 0.6, "MI", True, 100.0,
    ...     10.0, InputPolicy(), [])
    >>> fig = probability_figure(pred)
    >>> [t.name for t in fig.data], list(fig.data[0].y), list(fig.data[0].x)
    (['fused', 'HR', 'LR', 'threshold'], ['NORM', 'MI !'], [0.1, 0.5])
    """
    classes = sorted(prediction.classes, key=lambda c: (-c.probability, c.code))
    if top is not None:
        classes = classes[:top]
    classes = classes[::-1]  # plotly draws the first category at the bottom

    def label(c) -> str:
        return f"{c.code} !" if c.gap is not None and c.gap > prediction.disagreement_flag else c.code

    y = [label(c) for c in classes]
    names = [c.name for c in classes]
    traces = [go.Bar(
        x=[c.probability for c in classes], y=y, orientation="h", name="fused", marker_color=FUSED_COLOUR,
        customdata=names, hovertemplate="%{customdata}: fused %{x:.3f}<extra></extra>",
    )]
    for name, attr, colour in (("HR", "probability_hr", HR_COLOUR), ("LR", "probability_lr", LR_COLOUR)):
        values = [getattr(c, attr) for c in classes]
        if all(v is None for v in values):
            continue
        traces.append(go.Bar(
            x=values, y=y, orientation="h", name=name, marker_color=colour, opacity=0.8, customdata=names,
            hovertemplate=f"%{{customdata}}: {name} %{{x:.3f}}<extra></extra>",
        ))
    with_threshold = [c for c in classes if c.threshold is not None]
    traces.append(go.Scatter(
        x=[c.threshold for c in with_threshold], y=[label(c) for c in with_threshold], mode="markers",
        name="threshold", marker=dict(symbol="line-ns", size=18, line=dict(width=3, color=THRESHOLD_COLOUR)),
        hovertemplate="threshold %{x:.3f}<extra></extra>",
    ))
    layout = go.Layout(
        barmode="group", bargap=0.25, bargroupgap=0.05, template="plotly_white",
        height=height or max(220, 26 * len(classes) * (3 if len(traces) > 2 else 1) // 2 + 90),
        margin=dict(l=10, r=10, t=30, b=40), hovermode="closest",
        xaxis=dict(range=[0, 1], title="probability", tickformat=".1f", fixedrange=True),
        yaxis=dict(automargin=True, fixedrange=True, type="category"),
        legend=dict(orientation="h", x=0, y=1.02, xanchor="left", yanchor="bottom"),
    )
    return go.Figure(data=traces, layout=layout)
