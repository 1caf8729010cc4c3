"""ECG paper geometry shared by the plotly and matplotlib tracings.

Everything is laid out in *paper millimetres*: ``x = (t - start) * speed`` and ``y = baseline + mV * gain``,
so one figure unit is one millimetre of ECG paper whatever the speed and gain. Because x depends only on
time, every row of a 3x4 sheet and its rhythm strip line up in time, and overlays given in seconds
(markers, bands) land on every row at once.

Rows are ``ROW_MV * gain`` mm apart (40 mm at 10 mm/mV), so raising the gain spreads the rows instead of
letting tall QRS complexes run into the next row as they would on fixed paper.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from mrm.data.recording import LEADS, lead_canonical

#: The standard 3x4 sheet: rows of leads, each column showing one quarter of the time window.
ROWS_3X4: tuple[tuple[str, ...], ...] = (
    ("I", "aVR", "V1", "V4"),
    ("II", "aVL", "V2", "V5"),
    ("III", "aVF", "V3", "V6"),
)
#: Distance between row baselines, in millivolts at the chosen gain.
ROW_MV = 4.0
#: Width of the 1 mV calibration pulse, in seconds.
CAL_PULSE_S = 0.2
#: Paper in front of each row that holds the calibration pulse (0.1 s flat, 0.2 s pulse, 0.1 s flat).
CAL_AREA_S = 0.4
#: Room under the last row for the caption line, in mm.
CAPTION_MM = 8.0

PAPER_BACKGROUND = "#fff7f5"
GRID_MINOR = "#f7cfcf"
GRID_MAJOR = "#e89a9a"
TRACE_COLOUR = "#111111"
MODEL_TRACE_COLOUR = "#1f5fbf"
PAPER_MARK_COLOUR = "#111111"


@dataclass(frozen=True)
class Panel:
    """One stretch of one lead placed on the paper.

    Attributes
    ----------
    lead:
        Standard lead name.
    row:
        Row index from the top.
    t0, t1:
        Seconds from the start of the record shown by this panel, ``[t0, t1)``.
    x0:
        Paper position of ``t0`` in mm.
    baseline:
        Paper height of the trace's baseline in mm.
    role:
        ``"lead"`` (a panel of the sheet) or ``"rhythm"`` (the rhythm strip).
    source:
        Which recording the panel draws: 0 the record itself, 1 the signal the model sees.
    label:
        Text printed at the top left of the panel, or None (a second trace overlaid on a labelled row).
    """

    lead: str
    row: int
    t0: float
    t1: float
    x0: float
    baseline: float
    role: str = "lead"
    source: int = 0
    label: str | None = None


@dataclass(frozen=True)
class PaperGeometry:
    """Where every panel goes, and the paper's extent in mm."""

    panels: tuple[Panel, ...]
    baselines: tuple[float, ...]
    gain: float
    speed: float
    start: float
    duration: float
    pitch: float

    @property
    def cal_width(self) -> float:
        """Width of the calibration area in front of each row, mm."""
        return CAL_AREA_S * self.speed

    @property
    def x_range(self) -> tuple[float, float]:
        return (-self.cal_width, self.duration * self.speed)

    @property
    def y_range(self) -> tuple[float, float]:
        return (-CAPTION_MM, len(self.baselines) * self.pitch)

    @property
    def size_mm(self) -> tuple[float, float]:
        """Width and height of the whole sheet in mm."""
        (x0, x1), (y0, y1) = self.x_range, self.y_range
        return (x1 - x0, y1 - y0)


@dataclass(frozen=True)
class Marker:
    """Points to mark on every panel of one lead, e.g. the R peaks found by the measurement module.

    Attributes
    ----------
    times:
        Seconds from the start of the record.
    lead:
        Lead whose panels get the marks (the rhythm strip included).
    label:
        Legend and hover text.
    symbol, colour:
        Plotly marker symbol and colour (matplotlib gets the matching triangle).
    """

    times: Sequence[float]
    lead: str = "II"
    label: str = "R peak"
    symbol: str = "triangle-down"
    colour: str = "#c0392b"


