"""Readers, validation, datasets and preprocessing: everything that turns files into Recordings."""

from mrm.data.cpsc2018 import load_cpsc2018
from mrm.data.labels import SPLITS, TaskLabels
from mrm.data.ptbxl import load_ptbxl
from mrm.data.readers import read_ecg, read_folder, read_wfdb
from mrm.data.recording import LEADS, Recording, lead_canonical

__all__ = [
    "LEADS",
    "SPLITS",
    "Recording",
    "TaskLabels",
    "lead_canonical",
    "load_cpsc2018",
    "load_ptbxl",
    "read_ecg",
    "read_folder",
    "read_wfdb",
]
