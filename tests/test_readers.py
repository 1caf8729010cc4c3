"""Readers on the real records of every shared dataset, and every bad input built from them in tmp_path."""

from __future__ import annotations

import io
import pickle
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.io
import wfdb

from mrm.data.readers import (
    read_cpsc_mat,
    read_csv,
    read_ecg,
    read_folder,
    read_npy,
    read_wfdb,
    read_wfdb_bytes,
)
from mrm.data.recording import LEADS, Recording, lead_canonical
from mrm.errors import ECGInputError


def _reference(record: Path) -> np.ndarray:
    """The record read by wfdb directly, rows put in standard lead order by name (mV)."""
    raw = wfdb.rdrecord(str(record))
    by_name = {lead_canonical(n): i for i, n in enumerate(raw.sig_name)}
    return raw.p_signal[:, [by_name[lead] for lead in LEADS]].T


def _copy_record(src: Path, folder: Path) -> Path:
    """Copy a WFDB record's files (header and what it names) into folder; return the new record path."""
    for name in {src.name + ".hea", *wfdb.rdheader(str(src)).file_name}:
        shutil.copy(src.parent / name, folder / name)
    return folder / src.name


def _write_wfdb(
    folder: Path, name: str, signal: np.ndarray, names: list[str], fs: float, units: str = "mV", gain: float = 1000
) -> Path:
    """Write (channels, n) physical values as a format-16 record with a fixed gain (1 µV steps by default)."""
    wfdb.wrsamp(name, fs=fs, units=[units] * len(names), sig_name=names, p_signal=signal.T.astype(np.float64),
                fmt=["16"] * len(names), adc_gain=[gain] * len(names), baseline=[0] * len(names),
                write_dir=str(folder))
    return folder / name


def _fails(call, *words: str) -> str:
    with pytest.raises(ECGInputError) as info:
        call()
    message = str(info.value)
    for word in words:
        assert word in message, f"{word!r} not in {message!r}"
    return message


@pytest.fixture(scope="module")
def rec500(ptbxl_dir: Path) -> Recording:
    return read_wfdb(ptbxl_dir / "records500/00000/00001_hr")


# --- real records -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("folder", "name", "fs", "n"), [("records100", "00001_lr", 100.0, 1000),
                                                         ("records500", "00001_hr", 500.0, 5000)])
@pytest.mark.parametrize("suffix", ["", ".hea", ".dat"])
def test_ptbxl_round_trip(ptbxl_dir, folder, name, fs, n, suffix):
    record = ptbxl_dir / folder / "00000" / name
    rec = read_wfdb(f"{record}{suffix}")
    assert rec.signal.shape == (12, n) and rec.signal.dtype == np.float32
    assert rec.fs == fs and rec.record_id == name and rec.dataset == "file" and rec.source == name + suffix
    assert rec.units == "mV" and rec.warnings == []
    raw = wfdb.rdrecord(str(record))
    assert raw.sig_name[3] == "AVR"
    np.testing.assert_allclose(rec.lead("aVR"), raw.p_signal[:, 3], atol=1e-6)
    np.testing.assert_allclose(rec.signal, _reference(record), atol=1e-6)


def test_cpsc_original_struct(cpsc_dir):
    path = cpsc_dir / "original" / "A1980.mat"
    rec = read_cpsc_mat(path)
    reference = pd.read_csv(cpsc_dir / "REFERENCE.csv", dtype=str).set_index("Recording")
    assert rec.record_id in reference.index and reference.loc[rec.record_id, "First_label"] == "6"
    struct = scipy.io.loadmat(path)["ECG"][0, 0]
    assert (rec.age, rec.sex) == (float(struct["age"].item()), "M") == (52.0, "M")
    assert rec.fs == 500.0 and rec.duration == 10.0 and rec.dataset == "file" and rec.source == "A1980.mat"
    np.testing.assert_allclose(rec.signal, struct["data"], atol=1e-6)
    assert read_ecg(path).record_id == "A1980"
    from_bytes = read_ecg(path.read_bytes(), name="A1980.mat")
    assert from_bytes.dataset == "upload"
    np.testing.assert_array_equal(from_bytes.signal, rec.signal)


