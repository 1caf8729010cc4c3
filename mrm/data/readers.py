"""Read ECG files (WFDB, CPSC2018 MATLAB, CSV, NumPy) into validated :class:`~mrm.data.recording.Recording`.

Every reader takes leads by name (never by position, except for ``.npy`` where the caller names the rows),
converts to millivolts, validates with :func:`~mrm.data.validate.validate_signal`, and turns anything that goes
wrong into one :class:`~mrm.errors.ECGInputError` sentence naming the file. Files are read, never rewritten.
"""

from __future__ import annotations

import contextlib
import csv
import io
import re
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.io
import wfdb
from wfdb.io._signal import BYTES_PER_SAMPLE, _required_byte_num

from mrm.data.recording import LEADS, Recording, lead_canonical, leads_to_standard
from mrm.data.validate import DEFAULT_MAX_BYTES, check_file_size, validate_signal
from mrm.errors import ECGInputError

__all__ = [
    "ACCEPTED_EXTENSIONS",
    "read_cpsc_mat",
    "read_csv",
    "read_ecg",
    "read_folder",
    "read_npy",
    "read_wfdb",
    "read_wfdb_bytes",
]

#: File name endings :func:`read_ecg` accepts (a bare WFDB record name, without extension, works too).
ACCEPTED_EXTENSIONS = (".hea", ".dat", ".mat", ".csv", ".npy")
_WFDB_EXTENSIONS = (".hea", ".dat", ".mat")
_TO_MV = {"mv": 1.0, "millivolt": 1.0, "millivolts": 1.0, "uv": 1e-3, "microvolt": 1e-3, "microvolts": 1e-3,
          "v": 1e3, "volt": 1e3, "volts": 1e3}
_TIME_COLUMNS = {"t", "time", "time_s", "time (s)", "time[s]", "seconds", "sec", "s",
                 "time_ms", "time (ms)", "time[ms]", "ms"}
_COMMENT = re.compile(r"^\s*<?(age|sex)>?\s*:\s*(.*?)\s*$", re.IGNORECASE)
# CPSC2018's own files are 500 Hz, leads in this order, no header (the challenge's description).
_CPSC_FS = 500.0


def read_wfdb(path: str | Path) -> Recording:
    """Read a WFDB record (``x.hea`` + its signal files) in physical units, converted to mV.

    Accepts the header, a signal file or the bare record name (``x.hea``, ``x.dat``, ``x.mat``, ``x``), any
    sampling rate, lead names in any case, and the PhysioNet/CinC ``.hea`` + ``.mat`` form (format
    ``16+24``). Channels that are not standard leads (Frank vx, vy, vz) are dropped with a warning; age and sex
    come from header comments (``#Age: 74``, ``#Sex: Male``). Signal files whose size disagrees with the
    header raise :class:`ECGInputError` ("corrupt or truncated file").

    Parameters
    ----------
    path : str or Path
        The record's header, a signal file of it, or its name without extension.

    Returns
    -------
    Recording
        ``dataset="file"``, ``record_id`` the record name, ``source`` the file name given.

    Examples
    --------
    >>> import tempfile, wfdb
    >>> tmp = tempfile.TemporaryDirectory()
    >>> folder = tmp.name
    >>> t = np.arange(5000) / 500
    >>> leads = np.column_stack([np.sin(2 * np.pi * 1.2 * t) * (1 + i / 12) for i in range(12)])
    >>> wfdb.wrsamp("demo", fs=500, units=["mV"] * 12, sig_name=[n.upper() for n in LEADS],
    ...             p_signal=leads, fmt=["16"] * 12, write_dir=folder)
    >>> rec = read_wfdb(Path(folder) / "demo.hea")
    >>> rec.signal.shape, rec.fs, rec.record_id, bool(np.allclose(rec.lead("aVR"), leads[:, 3], atol=1e-3))
    ((12, 5000), 500.0, 'demo', True)
    """
    path = Path(path)
    record = path.with_suffix("") if path.suffix.lower() in _WFDB_EXTENSIONS else path
    with _boundary(path.name, "WFDB"):
        return _read_wfdb_record(record, source=path.name, dataset="file")


