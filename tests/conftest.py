"""Shared fixtures: where the real data lives, and what to do when it is absent.

Tests read the data root named by ``MRM_DATA_DIR`` (default ``../shared/data``). A missing dataset
fails the test when ``CI`` is set and skips it, with the reason, elsewhere.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def data_root() -> Path:
    return Path(os.environ.get("MRM_DATA_DIR", REPO.parent / "shared" / "data")).resolve()


def require(path: Path, what: str) -> Path:
    """Return ``path`` if it exists; otherwise fail under CI and skip elsewhere, saying what is missing."""
    if not path.exists():
        reason = f"{what} not found at {path} (set MRM_DATA_DIR to a data root holding it)"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    return path


@pytest.fixture(scope="session")
def shared_data() -> Path:
    return require(data_root(), "the data root")


@pytest.fixture(scope="session")
def ptbxl_dir(shared_data: Path) -> Path:
    return require(shared_data / "ptb-xl" / "ptbxl_database.csv", "PTB-XL").parent


@pytest.fixture(scope="session")
def cpsc_dir(shared_data: Path) -> Path:
    return require(shared_data / "cpsc2018" / "REFERENCE.csv", "CPSC2018").parent


@pytest.fixture(scope="session")
def ptbdb_dir(shared_data: Path) -> Path:
    return require(shared_data / "ptbdb" / "s0010_re.hea", "the PTB Diagnostic record s0010_re").parent


@pytest.fixture(scope="session")
def cinc_dir(shared_data: Path) -> Path:
    return require(shared_data / "cinc" / "HR06000.hea", "the PhysioNet/CinC 2021 records").parent


@pytest.fixture(scope="session")
def ludb_dir(shared_data: Path) -> Path:
    return require(shared_data / "ludb" / "ludb.csv", "LUDB").parent


@pytest.fixture(scope="session")
def ptbxl_root(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data root with all 2,992 PTB-XL records (the packed ``ptb-xl-extra/`` unpacked beside the shared 500), built
    once per session in about 6 s (380 MB), as ``unpack.py data/ptb-xl`` does for users. Read-only for tests."""
    unpack = require(shared_data / "ptb-xl-extra" / "unpack.py", "PTB-XL's packed records (ptb-xl-extra/)")
    root = tmp_path_factory.mktemp("ptbxl-root")
    subprocess.run([sys.executable, str(unpack), str(root / "ptb-xl")], check=True, capture_output=True)
    return root


@pytest.fixture(scope="session")
def ptbxl_cache(ptbxl_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A training cache of the shared PTB-XL folder (its 500 records with signal files), built once per session.

    Read-only for tests: a test that damages a cache copies it first.
    """
    from mrm.data.cache import prepare_cache

    return prepare_cache("ptbxl", ptbxl_dir.parent, tmp_path_factory.mktemp("cache") / "ptbxl-100hz", workers=1,
                         progress=False)


@pytest.fixture(scope="session")
def tiny_weights(shared_data: Path, ptbxl_cache: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Weights and card of a tiny MRM-Net trained once per session on the shared PTB-XL records (superdiagnostic).

    Twelve epochs (about 5 s on one core) give a macro AUC near 0.8 on the shared fold 10: a network that has
    learned something, for tests of prediction and explanation. Read-only for tests.
    """
    from mrm.train.config import TrainConfig
    from mrm.train.run import train_task

    config = TrainConfig(task="superdiagnostic", model="tiny", epochs=12)
    # Runs on one thread (the autouse fixture one_thread): two made this 20 times slower on shared cores.
    return train_task(config, shared_data, tmp_path_factory.mktemp("tiny-run"), cache_dir=ptbxl_cache,
                      progress=False, log=lambda _: None)


@pytest.fixture(scope="session", autouse=True)
def one_thread():
    """One torch thread for the whole run: two OpenMP threads on two cores shared with other processes ran many
    times slower than one, and bitwise-reproducible CPU training needs one."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def ptbxl(ptbxl_dir: Path):
    """The shared PTB-XL index (read-only for tests)."""
    from mrm.data import load_ptbxl

    return load_ptbxl(ptbxl_dir)


@pytest.fixture(scope="session")
def fold10(ptbxl):
    """The shared PTB-XL records of the test fold."""
    return ptbxl.filter(folds=10)


@pytest.fixture(scope="session")
def predictor(tiny_weights: Path):
    """A Predictor of the session's tiny weights (:func:`tiny_weights`)."""
    from mrm.infer import Predictor

    return Predictor.load(tiny_weights)


@pytest.fixture(scope="module")
def browser():
    """Headless chromium driven by Playwright (tests/test_browser*.py); skipped, or failed under CI, without it."""
    from browser_helpers import CHROMIUM, CHROMIUM_ARGS, require_browser

    require_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()
