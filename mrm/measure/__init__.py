"""ECG interval measurements on the record's own sampling rate: beats, median beat, delineation, intervals.

>>> from mrm.measure import measure_ecg  # measure_ecg(recording) -> Measurements
"""

from mrm.measure.delineate import Delineation, LeadDelineation, Settings
from mrm.measure.intervals import (
    MEASURED,
    NOT_APPLICABLE,
    NOT_MEASURABLE,
    Fiducials,
    Measurement,
    Measurements,
    measure_ecg,
)

__all__ = [
    "MEASURED",
    "NOT_APPLICABLE",
    "NOT_MEASURABLE",
    "Delineation",
    "Fiducials",
    "LeadDelineation",
    "Measurement",
    "Measurements",
    "Settings",
    "measure_ecg",
]
