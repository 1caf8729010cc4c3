"""Where the model looked, as plotly traces and figures: the two branches' temporal attention over the calibrated
sheet, a strip comparing the branches over time, and one class's attribution over leads x time.

MRM-Net's temporal attention is one value per time step, shared by the 12 leads, so on the sheet it is a band
across every row: the high-resolution (HR) branch tints the upper half of each row and the low-resolution (LR)
branch the lower half (a branch shown alone fills the row). Each branch is one heatmap trace over the whole sheet,
whatever the number of rows, so the overlay costs two SVG images, not a trace per lead.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from mrm.data.recording import LEADS
from mrm.infer.explain import AttentionMaps, Attribution
from mrm.viz.paper import PaperGeometry
from mrm.viz.probabilities import HR_COLOUR, LR_COLOUR

#: Time resolution of the overlays: the model's rate, where the attention maps are defined.
OVERLAY_FS = 100.0
#: The tint of an overlay grows with the scaled attention to this power: a map that is high most of the time would
#: otherwise tint nearly everything, and the stretches a branch singles out would not stand out.
OVERLAY_GAMMA = 2.0
BRANCH_COLOURS = {"hr": HR_COLOUR, "lr": LR_COLOUR}
BRANCH_NAMES = {"hr": "high-resolution (HR)", "lr": "low-resolution (LR)"}


def attention_on_grid(
    maps: AttentionMaps, start: float, duration: float, fs: float = OVERLAY_FS, scale: bool = True
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Both branches' attention at ``fs`` over ``[start, start + duration)``: ``(times, hr, lr)``.

    ``scale`` stretches each branch to [0, 1] over the whole record (its own minimum and maximum), so that a
    branch whose sigmoid outputs span 0.45-0.60 still shows where it attended most; a flat map stays 0.

    Examples
    --------
    >>> t = np.arange(1000) / 100
    >>> maps = AttentionMaps(t, np.where(t < 5, 0.4, 0.6), np.full(1000, 0.5), 100.0)
    >>> times, hr, lr = attention_on_grid(maps, 4.0, 2.0, fs=1.0)
    >>> times.tolist(), hr.tolist(), lr.tolist()
    ([4.0, 5.0], [0.0, 1.0], [0.0, 0.0])
    """
    n = max(1, int(round(duration * fs)))
    times = start + np.arange(n) / fs
    k = np.clip(np.round(times * maps.fs).astype(np.int64), 0, len(maps.times) - 1)
    out = []
    for values in (maps.hr, maps.lr):
        v = np.asarray(values, dtype=np.float32)
        if scale:
            lo, hi = float(v.min()), float(v.max())
            v = (v - lo) / (hi - lo) if hi - lo > 1e-6 else np.zeros_like(v)
        out.append(v[k].astype(np.float32))
    return times, out[0], out[1]


def _transparent_scale(colour: str) -> list[list]:
    r, g, b = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return [[0.0, f"rgba({r},{g},{b},0)"], [1.0, f"rgba({r},{g},{b},1)"]]


