"""The PDF report of one record: matplotlib only (plotly's image export needs Chrome through kaleido, which hangs).

Three A4 landscape pages (more when many classes are listed), every one ending with the line that this is a research
tool, not a medical device:

1. the record and the patient (age, sex, fold and the training note, source, rate and length), the model, and the
   calibrated 3x4 tracing with a lead II rhythm strip at true scale (25 mm/s, 10 mm/mV: printed at 100 %, the
   squares are 1 mm);
2. the automated measurements, and the predictions with the card's thresholds, the decisions, both branches and
   the ground truth where the record has one;
3. the attention strip: the rhythm lead with where each branch attended (HR upper half, LR lower half, as in the
   dashboard), both maps over time, and how far they agree.

Text is set in the PDF core font Helvetica (``pdf.use14corefonts``): the file stays small, and every word stays
text that a reader can search and copy (and a test can find) instead of glyph drawings. The core fonts cover
Latin-1 only, so other characters are spelled out first.
"""

from __future__ import annotations

import io
import logging
import textwrap
import threading
import time
from contextlib import contextmanager

import matplotlib as mpl
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure

from mrm.app.attention import attention_agreement
from mrm.app.diagnosis import OUTCOME_COLOURS, OUTCOMES, GroundTruth, diagnosis_rows, disagreement_text
from mrm.app.measurements import AUTOMATED_LABEL, rpeak_times
from mrm.app.sources import record_title
from mrm.app.state import training_note
from mrm.data.recording import LEADS, Recording
from mrm.infer.explain import AttentionMaps
from mrm.infer.predictor import Prediction
from mrm.measure import Measurements
from mrm.viz import Marker, ecg_paper_matplotlib
from mrm.viz.attention import OVERLAY_GAMMA, attention_on_grid
from mrm.viz.paper import GRID_MAJOR, GRID_MINOR, PAPER_BACKGROUND, TRACE_COLOUR
from mrm.viz.probabilities import HR_COLOUR, LR_COLOUR

#: The line every page carries.
DISCLAIMER = ("MRM-ECG is a research and teaching tool, not a medical device: nothing in this report is a diagnosis; "
              "a qualified clinician must read the ECG.")
A4_LANDSCAPE_MM = (297.0, 210.0)
#: Prediction rows printed besides every positive call and every true class; the rest are counted (every class is
#: in the CSV/JSON export).
MAX_PREDICTION_ROWS = 24
#: Prediction rows per page; more continue on the next page.
ROWS_PER_PAGE = 26