def test_cpsc_wfdb_copies(cpsc_dir):
    records = sorted((cpsc_dir / "wfdb").glob("*.hea"))
    assert len(records) == 15
    durations = []
    for header in records:
        rec = read_ecg(header.with_suffix(".mat"))  # the .mat with its .hea beside it is the WFDB form
        np.testing.assert_allclose(rec.signal, _reference(header.with_suffix("")), atol=1e-6)
        assert rec.fs == 500.0 and rec.sex in ("M", "F") and rec.age is not None and rec.warnings == []
        durations.append(rec.duration)
    assert 10 <= min(durations) and max(durations) <= 60
    first = read_wfdb(cpsc_dir / "wfdb" / "A0001")
    assert (first.age, first.sex, first.n_samples) == (74.0, "M", 7500)


def test_cinc_2021_form(cinc_dir):
    rec = read_wfdb(cinc_dir / "HR06000.mat")
    assert (rec.age, rec.sex, rec.fs, rec.n_samples) == (59.0, "F", 500.0, 5000)
    assert wfdb.rdheader(str(cinc_dir / "HR06000")).units[0] == "mv"
    np.testing.assert_allclose(rec.signal, _reference(cinc_dir / "HR06000"), atol=1e-6)


def test_ptbdb_fifteen_channels(ptbdb_dir):
    rec = read_ecg(ptbdb_dir / "s0010_re.hea")
    assert rec.signal.shape == (12, 38400) and rec.fs == 1000.0 and rec.duration == pytest.approx(38.4)
    assert (rec.age, rec.sex) == (81.0, "F")
    dropped = [w for w in rec.warnings if "dropped 3 channels" in w]
    assert len(dropped) == 1 and "vx, vy, vz" in dropped[0]
    assert any("no units" in w for w in rec.warnings)  # the header omits them; WFDB's default is mV
    np.testing.assert_allclose(rec.signal, _reference(ptbdb_dir / "s0010_re"), atol=1e-6)


def test_ludb_lower_case_names(ludb_dir):
    record = ludb_dir / "data" / "1"
    assert wfdb.rdheader(str(record)).sig_name[3] == "avr"
    rec = read_ecg(record)
    assert (rec.age, rec.sex, rec.fs, rec.n_samples, rec.warnings) == (51.0, "F", 500.0, 5000, [])
    np.testing.assert_allclose(rec.signal, _reference(record), atol=1e-6)


# --- round trips through other formats ---------------------------------------------------------------------


def _table(rec: Recording) -> pd.DataFrame:
    """Columns shuffled, names in odd case, and a time column, as exports come."""
    names = {"I": "i", "aVR": "AVR", "aVL": "avl", "V3": "v3"}
    columns = {names.get(lead, lead): rec.lead(lead) for lead in reversed(LEADS)}
    return pd.DataFrame({"time": rec.time(), **columns})


def test_csv_round_trip(tmp_path, rec500):
    path = tmp_path / "export.csv"
    _table(rec500).to_csv(path, index=False)
    for rec in (read_csv(path, fs=500), read_ecg(path, fs=500), read_ecg(path.read_bytes(), name="export.csv", fs=500)):
        np.testing.assert_allclose(rec.signal, rec500.signal, atol=1e-6)
        assert rec.fs == 500.0 and rec.record_id == "export" and rec.source == "export.csv"
        assert rec.warnings == ["export.csv: dropped 1 channel that is not one of the 12 standard leads: time."]
    assert read_csv(path.read_bytes(), fs=500, name="export.csv").dataset == "upload"
    assert read_csv(path, fs=500).dataset == "file"


def test_csv_semicolons_and_microvolts(tmp_path, rec500):
    path = tmp_path / "cart.csv"
    pd.DataFrame({lead: rec500.lead(lead) * 1000 for lead in LEADS}).to_csv(path, sep=";", index=False)
    rec = read_csv(path, fs=500, units="µV")
    np.testing.assert_allclose(rec.signal, rec500.signal, atol=1e-5)


def test_csv_time_in_milliseconds_agrees(tmp_path, rec500):
    table = _table(rec500).rename(columns={"time": "time_ms"})
    table["time_ms"] *= 1000
    rec = read_csv(table.to_csv(index=False).encode(), fs=500, name="ms.csv")
    np.testing.assert_allclose(rec.signal, rec500.signal, atol=1e-6)


@pytest.mark.parametrize("layout", ["rows", "columns"])
def test_npy_round_trip(tmp_path, rec500, layout):
    array = rec500.signal if layout == "rows" else rec500.signal.T.copy()
    path = tmp_path / "ecg.npy"
    np.save(path, array)
    for rec in (read_npy(path, fs=500), read_ecg(path, fs=500), read_ecg(path.read_bytes(), name="ecg.npy", fs=500)):
        np.testing.assert_array_equal(rec.signal, rec500.signal)
        assert rec.record_id == "ecg" and rec.fs == 500.0