def attention_overlay(
    maps: AttentionMaps,
    geometry: PaperGeometry,
    *,
    branches: Sequence[str] = ("hr", "lr"),
    opacity: float = 0.45,
) -> list[go.Heatmap]:
    """Heatmap traces that tint every row of a sheet by the branches' attention (draw them under the tracing).

    Parameters
    ----------
    maps:
        The record's attention maps (:func:`mrm.infer.attention_maps`).
    geometry:
        The sheet's geometry (:func:`mrm.viz.paper_3x4` or :func:`mrm.viz.paper_rows`), the one the tracing uses.
    branches:
        ``"hr"``, ``"lr"`` or both; with both, HR tints the upper half of each row and LR the lower half.
    opacity:
        Opacity of the strongest attention (0-1); the tint grows with the scaled attention squared
        (:data:`OVERLAY_GAMMA`).

    Examples
    --------
    >>> from mrm.viz.paper import paper_3x4
    >>> t = np.arange(5000) / 500
    >>> maps = AttentionMaps(t, np.where(t < 5, 0.2, 0.9), 1 - t / 10, 500.0)
    >>> hr, lr = attention_overlay(maps, paper_3x4())
    >>> hr.name, len(hr.y), hr.z.shape, float(hr.dx), hr.y[:2]  # 4 rows (3 + rhythm), NaN gaps between them
    ('HR attention', 8, (7, 1000), 0.25, (20.0, 40.0))
    """
    unknown = [b for b in branches if b not in BRANCH_COLOURS]
    if unknown:
        raise ValueError(f"branches must be 'hr' and/or 'lr', got {unknown}")
    times, hr, lr = attention_on_grid(maps, geometry.start, geometry.duration)
    values = {"hr": hr, "lr": lr}
    baselines = sorted(geometry.baselines)
    half = geometry.pitch / 2
    traces = []
    for branch in branches:
        if len(branches) == 1:
            cell = (-half, half)
        else:
            cell = (0.0, half) if branch == "hr" else (-half, 0.0)
        edges, rows = [], []
        for i, b in enumerate(baselines):
            edges += [b + cell[0], b + cell[1]]
            rows.append(values[branch] ** OVERLAY_GAMMA)
            if i < len(baselines) - 1:
                rows.append(np.full_like(values[branch], np.nan))
        dx = geometry.speed / OVERLAY_FS
        traces.append(go.Heatmap(
            z=np.stack(rows), x0=dx / 2, dx=dx, y=edges, zmin=0.0, zmax=1.0, zsmooth=False,
            colorscale=_transparent_scale(BRANCH_COLOURS[branch]), opacity=float(opacity), showscale=False,
            hoverinfo="skip", name=f"{branch.upper()} attention",
        ))
    return traces


def with_overlay(figure: go.Figure, overlay: Sequence[go.BaseTraceType]) -> go.Figure:
    """A copy of a sheet figure with ``overlay`` traces drawn under its tracing.

    Examples
    --------
    >>> fig = with_overlay(go.Figure(go.Scatter(y=[0, 1], name="II")), [go.Heatmap(z=[[1]], name="HR attention")])
    >>> [t.name for t in fig.data]
    ['HR attention', 'II']
    """
    return go.Figure(data=[*overlay, *figure.data], layout=figure.layout)


def agreement_figure(maps: AttentionMaps, *, start: float = 0.0, duration: float | None = None,
                     height: int = 300) -> go.Figure:
    """Both branches' attention over time (top) and their difference HR - LR (bottom), on a shared time axis.

    Each branch is scaled to its own range on the record (see :func:`attention_on_grid`). Where the difference is
    positive the HR branch attended more (orange); negative, the LR branch (blue).

    Examples
    --------
    >>> t = np.arange(1000) / 100
    >>> maps = AttentionMaps(t, np.where(t < 5, 0.0, 1.0), np.full(1000, 0.5) + t / 100, 100.0)
    >>> fig = agreement_figure(maps)
    >>> [t.name for t in fig.data], round(float(max(fig.data[2].y)), 2), round(float(min(fig.data[3].y)), 2)
    (['HR attention', 'LR attention', 'HR more', 'LR more'], 0.5, -0.5)
    """
    end = float(maps.times[-1]) + 1.0 / maps.fs
    duration = end - start if duration is None else duration
    times, hr, lr = attention_on_grid(maps, start, duration)
    diff = hr - lr
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.08, row_heights=[0.6, 0.4])
    fig.add_trace(go.Scatter(x=times, y=hr, name="HR attention", line=dict(color=HR_COLOUR, width=1.5),
                             hovertemplate="HR %{y:.2f} at %{x:.2f} s<extra></extra>"), row=1, col=1)
    fig.add_trace(go.Scatter(x=times, y=lr, name="LR attention", line=dict(color=LR_COLOUR, width=1.5),
                             hovertemplate="LR %{y:.2f} at %{x:.2f} s<extra></extra>"), row=1, col=1)
    for name, part, colour in (("HR more", np.clip(diff, 0, None), HR_COLOUR),
                               ("LR more", np.clip(diff, None, 0), LR_COLOUR)):
        fig.add_trace(go.Scatter(x=times, y=part, name=name, fill="tozeroy", mode="lines",
                                 line=dict(color=colour, width=0.5), fillcolor=colour, opacity=0.6,
                                 hovertemplate=f"{name}: %{{y:.2f}} at %{{x:.2f}} s<extra></extra>"), row=2, col=1)
    fig.update_layout(
        template="plotly_white", height=height, margin=dict(l=10, r=10, t=30, b=30), hovermode="x",
        legend=dict(orientation="h", x=0, y=1.02, xanchor="left", yanchor="bottom"),
    )
    fig.update_yaxes(title_text="attention", range=[-0.02, 1.02], row=1, col=1, fixedrange=True)
    fig.update_yaxes(title_text="HR - LR", range=[-1.02, 1.02], row=2, col=1, fixedrange=True)
    fig.update_xaxes(title_text="time (s)", row=2, col=1)
    return fig


