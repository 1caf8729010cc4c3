"""Fetch PTB-XL and CPSC2018 from PhysioNet: resumable, verified against the published SHA256SUMS.txt.

Where the files come from:

- PTB-XL v1.0.3: https://physionet.org/files/ptb-xl/1.0.3/ (the native tree: ``ptbxl_database.csv``,
  ``scp_statements.csv``, ``records100/``, ``records500/``, ...) into ``DEST/ptb-xl/``, paths unchanged.
- CPSC2018: the PhysioNet/CinC Challenge 2020 copy, https://physionet.org/files/challenge-2020/1.0.2/,
  folder ``training/cpsc_2018/g1`` ... ``g7`` (6,877 WFDB records, ``.hea`` + ``.mat``), into
  ``DEST/cpsc2018/wfdb/g1`` ... ``g7``. PhysioNet does not publish the challenge's ``REFERENCE.csv``, so it is
  derived from the ``#Dx:`` SNOMED CT codes of the headers (see :func:`write_cpsc_reference`).

Every file is written to ``NAME.part`` and renamed only once its SHA256 matches the published one, so a file
under its final name is complete. A rerun skips files whose SHA256 matches, continues each ``.part`` with an
HTTP Range request, and replaces files that do not match.
"""

from __future__ import annotations

import csv
import hashlib
import os
import re
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path, PurePosixPath

import requests
from tqdm import tqdm

from mrm import __version__
from mrm.errors import ECGInputError

#: SNOMED CT codes of the nine CPSC2018 classes in the CinC 2020 headers, mapped to the challenge's label
#: numbers (1 Normal, 2 AF, 3 I-AVB, 4 LBBB, 5 RBBB, 6 PAC, 7 PVC, 8 STD, 9 STE).
CPSC_SNOMED: dict[str, int] = {
    "426783006": 1, "164889003": 2, "270492004": 3, "164909002": 4, "59118001": 5,
    "284470004": 6, "164884008": 7, "429622005": 8, "164931005": 9,
}

_CHUNK = 1 << 16
_ATTEMPTS = 3
# This many files in a row failing on the network (each after its retries) means the connection is gone.
_NETWORK_DOWN_AFTER = 5
# HEAD requests per kind of file when estimating sizes; a kind with fewer files is measured exactly.
_SIZE_SAMPLE = 32
_TRANSIENT = (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError)


class _Stopped(Exception):
    """Raised inside a transfer when the run is stopping (interrupt or lost connection); the .part stays."""


@dataclass(frozen=True)
class DatasetSource:
    """Where a dataset is published and which of its files we keep, under which local path."""

    name: str
    folder: str
    base_url: str
    description: str
    local_path: Callable[[str], str | None]


def _ptbxl_path(remote: str) -> str | None:
    return remote


def _cpsc_path(remote: str) -> str | None:
    prefix = "training/cpsc_2018/"
    if remote.startswith(prefix) and remote.endswith((".hea", ".mat")):
        return "wfdb/" + remote[len(prefix):]
    return remote if remote == "LICENSE.txt" else None


#: The datasets ``python -m mrm download`` knows, by the name the command takes.
DATASETS: dict[str, DatasetSource] = {
    "ptbxl": DatasetSource(
        "ptbxl", "ptb-xl", "https://physionet.org/files/ptb-xl/1.0.3/",
        "PTB-XL v1.0.3 (PhysioNet, CC BY 4.0)", _ptbxl_path,
    ),
    "cpsc2018": DatasetSource(
        "cpsc2018", "cpsc2018", "https://physionet.org/files/challenge-2020/1.0.2/",
        "CPSC2018 as published in the PhysioNet/CinC Challenge 2020 v1.0.2 (training/cpsc_2018)", _cpsc_path,
    ),
}


