"""LUDB (Lobachevsky University Electrocardiography Database): signals and the cardiologists' wave annotations.

LUDB is the reference for our interval measurements: every P, QRS and T wave of every lead carries an onset
``(``, a peak (``p``, ``N``, ``t``) and an offset ``)``, placed by cardiologists. Annotation files are named after
the lead (``1.ii``, ``1.avr``, ...). Marks exist only between roughly the first and last full beats, and onset or
offset marks are sometimes missing, so marks are paired per wave rather than read as triples.

The global reference intervals follow the rule of analysing electrocardiographs: for each beat, the earliest
onset and the latest offset over the 12 leads; the record's value is the median over its beats.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import wfdb

from mrm.data.readers import read_wfdb
from mrm.data.recording import LEADS, Recording
from mrm.errors import ECGInputError

#: LUDB's peak symbols and the wave each one marks.
WAVE_SYMBOLS = {"p": "P", "N": "QRS", "t": "T"}

# Marks of one wave across leads lie within a few tens of ms; beats lie at least ~250 ms apart.
_SAME_WAVE_S = 0.15
# A beat counts when at least this many leads annotate its QRS (the record edges are annotated in few leads).
_MIN_LEADS = 6


@dataclass(frozen=True)
class Wave:
    """One annotated wave in one lead, in samples; onset or offset is None where the expert left it out."""

    kind: str
    peak: int
    onset: int | None
    offset: int | None


@dataclass
class LudbAnnotations:
    """The experts' annotations of one LUDB record.

    Attributes
    ----------
    waves:
        Lead (standard spelling, e.g. ``"aVR"``) -> its annotated waves in time order.
    fs:
        Sampling rate of the sample indices (500 Hz).
    rhythm:
        The rhythm statement of the header (e.g. ``"Sinus rhythm"``), or None.
    diagnoses:
        The header's diagnosis lines, as written.
    """

    waves: dict[str, list[Wave]]
    fs: float
    rhythm: str | None = None
    diagnoses: list[str] = field(default_factory=list)

    @property
    def has_p_waves(self) -> bool:
        """True when the experts marked at least one P wave in any lead."""
        return any(w.kind == "P" for waves in self.waves.values() for w in waves)


@dataclass(frozen=True)
class ReferenceIntervals:
    """Global intervals built from the experts' marks, in ms (None where the record has none).

    ``pr`` is None when no P wave is marked (the reference says "not applicable").
    """

    pr: float | None
    qrs: float | None
    qt: float | None
    n_beats: int
    has_p_waves: bool


def read_ludb_record(path: str | Path) -> tuple[Recording, LudbAnnotations]:
    """Read one LUDB record (signal in mV, leads in standard order) and its per-lead expert annotations.

    Parameters
    ----------
    path:
        The record's header, data file or bare name, e.g. ``ludb/data/1``, ``ludb/data/1.hea``.

    Returns
    -------
    recording, annotations

    Examples
    --------
    >>> rec, ann = read_ludb_record("../shared/data/ludb/data/1")  # doctest: +SKIP
    >>> rec.fs, rec.signal.shape, ann.rhythm, ann.waves["II"][0].kind  # doctest: +SKIP
    (500.0, (12, 5000), 'Sinus bradycardia', 'QRS')
    """
    path = Path(path)
    base = path.with_suffix("") if path.suffix in {".hea", ".dat"} else path
    if not base.with_suffix(".hea").exists():
        raise ECGInputError(f"{base}: no LUDB header {base.name}.hea found; give the path of a record of ludb/data.")
    recording = replace(read_wfdb(base.with_suffix(".hea")), dataset="ludb", source=str(base))
    rhythm, diagnoses = _parse_comments(wfdb.rdheader(str(base)).comments)
    waves = {lead: _read_lead(base, lead) for lead in LEADS}
    return recording, LudbAnnotations(waves=waves, fs=recording.fs, rhythm=rhythm, diagnoses=diagnoses)


def ludb_records(folder: str | Path) -> list[Path]:
    """The records of a LUDB folder (its root or its ``data`` folder), sorted by number.

    Examples
    --------
    >>> ludb_records("/nonexistent")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    mrm.errors.ECGInputError: /nonexistent: no LUDB records (N.hea with N.ii) found here or in its data folder; ...
    """
    folder = Path(folder)
    data = folder / "data" if (folder / "data").is_dir() else folder
    heads = [p.with_suffix("") for p in data.glob("*.hea") if p.with_suffix(".ii").exists()]
    if not heads:
        raise ECGInputError(
            f"{folder}: no LUDB records (N.hea with N.ii) found here or in its data folder; give the LUDB root."
        )
    return sorted(heads, key=lambda p: (len(p.name), p.name))


def reference_intervals(annotations: LudbAnnotations) -> ReferenceIntervals:
    """Global PR, QRS and QT from the experts' marks: per beat, earliest onset and latest offset over the leads.

    Beats are the QRS complexes marked in at least 6 leads. A beat's P wave is the last one whose marks end
    before its QRS onset (after the previous QRS); its T wave the first one after its QRS. The record's value
    is the median over beats, in ms.

    Examples
    --------
    >>> qrs = {lead: [Wave("QRS", 100, 95 - i, 140 + i)] for i, lead in enumerate(LEADS)}
    >>> reference_intervals(LudbAnnotations(qrs, fs=500.0)).qrs  # from 95 - 11 to 140 + 11 samples
    134.0
    """
    beats = _group(annotations, "QRS", min_leads=_MIN_LEADS)
    p_waves = _group(annotations, "P", min_leads=1)
    t_waves = _group(annotations, "T", min_leads=1)
    to_ms = 1000.0 / annotations.fs
    pr, qrs, qt = [], [], []
    for i, beat in enumerate(beats):
        if beat.onset is None:
            continue
        previous_end = beats[i - 1].peak if i > 0 else -np.inf
        next_start = beats[i + 1].peak if i + 1 < len(beats) else np.inf
        if beat.offset is not None:
            qrs.append((beat.offset - beat.onset) * to_ms)
        before = [p for p in p_waves if previous_end < p.peak < beat.onset and p.onset is not None]
        if before:
            pr.append((beat.onset - before[-1].onset) * to_ms)
        after = [t for t in t_waves if beat.peak < t.peak < next_start and t.offset is not None]
        if after:
            qt.append((after[0].offset - beat.onset) * to_ms)

    def median(values: list[float]) -> float | None:
        return float(np.median(values)) if values else None

    return ReferenceIntervals(
        pr=median(pr), qrs=median(qrs), qt=median(qt), n_beats=len(beats), has_p_waves=annotations.has_p_waves
    )


def _read_lead(base: Path, lead: str) -> list[Wave]:
    extension = lead.lower()
    if not base.with_suffix(f".{extension}").exists():
        return []
    ann = wfdb.rdann(str(base), extension)
    return _pair_marks(list(ann.symbol), np.asarray(ann.sample, dtype=np.int64))


def _pair_marks(symbols: list[str], samples: np.ndarray) -> list[Wave]:
    """Pair each peak mark with the onset just before it and the offset just after it, if they belong to it."""
    waves = []
    peaks = [i for i, s in enumerate(symbols) if s in WAVE_SYMBOLS]
    for k, i in enumerate(peaks):
        lower = peaks[k - 1] if k > 0 else -1
        upper = peaks[k + 1] if k + 1 < len(peaks) else len(symbols)
        onset = next((samples[j] for j in range(i - 1, lower, -1) if symbols[j] == "("), None)
        offset = next((samples[j] for j in range(i + 1, upper) if symbols[j] == ")"), None)
        waves.append(
            Wave(
                kind=WAVE_SYMBOLS[symbols[i]],
                peak=int(samples[i]),
                onset=None if onset is None else int(onset),
                offset=None if offset is None else int(offset),
            )
        )
    return waves


def _group(annotations: LudbAnnotations, kind: str, min_leads: int) -> list[Wave]:
    """Merge the marks of one wave across leads: median peak, earliest onset, latest offset."""
    marks = sorted((w for waves in annotations.waves.values() for w in waves if w.kind == kind), key=lambda w: w.peak)
    gap = _SAME_WAVE_S * annotations.fs
    groups: list[list[Wave]] = []
    for wave in marks:
        if groups and wave.peak - groups[-1][0].peak < gap:
            groups[-1].append(wave)
        else:
            groups.append([wave])
    merged = []
    for group in groups:
        if len(group) < min_leads:
            continue
        onsets = [w.onset for w in group if w.onset is not None]
        offsets = [w.offset for w in group if w.offset is not None]
        merged.append(
            Wave(
                kind=kind,
                peak=int(np.median([w.peak for w in group])),
                onset=min(onsets) if onsets else None,
                offset=max(offsets) if offsets else None,
            )
        )
    return merged


def _parse_comments(comments: list[str]) -> tuple[str | None, list[str]]:
    rhythm = None
    diagnoses = []
    in_diagnoses = False
    for line in comments:
        text = line.strip()
        if text.startswith("<diagnoses>"):
            in_diagnoses = True
            continue
        if not in_diagnoses or not text:
            continue
        text = text.rstrip(". ")
        if text.startswith("Rhythm:"):
            rhythm = text.split(":", 1)[1].strip().rstrip(".")
        diagnoses.append(text)
    return rhythm, diagnoses