_MM = 1 / 25.4
_RC = {
    "pdf.use14corefonts": True, "font.family": "sans-serif", "font.sans-serif": ["Helvetica"],
    "axes.unicode_minus": False, "pdf.compression": 6,
}
_SPELLED = {"\u2212": "-", "\u2013": "-", "\u2014": "-", "\u2265": ">=", "\u2264": "<=", "\u2192": "->",
            "\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"', "\u2026": "...", "\u00a0": " "}


def latin1(text: str) -> str:
    """``text`` in the Latin-1 characters the PDF core fonts have (others spelled out, or ``?``).

    Examples
    --------
    >>> latin1("QTc \u2265 450 ms \u2013 \u00b5V \u00b7 \u03b1")
    'QTc >= 450 ms - \u00b5V \u00b7 ?'
    """
    for char, spelled in _SPELLED.items():
        text = text.replace(char, spelled)
    return text.encode("latin-1", "replace").decode("latin-1")


# rcParams are global: two reports built at once in a server's threads would restore each other's settings halfway
# (one report's text then drawn in an embedded font instead of Helvetica), so one report is built at a time.
_STYLE_LOCK = threading.Lock()


@contextmanager
def _report_style():
    # With the core fonts, matplotlib's font finder logs a harmless weight mismatch for Helvetica on every text.
    logger = logging.getLogger("matplotlib.font_manager")
    with _STYLE_LOCK:
        level = logger.level
        logger.setLevel(logging.ERROR)
        try:
            with mpl.rc_context(_RC):
                yield
        finally:
            logger.setLevel(level)


def build_report(
    recording: Recording,
    prediction: Prediction,
    *,
    measurements: Measurements | None = None,
    attention: AttentionMaps | None = None,
    truth: GroundTruth | None = None,
    created: str | None = None,
) -> bytes:
    """The PDF report of a record, as bytes.

    Parameters
    ----------
    recording:
        The record (drawn at its own rate).
    prediction:
        The Predictor's output for it.
    measurements:
        :func:`mrm.measure.measure_ecg` of the record (R peaks are marked on lead II); None leaves the section out
        with a note.
    attention:
        The branches' attention maps (:func:`mrm.infer.attention_maps`); None for networks without attention.
    truth:
        The record's ground truth in the task's classes (:func:`mrm.app.diagnosis.ground_truth`).
    created:
        Time stamp printed in the header; default now.

    Examples
    --------
    >>> pdf = build_report(recording, predictor.predict(recording))  # doctest: +SKIP
    >>> pdf[:5]  # doctest: +SKIP
    b'%PDF-'
    """
    created = created or time.strftime("%Y-%m-%d %H:%M")
    buffer = io.BytesIO()
    with _report_style(), PdfPages(buffer, metadata={
        "Title": latin1(f"MRM-ECG report: {record_title(recording)}"), "Creator": "MRM-ECG",
        "Subject": f"{prediction.task} predictions of {prediction.model}",
    }) as pdf:
        pages = [
            _tracing_page(recording, prediction, measurements, created),
            *_predictions_pages(recording, prediction, measurements, truth),
            _attention_page(recording, attention),
        ]
        for number, page in enumerate(pages, start=1):
            _footer(page, f"{number}/{len(pages)}")
            pdf.savefig(page)
    return buffer.getvalue()


def _text(fig: Figure, x_mm: float, y_mm: float, text: str, **kwargs) -> None:
    """Text at a position in mm from the page's bottom-left corner."""
    width, height = (v / _MM for v in fig.get_size_inches())
    fig.text(x_mm / width, y_mm / height, latin1(text), **kwargs)


def _page() -> Figure:
    fig = Figure(figsize=(A4_LANDSCAPE_MM[0] * _MM, A4_LANDSCAPE_MM[1] * _MM))
    FigureCanvasAgg(fig)
    return fig


def _footer(fig: Figure, page: str) -> None:
    _text(fig, 15, 6, DISCLAIMER, fontsize=7.5, color="#7b241c", va="bottom")
    _text(fig, 282, 6, page, fontsize=7.5, ha="right", va="bottom")


def _patient_line(recording: Recording) -> str:
    parts = []
    if recording.age is not None:
        parts.append(f"age {recording.age:g} y")
    if recording.sex:
        parts.append(f"sex {recording.sex}")
    if recording.patient_id is not None:
        parts.append(f"patient id {recording.patient_id}")
    patient = ", ".join(parts) if parts else "no patient data in the record"
    source = f"source {recording.source}" if recording.source else ""
    fold = f"fold {recording.fold}" if recording.fold is not None else ""
    return " | ".join(p for p in (f"Patient: {patient}", fold, f"{recording.fs:g} Hz, {recording.duration:.1f} s",
                                  source) if p)


def _tracing_page(recording: Recording, prediction: Prediction, measurements: Measurements | None,
                  created: str) -> Figure:
    duration = min(10.0, recording.duration)
    markers = []
    if measurements is not None and len(measurements.rpeaks):
        markers = [Marker(list(rpeak_times(measurements)), lead="II", label="R peak (automated)")]
    fig = ecg_paper_matplotlib(recording, duration=duration, markers=markers)
    # Put the sheet, at its true size, on an A4 landscape page with room for the header and the footer.
    sheet_w = 260.0
    sheet_h = fig.get_size_inches()[1] / _MM
    fig.set_size_inches(A4_LANDSCAPE_MM[0] * _MM, A4_LANDSCAPE_MM[1] * _MM)
    page_w, page_h = A4_LANDSCAPE_MM
    left, bottom = (page_w - sheet_w) / 2, 12.0
    fig.axes[0].set_position((left / page_w, bottom / page_h, sheet_w / page_w, sheet_h / page_h))
    top = page_h - 6
    _text(fig, left, top, f"MRM-ECG report: {record_title(recording)}", fontsize=11, weight="bold", va="top")
    _text(fig, left, top - 6, _patient_line(recording), fontsize=8, va="top")
    positives = ", ".join(c.code for c in prediction.positive) or "none"
    _text(fig, left, top - 10.5, f"Model {prediction.model}, task {prediction.task}: positive {positives}. "
                                 f"Report made {created}.", fontsize=8, va="top")
    extra = f" (the first {duration:g} s of {recording.duration:.1f} s)" if recording.duration > duration + 1e-6 \
        else ""
    _text(fig, left, top - 15, f"Tracing: 25 mm/s, 10 mm/mV, the record at its own {recording.fs:g} Hz{extra}; "
                               "printed at 100 % the small squares are 1 mm.", fontsize=7.5, va="top", color="#333333")
    note = training_note(recording)
    if note:
        _text(fig, left, top - 18.5, note, fontsize=7.5, va="top", color="#7b241c")
    return fig


def _prediction_rows(prediction: Prediction, truth: GroundTruth | None) -> tuple[list, float | None, int]:
    """The rows printed (the most probable, every positive call and every true class), the highest probability
    left out, and how many are left out."""
    rows = diagnosis_rows(prediction, truth)
    keep = [r for i, r in enumerate(rows) if i < MAX_PREDICTION_ROWS or r.decision or (r.truth and r.truth.present)]
    left = [r.probability for r in rows if r not in keep]
    return keep, max(left, default=None), len(left)


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def _predictions_pages(recording: Recording, prediction: Prediction, measurements: Measurements | None,
                       truth: GroundTruth | None) -> list[Figure]:
    rows, highest_left, left_out = _prediction_rows(prediction, truth)
    chunks = [rows[i : i + ROWS_PER_PAGE] for i in range(0, len(rows), ROWS_PER_PAGE)] or [[]]
    pages = []
    for number, chunk in enumerate(chunks):
        fig = _page()
        heading = "Measurements and predictions" if number == 0 else "Predictions (continued)"
        _text(fig, 15, 200, heading, fontsize=11, weight="bold", va="top")
        _text(fig, 15, 194, record_title(recording), fontsize=8, va="top")
        if number == 0:
            _measurement_block(fig, measurements)
        _prediction_table(fig, prediction, chunk, truth)
        if number == len(chunks) - 1:
            notes = [disagreement_text(prediction)]
            if left_out:
                notes.append(f"{left_out} further classes (p at most {highest_left:.2f}) are not listed; every class "
                             "is in the CSV and JSON export.")
            if truth is not None:
                notes.append(f"Ground truth: {truth.source}." if truth.available else f"No ground truth: {truth.note}")
                if truth.available and truth.note:
                    notes.append(f"Note: {truth.note}")
            note = training_note(recording)
            if note:
                notes.append(note)
            below = 178 - 5.0 * (len(chunk) + 1) - 5
            lines = [line for note in notes for line in textwrap.wrap(latin1(note), 125, subsequent_indent="  ")]
            for i, line in enumerate(lines):
                _text(fig, 110, below - 3.8 * i, line, fontsize=6.8, va="top",
                      color="#7b241c" if i == 0 and prediction.disagreement_flagged else "#222222")
        pages.append(fig)
    return pages


def _measurement_block(fig: Figure, measurements: Measurements | None) -> None:
    """The measurement table in the left column, with the reasons of what was not measured under it."""
    _text(fig, 15, 186, "Measurements", fontsize=9.5, weight="bold", va="top")
    _text(fig, 15, 181.5, AUTOMATED_LABEL, fontsize=6.5, va="top", color="#555555")
    ax = fig.add_axes((15 / 297, 134 / 210, 88 / 297, 44 / 210))
    ax.axis("off")
    if measurements is None:
        ax.text(0, 1, "not measured", fontsize=8, va="top")
        return
    cells, reasons = [], []
    for m in measurements.all():
        status = m.status
        if m.reason and not m.measured:
            reasons.append(f"{m.label}: {m.reason}")
            status += f" ({len(reasons)})"
        cells.append([latin1(m.label), latin1(f"{m.value:.0f} {m.unit}") if m.measured else "-", latin1(status)])
    t = ax.table(cellText=cells, colLabels=["measurement", "value", "status"], loc="upper left",
                 colWidths=[0.38, 0.22, 0.4], cellLoc="left")
    _style_table(t, 7, 4.6, 44)
    notes = [f"({i}) {reason}" for i, reason in enumerate(reasons, start=1)]
    notes += [f"! {warning}" for warning in measurements.warnings]
    lines = [line for note in notes for line in textwrap.wrap(latin1(note), 78, subsequent_indent="    ")]
    for i, line in enumerate(lines[:16]):
        _text(fig, 15, 130 - 3.4 * i, line, fontsize=6.3, va="top",
              color="#7b241c" if line.startswith("!") else "#333333")


def _prediction_table(fig: Figure, prediction: Prediction, rows: list, truth: GroundTruth | None) -> None:
    """The predictions table in the right column: class, name, p, threshold, decision, both heads, truth, outcome."""
    x0 = 110
    _text(fig, x0, 186, f"Predictions: {prediction.model} ({prediction.task})", fontsize=9.5, weight="bold",
          va="top")
    _text(fig, x0, 181.5, "Thresholds maximise F1 on the validation fold (fold 9); HR and LR: the high- and "
                          "low-resolution branches.", fontsize=6.5, va="top", color="#555555")
    with_truth = truth is not None and truth.available
    labels = ["class", "name", "p", "threshold", "decision", "HR", "LR"] + (["truth", "outcome"] if with_truth else [])
    cells, colours = [], []
    for r in rows:
        decision = "none" if r.decision is None else ("POSITIVE" if r.decision else "negative")
        cell = [r.code, _shorten(r.name, 30), _fmt(r.probability), _fmt(r.threshold), decision,
                _fmt(r.probability_hr), _fmt(r.probability_lr)]
        if with_truth:
            cell += ["present" if r.truth and r.truth.present else "absent", OUTCOMES.get(r.outcome, "")]
        cells.append([latin1(c) for c in cell])
        colours.append([OUTCOME_COLOURS.get(r.outcome, "white")] * len(cell))
    ax = fig.add_axes((x0 / 297, 40 / 210, 172 / 297, 138 / 210))
    ax.axis("off")
    if not rows:
        return
    widths = [0.09, 0.27, 0.07, 0.09, 0.1, 0.07, 0.07] + ([0.09, 0.15] if with_truth else [])
    t = ax.table(cellText=cells, colLabels=labels, cellColours=colours, loc="upper left",
                 colWidths=[w / sum(widths) for w in widths], cellLoc="left")
    _style_table(t, 6.8, 5.0, 138)


def _attention_page(recording: Recording, attention: AttentionMaps | None) -> Figure:
    fig = _page()
    _text(fig, 15, 200, "Where the model looked: attention strip", fontsize=11, weight="bold", va="top")
    _text(fig, 15, 194, record_title(recording), fontsize=8, va="top")
    if attention is None:
        _text(fig, 15, 180, "This network has no attention maps.", fontsize=9, va="top")
        return fig
    lead = "II"
    duration = min(10.0, recording.duration)
    times, hr, lr = attention_on_grid(attention, 0.0, duration)
    # The rhythm lead at 25 mm/s and 10 mm/mV on a 250 x 40 mm strip (true scale), tinted by both branches.
    width_mm, height_mm = 25.0 * duration, 40.0
    ax = fig.add_axes((15 / 297, 140 / 210, width_mm / 297, height_mm / 210))
    signal = recording.signal[LEADS.index(lead), : int(round(duration * recording.fs))]
    mv = signal - np.median(signal)
    x = np.arange(mv.size) / recording.fs * 25.0
    _paper(ax, width_mm, height_mm)
    extent_hr = (0, width_mm, 0, height_mm / 2)
    ax.imshow(_rgba(hr, HR_COLOUR, 0.55), extent=(0, width_mm, height_mm / 2, height_mm), aspect="auto",
              interpolation="nearest", zorder=1)
    ax.imshow(_rgba(lr, LR_COLOUR, 0.55), extent=extent_hr, aspect="auto", interpolation="nearest", zorder=1)
    ax.plot(x, np.clip(height_mm / 2 + mv * 10.0, 0, height_mm), color=TRACE_COLOUR, lw=0.7, zorder=3)
    ax.set_xlim(0, width_mm)
    ax.set_ylim(0, height_mm)
    ax.text(1, height_mm - 1, f"{lead}  (upper half: HR attention, lower half: LR attention)", fontsize=7,
            va="top", zorder=4)

    # Both maps over time, each scaled to its own range on the record.
    ax2 = fig.add_axes((15 / 297, 80 / 210, width_mm / 297, 45 / 210))
    ax2.plot(times, hr, color=HR_COLOUR, lw=1.2, label="HR (high-resolution branch)")
    ax2.plot(times, lr, color=LR_COLOUR, lw=1.2, label="LR (low-resolution branch)")
    ax2.fill_between(times, hr, lr, color="#999999", alpha=0.25, lw=0, label="difference")
    ax2.set_xlim(0, duration)
    ax2.set_ylim(-0.02, 1.02)
    ax2.set_xlabel("time (s)", fontsize=7)
    ax2.set_ylabel("attention (scaled)", fontsize=7)
    ax2.tick_params(labelsize=6.5)
    ax2.legend(fontsize=6.5, loc="upper right", ncols=3, frameon=False)
    for side in ("top", "right"):
        ax2.spines[side].set_visible(False)

    agreement = attention_agreement(attention)
    lines = [
        f"The two branches {agreement.verdict}: correlation {agreement.correlation:.2f}, overlap of their top "
        f"{agreement.share:.0%} stretches {agreement.overlap:.2f} (Jaccard), mean gap {agreement.mean_gap:.2f}.",
        "MRM-Net's temporal attention is one value per time step shared by the 12 leads; each branch is scaled to "
        "its own range on this record, and the tint grows with its square so that the peaks stand out.",
        "Attention shows where a branch looked, not why it decided.",
    ]
    for i, line in enumerate(lines):
        _text(fig, 15, 68 - 5 * i, line, fontsize=7.5, va="top")
    return fig


def _rgba(values: np.ndarray, colour: str, alpha: float) -> np.ndarray:
    r, g, b = (int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5))
    image = np.zeros((1, values.size, 4))
    image[..., 0], image[..., 1], image[..., 2] = r, g, b
    image[..., 3] = np.clip(values, 0, 1) ** OVERLAY_GAMMA * alpha
    return image