def test_npy_lead_order_and_units(rec500):
    order = list(reversed(LEADS))
    buffer = io.BytesIO()
    np.save(buffer, (rec500.signal[::-1] * 1000).astype(np.int32))  # integer µV, rows V6 ... I
    rec = read_npy(buffer.getvalue(), fs=500, name="uv.npy", leads=order, units="uV")
    np.testing.assert_allclose(rec.signal, rec500.signal, atol=1e-3)


def test_wfdb_from_bytes(ptbxl_dir, rec500):
    record = ptbxl_dir / "records500/00000/00001_hr"
    files = {f"some/folder/{p.name}": p.read_bytes() for p in record.parent.glob("00001_hr.*")}
    rec = read_wfdb_bytes(files)
    np.testing.assert_array_equal(rec.signal, rec500.signal)
    assert (rec.dataset, rec.source, rec.record_id, rec.fs) == ("upload", "00001_hr.hea", "00001_hr", 500.0)


def test_upload_names_cannot_leave_the_folder(tmp_path, ptbxl_dir):
    record = ptbxl_dir / "records100/00000/00001_lr"
    header, dat = (record.with_suffix(s).read_bytes() for s in (".hea", ".dat"))
    rec = read_wfdb_bytes({"C:\\Users\\me\\00001_lr.hea": header, "../../00001_lr.dat": dat})
    assert rec.source == "00001_lr.hea" and rec.n_samples == 1000
    # A header that points at a file elsewhere (here the real one, in the shared data) is refused.
    for elsewhere in (str(record.with_suffix(".dat")), "../00001_lr.dat"):
        outside = header.replace(b"00001_lr.dat", elsewhere.encode())
        _fails(lambda h=outside: read_wfdb_bytes({"00001_lr.hea": h, "00001_lr.dat": dat}), "00001_lr.hea", "header")


def test_wfdb_units_are_converted(tmp_path, rec500):
    microvolts = read_wfdb(_write_wfdb(tmp_path, "uv", rec500.signal * 1000, list(LEADS), 500, units="uV", gain=1))
    np.testing.assert_allclose(microvolts.signal, rec500.signal, atol=1e-3)
    assert microvolts.warnings == []
    odd = read_wfdb(_write_wfdb(tmp_path, "odd", rec500.signal, list(LEADS), 500, units="mmHg"))
    assert len(odd.warnings) == 1 and "unknown units" in odd.warnings[0] and "V6 (mmHg)" in odd.warnings[0]


# --- bad inputs ------------------------------------------------------------------------------------------------


def test_missing_lead(tmp_path, rec500):
    path = tmp_path / "no_v3.csv"
    _table(rec500).drop(columns="v3").to_csv(path, index=False)
    _fails(lambda: read_ecg(path, fs=500), "no_v3.csv", "missing", "V3")


def test_eleven_leads(tmp_path, rec500):
    record = _write_wfdb(tmp_path, "eleven", rec500.signal[:11], list(LEADS[:11]), 500)
    _fails(lambda: read_ecg(record.with_suffix(".hea")), "eleven.hea", "1 of the 12 standard leads are missing (V6")


def test_duplicate_lead(tmp_path, rec500):
    table = _table(rec500)
    table["V1"] = table["V2"]
    table = table.rename(columns={"V2": "v1"})
    _fails(lambda: read_csv(table.to_csv(index=False).encode(), fs=500, name="dup.csv"),
           "dup.csv", "lead V1 appears twice")


def test_nan_in_csv(rec500):
    table = _table(rec500)
    table.loc[100:109, "V2"] = np.nan  # empty cells in the export
    _fails(lambda: read_csv(table.to_csv(index=False).encode(), fs=500, name="gaps.csv"),
           "gaps.csv", "V2 (10 NaN samples)")


def test_inf_in_npy(tmp_path, rec500):
    signal = rec500.signal.copy()
    signal[LEADS.index("aVF"), 7] = -np.inf
    np.save(tmp_path / "inf.npy", signal)
    _fails(lambda: read_ecg(tmp_path / "inf.npy", fs=500), "inf.npy", "aVF (1 infinite samples)")


def test_flat_lead_in_wfdb(tmp_path, rec500):
    signal = rec500.signal.copy()
    signal[LEADS.index("V2")] = 0.0
    record = _write_wfdb(tmp_path, "flat", signal, list(LEADS), 500)
    _fails(lambda: read_wfdb(record), "flat", "lead V2 is flat")


