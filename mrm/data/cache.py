"""A compact array cache of a dataset at the model's rate, so a training epoch never parses WFDB files.

Layout of a cache folder (written atomically: a half-written cache is never mistaken for a finished one)::

    signals.npy   float32 (total_samples, 12): every record one after the other, in mV, leads in LEADS order
    index.csv     record_id, fold, offset, length: where each record lies in signals.npy
    meta.json     dataset, fs, source folder, counts, skipped records with the reason, mrm version

Build one with ``python -m mrm prepare --dataset ptbxl --data-dir DIR`` (see :func:`prepare_cache`).
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from mrm import __version__
from mrm.data.preprocess import MODEL_FS
from mrm.data.recording import LEADS
from mrm.errors import ECGInputError

DATASETS = ("ptbxl", "cpsc2018")
FOLDER_NAMES = {"ptbxl": "ptb-xl", "cpsc2018": "cpsc2018"}


@dataclass(frozen=True)
class SignalCache:
    """An opened cache: the signals (memory-mapped unless loaded) and where each record lies.

    Examples
    --------
    >>> cache = SignalCache.open("cache/ptbxl-100hz")  # doctest: +SKIP
    >>> cache.signal(0).shape  # doctest: +SKIP
    (12, 1000)
    """

    folder: Path
    signals: np.ndarray
    index: pd.DataFrame
    meta: dict

    @classmethod
    def open(cls, folder: str | Path, in_memory: bool = False) -> SignalCache:
        folder = Path(folder)
        missing = [name for name in ("signals.npy", "index.csv", "meta.json") if not (folder / name).exists()]
        if missing:
            raise ECGInputError(
                f"{folder}: not a finished mrm cache (missing {', '.join(missing)}); "
                "build it with `python -m mrm prepare --dataset DATASET --data-dir DIR`."
            )
        rebuild = "rebuild it with `python -m mrm prepare --dataset DATASET --data-dir DIR`."
        try:
            signals = np.load(folder / "signals.npy", mmap_mode=None if in_memory else "r", allow_pickle=False)
            index = pd.read_csv(folder / "index.csv", dtype={"record_id": str})
            meta = json.loads((folder / "meta.json").read_text())
            end = int((index["offset"] + index["length"]).max()) if len(index) else 0
        except (ValueError, KeyError, OSError) as err:  # truncated or foreign files (numpy, pandas, json errors)
            raise ECGInputError(f"{folder}: damaged mrm cache ({err}); {rebuild}") from err
        if signals.ndim != 2 or signals.shape[1] != len(LEADS) or end > len(signals):
            raise ECGInputError(
                f"{folder}: damaged mrm cache (index.csv reaches sample {end}, signals.npy is {signals.shape}); "
                f"{rebuild}"
            )
        return cls(folder, signals, index, meta)

    @property
    def fs(self) -> float:
        return float(self.meta["fs"])

    def __len__(self) -> int:
        return len(self.index)

    def signal(self, i: int) -> np.ndarray:
        """Record ``i`` (row of :attr:`index`) as a (12, n) float32 array."""
        offset, length = self.index.at[i, "offset"], self.index.at[i, "length"]
        return np.ascontiguousarray(self.signals[offset : offset + length].T)


def write_cache(
    out: str | Path,
    items: Iterable[tuple[str, int | None, np.ndarray]],
    *,
    dataset: str,
    fs: float,
    extra_meta: dict | Callable[[], dict] | None = None,
) -> Path:
    """Write ``(record_id, fold, signal (12, n))`` items into a cache folder at ``out``.

    ``extra_meta`` may be a callable, evaluated once all items are consumed (e.g. to count skipped records).

    Examples
    --------
    >>> import tempfile
    >>> items = [("a", 1, np.zeros((12, 1000), np.float32)), ("b", 9, np.ones((12, 700), np.float32))]
    >>> folder = write_cache(tempfile.mkdtemp() + "/c", items, dataset="demo", fs=100)
    >>> cache = SignalCache.open(folder)
    >>> len(cache), cache.signal(1).shape, float(cache.signal(1).mean())
    (2, (12, 700), 1.0)
    """
    out = Path(out)
    tmp = out.with_name(out.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    rows, chunks, offset = [], [], 0
    for record_id, fold, signal in items:
        chunks.append(np.asarray(signal, dtype=np.float32).T)
        rows.append((record_id, -1 if fold is None else int(fold), offset, signal.shape[1]))
        offset += signal.shape[1]
    signals = np.concatenate(chunks) if chunks else np.zeros((0, len(LEADS)), np.float32)
    np.save(tmp / "signals.npy", signals, allow_pickle=False)
    pd.DataFrame(rows, columns=["record_id", "fold", "offset", "length"]).to_csv(tmp / "index.csv", index=False)
    meta = {
        "dataset": dataset,
        "fs": float(fs),
        "leads": list(LEADS),
        "units": "mV",
        "n_records": len(rows),
        "total_samples": int(offset),
        "mrm_version": __version__,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        **((extra_meta() if callable(extra_meta) else extra_meta) or {}),
    }
    (tmp / "meta.json").write_text(json.dumps(meta, indent=2) + "\n")
    if out.exists():
        shutil.rmtree(out)
    os.replace(tmp, out)
    return out


# The worker processes of prepare_cache build their dataset index once, in the initializer.
_WORKER: dict = {}


def _init_worker(dataset: str, folder: str, fs: float) -> None:
    _WORKER["load"] = _record_loader(dataset, Path(folder), fs)


def _load_one(record_id: str) -> tuple[str, int | None, np.ndarray | None, str | None]:
    try:
        recording = _WORKER["load"](record_id)
    except ECGInputError as err:
        return record_id, None, None, str(err)
    return record_id, recording.fold, recording.signal, None


def _record_loader(dataset: str, folder: Path, fs: float) -> Callable:
    if dataset == "ptbxl":
        from mrm.data.ptbxl import load_ptbxl

        index = load_ptbxl(folder)
        return lambda record_id: index.load_record(int(record_id), fs=int(fs))
    if dataset == "cpsc2018":
        from mrm.data.cpsc2018 import load_cpsc2018
        from mrm.data.preprocess import resample

        index = load_cpsc2018(folder)
        return lambda record_id: resample(index.load_record(record_id), fs)
    raise ECGInputError(f"unknown dataset {dataset!r}; choose one of {', '.join(DATASETS)}.")


def _available_ids(dataset: str, folder: Path, fs: float) -> tuple[list[str], int]:
    """Ids of the records whose signals are present, and how many listed records lack them."""
    if dataset == "ptbxl":
        from mrm.data.ptbxl import load_ptbxl

        index = load_ptbxl(folder)
        present = index.has_signal(int(fs)).to_numpy()
        return [str(i) for i in index.ecg_ids[present]], int((~present).sum())
    if dataset == "cpsc2018":
        from mrm.data.cpsc2018 import load_cpsc2018

        index = load_cpsc2018(folder).filter(with_signal=True)
        return [str(i) for i in index.record_ids], index.n_missing
    raise ECGInputError(f"unknown dataset {dataset!r}; choose one of {', '.join(DATASETS)}.")


def dataset_folder(data_dir: str | Path, dataset: str) -> Path:
    """The folder of ``dataset`` inside a data root (or ``data_dir`` itself if it already is that folder)."""
    data_dir = Path(data_dir)
    if dataset not in FOLDER_NAMES:
        raise ECGInputError(f"unknown dataset {dataset!r}; choose one of {', '.join(DATASETS)}.")
    inner = data_dir / FOLDER_NAMES[dataset]
    return inner if inner.is_dir() else data_dir


def default_cache_dir(dataset: str, fs: float = MODEL_FS) -> Path:
    """Where ``prepare`` writes by default: ``./cache/<dataset>-<fs>hz`` (git-ignored)."""
    return Path("cache") / f"{dataset}-{fs:g}hz"


def prepare_cache(
    dataset: str,
    data_dir: str | Path,
    out: str | Path | None = None,
    *,
    fs: float = MODEL_FS,
    workers: int | None = None,
    limit: int | None = None,
    progress: bool = True,
) -> Path:
    """Read every available record of a dataset at ``fs`` and write the cache; returns its folder.

    Records listed but absent, and records that fail to read, are skipped, counted and named in ``meta.json``.

    Examples
    --------
    >>> prepare_cache("ptbxl", "data")  # doctest: +SKIP
    PosixPath('cache/ptbxl-100hz')
    """
    folder = dataset_folder(data_dir, dataset)
    out = Path(out) if out is not None else default_cache_dir(dataset, fs)
    ids, n_absent = _available_ids(dataset, folder, fs)
    if limit is not None:
        ids = ids[:limit]
    workers = max(1, min(workers or os.cpu_count() or 1, 8))
    skipped: list[dict[str, str]] = []
    started = time.perf_counter()

    def loaded() -> Iterator[tuple[str, int | None, np.ndarray]]:
        bar = tqdm(total=len(ids), desc=f"prepare {dataset}", unit="rec", disable=not progress)
        if workers == 1:
            _init_worker(dataset, str(folder), fs)
            results: Iterable = map(_load_one, ids)
        else:
            pool = ProcessPoolExecutor(workers, initializer=_init_worker, initargs=(dataset, str(folder), fs))
            results = pool.map(_load_one, ids, chunksize=32)
        for record_id, fold, signal, error in results:
            bar.update()
            if error is not None:
                skipped.append({"record_id": record_id, "reason": error})
                continue
            yield record_id, fold, signal
        bar.close()
        if workers > 1:
            pool.shutdown()

    def meta() -> dict:
        return {
            "source": str(folder.resolve()),
            "n_listed_without_signal": n_absent,
            "n_skipped": len(skipped),
            "skipped": skipped,
            "seconds": round(time.perf_counter() - started, 1),
        }

    return write_cache(out, loaded(), dataset=dataset, fs=fs, extra_meta=meta)