def read_wfdb_bytes(files: Mapping[str, bytes], *, max_bytes: int = DEFAULT_MAX_BYTES) -> Recording:
    """Read an uploaded WFDB record: its header and signal file(s) as ``{file name: bytes}``.

    The files are written to a private temporary folder, read there with :func:`read_wfdb`, and deleted.

    Parameters
    ----------
    files : Mapping[str, bytes]
        One ``.hea`` header and the signal files it names (e.g. ``{"x.hea": ..., "x.dat": ...}``);
        directories in the names are ignored.
    max_bytes : int
        Largest accepted total size of the files.

    Returns
    -------
    Recording
        ``dataset="upload"``.

    Examples
    --------
    >>> import tempfile, wfdb
    >>> tmp = tempfile.TemporaryDirectory()
    >>> folder = Path(tmp.name)
    >>> t = np.arange(5000) / 500
    >>> leads = np.column_stack([np.sin(2 * np.pi * 1.2 * t) * (1 + i / 12) for i in range(12)])
    >>> wfdb.wrsamp("demo", fs=500, units=["mV"] * 12, sig_name=list(LEADS), p_signal=leads,
    ...             fmt=["16"] * 12, write_dir=str(folder))
    >>> rec = read_wfdb_bytes({p.name: p.read_bytes() for p in folder.iterdir()})
    >>> rec.dataset, rec.source, rec.duration
    ('upload', 'demo.hea', 10.0)
    >>> read_wfdb_bytes({"demo.dat": (folder / "demo.dat").read_bytes()})
    Traceback (most recent call last):
    ...
    mrm.errors.ECGInputError: demo.dat: no WFDB header (.hea) was uploaded with it; add the record's header \
file (e.g. demo.hea).
    """
    # Keep base names only (browsers send them, but a name must never point outside the temporary folder).
    named = {_base_name(name): bytes(data) for name, data in files.items()}
    named.pop("", None)
    listing = ", ".join(named) or "the upload"
    check_file_size(sum(len(data) for data in named.values()), listing, max_bytes)
    headers = [name for name in named if name.lower().endswith(".hea")]
    if not headers:
        stem = Path(next(iter(named), "record")).stem
        raise ECGInputError(
            f"{listing}: no WFDB header (.hea) was uploaded with it; add the record's header file (e.g. {stem}.hea)."
        )
    if len(headers) > 1:
        raise ECGInputError(f"{listing}: {len(headers)} WFDB headers were uploaded; upload one record at a time.")
    source = headers[0]
    with _boundary(source, "WFDB"), tempfile.TemporaryDirectory(prefix="mrm-upload-") as folder:
        for name, data in named.items():
            target = name[:-4] + ".hea" if name == source else name  # wfdb wants a lower-case extension
            (Path(folder) / target).write_bytes(data)
        return _read_wfdb_record(Path(folder) / source[:-4], source=source, dataset="upload")