def _paper(ax, width_mm: float, height_mm: float) -> None:
    ax.set_facecolor(PAPER_BACKGROUND)
    ax.set_xticks(np.arange(0, width_mm + 0.1, 5.0))
    ax.set_yticks(np.arange(0, height_mm + 0.1, 5.0))
    ax.set_xticks(np.arange(0, width_mm + 0.1, 1.0), minor=True)
    ax.set_yticks(np.arange(0, height_mm + 0.1, 1.0), minor=True)
    ax.grid(which="major", color=GRID_MAJOR, lw=0.5, zorder=0)
    ax.grid(which="minor", color=GRID_MINOR, lw=0.25, zorder=0)
    ax.set_axisbelow(True)
    ax.tick_params(which="both", length=0, labelbottom=False, labelleft=False)
    for spine in ax.spines.values():
        spine.set_visible(False)


def _style_table(table, fontsize: float, row_mm: float, axes_mm: float) -> None:
    table.auto_set_font_size(False)
    table.set_fontsize(fontsize)
    for (row, _), cell in table.get_celld().items():
        cell.set_height(row_mm / axes_mm)
        cell.set_linewidth(0.3)
        cell.set_edgecolor("#bbbbbb")
        if row == 0:
            cell.set_text_props(weight="bold")
            cell.set_facecolor("#f2f2f2")


def _shorten(text: str, n: int) -> str:
    text = str(text)
    return text if len(text) <= n else text[: n - 3].rstrip() + "..."


def report_file_name(recording: Recording, task: str, extension: str = "pdf") -> str:
    """A file name for a record's exports, e.g. ``mrm_ptbxl_00017_superdiagnostic.pdf``.

    Examples
    --------
    >>> report_file_name(Recording(np.zeros((12, 10), np.float32), 100.0, "00017", "ptbxl"), "rhythm")
    'mrm_ptbxl_00017_rhythm.pdf'
    """
    stem = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in f"{recording.dataset}_{recording.record_id}")
    return f"mrm_{stem}_{task}.{extension}"