@dataclass
class RemoteFile:
    """One published file: its path on the server, where it goes, its SHA256 and what is on disk now.

    ``size`` is the file's size in bytes when known (measured with a HEAD request, or on disk for a present
    file), else an estimate from files of the same kind (``size_exact`` False), else None. ``state`` is
    ``"missing"``, ``"partial"`` (a ``.part`` of ``part_bytes`` bytes waits to be continued) or ``"present"``
    (a file of that name exists; its SHA256 is checked before it is skipped).
    """

    remote: str
    local: str
    sha256: str
    size: int | None = None
    size_exact: bool = False
    state: str = "missing"
    part_bytes: int = 0


@dataclass
class DownloadPlan:
    """What a download would fetch: the files of a dataset, filtered, with sizes and local state."""

    dataset: str
    folder: Path
    base_url: str
    files: list[RemoteFile]
    manifest: list[str] = field(repr=False, default_factory=list)

    @property
    def bytes_to_fetch(self) -> int | None:
        """Bytes still to download (missing files and the rest of partial ones); None when sizes are unknown."""
        total = 0
        for item in self.files:
            if item.state == "present":
                continue
            if item.size is None:
                return None
            total += max(item.size - item.part_bytes, 0)
        return total

    @property
    def sizes_exact(self) -> bool:
        """Whether :attr:`bytes_to_fetch` is measured rather than estimated."""
        return all(item.size_exact for item in self.files if item.state != "present")

    def count(self, state: str) -> int:
        """Number of files in ``state`` (``"missing"``, ``"partial"`` or ``"present"``)."""
        return sum(item.state == state for item in self.files)

    def to_dict(self) -> dict:
        """A JSON-ready summary, one entry per file."""
        return {
            "dataset": self.dataset, "folder": str(self.folder), "base_url": self.base_url, "dry_run": True,
            "n_files": len(self.files), "missing": self.count("missing"), "partial": self.count("partial"),
            "present": self.count("present"), "bytes_to_fetch": self.bytes_to_fetch,
            "sizes_exact": self.sizes_exact, "files": [asdict(item) for item in self.files],
        }


@dataclass
class FileResult:
    """What happened to one file: ``status`` is downloaded, resumed, present, bad (SHA256 mismatch) or failed.

    ``path`` is relative to the dataset folder once :func:`download_dataset` reports it.
    """

    path: str
    status: str
    bytes_fetched: int = 0
    error: str | None = None
    http_status: int | None = None


@dataclass
class DownloadReport:
    """The outcome of :func:`download_dataset`; ``ok`` is False when any file is bad or failed."""

    dataset: str
    folder: Path
    base_url: str
    results: list[FileResult]
    seconds: float
    reference: Path | None = None
    notes: list[str] = field(default_factory=list)

    def with_status(self, status: str) -> list[FileResult]:
        """The results whose status is ``status``."""
        return [result for result in self.results if result.status == status]

    @property
    def ok(self) -> bool:
        return not (self.with_status("bad") or self.with_status("failed"))

    @property
    def bytes_fetched(self) -> int:
        return sum(result.bytes_fetched for result in self.results)

    def to_dict(self) -> dict:
        """A JSON-ready summary: counts, bytes, time, and the bad and failed files by name."""
        return {
            "dataset": self.dataset, "folder": str(self.folder), "base_url": self.base_url, "dry_run": False,
            "ok": self.ok, "n_files": len(self.results),
            **{status: len(self.with_status(status)) for status in ("downloaded", "resumed", "present")},
            "bad": [{"path": r.path, "error": r.error} for r in self.with_status("bad")],
            "failed": [{"path": r.path, "error": r.error} for r in self.with_status("failed")],
            "bytes_fetched": self.bytes_fetched, "seconds": round(self.seconds, 2),
            "reference": str(self.reference) if self.reference else None, "notes": self.notes,
        }