def read_cpsc_mat(path_or_bytes: str | Path | bytes, name: str | None = None) -> Recording:
    """Read a CPSC2018 record in its original form: a MATLAB struct ``ECG`` with ``sex``, ``age`` and ``data``.

    ``data`` is 12 x n at 500 Hz in mV, leads I, II, III, aVR, aVL, aVF, V1-V6. A ``.mat`` path with a
    ``.hea`` beside it is the PhysioNet/CinC WFDB form and is read with :func:`read_wfdb` instead.

    Parameters
    ----------
    path_or_bytes : str, Path or bytes
        The file, or its content (an upload).
    name : str, optional
        File name of uploaded bytes (used for ``record_id`` and messages).

    Returns
    -------
    Recording
        fs 500 Hz, ``age`` and ``sex`` (``"M"``/``"F"``) from the struct.

    Examples
    --------
    >>> t = np.arange(5000) / 500
    >>> data = np.vstack([np.sin(2 * np.pi * 1.2 * t) * (1 + i / 12) for i in range(12)])
    >>> buffer = io.BytesIO()
    >>> scipy.io.savemat(buffer, {"ECG": {"sex": "Female", "age": 61, "data": data}})
    >>> rec = read_cpsc_mat(buffer.getvalue(), name="A9999.mat")
    >>> rec.record_id, rec.fs, rec.age, rec.sex, rec.signal.shape
    ('A9999', 500.0, 61.0, 'F', (12, 5000))
    """
    source, dataset = _source(path_or_bytes, name, "upload.mat")
    if not isinstance(path_or_bytes, bytes) and _header_beside(Path(path_or_bytes)).exists():
        return read_wfdb(path_or_bytes)
    with _boundary(source, "CPSC2018 MATLAB"):
        content = io.BytesIO(path_or_bytes) if isinstance(path_or_bytes, bytes) else str(path_or_bytes)
        try:
            mat = scipy.io.loadmat(content, squeeze_me=True, struct_as_record=False)
        except NotImplementedError as err:  # scipy reads MATLAB files up to v7, not the HDF5-based v7.3
            raise ECGInputError(
                f"{source}: MATLAB v7.3 files are not supported; save the record with MATLAB's -v7 option."
            ) from err
        except Exception as err:
            raise ECGInputError(
                f"{source}: corrupt or not a MATLAB file ({_brief(err)}); export the record again as a .mat file."
            ) from err
        if "ECG" not in mat:
            variables = ", ".join(k for k in mat if not k.startswith("__")) or "none"
            if "val" in mat:
                raise ECGInputError(
                    f"{source}: this is the WFDB form of a record (a 'val' matrix without units or lead names); "
                    f"add its .hea header ({Path(source).stem}.hea) next to it or to the upload."
                )
            raise ECGInputError(
                f"{source}: no ECG struct in this MATLAB file (variables: {variables}); expected the CPSC2018 form "
                "with ECG.data (12 x n, mV, 500 Hz), ECG.age and ECG.sex."
            )
        ecg = mat["ECG"]
        data = np.asarray(getattr(ecg, "data", None), dtype=np.float64)
        if data.ndim != 2 or data.shape[0] != len(LEADS):
            raise ECGInputError(
                f"{source}: ECG.data has shape {data.shape}, not 12 x n_samples; expected the 12 leads of CPSC2018 "
                "as rows."
            )
        rec = _build(data, list(LEADS), _CPSC_FS, source, dataset)
        rec.age = _age(getattr(ecg, "age", None))
        rec.sex = _sex(getattr(ecg, "sex", None))
        return rec


def read_csv(
    path_or_bytes: str | Path | bytes, fs: float, name: str | None = None, units: str = "mV"
) -> Recording:
    """Read a CSV with one column per lead, named in the header row (any case; extra columns dropped).

    A ``time``/``t`` column, when present, must step by ``1 / fs`` (seconds) or ``1000 / fs`` (milliseconds).

    Parameters
    ----------
    path_or_bytes : str, Path or bytes
        The file, or its content (an upload).
    fs : float
        Sampling rate in Hz; CSV files do not carry it.
    name : str, optional
        File name of uploaded bytes.
    units : str
        Units of the values: ``"mV"``, ``"uV"`` (``"µV"``) or ``"V"``.

    Returns
    -------
    Recording

    Examples
    --------
    >>> t = np.arange(5000) / 500
    >>> table = pd.DataFrame({lead: np.sin(2 * np.pi * 1.2 * t) * (1 + i / 12) for i, lead in enumerate(LEADS)})
    >>> text = table.assign(time=t).to_csv(index=False).encode()
    >>> rec = read_csv(text, fs=500, name="export.csv")
    >>> rec.signal.shape, rec.warnings
    ((12, 5000), ['export.csv: dropped 1 channel that is not one of the 12 standard leads: time.'])
    """
    source, dataset = _source(path_or_bytes, name, "upload.csv")
    fs = _require_fs(fs, source)
    scale = _units_to_mv(units, source)
    with _boundary(source, "CSV"):
        table = _read_table(path_or_bytes, source)
        names = [str(c).strip() for c in table.columns]
        # pandas renames a repeated value "-0.035" to "-0.035.1", hence the second try
        numeric = sum(_is_number(n) or _is_number(n.rsplit(".", 1)[0]) for n in names)
        if not any(lead_canonical(n) for n in names) and numeric > len(names) / 2:
            raise ECGInputError(
                f"{source}: the first row holds numbers, not lead names; add a header row naming the columns "
                "I, II, III, aVR, aVL, aVF, V1-V6."
            )
        columns = []
        for column, label in zip(table.columns, names, strict=True):
            values = pd.to_numeric(table[column], errors="coerce")
            text = table[column].notna() & values.isna()
            if lead_canonical(label) and text.any():
                row = int(np.flatnonzero(text.to_numpy())[0]) + 2  # 1-based, after the header row
                raise ECGInputError(
                    f"{source}: column {label} holds text ({table[column][text].iloc[0]!r} in row {row}); keep "
                    "only numbers in the lead columns."
                )
            columns.append(values.to_numpy(dtype=np.float64))
            if label.lower() in _TIME_COLUMNS and lead_canonical(label) is None:
                _check_time_column(columns[-1], fs, source)
        return _build(np.vstack(columns) * scale, names, fs, source, dataset)


