"""The PDF report of a record (matplotlib only): tracing, measurements, predictions with thresholds, attention."""

from mrm.report.pdf import DISCLAIMER, build_report, latin1, report_file_name

__all__ = ["DISCLAIMER", "build_report", "latin1", "report_file_name"]