def read_checksums(text: str, source: str = "SHA256SUMS.txt") -> list[tuple[str, str]]:
    """Parse a SHA256SUMS.txt into ``(sha256, relative path)`` pairs, in file order.

    Lines are ``<sha256> <path>`` (PhysioNet) or ``<sha256>  <path>`` / ``<sha256> *<path>`` (sha256sum).
    A path that is absolute or climbs out of the folder raises :class:`ECGInputError`, so that a tampered
    list cannot write outside the destination.

    Examples
    --------
    >>> read_checksums("ab" * 32 + " records100/00000/00001_lr.hea\\n\\n" + "cd" * 32 + "  LICENSE.txt\\n")[1]
    ('cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd', 'LICENSE.txt')
    """
    pairs = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        match = re.fullmatch(r"([0-9a-fA-F]{64}) [ *]?(.+)", line.rstrip("\r"))
        if not match:
            raise ECGInputError(
                f"{source}: line {number} is not '<sha256> <path>'; the checksum list is damaged, download it again."
            )
        path = PurePosixPath(match.group(2))
        if path.is_absolute() or ".." in path.parts:
            raise ECGInputError(f"{source}: line {number} names a path outside the dataset ({path}); refusing it.")
        pairs.append((match.group(1).lower(), str(path)))
    return pairs


def hash_file(path: str | Path) -> str:
    """Return the SHA256 of a file as lower-case hex.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.NamedTemporaryFile(delete=False) as f:
    ...     _ = f.write(b"abc")
    >>> hash_file(f.name)[:16]
    'ba7816bf8f01cfea'
    """
    return _hash_into(hashlib.sha256(), Path(path)).hexdigest()


def _hash_into(digest: hashlib._Hash, path: Path) -> hashlib._Hash:
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest


def _source(dataset: str) -> DatasetSource:
    if dataset not in DATASETS:
        raise ECGInputError(f"{dataset}: unknown dataset; choose one of {', '.join(DATASETS)}.")
    return DATASETS[dataset]


def _join(base_url: str, path: str) -> str:
    return base_url.rstrip("/") + "/" + path