@dataclass(frozen=True)
class Band:
    """A time interval shaded over the whole height of the sheet, e.g. where one model branch attended.

    Bands sharing ``name``, ``colour`` and ``opacity`` are drawn as one filled trace, so a branch costs one
    SVG path however many bands it has.
    """

    t0: float
    t1: float
    name: str = "attention"
    colour: str = "#f39c12"
    opacity: float = 0.25


def check_scale(gain: float, speed: float) -> None:
    """Raise ValueError unless gain (mm/mV) and speed (mm/s) are positive finite numbers.

    Examples
    --------
    >>> check_scale(10, 25)
    """
    for name, value, unit in (("gain", gain, "mm/mV"), ("speed", speed, "mm/s")):
        if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
            raise ValueError(f"{name} must be a positive number of {unit} (e.g. 10 or 25), got {value!r}")


def canonical_leads(leads: Sequence[str] | None) -> tuple[str, ...]:
    """The standard spelling of a lead selection, in the order given; None means all 12.

    Examples
    --------
    >>> canonical_leads(["avr", "V1"])
    ('aVR', 'V1')
    """
    if leads is None:
        return LEADS
    out = []
    for name in leads:
        lead = lead_canonical(name)
        if lead is None:
            raise ValueError(f"{name!r} is not one of the 12 standard leads {', '.join(LEADS)}")
        if lead in out:
            raise ValueError(f"lead {lead} is selected twice; select each lead once")
        out.append(lead)
    if not out:
        raise ValueError("no lead selected; select at least one lead")
    return tuple(out)


def paper_3x4(
    *, gain: float = 10, speed: float = 25, start: float = 0.0, duration: float = 10.0, rhythm_lead: str = "II"
) -> PaperGeometry:
    """Geometry of the standard 3x4 sheet plus a full-length rhythm strip under it.

    Column ``c`` shows ``[start + c * duration / 4, start + (c + 1) * duration / 4)`` of its three leads.

    Examples
    --------
    >>> geo = paper_3x4()
    >>> [p.lead for p in geo.panels if p.row == 1], geo.panels[-1].role, geo.size_mm
    (['II', 'aVL', 'V2', 'V5'], 'rhythm', (260.0, 168.0))
    """
    check_scale(gain, speed)
    rhythm = canonical_leads([rhythm_lead])[0]
    pitch = ROW_MV * gain
    baselines = tuple((len(ROWS_3X4) + 0.5 - row) * pitch for row in range(len(ROWS_3X4) + 1))
    column = duration / 4
    panels = []
    for row, leads in enumerate(ROWS_3X4):
        for col, lead in enumerate(leads):
            t0 = start + col * column
            panels.append(Panel(lead, row, t0, t0 + column, col * column * speed, baselines[row], label=lead))
    last = len(ROWS_3X4)
    strip = Panel(rhythm, last, start, start + duration, 0.0, baselines[last], role="rhythm", label=f"{rhythm} rhythm")
    panels.append(strip)
    return PaperGeometry(tuple(panels), baselines, float(gain), float(speed), float(start), float(duration), pitch)


def paper_rows(
    rows: Sequence[Sequence[tuple[str, int]]],
    *,
    gain: float = 10,
    speed: float = 25,
    start: float = 0.0,
    duration: float = 10.0,
    labels: Sequence[str] | None = None,
) -> PaperGeometry:
    """Geometry of full-length rows (the 12x1 sheet); each row overlays one or more ``(lead, source)`` traces.

    Examples
    --------
    >>> geo = paper_rows([[("II", 0), ("II", 1)], [("V1", 0)]])
    >>> [(p.lead, p.source, p.row, p.label) for p in geo.panels]
    [('II', 0, 0, 'II'), ('II', 1, 0, None), ('V1', 0, 1, 'V1')]
    """
    check_scale(gain, speed)
    pitch = ROW_MV * gain
    baselines = tuple((len(rows) - 0.5 - row) * pitch for row in range(len(rows)))
    panels = []
    for row, traces in enumerate(rows):
        for k, (lead, source) in enumerate(traces):
            label = (labels[row] if labels is not None else lead) if k == 0 else None
            panels.append(Panel(lead, row, start, start + duration, 0.0, baselines[row], source=source, label=label))
    return PaperGeometry(tuple(panels), baselines, float(gain), float(speed), float(start), float(duration), pitch)


