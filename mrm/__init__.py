"""MRM-ECG: multi-resolution mutual learning for multi-label 12-lead ECG diagnosis."""

__version__ = "0.1.0"
