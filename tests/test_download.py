"""The download command against a local HTTP server serving real PhysioNet files; nothing leaves 127.0.0.1."""

from __future__ import annotations

import contextlib
import csv
import hashlib
import json
import re
import shutil
import socket
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import wfdb

import mrm.cli
from mrm.data import download
from mrm.data.download import download_dataset, fetch_file, plan_download, read_checksums
from mrm.errors import ECGInputError


class RangeHandler(SimpleHTTPRequestHandler):
    """Serves files with HTTP Range support (``bytes=N-``) and records every request and the bytes it sent."""

    def log_message(self, *args) -> None:  # keep pytest output clean
        pass

    def _file(self) -> Path | None:
        path = Path(self.translate_path(self.path))
        return path if path.is_file() else None

    def do_HEAD(self) -> None:
        path = self._file()
        self.server.log.append(("HEAD", self.path, None, 0))
        if path is None:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(path.stat().st_size))
        self.end_headers()

    def do_GET(self) -> None:
        path = self._file()
        asked = self.headers.get("Range")
        if path is None:
            self.server.log.append(("GET", self.path, asked, 0))
            self.send_error(404)
            return
        data = path.read_bytes()
        start = int(re.fullmatch(r"bytes=(\d+)-", asked).group(1)) if asked and self.server.honour_range else 0
        if start >= len(data) > 0:
            self.server.log.append(("GET", self.path, asked, 0))
            self.send_response(416)
            self.send_header("Content-Range", f"bytes */{len(data)}")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        body = data[start:]
        self.send_response(206 if start else 200)
        if start:
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        self.server.log.append(("GET", self.path, asked, len(body)))