def read_npy(
    path_or_bytes: str | Path | bytes,
    fs: float,
    name: str | None = None,
    leads: Sequence[str] = LEADS,
    units: str = "mV",
) -> Recording:
    """Read a NumPy ``.npy`` array of shape (12, n) or (n, 12), rows (or columns) named by ``leads``.

    Loaded with ``allow_pickle=False``: arrays of Python objects are refused, never unpickled.

    Parameters
    ----------
    path_or_bytes : str, Path or bytes
        The file, or its content (an upload).
    fs : float
        Sampling rate in Hz.
    name : str, optional
        File name of uploaded bytes.
    leads : sequence of str
        Lead name of each row, in order (default: the standard order I ... V6).
    units : str
        Units of the values: ``"mV"``, ``"uV"`` (``"µV"``) or ``"V"``.

    Returns
    -------
    Recording

    Examples
    --------
    >>> t = np.arange(5000) / 500
    >>> data = np.column_stack([np.sin(2 * np.pi * 1.2 * t) * (1 + i / 12) for i in range(12)])
    >>> buffer = io.BytesIO()
    >>> np.save(buffer, data * 1000)
    >>> rec = read_npy(buffer.getvalue(), fs=500, name="ecg.npy", units="uV")
    >>> rec.signal.shape, round(float(rec.signal.max()), 3)
    ((12, 5000), 1.917)
    """
    source, dataset = _source(path_or_bytes, name, "upload.npy")
    fs = _require_fs(fs, source)
    scale = _units_to_mv(units, source)
    with _boundary(source, "NumPy .npy"):
        raw = path_or_bytes if isinstance(path_or_bytes, bytes) else Path(path_or_bytes).read_bytes()
        # np.load treats anything without the .npy magic as a pickle; tell real pickles from other junk.
        if raw[:1] == b"\x80" or not raw.startswith((b"\x93NUMPY", b"PK")):
            what = "a Python pickle, which is not loaded for safety" if raw[:1] == b"\x80" else "not a NumPy .npy file"
            raise ECGInputError(f"{source}: {what}; save the signal as a numeric array with numpy.save.")
        try:
            array = np.load(io.BytesIO(raw), allow_pickle=False)
        except ValueError as err:
            if "pickle" in str(err):
                raise ECGInputError(
                    f"{source}: the array holds Python objects (a pickle), which are not loaded for safety; save a "
                    "plain numeric array with numpy.save."
                ) from err
            raise ECGInputError(
                f"{source}: corrupt or truncated .npy file ({_brief(err)}); save the signal again with numpy.save."
            ) from err
        if not isinstance(array, np.ndarray):
            raise ECGInputError(f"{source}: this is an .npz archive, not one array; save the signal with numpy.save.")
        if array.dtype.kind not in "iuf":
            raise ECGInputError(
                f"{source}: the array has dtype {array.dtype}, not numbers; save the signal as a float array."
            )
        names = [str(n) for n in leads]
        if array.ndim == 2 and array.shape[0] != len(names) and array.shape[1] == len(names):
            array = array.T
        if array.ndim != 2 or array.shape[0] != len(names):
            raise ECGInputError(
                f"{source}: the array has shape {array.shape}; expected ({len(names)}, n_samples) or "
                f"(n_samples, {len(names)}), one row or column per lead."
            )
        return _build(array.astype(np.float64) * scale, names, fs, source, dataset)


