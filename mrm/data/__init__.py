"""Readers, validation, datasets and preprocessing: everything that turns files into Recordings."""

from mrm.data.recording import LEADS, Recording, lead_canonical

__all__ = ["LEADS", "Recording", "lead_canonical"]