@contextlib.contextmanager
def serve(root: Path, honour_range: bool = True):
    """Serve ``root`` on 127.0.0.1 (a free port) in a thread; yield the base URL and the request log."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), lambda *a: RangeHandler(*a, directory=str(root)))
    server.log, server.honour_range = [], honour_range
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/", server.log
    finally:
        server.shutdown()
        server.server_close()


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def write_sums(root: Path, wrong: dict[str, str] | None = None, extra: dict[str, str] | None = None) -> None:
    """PhysioNet-style SHA256SUMS.txt of every file under ``root``; ``wrong`` overrides some, ``extra`` adds some."""
    sums = {p.relative_to(root).as_posix(): sha256(p) for p in sorted(root.rglob("*")) if p.is_file()}
    sums.update(wrong or {})
    sums.update(extra or {})
    sums.pop("SHA256SUMS.txt", None)
    (root / "SHA256SUMS.txt").write_text("".join(f"{h} {p}\n" for p, h in sums.items()))


@pytest.fixture
def ptbxl_remote(tmp_path: Path, ptbxl_dir: Path) -> Path:
    """A miniature PTB-XL v1.0.3 tree of real files: two records at 100 Hz, one at 500 Hz, metadata, licence."""
    root = tmp_path / "remote-ptbxl"
    for name in ("records100/00000/00001_lr.hea", "records100/00000/00001_lr.dat",
                 "records100/00000/00002_lr.hea", "records100/00000/00002_lr.dat",
                 "records500/00000/00001_hr.hea", "records500/00000/00001_hr.dat", "LICENSE.txt"):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(ptbxl_dir / name, root / name)
    head = (ptbxl_dir / "ptbxl_database.csv").read_text().splitlines(keepends=True)[:4]
    (root / "ptbxl_database.csv").write_text("".join(head))
    write_sums(root)
    return root


CPSC_RECORDS = {"A0001": "g1", "A0689": "g1", "A1041": "g2", "A2712": "g3", "A5215": "g6", "A5432": "g6"}


@pytest.fixture
def cpsc_remote(tmp_path: Path, cpsc_dir: Path) -> Path:
    """A miniature challenge-2020 tree: real CPSC2018 WFDB records in training/cpsc_2018/gN, plus a Georgia file."""
    root = tmp_path / "remote-cinc2020"
    for record, group in CPSC_RECORDS.items():
        folder = root / "training" / "cpsc_2018" / group
        folder.mkdir(parents=True, exist_ok=True)
        for suffix in (".hea", ".mat"):
            shutil.copyfile(cpsc_dir / "wfdb" / f"{record}{suffix}", folder / f"{record}{suffix}")
        (folder / "RECORDS").write_text("".join(f"{r}\n" for r, g in CPSC_RECORDS.items() if g == group))
    (root / "training" / "georgia" / "g1").mkdir(parents=True)
    shutil.copyfile(cpsc_dir / "wfdb" / "A0002.hea", root / "training" / "georgia" / "g1" / "E00001.hea")
    (root / "LICENSE.txt").write_text("Creative Commons Attribution 4.0 International Public License\n")
    write_sums(root)
    return root


def gets(log: list, suffix: str) -> list[tuple]:
    return [entry for entry in log if entry[0] == "GET" and entry[1].endswith(suffix)]


def test_read_checksums_takes_physionet_and_sha256sum_lines_and_refuses_escapes():
    h = "0123456789abcdef" * 4
    text = f"{h} records100/00000/00001_lr.hea\n\n{h.upper()}  LICENSE.txt\r\n{h} *RECORDS\n"
    assert read_checksums(text) == [(h, "records100/00000/00001_lr.hea"), (h, "LICENSE.txt"), (h, "RECORDS")]
    with pytest.raises(ECGInputError, match=r"SHA256SUMS.txt: line 1 names a path outside.*\.\./etc/passwd"):
        read_checksums(f"{h} ../etc/passwd\n")
    with pytest.raises(ECGInputError, match="line 2 is not '<sha256> <path>'"):
        read_checksums(f"{h} a\nnot-a-hash b\n")


def test_full_download_gives_the_native_ptbxl_tree(ptbxl_remote: Path, tmp_path: Path):
    dest = tmp_path / "data"
    with serve(ptbxl_remote) as (base_url, log):
        report = download_dataset("ptbxl", dest, base_url=base_url, progress=False, workers=3)
    folder = dest / "ptb-xl"
    published = read_checksums((ptbxl_remote / "SHA256SUMS.txt").read_text())
    assert report.ok and len(report.with_status("downloaded")) == len(published) == 8
    for digest, path in published:
        assert sha256(folder / path) == digest
        assert (folder / path).read_bytes() == (ptbxl_remote / path).read_bytes()
    assert report.bytes_fetched == sum((ptbxl_remote / p).stat().st_size for _, p in published)
    assert not list(folder.rglob("*.part"))
    assert read_checksums((folder / "SHA256SUMS.txt").read_text()) == published
    record = wfdb.rdrecord(str(folder / "records100/00000/00001_lr"))
    assert (record.fs, record.sig_len, record.n_sig) == (100, 1000, 12)
    assert all(entry[2] is None for entry in gets(log, ".dat"))  # nothing to resume: no Range asked


def test_only_100_skips_the_500_hz_records(ptbxl_remote: Path, tmp_path: Path):
    with serve(ptbxl_remote) as (base_url, log):
        plan = plan_download("ptbxl", tmp_path / "data", base_url=base_url, only="100")
    assert sorted(f.local for f in plan.files if f.local.startswith("records")) == [
        "records100/00000/00001_lr.dat", "records100/00000/00001_lr.hea",
        "records100/00000/00002_lr.dat", "records100/00000/00002_lr.hea"]
    assert plan.sizes_exact and plan.bytes_to_fetch == sum(
        (ptbxl_remote / f.remote).stat().st_size for f in plan.files)
    assert not gets(log, "_hr.dat") and not [e for e in log if "records500" in e[1]]
    with pytest.raises(ECGInputError, match="--only 100: only PTB-XL"):
        plan_download("cpsc2018", tmp_path / "data", only="100", checksums="")


def test_a_partial_file_is_resumed_with_a_range_request(ptbxl_remote: Path, tmp_path: Path):
    name = "records500/00000/00001_hr.dat"
    whole = (ptbxl_remote / name).read_bytes()
    part = tmp_path / "data" / "ptb-xl" / (name + ".part")
    part.parent.mkdir(parents=True)
    part.write_bytes(whole[:50_000])
    with serve(ptbxl_remote) as (base_url, log):
        plan = plan_download("ptbxl", tmp_path / "data", base_url=base_url)
        assert [f.state for f in plan.files if f.local == name] == ["partial"]
        report = download_dataset("ptbxl", tmp_path / "data", base_url=base_url, progress=False, plan=plan)
    assert [(r.status, r.bytes_fetched) for r in report.results if r.path == name] == [("resumed", 70_000)]
    assert gets(log, "_hr.dat") == [("GET", "/" + name, "bytes=50000-", 70_000)]
    assert (tmp_path / "data" / "ptb-xl" / name).read_bytes() == whole and not part.exists()


def test_an_interrupt_keeps_the_partial_file_for_the_next_run(ptbxl_remote: Path, tmp_path: Path, monkeypatch):
    real = download.fetch_file

    def interrupted_after_one_chunk(url, path, sha256, **kwargs):
        if url.endswith("_hr.dat"):
            count = kwargs["on_bytes"]

            def on_bytes(n: int) -> None:
                count(n)
                raise KeyboardInterrupt

            kwargs["on_bytes"] = on_bytes
        return real(url, path, sha256, **kwargs)

    name = "records500/00000/00001_hr.dat"
    with serve(ptbxl_remote) as (base_url, log):
        monkeypatch.setattr(download, "fetch_file", interrupted_after_one_chunk)
        with pytest.raises(KeyboardInterrupt):
            download_dataset("ptbxl", tmp_path, base_url=base_url, progress=False, workers=1)
        part = tmp_path / "ptb-xl" / (name + ".part")
        assert part.stat().st_size == download._CHUNK and not (tmp_path / "ptb-xl" / name).exists()
        monkeypatch.setattr(download, "fetch_file", real)
        report = download_dataset("ptbxl", tmp_path, base_url=base_url, progress=False)
    assert [r.status for r in report.results if r.path == name] == ["resumed"]
    assert gets(log, "_hr.dat")[-1] == ("GET", "/" + name, f"bytes={download._CHUNK}-", 120_000 - download._CHUNK)
    assert report.ok and sha256(tmp_path / "ptb-xl" / name) == sha256(ptbxl_remote / name)


def test_a_server_that_ignores_range_makes_the_file_start_over(ptbxl_remote: Path, tmp_path: Path):
    name = "records500/00000/00001_hr.dat"
    whole = (ptbxl_remote / name).read_bytes()
    target = tmp_path / name
    target.parent.mkdir(parents=True)
    Path(str(target) + ".part").write_bytes(whole[:1000])
    with serve(ptbxl_remote, honour_range=False) as (base_url, log):
        result = fetch_file(base_url + name, target, sha256(ptbxl_remote / name))
    assert (result.status, result.bytes_fetched) == ("downloaded", 120_000)
    assert target.read_bytes() == whole


def test_complete_files_are_skipped_and_a_damaged_one_is_fetched_again(ptbxl_remote: Path, tmp_path: Path):
    dest = tmp_path / "data"
    with serve(ptbxl_remote) as (base_url, log):
        download_dataset("ptbxl", dest, base_url=base_url, progress=False)
        damaged = dest / "ptb-xl" / "records100/00000/00002_lr.dat"
        damaged.write_bytes(b"\0" * damaged.stat().st_size)
        log.clear()
        report = download_dataset("ptbxl", dest, base_url=base_url, progress=False)
    assert len(report.with_status("present")) == 7
    assert [r.path for r in report.with_status("downloaded")] == ["records100/00000/00002_lr.dat"]
    assert sorted(e[1] for e in log if e[0] == "GET") == ["/SHA256SUMS.txt", "/records100/00000/00002_lr.dat"]
    assert sha256(damaged) == sha256(ptbxl_remote / "records100/00000/00002_lr.dat")
    assert report.notes == ["1 files on disk did not match their published SHA256 and were fetched again."]


def test_a_corrupted_download_is_deleted_and_reported(ptbxl_remote: Path, tmp_path: Path, capsys):
    write_sums(ptbxl_remote, wrong={"records100/00000/00001_lr.dat": "f" * 64})
    dest = tmp_path / "data"
    with serve(ptbxl_remote) as (base_url, _):
        code = mrm_main(["download", "ptbxl", "--dest", str(dest), "--base-url", base_url, "--json"])
    summary = json.loads(capsys.readouterr().out)
    assert code == 1 and summary["ok"] is False and summary["downloaded"] == 7
    assert [b["path"] for b in summary["bad"]] == ["records100/00000/00001_lr.dat"]
    assert summary["bad"][0]["error"].startswith(f"SHA256 {sha256(ptbxl_remote / 'records100/00000/00001_lr.dat')}")
    assert not (dest / "ptb-xl" / "records100/00000/00001_lr.dat").exists()
    assert not list((dest / "ptb-xl").rglob("*.part"))


def test_a_missing_file_is_a_404_failure_and_the_rest_still_come(ptbxl_remote: Path, tmp_path: Path, capsys):
    write_sums(ptbxl_remote, extra={"records100/00000/00003_lr.dat": "a" * 64})
    with serve(ptbxl_remote) as (base_url, _):
        code = mrm_main(["download", "ptbxl", "--dest", str(tmp_path / "d"), "--base-url", base_url])
    err = capsys.readouterr().err
    assert code == 1
    assert "failed: records100/00000/00003_lr.dat: HTTP 404" in err
    assert len(list((tmp_path / "d" / "ptb-xl").rglob("*_lr.dat"))) == 2


def test_a_bad_base_url_says_so(ptbxl_remote: Path, tmp_path: Path):
    with serve(ptbxl_remote) as (base_url, _), pytest.raises(ECGInputError) as err:
        plan_download("ptbxl", tmp_path, base_url=base_url + "nowhere/")
    assert "nowhere/SHA256SUMS.txt: the server answered HTTP 404" in str(err.value)
    assert "--base-url" in str(err.value)


def test_an_unreachable_server_gives_one_sentence(tmp_path: Path, capsys):
    base_url = f"http://127.0.0.1:{closed_port()}/"
    code = mrm_main(["download", "cpsc2018", "--dest", str(tmp_path), "--base-url", base_url, "--timeout", "2"])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert err.startswith(f"error: {base_url}SHA256SUMS.txt: cannot connect to the server (ConnectionError)")
    assert err.endswith("then rerun the same command to resume.") and "\n" not in err
    assert not list(tmp_path.iterdir())


def test_a_connection_lost_during_the_download_stops_it(ptbxl_remote: Path, tmp_path: Path, monkeypatch):
    monkeypatch.setattr(download.time, "sleep", lambda seconds: None)
    checksums = (ptbxl_remote / "SHA256SUMS.txt").read_text()
    base_url = f"http://127.0.0.1:{closed_port()}/"
    plan = plan_download("ptbxl", tmp_path, base_url=base_url, checksums=checksums, timeout=2)
    assert plan.bytes_to_fetch is None  # no size could be measured
    with pytest.raises(ECGInputError, match=r"cannot connect .* rerun \(0 of 8 files fetched\) the same command"):
        download_dataset("ptbxl", tmp_path, plan=plan, progress=False, workers=2, timeout=2)


def test_sizes_are_estimated_from_a_sample_when_a_kind_has_many_files(ptbxl_remote: Path, tmp_path: Path,
                                                                      monkeypatch):
    monkeypatch.setattr(download, "_SIZE_SAMPLE", 1)
    with serve(ptbxl_remote) as (base_url, log):
        plan = plan_download("ptbxl", tmp_path, base_url=base_url)
    assert len([e for e in log if e[0] == "HEAD"]) == 6  # one per kind: 2 per records folder, 2 single files
    hea = [f for f in plan.files if f.local.startswith("records100") and f.local.endswith(".hea")]
    assert [f.size_exact for f in hea] == [True, False] and hea[0].size == hea[1].size
    assert not plan.sizes_exact
    true_total = sum((ptbxl_remote / f.remote).stat().st_size for f in plan.files)
    assert abs(plan.bytes_to_fetch - true_total) <= 50


def test_cpsc2018_lands_in_wfdb_folders_with_labels_from_the_headers(cpsc_remote: Path, cpsc_dir: Path,
                                                                    tmp_path: Path):
    with serve(cpsc_remote) as (base_url, log):
        report = download_dataset("cpsc2018", tmp_path, base_url=base_url, progress=False)
    folder = tmp_path / "cpsc2018"
    assert report.ok and len(report.results) == 2 * len(CPSC_RECORDS) + 1  # records + licence
    assert not [e for e in log if "georgia" in e[1] or e[1].endswith("RECORDS")]
    for record, group in CPSC_RECORDS.items():
        got = folder / "wfdb" / group / f"{record}.mat"
        assert got.read_bytes() == (cpsc_dir / "wfdb" / f"{record}.mat").read_bytes()
    with open(folder / "REFERENCE.csv") as handle:
        derived = {row["Recording"]: row for row in csv.DictReader(handle)}
    with open(cpsc_dir / "REFERENCE.csv") as handle:
        official = {row["Recording"]: row for row in csv.DictReader(handle) if row["Recording"] in CPSC_RECORDS}

    def labels(row: dict) -> set[str]:
        return {row[k] for k in ("First_label", "Second_label", "Third_label") if row[k]}

    # A0001's copy has an empty #Dx line, so only the five coded records can be labelled.
    assert sorted(derived) == ["A0689", "A1041", "A2712", "A5215", "A5432"]
    assert {r: labels(row) for r, row in derived.items()} == {r: labels(official[r]) for r in derived}
    assert labels(derived["A1041"]) == {"2", "4"} and derived["A1041"]["First_label"] == "2"
    assert report.notes == [
        "1 records have none of the nine CPSC2018 codes in #Dx and are not in REFERENCE.csv: A0001."]
    assert read_checksums((folder / "SHA256SUMS.txt").read_text())[0][1] == "LICENSE.txt"
    # An existing REFERENCE.csv (perhaps the challenge's own, with the original first labels) is never replaced.
    shutil.copyfile(cpsc_dir / "REFERENCE.csv", folder / "REFERENCE.csv")
    with serve(cpsc_remote) as (base_url, _):
        again = download_dataset("cpsc2018", tmp_path, base_url=base_url, progress=False)
    assert len(again.with_status("present")) == 13 and again.reference is None
    assert (folder / "REFERENCE.csv").read_bytes() == (cpsc_dir / "REFERENCE.csv").read_bytes()
    assert again.notes == ["REFERENCE.csv was already there and is kept; delete it to derive it from the headers."]


def test_cli_dry_run_lists_files_and_total_and_writes_nothing(ptbxl_remote: Path, tmp_path: Path, capsys):
    dest = tmp_path / "data"
    with serve(ptbxl_remote) as (base_url, log):
        assert mrm_main(["download", "ptbxl", "--dest", str(dest), "--base-url", base_url, "--dry-run"]) == 0
        text = capsys.readouterr().out
        assert mrm_main(["download", "ptbxl", "--dest", str(dest), "--base-url", base_url, "--dry-run",
                         "--json", "--only", "100"]) == 0
        summary = json.loads(capsys.readouterr().out)
    total = sum(p.stat().st_size for p in ptbxl_remote.rglob("*") if p.is_file() and p.name != "SHA256SUMS.txt")
    assert "records500/00000/00001_hr.dat  117.2 KiB  missing" in text
    assert text.splitlines()[-1] == f"ptbxl: 8 files into {dest / 'ptb-xl'} (8 missing, 0 partial, 0 present); " \
                                    f"{total / 1024:.1f} KiB to fetch."
    assert summary["n_files"] == 6 and summary["bytes_to_fetch"] == total - 120_000 - 605
    assert summary["dry_run"] and summary["sizes_exact"]
    assert not dest.exists() and not [e for e in log if e[0] == "GET" and e[1] != "/SHA256SUMS.txt"]


def test_cli_download_json_summary(ptbxl_remote: Path, tmp_path: Path, capsys):
    with serve(ptbxl_remote) as (base_url, _):
        code = mrm_main(["download", "ptbxl", "--dest", str(tmp_path), "--base-url", base_url, "--json"])
    summary = json.loads(capsys.readouterr().out)
    assert code == 0 and summary["ok"] and (summary["downloaded"], summary["bad"], summary["failed"]) == (8, [], [])
    files = [p for p in ptbxl_remote.rglob("*") if p.is_file() and p.name != "SHA256SUMS.txt"]
    assert summary["bytes_fetched"] == sum(p.stat().st_size for p in files)


def mrm_main(argv: list[str]) -> int:
    # Register only this command, so that these tests do not depend on the other commands' modules.
    original = mrm.cli.COMMANDS
    mrm.cli.COMMANDS = ("download",)
    try:
        return mrm.cli.main(argv)
    finally:
        mrm.cli.COMMANDS = original


def test_cli_refuses_zero_workers(tmp_path: Path, capsys):
    assert mrm_main(["download", "ptbxl", "--dest", str(tmp_path), "--workers", "0"]) == 2
    assert "--workers 0 --timeout 30: need at least 1 worker" in capsys.readouterr().err
    assert not list(tmp_path.iterdir())