def test_microvolts_as_millivolts(rec500):
    table = _table(rec500)
    table[table.columns[1:]] *= 1000
    _fails(lambda: read_csv(table.to_csv(index=False).encode(), fs=500, name="uv.csv"),
           "uv.csv", "microvolts", "divide by 1000")


def test_sampling_rate_20_hz(rec500):
    table = _table(rec500).drop(columns="time")
    _fails(lambda: read_csv(table.to_csv(index=False).encode(), fs=20, name="slow.csv"),
           "slow.csv", "20 Hz", "50-2000 Hz")


def test_sampling_rate_5000_hz_in_header(tmp_path, ptbxl_dir):
    record = _copy_record(ptbxl_dir / "records500/00000/00001_hr", tmp_path)
    header = record.with_suffix(".hea")
    header.write_text(header.read_text().replace("00001_hr 12 500 5000", "00001_hr 12 5000 5000"))
    _fails(lambda: read_ecg(header), "00001_hr.hea", "5000 Hz", "50-2000 Hz")


def test_two_seconds_long(rec500):
    buffer = io.BytesIO()
    np.save(buffer, rec500.signal[:, :1000])
    _fails(lambda: read_ecg(buffer.getvalue(), name="short.npy", fs=500), "short.npy", "2.00 s long", "2.5 s")


def test_truncated_dat(tmp_path, ptbxl_dir):
    record = _copy_record(ptbxl_dir / "records100/00000/00001_lr", tmp_path)
    dat = record.with_suffix(".dat")
    dat.write_bytes(dat.read_bytes()[:9001])
    _fails(lambda: read_ecg(dat), "00001_lr.dat", "corrupt or truncated", "9001 bytes")


def test_header_sample_count_disagrees(tmp_path, ptbxl_dir):
    # Fewer samples in the header than in the file: wfdb itself would silently read the first 800.
    record = _copy_record(ptbxl_dir / "records100/00000/00001_lr", tmp_path)
    header = record.with_suffix(".hea")
    header.write_text(header.read_text().replace("00001_lr 12 100 1000", "00001_lr 12 100 800"))
    _fails(lambda: read_wfdb(header), "00001_lr.dat", "corrupt or truncated", "800 samples")


def test_truncated_cinc_mat(tmp_path, cinc_dir):
    record = _copy_record(cinc_dir / "HR06000", tmp_path)
    mat = record.with_suffix(".mat")
    mat.write_bytes(mat.read_bytes()[:60000])
    _fails(lambda: read_ecg(mat), "HR06000.mat", "corrupt or truncated")


def test_missing_signal_file(tmp_path, ptbxl_dir):
    record = _copy_record(ptbxl_dir / "records100/00000/00001_lr", tmp_path)
    header = record.with_suffix(".hea")
    record.with_suffix(".dat").unlink()
    _fails(lambda: read_ecg(header), "00001_lr.hea", "00001_lr.dat", "missing")
    _fails(lambda: read_wfdb_bytes({"00001_lr.hea": header.read_bytes()}), "add 00001_lr.dat to the upload")


def test_missing_header(tmp_path, ptbxl_dir):
    record = _copy_record(ptbxl_dir / "records100/00000/00001_lr", tmp_path)
    dat = record.with_suffix(".dat")
    record.with_suffix(".hea").unlink()
    _fails(lambda: read_ecg(dat), "00001_lr.dat", "00001_lr.hea is missing")
    _fails(lambda: read_wfdb_bytes({"00001_lr.dat": dat.read_bytes()}), "00001_lr.dat", "add", "00001_lr.hea")
    _fails(lambda: read_ecg(dat.read_bytes(), name="00001_lr.dat"), "00001_lr.dat", "upload both")


def test_wfdb_mat_without_its_header(cinc_dir):
    data = (cinc_dir / "HR06000.mat").read_bytes()
    _fails(lambda: read_ecg(data, name="HR06000.mat"), "HR06000.mat", "WFDB form", "HR06000.hea")


@pytest.mark.parametrize(("name", "words"), [("garbage.mat", "corrupt or not a MATLAB file"),
                                             ("garbage.npy", "not a NumPy .npy file"),
                                             ("garbage.csv", "not a UTF-8 text file")])
def test_garbage_bytes(name, words):
    garbage = np.random.default_rng(7).bytes(4000)
    _fails(lambda: read_ecg(garbage, name=name, fs=500), name, words)


def test_truncated_npy(tmp_path, rec500):
    path = tmp_path / "cut.npy"
    np.save(path, rec500.signal)
    path.write_bytes(path.read_bytes()[:5000])
    _fails(lambda: read_ecg(path, fs=500), "cut.npy", "corrupt or truncated")