def read_ecg(
    source: str | Path | bytes,
    *,
    name: str | None = None,
    fs: float | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
    units: str = "mV",
) -> Recording:
    """Read any supported ECG file, choosing the reader by its extension.

    ``.hea``, ``.dat`` or a bare record name: WFDB; ``.mat``: WFDB when a ``.hea`` sits beside it, else the
    original CPSC2018 struct; ``.csv`` and ``.npy`` need ``fs``. A WFDB record given as bytes needs its header
    and signal file together: use :func:`read_wfdb_bytes`.

    Parameters
    ----------
    source : str, Path or bytes
        A path, or the content of an uploaded file.
    name : str, optional
        File name of uploaded bytes; its extension picks the reader.
    fs : float, optional
        Sampling rate in Hz, required for ``.csv`` and ``.npy``; ignored for files that carry it.
    max_bytes : int
        Largest accepted file size (for a WFDB record, header plus signal files).
    units : str
        Units of ``.csv`` and ``.npy`` values; WFDB headers and CPSC2018 files carry their own.

    Returns
    -------
    Recording

    Examples
    --------
    >>> t = np.arange(5000) / 500
    >>> table = pd.DataFrame({lead: np.sin(2 * np.pi * 1.2 * t) * (1 + i / 12) for i, lead in enumerate(LEADS)})
    >>> read_ecg(table.to_csv(index=False).encode(), name="ecg.csv", fs=500).duration
    10.0
    >>> read_ecg(b"...", name="ecg.xml")
    Traceback (most recent call last):
    ...
    mrm.errors.ECGInputError: ecg.xml: the extension .xml is not supported; give a WFDB record (.hea with its \
.dat or .mat), a CPSC2018 .mat, a .csv or a .npy file.
    """
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
        label = Path(name).name if name else "upload"
        check_file_size(len(data), label, max_bytes)
        ext = Path(label).suffix.lower()
        if ext in (".hea", ".dat"):
            raise ECGInputError(
                f"{label}: a WFDB record needs its header and signal file together; upload both "
                f"({Path(label).stem}.hea and the signal file it names)."
            )
        _check_extension(ext, label)
        return _read_by_extension(ext, data, label, fs, units)

    path = Path(source)
    ext = path.suffix.lower()
    if ext in (".hea", ".dat") or (ext == ".mat" and _header_beside(path).exists()) or (
        ext not in ACCEPTED_EXTENSIONS and _header_beside(path).exists()
    ):
        check_file_size(_wfdb_size(path), path.name, max_bytes)
        return read_wfdb(path)
    _check_extension(ext, path.name)
    if not path.is_file():
        raise ECGInputError(f"{path.name}: no such file in {path.parent}; check the path.")
    check_file_size(path.stat().st_size, path.name, max_bytes)
    return _read_by_extension(ext, path, path.name, fs, units)