def attribution_figure(attribution: Attribution, *, height: int = 420) -> go.Figure:
    """One class's attribution as a leads x time heatmap (red speaks for the class, blue against), with each
    lead's total positive attribution beside it.

    Grad-CAM maps have no lead resolution: they are drawn as one row, "all leads".

    Examples
    --------
    >>> values = np.zeros((12, 300), np.float32); values[6, 100:120] = 1.0  # V1 around 1.1 s
    >>> a = Attribution("MI", "myocardial infarction", "integrated_gradients", values, 100.0, 0.8, True)
    >>> fig = attribution_figure(a)
    >>> fig.data[0].z.shape, list(fig.data[1].y)[6], float(fig.data[1].x[6])
    ((12, 300), 'V1', 20.0)
    """
    values = np.asarray(attribution.values, dtype=np.float32)
    rows = list(LEADS) if attribution.lead_resolved else ["all leads"]
    if not attribution.lead_resolved:
        values = values[:1]
    limit = float(np.quantile(np.abs(values), 0.995)) or 1.0
    fig = make_subplots(rows=1, cols=2, shared_yaxes=True, column_widths=[0.85, 0.15], horizontal_spacing=0.02)
    fig.add_trace(go.Heatmap(
        z=values, x0=0.0, dx=1.0 / attribution.fs, y=rows, zmid=0.0, zmin=-limit, zmax=limit,
        colorscale="RdBu_r", colorbar=dict(title="attribution", thickness=12, x=1.02), name="attribution",
        hovertemplate="%{y} at %{x:.2f} s: %{z:.3g}<extra></extra>",
    ), row=1, col=1)
    totals = np.clip(values, 0, None).sum(axis=1)
    fig.add_trace(go.Bar(x=totals, y=rows, orientation="h", marker_color="#c0392b", name="lead total",
                         hovertemplate="%{y}: %{x:.3g}<extra></extra>", showlegend=False), row=1, col=2)
    method = {"integrated_gradients": "integrated gradients",
              "integrated_gradients_time": "integrated gradients summed over leads",
              "grad_cam_hr": "Grad-CAM, HR branch", "grad_cam_lr": "Grad-CAM, LR branch",
              }.get(attribution.method, attribution.method)
    fig.update_layout(
        template="plotly_white", height=height, margin=dict(l=10, r=10, t=40, b=30),
        title=dict(text=f"{attribution.code} ({attribution.name}), p = {attribution.probability:.2f}: {method}",
                   x=0.01, font=dict(size=14)),
    )
    fig.update_yaxes(autorange="reversed", type="category", row=1, col=1)
    fig.update_xaxes(title_text="time (s)", row=1, col=1)
    fig.update_xaxes(title_text="sum > 0", row=1, col=2, showticklabels=False)
    return fig
