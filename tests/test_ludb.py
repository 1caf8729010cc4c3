"""LUDB reader: signals as wfdb reads them, marks paired per wave, reference intervals by the global rule."""

from __future__ import annotations

import numpy as np
import pytest
import wfdb

from mrm.data.ludb import (
    LudbAnnotations,
    Wave,
    _pair_marks,
    ludb_records,
    read_ludb_record,
    reference_intervals,
)
from mrm.data.recording import LEADS
from mrm.errors import ECGInputError


def test_record_1_signal_metadata_and_marks(ludb_dir):
    rec, ann = read_ludb_record(ludb_dir / "data" / "1.hea")
    raw = wfdb.rdrecord(str(ludb_dir / "data" / "1"))
    assert rec.signal.shape == (12, 5000) and rec.fs == 500.0 and rec.dataset == "ludb" and rec.record_id == "1"
    # Leads come back in standard order by name: LUDB's "avr" is the 4th channel of the file.
    assert raw.sig_name[3] == "avr"
    np.testing.assert_allclose(rec.lead("aVR"), raw.p_signal[:, 3], atol=1e-6)
    assert (rec.age, rec.sex) == (51.0, "F")
    assert ann.rhythm == "Sinus bradycardia"
    assert "Left ventricular hypertrophy" in ann.diagnoses
    # The first marks of lead II: ( 644, N 662, ) 682, then T ( 776 t 843 ) 878 (read with wfdb.rdann above).
    first = ann.waves["II"][:2]
    assert first == [Wave("QRS", 662, 644, 682), Wave("T", 843, 776, 878)]
    assert set(ann.waves) == set(LEADS)


def test_marks_are_paired_per_wave_when_an_onset_or_offset_is_missing():
    symbols = ["N", ")", "(", "t", "(", "p", ")", "(", "N"]
    samples = np.array([10, 20, 100, 150, 300, 320, 340, 380, 400])
    waves = _pair_marks(symbols, samples)
    assert waves == [
        Wave("QRS", 10, None, 20),
        Wave("T", 150, 100, None),
        Wave("P", 320, 300, 340),
        Wave("QRS", 400, 380, None),
    ]


def test_reference_takes_the_earliest_onset_and_latest_offset_over_the_leads(ludb_dir):
    _, ann = read_ludb_record(ludb_dir / "data" / "1")
    # Recompute QRS and PR independently from the raw annotation files: for each QRS of lead II, the marks of
    # all leads within 75 ms of its peak.
    marks = {lead: wfdb.rdann(str(ludb_dir / "data" / "1"), lead.lower()) for lead in LEADS}
    durations, prs = [], []
    for peak in ann.waves["II"]:
        if peak.kind != "QRS":
            continue
        onsets, offsets, p_onsets = [], [], []
        for a in marks.values():
            s, sym = np.asarray(a.sample), a.symbol
            for k, symbol in enumerate(sym):
                if symbol == "N" and abs(s[k] - peak.peak) < 38:
                    if k > 0 and sym[k - 1] == "(":
                        onsets.append(s[k - 1])
                    if k + 1 < len(sym) and sym[k + 1] == ")":
                        offsets.append(s[k + 1])
                    # the P wave before it: "( p )" right before "( N"
                    if k >= 4 and sym[k - 3] == "p" and sym[k - 4] == "(":
                        p_onsets.append(s[k - 4])
        if len(onsets) >= 6 and offsets:
            durations.append((max(offsets) - min(onsets)) * 2)
            if p_onsets:
                prs.append((min(onsets) - min(p_onsets)) * 2)
    ref = reference_intervals(ann)
    assert ref.qrs == pytest.approx(np.median(durations)) and ref.qrs == 115.0
    assert ref.pr == pytest.approx(np.median(prs)) and ref.pr == 142.0
    assert ref.has_p_waves and ref.n_beats == 6


def test_synthetic_marks_global_rule_and_no_p_wave():
    # Lead i marks its QRS from 95 - i to 140 + i and its T wave ending at 300 + 2 i: the global QRS runs from
    # the earliest onset (84) to the latest offset (151), the QT to the latest T end (322).
    waves = {
        lead: [Wave("QRS", 120, 95 - i, 140 + i), Wave("T", 250, 200, 300 + 2 * i)] for i, lead in enumerate(LEADS)
    }
    ref = reference_intervals(LudbAnnotations(waves, fs=1000.0))
    assert (ref.qrs, ref.qt, ref.pr, ref.has_p_waves) == (67.0, 238.0, None, False)


def test_the_experts_marked_no_p_wave_in_the_15_af_flutter_and_paced_records(ludb_dir):
    no_p = []
    for path in ludb_records(ludb_dir):
        rec, ann = read_ludb_record(path)
        if not ann.has_p_waves:
            no_p.append((int(path.name), ann.rhythm))
    assert [r for r, _ in no_p] == [8, 34, 35, 38, 44, 45, 51, 52, 74, 83, 88, 90, 93, 95, 96]
    assert sum(rhythm == "Atrial fibrillation" for _, rhythm in no_p) == 9


def test_folders_and_missing_records(ludb_dir, tmp_path):
    assert len(ludb_records(ludb_dir)) == len(ludb_records(ludb_dir / "data")) == 100
    assert ludb_records(ludb_dir)[:3] == [ludb_dir / "data" / name for name in ("1", "2", "3")]
    with pytest.raises(ECGInputError, match="no LUDB records"):
        ludb_records(tmp_path)
    with pytest.raises(ECGInputError, match="no LUDB header 999.hea"):
        read_ludb_record(ludb_dir / "data" / "999")