def read_folder(
    folder: str | Path, *, fs: float | None = None
) -> Iterator[tuple[Path, Recording | ECGInputError]]:
    """Read every ECG in a folder (not its subfolders), yielding the error of a broken file instead of stopping.

    One entry per record: a WFDB header with its signal and annotation files counts once (under the ``.hea``
    path); a ``.dat`` without header yields an error; files of other kinds (README, ``.atr``) are skipped.

    Parameters
    ----------
    folder : str or Path
        The folder.
    fs : float, optional
        Sampling rate for ``.csv`` and ``.npy`` files (without it they yield an error asking for it).

    Yields
    ------
    (Path, Recording or ECGInputError)

    Examples
    --------
    >>> import tempfile
    >>> tmp = tempfile.TemporaryDirectory()
    >>> folder = Path(tmp.name)
    >>> t = np.arange(5000) / 500
    >>> table = pd.DataFrame({lead: np.sin(2 * np.pi * 1.2 * t) * (1 + i / 12) for i, lead in enumerate(LEADS)})
    >>> table.to_csv(folder / "good.csv", index=False)
    >>> _ = (folder / "bad.csv").write_text("I,II\\n1,2\\n")
    >>> [(path.name, type(result).__name__) for path, result in read_folder(folder, fs=500)]
    [('bad.csv', 'ECGInputError'), ('good.csv', 'Recording')]
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise ECGInputError(f"{folder}: not a folder; give the folder that holds the ECG files.")
    files = sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))
    headers = {p.stem for p in files if p.suffix.lower() == ".hea"}
    for path in files:
        ext = path.suffix.lower()
        if (path.stem in headers and ext != ".hea") or ext not in ACCEPTED_EXTENSIONS:
            continue
        try:
            yield path, read_ecg(path, fs=fs)
        except ECGInputError as err:
            yield path, err


# --- WFDB -------------------------------------------------------------------------------------------------


def _read_wfdb_record(record: Path, source: str, dataset: str) -> Recording:
    header_file = _header_beside(record)
    if not header_file.is_file():
        raise ECGInputError(
            f"{source}: the WFDB header {header_file.name} is missing; add it next to the signal file."
        )
    try:
        header = wfdb.rdheader(str(record))
    except Exception as err:
        raise ECGInputError(
            f"{header_file.name}: not a valid WFDB header ({_brief(err)}); export the record again."
        ) from err
    if isinstance(header, wfdb.MultiRecord) or getattr(header, "seg_name", None):
        raise ECGInputError(
            f"{header_file.name}: multi-segment WFDB records are not supported; export the record as one segment."
        )
    if not header.n_sig:
        raise ECGInputError(f"{header_file.name}: the header lists no signals; export the record with its 12 leads.")
    where = "to the upload" if dataset == "upload" else "next to it"
    _check_signal_files(header, record.parent, header_file.name, where)
    try:
        signals = wfdb.rdrecord(str(record))
    except Exception as err:
        raise ECGInputError(
            f"{source}: corrupt or truncated file ({_brief(err)}); export or download the record again."
        ) from err

    names = [str(n) for n in signals.sig_name]
    kept = [i for i, n in enumerate(names) if lead_canonical(n)]
    given = _units_given(header_file.read_text(errors="replace"), header.n_sig)
    missing_units = [names[i] for i in kept if not given[i]]
    scale, unknown_units = np.ones(len(names)), []
    for i in kept:
        factor = _TO_MV.get(_units_key(signals.units[i])) if given[i] else 1.0
        if factor is None:
            unknown_units.append(f"{names[i]} ({signals.units[i]})")
        else:
            scale[i] = factor
    notes = []
    if missing_units:
        notes.append(
            f"{header_file.name}: the header gives no units for {_list(missing_units)}; read as mV, the WFDB default."
        )
    if unknown_units:
        notes.append(
            f"{header_file.name}: unknown units for {', '.join(unknown_units)}; read as mV, check the amplitudes."
        )
    rec = _build(signals.p_signal.T * scale[:, None], names, float(signals.fs), source, dataset, notes)
    rec.record_id = record.name
    rec.age, rec.sex = _age_sex(signals.comments)
    return rec


def _check_signal_files(header: wfdb.Record, folder: Path, header_name: str, where: str) -> None:
    """Each signal file the header names must exist and hold exactly the samples it announces."""
    channels: dict[str, list[int]] = {}
    for ch, file_name in enumerate(header.file_name):
        channels.setdefault(file_name, []).append(ch)
    for file_name, chans in channels.items():
        if _base_name(file_name) != file_name:  # wfdb's header syntax refuses paths today; do not rely on it
            raise ECGInputError(
                f"{header_name}: the header names the signal file {file_name} outside its own folder; keep the "
                "header and its signal files together and name the files without a path."
            )
        path = folder / file_name
        if not path.is_file():
            raise ECGInputError(
                f"{header_name}: the header names the signal file {file_name}, which is missing; add {file_name} "
                f"{where}."
            )
        fmt = header.fmt[chans[0]]
        if header.sig_len is None or not BYTES_PER_SAMPLE.get(fmt):
            continue  # length not announced, or a compressed (FLAC) format: wfdb itself will tell
        samples_per_frame = sum(_field(header.samps_per_frame, ch, 1) for ch in chans)
        offset = _field(header.byte_offset, chans[0], 0)
        expected = offset + _required_byte_num("read", fmt, header.sig_len * samples_per_frame)
        actual = path.stat().st_size
        if actual != expected:
            raise ECGInputError(
                f"{file_name}: corrupt or truncated file: {header_name} announces {header.sig_len} samples of "
                f"{len(chans)} channels ({expected} bytes) but the file has {actual} bytes; export or download the "
                "record again."
            )


def _field(values: list | None, channel: int, default: int) -> int:
    """A per-channel header field that wfdb leaves as None (or a list of None) when the header omits it."""
    return (values[channel] if values else None) or default


def _units_given(header_text: str, n_sig: int) -> list[bool]:
    """Whether each signal line of a header states its units (``gain/units``); wfdb fills in mV silently."""
    lines = [line for line in header_text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    given = []
    for line in lines[1 : 1 + n_sig]:
        fields = line.split()
        given.append(len(fields) > 2 and "/" in fields[2])
    return given + [True] * (n_sig - len(given))


def _wfdb_size(path: Path) -> int:
    """Total size of a WFDB record's header and the signal files it names (0 for files that are absent)."""
    record = path.with_suffix("") if path.suffix.lower() in _WFDB_EXTENSIONS else path
    header_file = _header_beside(record)
    files = {header_file}
    with contextlib.suppress(Exception):  # an unreadable header is reported by read_wfdb, with its reason
        files |= {record.parent / name for name in wfdb.rdheader(str(record)).file_name or []}
    return sum(p.stat().st_size for p in files if p.is_file())