def panel_slice(panel: Panel, fs: float, n_samples: int) -> slice:
    """The samples of a record at ``fs`` Hz whose times fall in ``[panel.t0, panel.t1)``.

    Examples
    --------
    >>> panel_slice(Panel("I", 0, 2.5, 5.0, 62.5, 0.0), 500.0, 5000)
    slice(1250, 2500, None)
    """
    # A tolerance of a thousandth of a sample keeps 2.5 s * 500 Hz from becoming 1250.0000001 -> 1251.
    i0 = max(0, math.ceil(panel.t0 * fs - 1e-3))
    i1 = min(n_samples, math.ceil(panel.t1 * fs - 1e-3))
    return slice(i0, max(i0, i1))


def display_offset(mv: np.ndarray) -> float:
    """The level drawn on the row's baseline: the median of the shown samples (0 if none are finite).

    Only a display shift: it keeps an offset or a wandering baseline from pushing a trace off its row and
    leaves the scale (``mV * gain``) untouched.

    Examples
    --------
    >>> display_offset(np.array([0.5, 0.6, 2.0, 0.4], np.float32))
    0.55
    """
    finite = mv[np.isfinite(mv)]
    return round(float(np.median(finite)), 6) if finite.size else 0.0


def panel_trace(
    signal: np.ndarray, fs: float, panel: Panel, geometry: PaperGeometry, offset: float | None = None
) -> tuple[float, float, np.ndarray, np.ndarray, float]:
    """Paper coordinates of one panel: ``(x0, dx, y, mv, offset)``.

    ``signal`` is the (12, n) mV array; the trace's n-th point is at ``x0 + n * dx`` mm (``dx = speed / fs``)
    and ``y = panel.baseline + (mv - offset) * gain`` mm.

    Examples
    --------
    >>> geo = paper_3x4()
    >>> sig = np.zeros((12, 5000), np.float32); sig[1, 1250] = 1.0
    >>> x0, dx, y, mv, off = panel_trace(sig, 500.0, geo.panels[5], geo)  # lead aVL, 2.5-5 s
    >>> x0, dx, float(y.max() - y.min())
    (62.5, 0.05, 0.0)
    >>> x0, dx, y, mv, off = panel_trace(sig, 500.0, geo.panels[4], geo)  # lead II, 0-2.5 s
    >>> len(y), float(y.max() - y.min())
    (1250, 0.0)
    """
    idx = panel_slice(panel, fs, signal.shape[1])
    mv = np.asarray(signal[LEADS.index(panel.lead), idx], dtype=np.float32)
    if offset is None:
        offset = display_offset(mv)
    dx = geometry.speed / fs
    x0 = panel.x0 + (idx.start / fs - panel.t0) * geometry.speed
    y = (panel.baseline + (mv - np.float32(offset)) * np.float32(geometry.gain)).astype(np.float32)
    return float(x0), float(dx), y, mv, offset


def calibration_path(geometry: PaperGeometry) -> tuple[list[float | None], list[float | None]]:
    """x and y of a 1 mV calibration pulse in front of every row, rows separated by None.

    The pulse is ``CAL_PULSE_S`` wide and ``gain`` mm tall: 10 mm at 10 mm/mV.

    Examples
    --------
    >>> x, y = calibration_path(paper_rows([[("I", 0)]]))
    >>> x, y
    ([-10.0, -7.5, -7.5, -2.5, -2.5, 0.0], [20.0, 20.0, 30.0, 30.0, 20.0, 20.0])
    """
    w = geometry.cal_width
    up = -w + 0.1 * geometry.speed
    down = up + CAL_PULSE_S * geometry.speed
    xs = [-w, up, up, down, down, 0.0]
    x: list[float | None] = []
    y: list[float | None] = []
    for b in geometry.baselines:
        if x:
            x.append(None)
            y.append(None)
        x += xs
        y += [b, b, b + geometry.gain, b + geometry.gain, b, b]
    return x, y


