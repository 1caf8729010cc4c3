"""Plot builders for the dashboard and the report (plotly and matplotlib; no Streamlit here)."""

from mrm.viz.calipers import Caliper, Calipers, Span
from mrm.viz.paper import Band, Marker, PaperGeometry, paper_3x4, paper_rows
from mrm.viz.paper_matplotlib import ecg_paper_matplotlib
from mrm.viz.twelve_lead import ecg_compare_figure, ecg_figure, paper_axes, paper_layout

__all__ = [
    "Band",
    "Caliper",
    "Calipers",
    "Marker",
    "PaperGeometry",
    "Span",
    "ecg_compare_figure",
    "ecg_figure",
    "ecg_paper_matplotlib",
    "paper_3x4",
    "paper_axes",
    "paper_layout",
    "paper_rows",
]