def _base_name(name: str) -> str:
    """The file name without any folder part ('' for names like '..'), whichever separator the sender used."""
    base = str(name).replace("\\", "/").rsplit("/", 1)[-1]
    return "" if base in (".", "..") else base


def _header_beside(path: Path) -> Path:
    stem = path.stem if path.suffix.lower() in ACCEPTED_EXTENSIONS else path.name
    return path.parent / f"{stem}.hea"


def _age_sex(comments: list[str]) -> tuple[float | None, str | None]:
    """Age and sex from header comments as written by CPSC, CinC, PTB and LUDB (``Age: 74``, ``<sex>: F``)."""
    found = {}
    for comment in comments:
        match = _COMMENT.match(comment)
        if match:
            found.setdefault(match.group(1).lower(), match.group(2))
    return _age(found.get("age")), _sex(found.get("sex"))


# --- shared ---------------------------------------------------------------------------------------------------


def _build(
    signal: np.ndarray, names: list[str], fs: float, source: str, dataset: str, notes: list[str] | None = None
) -> Recording:
    """Standard lead order, validation, and the Recording; ``signal`` is (channels, n) in mV."""
    signal, lead_notes = leads_to_standard(signal, names, source)
    signal = np.ascontiguousarray(signal, dtype=np.float32)
    warnings = list(notes or []) + lead_notes + validate_signal(signal, fs, source)
    return Recording(
        signal=signal, fs=float(fs), record_id=Path(source).stem, dataset=dataset, source=source, warnings=warnings
    )


@contextlib.contextmanager
def _boundary(source: str, kind: str) -> Iterator[None]:
    """Turn anything a reader or library raises into one ECGInputError naming the file."""
    try:
        yield
    except ECGInputError:
        raise
    except Exception as err:
        raise ECGInputError(
            f"{source}: could not be read as a {kind} file ({_brief(err)}); check that the file is complete and in "
            "that format."
        ) from err


