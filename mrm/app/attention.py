"""The attention page without Streamlit: the 12-lead view with the branches' attention laid over it, and how far
the high- and low-resolution branches agree on where to look."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import plotly.graph_objects as go

from mrm.app.view import ViewOptions, build_view
from mrm.data.recording import Recording
from mrm.infer.explain import AttentionMaps
from mrm.viz import Marker, PaperGeometry, paper_3x4, paper_rows
from mrm.viz.attention import attention_on_grid, attention_overlay, with_overlay


@dataclass(frozen=True)
class Agreement:
    """How alike the two branches' attention maps are on one record.

    Attributes
    ----------
    correlation:
        Pearson correlation of the two maps over the record (NaN when one is flat).
    overlap:
        Jaccard index of the stretches where each branch is in its own top ``share`` of the record: 1 when they
        single out the same stretches, 0 when they share none.
    mean_gap:
        Mean ``|HR - LR|`` of the maps scaled to their own ranges (0 to 1).
    share:
        The share of the record each branch's "top" stretches cover.
    """

    correlation: float
    overlap: float
    mean_gap: float
    share: float = 0.2

    @property
    def verdict(self) -> str:
        """A few words for the page: agree, partly agree or disagree on where to look."""
        if self.overlap >= 0.5:
            return "agree on where to look"
        if self.overlap >= 0.25:
            return "partly agree on where to look"
        return "look at different stretches"


def attention_agreement(maps: AttentionMaps, share: float = 0.2) -> Agreement:
    """Compare the branches' attention over the whole record.

    Examples
    --------
    >>> t = np.arange(1000) / 100
    >>> same = AttentionMaps(t, np.sin(t), np.sin(t), 100.0)
    >>> a = attention_agreement(same)
    >>> round(a.correlation, 3), a.overlap, a.mean_gap
    (1.0, 1.0, 0.0)
    >>> b = attention_agreement(AttentionMaps(t, np.where(t < 2, 1.0, 0.0), np.where(t >= 8, 1.0, 0.0), 100.0))
    >>> b.overlap, b.verdict
    (0.0, 'look at different stretches')
    """
    duration = float(maps.times[-1]) + 1.0 / maps.fs
    _, hr, lr = attention_on_grid(maps, 0.0, duration)
    with np.errstate(invalid="ignore", divide="ignore"):
        correlation = float(np.corrcoef(hr, lr)[0, 1]) if hr.std() > 0 and lr.std() > 0 else float("nan")
    top_hr, top_lr = _top(hr, share), _top(lr, share)
    union = np.logical_or(top_hr, top_lr).sum()
    overlap = float(np.logical_and(top_hr, top_lr).sum() / union) if union else 1.0
    return Agreement(correlation, overlap, float(np.abs(hr - lr).mean()), share)


def _top(values: np.ndarray, share: float) -> np.ndarray:
    """Samples in the top ``share`` of a map; a map at its floor most of the time keeps only what rises above it
    (``values >= quantile`` alone would count the whole floor as "top" when the quantile falls on it)."""
    cut = np.quantile(values, 1 - share)
    return values > cut if cut <= values.min() else values >= cut


def sheet_geometry(recording: Recording, options: ViewOptions) -> PaperGeometry:
    """The paper geometry :func:`mrm.app.view.build_view` draws for these options (native-rate sheets only).

    Examples
    --------
    >>> rec = Recording(np.zeros((12, 5000), np.float32), fs=500.0, record_id="demo")
    >>> len(sheet_geometry(rec, ViewOptions()).baselines), len(sheet_geometry(rec, ViewOptions("12x1")).baselines)
    (4, 12)
    """
    start, duration = options.window(recording)
    common = dict(gain=options.gain, speed=options.speed, start=start, duration=duration)
    if options.layout == "3x4":
        return paper_3x4(rhythm_lead=options.rhythm_lead, **common)
    return paper_rows([[(lead, 0)] for lead in options.leads], **common)


def attention_view(
    recording: Recording,
    options: ViewOptions,
    maps: AttentionMaps,
    *,
    branches: Sequence[str] = ("hr", "lr"),
    opacity: float = 0.45,
    markers: Sequence[Marker] = (),
) -> go.Figure:
    """The calibrated 12-lead view with the branches' attention under the tracing.

    The model-input comparison (``options.compare``) is dropped: the attention lies on the record's own time axis.
    With no branch chosen, the plain sheet is returned.

    Examples
    --------
    >>> rec = Recording(np.zeros((12, 5000), np.float32), fs=500.0, record_id="demo")
    >>> t = rec.time()
    >>> maps = AttentionMaps(t, np.where(t < 5, 0.2, 0.9), np.full(5000, 0.5), 500.0)
    >>> fig = attention_view(rec, ViewOptions(), maps, branches=("hr",))
    >>> [t.name for t in fig.data][:2], fig.data[0].z.shape
    (['HR attention', '1 mV calibration'], (7, 1000))
    """
    options = replace(options, compare=None)
    figure = build_view(recording, options, markers=markers)
    if not branches:
        return figure
    overlay = attention_overlay(maps, sheet_geometry(recording, options), branches=branches, opacity=opacity)
    figure = with_overlay(figure, overlay)
    figure.layout.uirevision = f"{figure.layout.uirevision}/attention"
    return figure