def test_garbage_header(tmp_path):
    (tmp_path / "junk.hea").write_bytes(np.random.default_rng(3).bytes(300))
    (tmp_path / "junk.dat").write_bytes(np.random.default_rng(4).bytes(3000))
    _fails(lambda: read_ecg(tmp_path / "junk.hea"), "junk.hea", "not a valid WFDB header")


def test_too_large(ptbxl_dir, rec500):
    _fails(lambda: read_ecg(ptbxl_dir / "records500/00000/00001_hr.hea", max_bytes=100_000),
           "00001_hr.hea", "121 kB", "larger than the 100 kB limit")  # header + 120,000-byte .dat
    _fails(lambda: read_ecg(rec500.signal.tobytes(), name="big.npy", fs=500, max_bytes=1000), "big.npy", "larger")


def test_unknown_extension(tmp_path):
    (tmp_path / "ecg.xml").write_text("<ecg/>")
    _fails(lambda: read_ecg(tmp_path / "ecg.xml"), "ecg.xml", ".xml is not supported", ".csv", ".npy", ".hea")


def test_pickled_npy(tmp_path):
    path = tmp_path / "evil.npy"
    np.save(path, np.array([{"signal": [1, 2]}, None], dtype=object), allow_pickle=True)
    _fails(lambda: read_ecg(path, fs=500), "evil.npy", "Python objects", "pickle", "numpy.save")
    (tmp_path / "raw.npy").write_bytes(pickle.dumps({"signal": [1, 2]}))
    _fails(lambda: read_ecg(tmp_path / "raw.npy", fs=500), "raw.npy", "pickle", "not loaded")


def test_csv_and_npy_need_fs(tmp_path, rec500):
    path = tmp_path / "nofs.csv"
    _table(rec500).to_csv(path, index=False)
    _fails(lambda: read_ecg(path), "nofs.csv", "sampling rate")
    _fails(lambda: read_ecg(rec500.signal.tobytes(), name="nofs.npy"), "nofs.npy", "sampling rate")


def test_csv_time_column_disagrees_with_fs(tmp_path, rec500):
    path = tmp_path / "timed.csv"
    _table(rec500).to_csv(path, index=False)
    _fails(lambda: read_csv(path, fs=250), "timed.csv", "time column", "500 samples per second", "fs=250")


def test_csv_text_and_missing_header(rec500):
    table = _table(rec500).astype({"V5": object})
    table.loc[16, "V5"] = "lead off"
    _fails(lambda: read_csv(table.to_csv(index=False).encode(), fs=500, name="text.csv"),
           "text.csv", "column V5", "'lead off' in row 18")
    bare = pd.DataFrame(rec500.signal.T).to_csv(index=False, header=False).encode()
    _fails(lambda: read_csv(bare, fs=500, name="bare.csv"), "bare.csv", "header row")


def test_unknown_units_argument(rec500):
    _fails(lambda: read_npy(rec500.signal.tobytes(), fs=500, name="x.npy", units="mmHg"), "x.npy", "'mmHg'")


def test_read_folder_keeps_going(tmp_path, ptbxl_dir, cinc_dir):
    _copy_record(ptbxl_dir / "records100/00000/00001_lr", tmp_path)
    _copy_record(cinc_dir / "HR06000", tmp_path)
    broken = _copy_record(ptbxl_dir / "records100/00000/00002_lr", tmp_path).with_suffix(".dat")
    broken.write_bytes(broken.read_bytes()[:5000])
    (tmp_path / "README.txt").write_text("not an ECG")
    results = list(read_folder(tmp_path))
    assert [path.name for path, _ in results] == ["00001_lr.hea", "00002_lr.hea", "HR06000.hea"]
    good = [r for _, r in results if isinstance(r, Recording)]
    errors = [r for _, r in results if isinstance(r, ECGInputError)]
    assert [r.record_id for r in good] == ["00001_lr", "HR06000"]
    assert len(errors) == 1 and "00002_lr.dat" in str(errors[0]) and "truncated" in str(errors[0])


def test_multi_segment_record_is_refused(tmp_path, ptbxl_dir):
    _copy_record(ptbxl_dir / "records500/00000/00001_hr", tmp_path)
    (tmp_path / "multi.hea").write_text("multi/2 12 500 10000\n00001_hr 5000\n00001_hr 5000\n")
    _fails(lambda: read_ecg(tmp_path / "multi.hea"), "multi.hea", "multi-segment", "one segment")