class _Sessions:
    """One requests.Session per thread (a Session is not safe to share), closed together at the end."""

    def __init__(self) -> None:
        self._local = threading.local()
        self._all: list[requests.Session] = []
        self._lock = threading.Lock()

    def get(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            session.headers["User-Agent"] = f"mrm-ecg/{__version__} (python-requests)"
            self._local.session = session
            with self._lock:
                self._all.append(session)
        return session

    def close(self) -> None:
        for session in self._all:
            session.close()


def _network_sentence(url: str, err: Exception, timeout: float) -> str:
    if isinstance(err, requests.Timeout):
        what = f"the server did not answer within {timeout:g} s"
    else:
        what = "cannot connect to the server"
    return (
        f"{url}: {what} ({type(err).__name__}); check your internet connection or proxy, or give another "
        "--base-url, then rerun the same command to resume."
    )


def fetch_checksums(base_url: str, *, timeout: float = 30.0, session: requests.Session | None = None) -> str:
    """Download the text of ``BASE_URL/SHA256SUMS.txt``.

    Raises :class:`ECGInputError` with one sentence when the server cannot be reached or answers with an error.

    Examples
    --------
    >>> text = fetch_checksums("https://physionet.org/files/ptb-xl/1.0.3/")  # doctest: +SKIP
    >>> read_checksums(text)[0]  # doctest: +SKIP
    ('...', 'LICENSE.txt')
    """
    url = _join(base_url, "SHA256SUMS.txt")
    try:
        response = (session or requests).get(url, timeout=timeout)
    except _TRANSIENT as err:
        raise ECGInputError(_network_sentence(url, err, timeout)) from err
    if response.status_code != 200:
        raise ECGInputError(
            f"{url}: the server answered HTTP {response.status_code} instead of the checksum list; "
            "check --base-url (it must be the folder holding SHA256SUMS.txt)."
        )
    return response.text


def plan_download(
    dataset: str,
    dest: str | Path,
    *,
    base_url: str | None = None,
    only: str | None = None,
    timeout: float = 30.0,
    workers: int = 8,
    checksums: str | None = None,
) -> DownloadPlan:
    """List the files of ``dataset`` to fetch into ``dest``, with their state on disk and their sizes.

    Sizes come from HEAD requests: every file of a kind (top folder and extension) when the kind has at most
    32 files still to fetch, otherwise 32 evenly spaced ones, whose mean stands for the rest (``sizes_exact``
    False). ``only="100"`` keeps PTB-XL's 100 Hz records (skips ``records500/``, five sixths of the bytes),
    ``only="500"`` the 500 Hz ones.

    Examples
    --------
    >>> plan = plan_download("ptbxl", "data", only="100")  # doctest: +SKIP
    >>> plan.count("missing") > 40_000, plan.sizes_exact  # doctest: +SKIP
    (True, False)
    """
    source = _source(dataset)
    base_url = base_url or source.base_url
    if only is not None and (dataset != "ptbxl" or only not in ("100", "500")):
        raise ECGInputError(f"--only {only}: only PTB-XL can be limited, to 100 or 500 (Hz); drop --only.")
    if checksums is None:
        checksums = fetch_checksums(base_url, timeout=timeout)
    pairs = read_checksums(checksums, _join(base_url, "SHA256SUMS.txt"))
    folder = Path(dest) / source.folder
    skipped = {"100": "records500/", "500": "records100/"}.get(only or "")
    files, manifest = [], []
    for sha256, remote in pairs:
        local = source.local_path(remote)
        if local is None or (skipped and local.startswith(skipped)):
            continue
        files.append(_look_on_disk(RemoteFile(remote, local, sha256), folder))
        manifest.append(f"{sha256} {local}")
    if not files:
        raise ECGInputError(
            f"{_join(base_url, 'SHA256SUMS.txt')}: lists none of the {source.description} files; check --base-url."
        )
    _measure_sizes(files, base_url, timeout=timeout, workers=workers)
    return DownloadPlan(dataset, folder, base_url, files, manifest)


def _look_on_disk(item: RemoteFile, folder: Path) -> RemoteFile:
    path = folder / item.local
    part = path.with_name(path.name + ".part")
    if path.is_file():
        item.state, item.size, item.size_exact = "present", path.stat().st_size, True
    elif part.is_file():
        item.state, item.part_bytes = "partial", part.stat().st_size
    return item


def _measure_sizes(files: list[RemoteFile], base_url: str, *, timeout: float, workers: int) -> None:
    kinds: dict[tuple[str, ...], list[RemoteFile]] = {}
    for item in files:
        if item.state != "present":
            parts = PurePosixPath(item.local).parts
            kind = (parts[0], PurePosixPath(item.local).suffix) if len(parts) > 1 else (item.local,)
            kinds.setdefault(kind, []).append(item)
    samples = []
    for members in kinds.values():
        step = max(len(members) / _SIZE_SAMPLE, 1.0)
        samples += [members[int(i * step)] for i in range(min(len(members), _SIZE_SAMPLE))]
    sessions = _Sessions()

    def head(item: RemoteFile) -> None:
        try:
            response = sessions.get().head(_join(base_url, item.remote), timeout=timeout, allow_redirects=True)
        except _TRANSIENT:
            return
        length = response.headers.get("Content-Length")
        if response.status_code == 200 and length is not None and length.isdigit():
            item.size, item.size_exact = int(length), True

    try:
        with ThreadPoolExecutor(max_workers=max(workers, 1)) as pool:
            list(pool.map(head, samples))
    finally:
        sessions.close()
    for members in kinds.values():
        known = [item.size for item in members if item.size_exact]
        mean = round(sum(known) / len(known)) if known else None
        for item in members:
            if not item.size_exact:
                item.size = mean


def fetch_file(
    url: str,
    path: str | Path,
    sha256: str,
    *,
    session: requests.Session | None = None,
    timeout: float = 30.0,
    on_bytes: Callable[[int], None] | None = None,
    on_length: Callable[[int], None] | None = None,
) -> FileResult:
    """Download one file to ``path`` through ``path.part``, continuing a partial one, and check its SHA256.

    A ``.part`` left by an earlier run is continued with ``Range: bytes=N-``; a server that ignores the range
    (HTTP 200) makes the file start over. On a SHA256 mismatch the partial file is deleted and the result is
    ``"bad"``; nothing is left under ``path``. Network errors propagate (the ``.part`` stays for the next try).

    Examples
    --------
    >>> fetch_file("https://physionet.org/files/ptb-xl/1.0.3/LICENSE.txt", "LICENSE.txt",
    ...            "ceb2e79ebba9df1de8823255c9cd9c8779b5dbaeab44b37e319e0cbff057360d")  # doctest: +SKIP
    FileResult(path='LICENSE.txt', status='downloaded', bytes_fetched=..., error=None)
    """
    path = Path(path)
    part = path.with_name(path.name + ".part")
    path.parent.mkdir(parents=True, exist_ok=True)
    have = part.stat().st_size if part.is_file() else 0
    digest = _hash_into(hashlib.sha256(), part) if have else hashlib.sha256()
    headers = {"Range": f"bytes={have}-"} if have else {}
    fetched = 0
    with (session or requests).get(url, headers=headers, stream=True, timeout=timeout) as response:
        if response.status_code == 416 and have:
            # Nothing left past `have`: the partial file may already be whole.
            return _finish(part, path, digest, sha256, "resumed", 0)
        if response.status_code not in (200, 206):
            return FileResult(str(path), "failed", 0, f"HTTP {response.status_code} for {url}", response.status_code)
        if response.status_code == 200:
            have, digest = 0, hashlib.sha256()
        elif _range_start(response.headers.get("Content-Range")) != have:
            return FileResult(str(path), "failed", 0, f"{url}: the server did not resume at byte {have}")
        length = response.headers.get("Content-Length")
        if on_length and length is not None and length.isdigit():
            on_length(int(length))
        with open(part, "ab" if have else "wb") as out:
            for chunk in response.iter_content(_CHUNK):
                out.write(chunk)
                digest.update(chunk)
                fetched += len(chunk)
                if on_bytes:
                    on_bytes(len(chunk))
    return _finish(part, path, digest, sha256, "resumed" if have else "downloaded", fetched)


def _range_start(content_range: str | None) -> int:
    match = re.match(r"bytes (\d+)-", content_range or "")
    return int(match.group(1)) if match else -1


def _finish(part: Path, path: Path, digest: hashlib._Hash, sha256: str, status: str, fetched: int) -> FileResult:
    if digest.hexdigest() != sha256:
        part.unlink(missing_ok=True)
        return FileResult(str(path), "bad", fetched, f"SHA256 {digest.hexdigest()} differs from the published {sha256}")
    os.replace(part, path)
    return FileResult(str(path), status, fetched)


class _Progress:
    """A byte progress bar across files whose total is corrected as each server states a file's length."""

    def __init__(self, total: int | None, enabled: bool) -> None:
        self.bar = tqdm(total=total, unit="B", unit_scale=True, unit_divisor=1024, desc="download",
                        disable=None if enabled else True, dynamic_ncols=True)
        self.lock = threading.Lock()

    def add(self, n: int) -> None:
        with self.lock:
            self.bar.update(n)

    def correct(self, estimated: int | None, actual: int) -> None:
        with self.lock:
            if self.bar.total is not None and estimated is not None:
                self.bar.total += actual - estimated

    def close(self) -> None:
        self.bar.close()


def download_dataset(
    dataset: str,
    dest: str | Path,
    *,
    base_url: str | None = None,
    only: str | None = None,
    workers: int = 8,
    timeout: float = 30.0,
    progress: bool = True,
    plan: DownloadPlan | None = None,
) -> DownloadReport:
    """Fetch ``dataset`` into ``dest/<folder>``, verified file by file, continuing where an earlier run stopped.

    Files already present are kept when their SHA256 matches and fetched again when it does not; a file whose
    download does not match is deleted and reported as ``"bad"``; HTTP errors are reported as ``"failed"``.
    The folder gets a ``SHA256SUMS.txt`` of the files it should hold (local paths, ``sha256sum -c`` works).
    For CPSC2018, ``REFERENCE.csv`` is derived from the headers once every file is in place, unless the folder
    already has one (it may be the challenge's original, which keeps the order of the labels).
    Several files are fetched at once (``workers``): PhysioNet's files are small and latency dominates.

    Raises :class:`ECGInputError` when the server cannot be reached, before or during the download.

    Examples
    --------
    >>> report = download_dataset("ptbxl", "data", only="100")  # doctest: +SKIP
    >>> report.ok  # doctest: +SKIP
    True
    """
    started = time.monotonic()
    plan = plan or plan_download(dataset, dest, base_url=base_url, only=only, timeout=timeout, workers=workers)
    plan.folder.mkdir(parents=True, exist_ok=True)
    (plan.folder / "SHA256SUMS.txt").write_text("\n".join(plan.manifest) + "\n")
    present = [item for item in plan.files if item.state == "present"]
    matches = _check_present(present, plan.folder, workers=workers, progress=progress)
    results = [FileResult(item.local, "present") for item, ok in zip(present, matches, strict=True) if ok]
    notes = []
    stale = [item for item, ok in zip(present, matches, strict=True) if not ok]
    for item in stale:
        (plan.folder / item.local).unlink()
        item.state = "missing"
    if stale:
        notes.append(f"{len(stale)} files on disk did not match their published SHA256 and were fetched again.")
    todo = [item for item in plan.files if item.state != "present"]
    results += _fetch_all(todo, plan, workers=workers, timeout=timeout, progress=progress)
    report = DownloadReport(plan.dataset, plan.folder, plan.base_url, results, time.monotonic() - started, notes=notes)
    if plan.dataset == "cpsc2018":
        if (plan.folder / "REFERENCE.csv").exists():
            # It may be the challenge's own file, whose first labels the headers cannot restore.
            report.notes.append("REFERENCE.csv was already there and is kept; delete it to derive it from the headers.")
        elif report.ok:
            report.reference, skipped = write_cpsc_reference(plan.folder)
            report.notes += skipped
        else:
            report.notes.append("REFERENCE.csv not written: some files are missing; rerun to finish the download.")
    return report


def _check_present(files: list[RemoteFile], folder: Path, *, workers: int, progress: bool) -> list[bool]:
    def matches(item: RemoteFile) -> bool:
        return hash_file(folder / item.local) == item.sha256

    with ThreadPoolExecutor(max_workers=max(workers, 1)) as pool:
        checks = pool.map(matches, files)
        return list(tqdm(checks, total=len(files), unit="file", desc="verify", disable=None if progress else True))


def _fetch_all(
    files: list[RemoteFile], plan: DownloadPlan, *, workers: int, timeout: float, progress: bool
) -> list[FileResult]:
    remaining = [max(f.size - f.part_bytes, 0) if f.size is not None else None for f in files]
    bar = _Progress(None if None in remaining else sum(remaining), progress)
    sessions = _Sessions()
    stop = threading.Event()
    lock = threading.Lock()
    failures_in_a_row = 0
    lost: list[str] = []

    def fetch(index: int) -> FileResult:
        nonlocal failures_in_a_row
        item = files[index]
        if stop.is_set():
            return FileResult(item.local, "failed", 0, "not attempted: the connection was lost")
        url = _join(plan.base_url, item.remote)
        fetched, corrected = 0, False

        def count(n: int) -> None:
            nonlocal fetched
            fetched += n
            bar.add(n)
            if stop.is_set():
                raise _Stopped

        def correct(length: int) -> None:
            # The first answer tells what is really left of this file; later ones (retries) continue it.
            nonlocal corrected
            if not corrected:
                bar.correct(remaining[index], fetched + length)
                corrected = True

        for attempt in range(_ATTEMPTS):
            last = attempt + 1 == _ATTEMPTS
            try:
                result = fetch_file(url, plan.folder / item.local, item.sha256, session=sessions.get(),
                                    timeout=timeout, on_bytes=count, on_length=correct)
            except _Stopped:
                return FileResult(item.local, "failed", fetched, "stopped before the end; rerun to resume")
            except _TRANSIENT as err:
                if not last:
                    time.sleep(0.5 * 2**attempt)
                    continue
                with lock:
                    failures_in_a_row += 1
                    if failures_in_a_row >= _NETWORK_DOWN_AFTER and not stop.is_set():
                        lost.append(_network_sentence(url, err, timeout))
                        stop.set()
                return FileResult(item.local, "failed", fetched, f"{type(err).__name__} after {_ATTEMPTS} tries")
            if result.http_status is not None and result.http_status >= 500 and not last:
                time.sleep(0.5 * 2**attempt)
                continue
            with lock:
                failures_in_a_row = 0
            result.path, result.bytes_fetched = item.local, fetched
            return result
        raise AssertionError("the loop above returns on its last attempt")

    pool = ThreadPoolExecutor(max_workers=max(workers, 1))
    try:
        results = list(pool.map(fetch, range(len(files))))
    except BaseException:
        # Ctrl-C: stop the transfers under way (their .part files stay) and drop the queued ones.
        stop.set()
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        bar.close()
        sessions.close()
    if lost:
        done = sum(r.status in ("downloaded", "resumed") for r in results)
        raise ECGInputError(lost[0].replace("then rerun", f"then rerun ({done} of {len(files)} files fetched)"))
    return results


def write_cpsc_reference(folder: str | Path) -> tuple[Path, list[str]]:
    """Write ``folder/REFERENCE.csv`` from the ``#Dx:`` SNOMED CT codes of the CPSC2018 WFDB headers in it.

    PhysioNet publishes the CinC 2020 copy of CPSC2018 without the challenge's ``REFERENCE.csv``, so the
    labels are rebuilt from each header (codes in :data:`CPSC_SNOMED`; others are ignored) in the original
    format: ``Recording,First_label,Second_label,Third_label`` with the label numbers 1-9. The headers do
    not keep the order of the original file, so the labels of a record are written in ascending label
    number: ``First_label`` is the lowest, not necessarily the first label of the original REFERENCE.csv
    (they differ for some multi-label records, e.g. A1041: original 4,2, derived 2,4). Records without any
    of the nine codes are left out and named in the returned notes.

    Returns the path written and notes (one sentence each) on what was left out.

    Examples
    --------
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> _ = (folder / "A5215.hea").write_text(
    ...     "A5215 1 500 5000\\nA5215.mat 16+24 1000/mV 16 0 0 0 0 I\\n#Dx: 59118001,284470004\\n")
    >>> path, notes = write_cpsc_reference(folder)
    >>> path.read_text().splitlines()
    ['Recording,First_label,Second_label,Third_label', 'A5215,5,6,']
    """
    import wfdb  # imported here: wfdb pulls in pandas and matplotlib, which plain downloads do not need

    folder = Path(folder)
    rows, unlabelled, extra = [], [], 0
    headers = sorted(folder.rglob("*.hea"), key=lambda p: p.stem)
    if not headers:
        raise ECGInputError(f"{folder}: holds no .hea files to read CPSC2018 labels from; download the data first.")
    for header in headers:
        comments = wfdb.rdheader(str(header.with_suffix(""))).comments
        codes = _dx_codes(comments)
        labels = sorted({CPSC_SNOMED[c] for c in codes if c in CPSC_SNOMED})
        extra += any(c not in CPSC_SNOMED for c in codes)
        if labels:
            rows.append([header.stem, *labels])
        else:
            unlabelled.append(header.stem)
    width = max(3, *(len(row) - 1 for row in rows)) if rows else 3
    names = ["First_label", "Second_label", "Third_label"] + [f"Label_{i}" for i in range(4, width + 1)]
    path = folder / "REFERENCE.csv"
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["Recording", *names])
        for row in rows:
            writer.writerow(row + [""] * (width + 1 - len(row)))
    notes = []
    if unlabelled:
        shown = ", ".join(unlabelled[:10]) + (" ..." if len(unlabelled) > 10 else "")
        notes.append(f"{len(unlabelled)} records have none of the nine CPSC2018 codes in #Dx and are not in "
                     f"REFERENCE.csv: {shown}.")
    if extra:
        notes.append(f"{extra} records also carry #Dx codes outside the nine classes; those codes were ignored.")
    return path, notes


def _dx_codes(comments: Iterable[str]) -> list[str]:
    for comment in comments:
        key, _, value = comment.partition(":")
        if key.strip().lower() == "dx":
            return [code.strip() for code in value.split(",") if code.strip()]
    return []
