"""Calipers on the ECG paper: where the automated measurement placed its onsets and offsets, and the intervals.

A :class:`Caliper` is one fiducial (e.g. every QRS onset) drawn as a short vertical line across its row on every
panel that shows that moment, the rhythm strip included; a :class:`Span` is one interval (e.g. "QT 392 ms") drawn
as a bracket under the trace of one lead. Both are given in seconds from the start of the record, so they land
where the tracing shows that moment whatever the layout, speed and gain; :class:`Calipers` bundles them for
:func:`mrm.viz.ecg_figure` (one plotly trace per caliper, one for the brackets, one for their labels).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mrm.data.recording import LEADS
from mrm.viz.paper import Panel, PaperGeometry, canonical_leads

#: Half the height of a caliper line, as a fraction of the distance between rows.
LINE_HALF_PITCH = 0.42
#: Gap (mm) between the lowest point of the trace and the first bracket, and between stacked brackets.
BRACKET_GAP_MM = 2.5
#: Height (mm) of a bracket's end ticks.
TICK_MM = 1.2
#: Gap (mm) between the end of a bracket and its label.
LABEL_GAP_MM = 1.5


@dataclass(frozen=True)
class Caliper:
    """One fiducial point at each of ``times`` (seconds from the record start), drawn across every panel's row.

    Attributes
    ----------
    times:
        Seconds from the start of the record, e.g. the QRS onset of every beat.
    label:
        Legend and hover text, e.g. ``"QRS onset"``.
    colour, dash:
        Plotly line colour and dash style (``"solid"``, ``"dot"``, ``"dash"``, ...).
    """

    times: tuple[float, ...]
    label: str
    colour: str = "#2e86c1"
    dash: str = "solid"


@dataclass(frozen=True)
class Span:
    """An interval drawn as a labelled bracket under the trace of ``lead`` (each panel of it that holds it whole).

    ``level`` stacks brackets: 0 right under the trace, 1 one bracket lower, and so on. The label is written
    after the bracket's end (``anchor="end"``) or before its start (``anchor="start"``).
    """

    t0: float
    t1: float
    label: str
    lead: str = "II"
    level: int = 0
    anchor: str = "end"
    colour: str = "#1f3a93"


@dataclass(frozen=True)
class Calipers:
    """Everything to draw for the calipers of one record: fiducial lines and interval brackets (hashable)."""

    lines: tuple[Caliper, ...] = ()
    spans: tuple[Span, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.lines or self.spans)


def caliper_path(caliper: Caliper, geometry: PaperGeometry) -> tuple[list[float | None], list[float | None]]:
    """Paper x and y of one caliper: a vertical segment per time and row, segments separated by None.

    A time is drawn on every row whose panel shows it (a 3x4 sheet: the lead panel of its column and the rhythm
    strip); rows that overlay two traces (the model input) get one line.

    Examples
    --------
    >>> from mrm.viz.paper import paper_3x4
    >>> x, y = caliper_path(Caliper((1.0, 6.0), "QRS onset"), paper_3x4())
    >>> xs = [v for v in x if v is not None]  # two points per line
    >>> xs.count(25.0) // 2, xs.count(150.0) // 2  # each time on its column's three rows and on the rhythm strip
    (4, 4)
    """
    x: list[float | None] = []
    y: list[float | None] = []
    half = LINE_HALF_PITCH * geometry.pitch
    seen: set[tuple[int, float]] = set()
    times = np.asarray(caliper.times, dtype=float)
    for panel in geometry.panels:
        for t in times[(times >= panel.t0) & (times < panel.t1)]:
            key = (panel.row, round(float(t), 6))
            if key in seen:
                continue
            seen.add(key)
            xt = panel.x0 + (float(t) - panel.t0) * geometry.speed
            x += [xt, xt, None]
            y += [panel.baseline - half, panel.baseline + half, None]
    return x, y


def span_paths(
    spans: tuple[Span, ...] | list[Span],
    signal: np.ndarray,
    fs: float,
    geometry: PaperGeometry,
    offsets: dict[Panel, float],
) -> tuple[list[float | None], list[float | None], list[tuple[float, float, str, str]]]:
    """Brackets under the trace for each span, and where their labels go.

    Returns the bracket path (x, y, segments separated by None) and one ``(x, y, text, textposition)`` per label.
    A span is drawn on each source-0 panel of its lead that holds it whole, ``BRACKET_GAP_MM`` under the lowest
    point of the trace over the whole group of spans of that lead, then ``level`` brackets lower.

    Examples
    --------
    >>> from mrm.viz.paper import paper_3x4
    >>> sig = np.zeros((12, 5000), np.float32)
    >>> x, y, labels = span_paths([Span(6.0, 6.4, "QT 400 ms")], sig, 500.0, paper_3x4(), {})
    >>> x[:4], labels  # the rhythm strip only: 6.0-6.4 s is in no lead II panel of the 3x4 sheet
    ([150.0, 150.0, 160.0, 160.0], [(161.5, 17.5, 'QT 400 ms', 'middle right')])
    """
    x: list[float | None] = []
    y: list[float | None] = []
    labels: list[tuple[float, float, str, str]] = []
    by_lead: dict[str, list[Span]] = {}
    for span in spans:
        by_lead.setdefault(canonical_leads([span.lead])[0], []).append(span)
    for lead, group in by_lead.items():
        t0, t1 = min(s.t0 for s in group), max(s.t1 for s in group)
        for panel in geometry.panels:
            if panel.lead != lead or panel.source != 0:
                continue
            inside = [s for s in group if s.t0 >= panel.t0 and s.t1 < panel.t1]
            if not inside:
                continue
            i0 = max(0, int(np.floor(max(t0, panel.t0) * fs)))
            i1 = min(signal.shape[1], int(np.ceil(min(t1, panel.t1) * fs)) + 1)
            mv = signal[LEADS.index(lead), i0:i1]
            lowest = float(np.nanmin(mv)) if np.isfinite(mv).any() else 0.0
            top = panel.baseline + (lowest - offsets.get(panel, 0.0)) * geometry.gain - BRACKET_GAP_MM
            for s in inside:
                level = top - s.level * (BRACKET_GAP_MM + TICK_MM)
                a = panel.x0 + (s.t0 - panel.t0) * geometry.speed
                b = panel.x0 + (s.t1 - panel.t0) * geometry.speed
                x += [a, a, b, b, None]
                y += [level + TICK_MM, level, level, level + TICK_MM, None]
                if s.anchor == "start":
                    labels.append((a - LABEL_GAP_MM, level, s.label, "middle left"))
                else:
                    labels.append((b + LABEL_GAP_MM, level, s.label, "middle right"))
    return x, y, labels
