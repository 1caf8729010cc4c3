"""The 12-lead view's options and the figure they give (plot building itself lives in :mod:`mrm.viz`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import plotly.graph_objects as go

from mrm.data.recording import LEADS, Recording
from mrm.viz import Calipers, Marker, ecg_compare_figure, ecg_figure

GAINS: tuple[int, ...] = (5, 10, 20)
SPEEDS: tuple[int, ...] = (25, 50)
#: Width of the printed sheet's tracing area in mm: 10 s at 25 mm/s, 5 s at 50 mm/s.
SHEET_MM = 250.0
COMPARE_MODES: tuple[str, ...] = ("overlay", "stacked")
#: Width in screen pixels the page expects the sheet to get; the height follows from the paper's true aspect.
SHEET_WIDTH_PX = 900


@dataclass(frozen=True)
class ViewOptions:
    """How to draw the 12-lead view. Frozen and hashable: the pages cache figures by (record, options).

    Attributes
    ----------
    layout:
        ``"3x4"`` (with a rhythm strip of ``rhythm_lead``) or ``"12x1"``.
    gain, speed:
        mm/mV (5, 10, 20) and mm/s (25, 50).
    leads:
        The leads of the 12x1 sheet, in order (the 3x4 sheet always shows all 12).
    start:
        Seconds from the start of the record where the sheet begins.
    compare:
        None, or ``"overlay"``/``"stacked"``: the record at its own rate next to the 100 Hz model input (12x1 rows).
    rhythm_lead:
        Lead of the 3x4 sheet's rhythm strip.
    """

    layout: str = "3x4"
    gain: float = 10
    speed: float = 25
    leads: tuple[str, ...] = LEADS
    start: float = 0.0
    compare: str | None = None
    rhythm_lead: str = "II"

    def window(self, recording: Recording) -> tuple[float, float]:
        """``(start, duration)`` in seconds of the stretch shown: one printed sheet (250 mm) at the chosen speed,
        cut to the record's end.

        Examples
        --------
        >>> import numpy as np
        >>> rec = Recording(np.zeros((12, 6500), np.float32), fs=500.0, record_id="demo")  # 13 s
        >>> ViewOptions().window(rec), ViewOptions(speed=50, start=10).window(rec)
        ((0.0, 10.0), (8.0, 5.0))
        """
        sheet = SHEET_MM / self.speed
        start = min(max(0.0, float(self.start)), max(0.0, recording.duration - min(sheet, recording.duration)))
        start = max(0.0, min(start, recording.duration - 1.0 / recording.fs))
        return start, min(sheet, recording.duration - start)

    def starts(self, recording: Recording, step: float = 0.5) -> list[float]:
        """The sheet starts a page offers for panning a long record (one value when the record fits one sheet).

        Examples
        --------
        >>> import numpy as np
        >>> rec = Recording(np.zeros((12, 6500), np.float32), fs=500.0, record_id="demo")
        >>> ViewOptions().starts(rec)
        [0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0]
        """
        sheet = SHEET_MM / self.speed
        last = max(0.0, recording.duration - sheet)
        n = int(last / step + 1e-9)
        values = [round(i * step, 3) for i in range(n + 1)]
        if last - values[-1] > 1e-9:
            values.append(round(last, 3))
        return values


def build_view(
    recording: Recording,
    options: ViewOptions,
    *,
    markers: Sequence[Marker] = (),
    calipers: Calipers | None = None,
    title: str | None = None,
) -> go.Figure:
    """The 12-lead figure for a record and the view options: :func:`mrm.viz.ecg_figure`, or
    :func:`mrm.viz.ecg_compare_figure` when the model's 100 Hz input is asked for.

    ``uirevision`` names the record and the geometry, so zoom and pan survive reruns that change neither
    (streamlit#5107) and reset when the sheet itself changes.

    Examples
    --------
    >>> import numpy as np
    >>> rec = Recording(np.zeros((12, 5000), np.float32), fs=500.0, record_id="demo")
    >>> fig = build_view(rec, ViewOptions(layout="12x1", leads=("II", "V1"), compare="stacked"))
    >>> [t.name for t in fig.data if t.meta], fig.layout.uirevision
    (['II', 'II 100 Hz', 'V1', 'V1 100 Hz'], 'file/demo/12x1/10/25/0/stacked')
    """
    start, duration = options.window(recording)
    revision = "/".join(str(part) for part in (
        recording.dataset, recording.record_id, options.layout, f"{options.gain:g}", f"{options.speed:g}",
        f"{start:g}", options.compare or "native",
    ))
    common = dict(gain=options.gain, speed=options.speed, start=start, duration=duration,
                  markers=list(markers) or None, calipers=calipers, title=title, uirevision=revision)
    if options.compare:
        figure = ecg_compare_figure(recording, mode=options.compare, leads=options.leads, **common)
    else:
        leads = options.leads if options.layout == "12x1" else None
        figure = ecg_figure(recording, layout=options.layout, leads=leads, rhythm_lead=options.rhythm_lead, **common)
    return fit_height(figure)


def fit_height(figure: go.Figure, width_px: int = SHEET_WIDTH_PX) -> go.Figure:
    """Set the height that gives a ``width_px``-wide sheet its true aspect (1 mm across = 1 mm up).

    Plotly keeps the aspect by shrinking one axis's domain, which leaves blank bands above and below a sheet
    whose figure is taller than its width needs (a 12x1 sheet in a page narrower than 4 px per mm); where the page
    is narrower than ``width_px`` after all, the sheet keeps to the top and the band goes under it.

    Examples
    --------
    >>> import numpy as np
    >>> rec = Recording(np.zeros((12, 5000), np.float32), fs=500.0, record_id="demo")
    >>> fig = fit_height(ecg_figure(rec), width_px=520)  # 260 mm wide sheet: 2 px per mm
    >>> fig.layout.height - fig.layout.margin.t - fig.layout.margin.b
    336
    """
    (x0, x1), (y0, y1) = figure.layout.xaxis.range, figure.layout.yaxis.range
    margin = figure.layout.margin
    figure.layout.height = int(round((y1 - y0) * width_px / (x1 - x0))) + int(margin.t) + int(margin.b)
    figure.layout.yaxis.constraintoward = "top"
    return figure