def _read_by_extension(ext: str, content: Path | bytes, label: str, fs: float | None, units: str) -> Recording:
    if ext == ".mat":
        return read_cpsc_mat(content, name=label)
    if fs is None:
        raise ECGInputError(
            f"{label}: {ext} files do not carry the sampling rate; give it (fs in Hz, e.g. 500)."
        )
    reader = read_csv if ext == ".csv" else read_npy
    return reader(content, fs=fs, name=label, units=units)


def _check_extension(ext: str, label: str) -> None:
    if ext not in ACCEPTED_EXTENSIONS:
        shown = f"the extension {ext}" if ext else "a file without extension"
        raise ECGInputError(
            f"{label}: {shown} is not supported; give a WFDB record (.hea with its .dat or .mat), a CPSC2018 .mat, "
            "a .csv or a .npy file."
        )


def _source(path_or_bytes: str | Path | bytes, name: str | None, default: str) -> tuple[str, str]:
    """(file name for messages, dataset) of a path or of uploaded bytes."""
    if isinstance(path_or_bytes, bytes):
        return (Path(name).name if name else default), "upload"
    return (Path(name).name if name else Path(path_or_bytes).name), "file"


def _require_fs(fs: float | None, source: str) -> float:
    if fs is None:
        raise ECGInputError(f"{source}: the sampling rate is not known; give it (fs in Hz, e.g. 500).")
    try:
        return float(fs)
    except (TypeError, ValueError):
        raise ECGInputError(f"{source}: the sampling rate {fs!r} is not a number; give it in Hz, e.g. 500.") from None


def _units_key(units: str | None) -> str:
    return str(units or "").strip().lower().replace("µ", "u").replace("μ", "u")


def _units_to_mv(units: str, source: str) -> float:
    factor = _TO_MV.get(_units_key(units))
    if factor is None:
        raise ECGInputError(f"{source}: units {units!r} are not understood; use mV, uV or V.")
    return factor


def _read_table(path_or_bytes: str | Path | bytes, source: str) -> pd.DataFrame:
    raw = path_or_bytes if isinstance(path_or_bytes, bytes) else Path(path_or_bytes).read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise ECGInputError(f"{source}: not a UTF-8 text file ({_brief(err)}); export the CSV as UTF-8 text.") from err
    first = text.lstrip().split("\n", 1)[0]
    try:
        delimiter = csv.Sniffer().sniff(first, delimiters=",;\t").delimiter
    except csv.Error:
        delimiter = ","
    try:
        return pd.read_csv(io.StringIO(text), sep=delimiter)
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as err:
        raise ECGInputError(
            f"{source}: not a readable CSV table ({_brief(err)}); export one column per lead with a header row."
        ) from err


def _check_time_column(time: np.ndarray, fs: float, source: str) -> None:
    steps = np.diff(time[np.isfinite(time)])
    if steps.size == 0:
        return
    step = float(np.median(steps))
    for per_second in (1.0, 1000.0):  # time in seconds or in milliseconds
        if abs(step * fs / per_second - 1) < 0.01:
            return
    rate = f"{1 / step:g}" if step > 0 else "no valid rate"
    raise ECGInputError(
        f"{source}: the time column steps by {step:g} per sample ({rate} samples per second if in seconds), which "
        f"does not match fs={fs:g} Hz; give the sampling rate of the export."
    )


def _age(value: object) -> float | None:
    try:
        age = float(np.asarray(value).item())
    except (TypeError, ValueError):
        return None
    return age if 0 <= age < 130 else None


def _sex(value: object) -> str | None:
    text = str(np.asarray(value).item() if value is not None else "").strip().lower()
    return {"m": "M", "f": "F"}.get(text[:1])


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _list(names: list[str]) -> str:
    return ", ".join(names) if len(names) < 12 else "all 12 leads"


def _brief(err: BaseException) -> str:
    """The exception as one short line, for the middle of a sentence."""
    text = " ".join(str(err).split()) or type(err).__name__
    return text if len(text) <= 160 else text[:157] + "..."
