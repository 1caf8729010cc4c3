"""The calibrated 12-lead view as one plotly figure (no Streamlit here; pages/ call these builders).

One figure holds the whole sheet, drawn with SVG ``go.Scatter`` (never Scattergl, whose WebGL contexts a
page runs out of): one trace per lead panel, the ECG paper as axis gridlines (major 5 mm, minor 1 mm), the
calibration pulses as one trace, every overlay group as one trace. Samples travel as float32 typed arrays
with ``x0``/``dx`` instead of an x array, so a 10-s 500 Hz 12x1 sheet is well under 2 MB of JSON.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from mrm.data.preprocess import MODEL_FS, resample
from mrm.data.recording import Recording
from mrm.viz.calipers import Calipers, caliper_path, span_paths
from mrm.viz.paper import (
    GRID_MAJOR,
    GRID_MINOR,
    MODEL_TRACE_COLOUR,
    PAPER_BACKGROUND,
    PAPER_MARK_COLOUR,
    TRACE_COLOUR,
    Band,
    Marker,
    Panel,
    PaperGeometry,
    band_groups,
    band_path,
    calibration_path,
    canonical_leads,
    marker_points,
    panel_trace,
    paper_3x4,
    paper_rows,
    separator_path,
)

#: Screen pixels per paper millimetre used for the default figure height.
PX_PER_MM = 4.0
_MARGIN = 10
# Room above the sheet for the modebar (and the title), and under it for the legend of overlays.
_TOP_MARGIN = 30
_TITLE_MARGIN = 50
_LEGEND_MARGIN = 30


def paper_axes(geometry: PaperGeometry) -> tuple[dict, dict]:
    """Plotly x and y axis settings that turn the plot area into ECG paper.

    Gridlines every 1 mm (minor) and 5 mm (major) from 0, no tick labels, and the y axis anchored to
    the x axis with ratio 1 so one millimetre is as long across as up (true aspect).

    Examples
    --------
    >>> xaxis, yaxis = paper_axes(paper_3x4())
    >>> xaxis["dtick"], xaxis["minor"]["dtick"], yaxis["scaleanchor"], yaxis["scaleratio"]
    (5, 1, 'x', 1)
    """
    common = dict(
        showgrid=True, gridcolor=GRID_MAJOR, gridwidth=1, tick0=0, dtick=5,
        minor=dict(showgrid=True, gridcolor=GRID_MINOR, gridwidth=0.5, tick0=0, dtick=1),
        showticklabels=False, ticks="", zeroline=False, showline=False, constrain="domain",
    )
    xaxis = dict(common, range=list(geometry.x_range))
    yaxis = dict(common, range=list(geometry.y_range), scaleanchor="x", scaleratio=1)
    return xaxis, yaxis


def paper_layout(
    geometry: PaperGeometry,
    *,
    caption: str,
    title: str | None,
    height: int | None,
    uirevision: str,
    legend: bool = False,
) -> go.Layout:
    """Layout of a sheet: paper axes, caption line, lead labels, stable ``uirevision``, ``hovermode="x"``.

    ``legend`` reserves room under the sheet for the legend of overlays (markers, bands).

    Examples
    --------
    >>> lay = paper_layout(paper_3x4(), caption="25 mm/s, 10 mm/mV, 500 Hz", title=None, height=None,
    ...                    uirevision="demo")
    >>> lay.uirevision, lay.hovermode, lay.height, len(lay.annotations)
    ('demo', 'x', 712, 14)
    """
    xaxis, yaxis = paper_axes(geometry)
    top = _TITLE_MARGIN if title else _TOP_MARGIN
    bottom = _MARGIN + (_LEGEND_MARGIN if legend else 0)
    if height is None:
        height = int(round(geometry.size_mm[1] * PX_PER_MM)) + top + bottom
    font = dict(size=11, color=PAPER_MARK_COLOUR)
    annotations = [
        dict(x=p.x0 + 1.0, y=p.baseline + 0.3 * geometry.pitch, text=p.label, showarrow=False,
             xanchor="left", yanchor="bottom", font=font)
        for p in geometry.panels if p.label
    ]
    annotations.append(
        dict(x=geometry.x_range[0] + 1.0, y=geometry.y_range[0] + 1.0, text=caption, showarrow=False,
             xanchor="left", yanchor="bottom", font=font)
    )
    return go.Layout(
        template="none", xaxis=xaxis, yaxis=yaxis, annotations=annotations,
        title=dict(text=title, x=0.01) if title else None,
        height=height, margin=dict(l=_MARGIN, r=_MARGIN, t=top, b=bottom),
        paper_bgcolor="white", plot_bgcolor=PAPER_BACKGROUND,
        hovermode="x", dragmode="zoom", uirevision=uirevision,
        showlegend=legend, legend=dict(orientation="h", x=0.0, xanchor="left", y=0.0, yanchor="top"),
    )


def ecg_figure(
    recording: Recording,
    *,
    layout: str = "3x4",
    gain: float = 10,
    speed: float = 25,
    leads: Sequence[str] | None = None,
    start: float = 0.0,
    duration: float = 10.0,
    rhythm_lead: str = "II",
    markers: Sequence[Marker] | None = None,
    bands: Sequence[Band] | None = None,
    calipers: Calipers | None = None,
    title: str | None = None,
    height: int | None = None,
    uirevision: str | None = None,
) -> go.Figure:
    """The calibrated 12-lead tracing of a recording, at its own sampling rate, as one plotly figure.

    Parameters
    ----------
    recording:
        The record to draw (all of its samples in the window are drawn, e.g. 500 Hz for PTB-XL).
    layout:
        ``"3x4"``: rows I/aVR/V1/V4, II/aVL/V2/V5, III/aVF/V3/V6, each column a quarter of the window
        (2.5 s), and a full-window rhythm strip of ``rhythm_lead`` under them. ``"12x1"``: one full-window
        row per lead of ``leads``.
    gain, speed:
        mm/mV (5, 10, 20) and mm/s (25, 50). The figure is in paper millimetres: x = t * speed, y = mV * gain.
    leads:
        Leads to draw, in order (12x1 only); None draws all 12.
    start, duration:
        Window shown, in seconds from the start of the record (a page pans long records by moving start).
    markers:
        Points to mark on every panel of a lead (e.g. R peaks on lead II and its rhythm strip).
    bands:
        Time intervals shaded over the sheet's height; one trace per (name, colour, opacity) group.
    calipers:
        Fiducial lines across every panel and labelled interval brackets (:class:`mrm.viz.calipers.Calipers`).
    title, height:
        Figure title and height in pixels (default: 4 px per paper mm).
    uirevision:
        Key that keeps zoom and pan across reruns; default ``"dataset/record_id/layout"``.

    Returns
    -------
    go.Figure
        Lead traces carry ``meta = {"lead", "role" ("lead"/"rhythm"), "source", "fs"}``.

    Examples
    --------
    >>> rec = Recording(np.zeros((12, 5000), np.float32), fs=500.0, record_id="demo")
    >>> fig = ecg_figure(rec)
    >>> lead_traces = [t for t in fig.data if t.meta]
    >>> len(lead_traces), [t.name for t in lead_traces if t.meta["role"] == "rhythm"], lead_traces[0].dx
    (13, ['II rhythm'], 0.05)
    """
    if layout == "3x4":
        if leads is not None:
            raise ValueError("lead selection applies to the 12x1 layout; the 3x4 sheet always shows all 12 leads")
        geometry = paper_3x4(gain=gain, speed=speed, start=start, duration=duration, rhythm_lead=rhythm_lead)
    elif layout == "12x1":
        rows = [[(lead, 0)] for lead in canonical_leads(leads)]
        geometry = paper_rows(rows, gain=gain, speed=speed, start=start, duration=duration)
    else:
        raise ValueError(f"layout must be '3x4' or '12x1', got {layout!r}")
    _check_window(recording, start)
    caption = f"{speed:g} mm/s, {gain:g} mm/mV, {recording.fs:g} Hz"
    return _sheet_figure(
        geometry, [recording], caption=caption, markers=markers, bands=bands, calipers=calipers, title=title,
        height=height,
        uirevision=uirevision or f"{recording.dataset}/{recording.record_id}/{layout}",
    )


def ecg_compare_figure(
    recording_native: Recording,
    recording_model: Recording | None = None,
    *,
    mode: str = "overlay",
    gain: float = 10,
    speed: float = 25,
    leads: Sequence[str] | None = None,
    start: float = 0.0,
    duration: float = 10.0,
    markers: Sequence[Marker] | None = None,
    bands: Sequence[Band] | None = None,
    calipers: Calipers | None = None,
    title: str | None = None,
    height: int | None = None,
    uirevision: str | None = None,
) -> go.Figure:
    """The record at its own rate next to the 100 Hz signal the model sees, on one 12x1 sheet.

    Parameters
    ----------
    recording_native:
        The record as read (e.g. 500 Hz).
    recording_model:
        The model's input; None resamples ``recording_native`` to 100 Hz exactly as inference does.
    mode:
        ``"overlay"``: both traces on each lead's row (black native, blue model rate), sharing the row's
        display offset so that they coincide where the signals agree. ``"stacked"``: each lead gets two rows,
        native then model rate; x is time in both, so a horizontal zoom shows the same stretch in each.
    gain, speed, leads, start, duration, markers, bands, calipers, title, height, uirevision:
        As for :func:`ecg_figure` (markers go on the native traces).

    Examples
    --------
    >>> rec = Recording(np.zeros((12, 5000), np.float32), fs=500.0, record_id="demo")
    >>> fig = ecg_compare_figure(rec, leads=["II"])
    >>> [(t.name, t.dx) for t in fig.data if t.meta]
    [('II', 0.05), ('II 100 Hz', 0.25)]
    """
    if recording_model is None:
        recording_model = resample(recording_native, MODEL_FS)
    selected = canonical_leads(leads)
    native_hz, model_hz = f"{recording_native.fs:g} Hz", f"{recording_model.fs:g} Hz"
    if mode == "overlay":
        rows = [[(lead, 0), (lead, 1)] for lead in selected]
        geometry = paper_rows(rows, gain=gain, speed=speed, start=start, duration=duration)
        caption = f"{speed:g} mm/s, {gain:g} mm/mV; black: record at {native_hz}, blue: model input at {model_hz}"
    elif mode == "stacked":
        rows = [[(lead, source)] for lead in selected for source in (0, 1)]
        labels = [f"{lead} {hz}" for lead in selected for hz in (native_hz, model_hz)]
        geometry = paper_rows(rows, gain=gain, speed=speed, start=start, duration=duration, labels=labels)
        caption = f"{speed:g} mm/s, {gain:g} mm/mV; each lead at {native_hz} (record), then {model_hz} (model input)"
    else:
        raise ValueError(f"mode must be 'overlay' or 'stacked', got {mode!r}")
    _check_window(recording_native, start)
    return _sheet_figure(
        geometry, [recording_native, recording_model], caption=caption, markers=markers, bands=bands,
        calipers=calipers, title=title, height=height,
        uirevision=uirevision or f"{recording_native.dataset}/{recording_native.record_id}/compare-{mode}",
    )


def _check_window(recording: Recording, start: float) -> None:
    if not 0 <= start < recording.duration:
        raise ValueError(
            f"start {start:g} s is outside {recording.record_id} ({recording.duration:g} s long); "
            f"choose a start from 0 to {recording.duration:g} s"
        )


def _sheet_figure(
    geometry: PaperGeometry,
    recordings: list[Recording],
    *,
    caption: str,
    markers: Sequence[Marker] | None,
    bands: Sequence[Band] | None,
    calipers: Calipers | None,
    title: str | None,
    height: int | None,
    uirevision: str,
) -> go.Figure:
    traces: list[go.Scatter] = []
    # Bands first so that the tracing is drawn over them.
    for (name, colour, opacity), group in band_groups(bands or []).items():
        x, y = band_path(group, geometry)
        traces.append(go.Scatter(
            x=x, y=y, mode="lines", fill="toself", fillcolor=colour, opacity=opacity, line=dict(width=0),
            name=name, hoverinfo="skip",
        ))
    x, y = calibration_path(geometry)
    traces.append(go.Scatter(
        x=x, y=y, mode="lines", line=dict(color=TRACE_COLOUR, width=1.2), name="1 mV calibration",
        hoverinfo="skip", showlegend=False,
    ))
    x, y = separator_path(geometry)
    if x:
        traces.append(go.Scatter(
            x=x, y=y, mode="lines", line=dict(color=PAPER_MARK_COLOUR, width=1), name="lead change",
            hoverinfo="skip", showlegend=False,
        ))
    offsets: dict[Panel, float] = {}
    row_offsets: dict[tuple[int, str], float] = {}
    for panel in geometry.panels:
        rec = recordings[panel.source]
        x0, dx, y, mv, offset = panel_trace(
            rec.signal, rec.fs, panel, geometry, offset=row_offsets.get((panel.row, panel.lead))
        )
        row_offsets.setdefault((panel.row, panel.lead), offset)
        offsets[panel] = offset
        t = (panel.t0 + (x0 - panel.x0) / geometry.speed + np.arange(len(y)) / rec.fs).astype(np.float32)
        name = {"rhythm": f"{panel.lead} rhythm"}.get(panel.role, panel.lead)
        if panel.source:
            name = f"{panel.lead} {rec.fs:g} Hz"
        colour = MODEL_TRACE_COLOUR if panel.source else TRACE_COLOUR
        traces.append(go.Scatter(
            x0=x0, dx=dx, y=y, mode="lines", line=dict(color=colour, width=1.1 if panel.source else 1.2),
            name=name, showlegend=False, customdata=np.stack([t, mv], axis=1),
            hovertemplate=f"{name}: %{{customdata[1]:.3f}} mV at %{{customdata[0]:.3f}} s<extra></extra>",
            meta=dict(lead=panel.lead, role=panel.role, source=panel.source, fs=rec.fs),
        ))
    for marker in markers or []:
        native = recordings[0]
        mx, my, mt = marker_points(marker, native.signal, native.fs, geometry, offsets)
        traces.append(go.Scatter(
            x=mx, y=my, mode="markers", name=marker.label,
            marker=dict(symbol=marker.symbol, size=8, color=marker.colour), customdata=mt,
            hovertemplate=f"{marker.label} ({marker.lead}) at %{{customdata:.3f}} s<extra></extra>",
        ))
    if calipers:
        traces += _caliper_traces(calipers, recordings[0], geometry, offsets)
    lay = paper_layout(
        geometry, caption=caption, title=title, height=height, uirevision=uirevision,
        legend=bool(markers or bands or calipers),
    )
    return go.Figure(data=traces, layout=lay)


def _caliper_traces(
    calipers: Calipers, native: Recording, geometry: PaperGeometry, offsets: dict[Panel, float]
) -> list[go.Scatter]:
    """One line trace per caliper, one for the interval brackets and one for their labels.

    No ``meta`` (that marks lead traces) and no hover (the table under the sheet has the values).
    """
    traces = []
    for caliper in calipers.lines:
        x, y = caliper_path(caliper, geometry)
        traces.append(go.Scatter(
            x=x, y=y, mode="lines", name=caliper.label, line=dict(color=caliper.colour, width=1.2, dash=caliper.dash),
            hoverinfo="skip",
        ))
    if calipers.spans:
        x, y, labels = span_paths(calipers.spans, native.signal, native.fs, geometry, offsets)
        colour = calipers.spans[0].colour
        traces.append(go.Scatter(
            x=x, y=y, mode="lines", name="intervals", line=dict(color=colour, width=1.4), hoverinfo="skip",
            showlegend=False,
        ))
        traces.append(go.Scatter(
            x=[lx for lx, _, _, _ in labels], y=[ly for _, ly, _, _ in labels], text=[t for _, _, t, _ in labels],
            textposition=[p for _, _, _, p in labels], mode="text", textfont=dict(size=10, color=colour),
            name="interval labels", hoverinfo="skip", showlegend=False,
        ))
    return traces
