"""The same calibrated sheet drawn with matplotlib, for the PDF report (plotly's image export needs Chrome).

The figure is sized in real millimetres (axes filling the figure, ``figsize = size_mm / 25.4``), so a
PDF printed at 100 % is true ECG paper: 1 mm squares, 25 mm/s, 10 mm/mV. A 10-s 3x4 sheet is
260 x 168 mm and fits A4 landscape.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MultipleLocator

from mrm.data.recording import Recording
from mrm.viz.paper import (
    GRID_MAJOR,
    GRID_MINOR,
    PAPER_BACKGROUND,
    PAPER_MARK_COLOUR,
    TRACE_COLOUR,
    Marker,
    Panel,
    calibration_path,
    canonical_leads,
    marker_points,
    panel_trace,
    paper_3x4,
    paper_rows,
    separator_path,
)

_MM_PER_INCH = 25.4
_TITLE_MM = 8.0
# Line widths in points (1 pt = 0.353 mm): a 0.25 mm trace, and grid lines fine enough to read it through.
_TRACE_PT = 0.7
_MAJOR_PT = 0.5
_MINOR_PT = 0.25


def ecg_paper_matplotlib(
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
    title: str | None = None,
    dpi: float = 150,
) -> Figure:
    """A matplotlib Figure of the calibrated tracing, geometry identical to :func:`mrm.viz.ecg_figure`.

    Parameters are those of :func:`mrm.viz.ecg_figure`; ``dpi`` sets raster resolution (PNG) only.
    The figure is not registered with pyplot, so building it is safe in a Streamlit thread; save it
    with ``fig.savefig(buffer, format="pdf")``.

    Examples
    --------
    >>> rec = Recording(np.zeros((12, 5000), np.float32), fs=500.0, record_id="demo")
    >>> fig = ecg_paper_matplotlib(rec)
    >>> [round(v * _MM_PER_INCH) for v in fig.get_size_inches()]
    [260, 168]
    >>> sorted(t.get_text() for t in fig.axes[0].texts)[:5]
    ['25 mm/s, 10 mm/mV, 500 Hz', 'I', 'II', 'II rhythm', 'III']
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
    if not 0 <= start < recording.duration:
        raise ValueError(f"start {start:g} s is outside {recording.record_id} ({recording.duration:g} s long)")

    width, height = geometry.size_mm
    title_mm = _TITLE_MM if title else 0.0
    fig = Figure(figsize=(width / _MM_PER_INCH, (height + title_mm) / _MM_PER_INCH), dpi=dpi)
    FigureCanvasAgg(fig)
    ax = fig.add_axes((0.0, 0.0, 1.0, height / (height + title_mm)))
    _draw_paper(ax, geometry)

    x, y = calibration_path(geometry)
    ax.plot(_nan_gaps(x), _nan_gaps(y), color=TRACE_COLOUR, lw=_TRACE_PT)
    x, y = separator_path(geometry)
    if x:
        ax.plot(_nan_gaps(x), _nan_gaps(y), color=PAPER_MARK_COLOUR, lw=_TRACE_PT)
    offsets: dict[Panel, float] = {}
    for panel in geometry.panels:
        x0, dx, y, _, offsets[panel] = panel_trace(recording.signal, recording.fs, panel, geometry)
        ax.plot(x0 + dx * np.arange(len(y)), y, color=TRACE_COLOUR, lw=_TRACE_PT)
        if panel.label:
            ax.text(panel.x0 + 1.0, panel.baseline + 0.3 * geometry.pitch, panel.label, fontsize=7,
                    color=PAPER_MARK_COLOUR, ha="left", va="bottom")
    for marker in markers or []:
        mx, my, _ = marker_points(marker, recording.signal, recording.fs, geometry, offsets)
        ax.plot(mx, my, linestyle="none", marker="v", markersize=3, color=marker.colour, label=marker.label)
    caption = f"{speed:g} mm/s, {gain:g} mm/mV, {recording.fs:g} Hz"
    ax.text(geometry.x_range[0] + 1.0, geometry.y_range[0] + 1.0, caption, fontsize=7, color=PAPER_MARK_COLOUR,
            ha="left", va="bottom")
    if title:
        fig.text(0.005, 1 - 0.5 * title_mm / (height + title_mm), title, fontsize=9, ha="left", va="center")
    return fig


def _draw_paper(ax, geometry) -> None:
    """ECG paper on a matplotlib Axes: limits in mm, equal aspect, 1 mm and 5 mm grid, no ticks."""
    ax.set_xlim(*geometry.x_range)
    ax.set_ylim(*geometry.y_range)
    ax.set_aspect("equal")
    ax.set_facecolor(PAPER_BACKGROUND)
    for axis in (ax.xaxis, ax.yaxis):
        axis.set_major_locator(MultipleLocator(5))
        axis.set_minor_locator(MultipleLocator(1))
    ax.grid(which="major", color=GRID_MAJOR, lw=_MAJOR_PT)
    ax.grid(which="minor", color=GRID_MINOR, lw=_MINOR_PT)
    ax.set_axisbelow(True)
    ax.tick_params(which="both", length=0, labelbottom=False, labelleft=False)
    for spine in ax.spines.values():
        spine.set_visible(False)


def _nan_gaps(values: list[float | None]) -> np.ndarray:
    return np.array([np.nan if v is None else v for v in values], dtype=float)