def separator_path(geometry: PaperGeometry) -> tuple[list[float | None], list[float | None]]:
    """Short vertical bars where a row switches lead (the column boundaries of a 3x4 sheet)."""
    x: list[float | None] = []
    y: list[float | None] = []
    half = 0.125 * geometry.pitch
    for p in geometry.panels:
        if p.x0 > 0:
            x += [p.x0, p.x0, None]
            y += [p.baseline - half, p.baseline + half, None]
    return x, y


def marker_points(
    marker: Marker, signal: np.ndarray, fs: float, geometry: PaperGeometry, offsets: dict[Panel, float]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Paper x, y (2 mm above the trace) and time of each mark, on every source-0 panel of the marker's lead.

    Examples
    --------
    >>> geo = paper_3x4()
    >>> sig = np.zeros((12, 5000), np.float32)
    >>> x, y, t = marker_points(Marker([1.0, 6.0]), sig, 500.0, geo, {})
    >>> x.tolist(), t.tolist()  # 1.0 s on the II panel and the rhythm strip, 6.0 s on the strip only
    ([25.0, 25.0, 150.0], [1.0, 1.0, 6.0])
    """
    lead = canonical_leads([marker.lead])[0]
    times = np.asarray(marker.times, dtype=float)
    xs, ys, ts = [], [], []
    for p in geometry.panels:
        if p.lead != lead or p.source != 0:
            continue
        inside = times[(times >= p.t0) & (times < p.t1)]
        idx = np.clip(np.round(inside * fs).astype(int), 0, signal.shape[1] - 1)
        mv = signal[LEADS.index(lead), idx]
        offset = offsets.get(p, 0.0)
        xs.append(p.x0 + (inside - p.t0) * geometry.speed)
        ys.append(p.baseline + (mv - offset) * geometry.gain + 2.0)
        ts.append(inside)
    if not xs:
        return np.empty(0), np.empty(0), np.empty(0)
    return np.concatenate(xs), np.concatenate(ys), np.concatenate(ts)


def band_groups(bands: Sequence[Band]) -> dict[tuple[str, str, float], list[Band]]:
    """Bands grouped by (name, colour, opacity), one group per drawn trace, in first-seen order.

    Examples
    --------
    >>> groups = band_groups([Band(0, 1, "HR"), Band(2, 3, "LR", "#3498db"), Band(4, 5, "HR")])
    >>> [(k[0], len(v)) for k, v in groups.items()]
    [('HR', 2), ('LR', 1)]
    """
    groups: dict[tuple[str, str, float], list[Band]] = {}
    for band in bands:
        groups.setdefault((band.name, band.colour, float(band.opacity)), []).append(band)
    return groups


def band_path(bands: Sequence[Band], geometry: PaperGeometry) -> tuple[list[float | None], list[float | None]]:
    """Closed rectangles (full sheet height) for a group of bands, separated by None, for a ``fill="toself"``."""
    x: list[float | None] = []
    y: list[float | None] = []
    lo, hi = 0.0, len(geometry.baselines) * geometry.pitch
    end = geometry.start + geometry.duration
    for b in bands:
        t0, t1 = max(b.t0, geometry.start), min(b.t1, end)
        if t1 <= t0:
            continue
        x0, x1 = (t0 - geometry.start) * geometry.speed, (t1 - geometry.start) * geometry.speed
        x += [x0, x1, x1, x0, x0, None]
        y += [lo, lo, hi, hi, lo, None]
    return x, y
