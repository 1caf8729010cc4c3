"""A fresh install: ``pip install .`` of a clean clone of the committed HEAD into a new virtual environment gives an
``mrm`` command that works from any folder, without the checkout, the shared data or a data folder.

The environment reuses the installed dependencies (``--system-site-packages``) and pip builds without network
(``--no-deps --no-build-isolation --no-index``). Runs in CI; about 15 s.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mrm import __version__

REPO = Path(__file__).resolve().parents[1]
# Where the samples come from and where the app opens: the first bundled sample and an AF record.
SAMPLE_FILES = ("records500/00000/00057_hr.hea", "records500/20000/20406_hr.hea")


def _run(args: list, cwd: Path, env: dict, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


def test_pyproject_lists_every_package():
    """Packages are listed (so that weights/ can be mapped to mrm.weights): a new subpackage must be added there."""
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    config = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]
    found = {".".join(p.relative_to(REPO).parts[:-1]) for p in (REPO / "mrm").rglob("__init__.py")}
    assert set(config["packages"]) == found | {"mrm.weights"}
    assert config["package-dir"] == {"mrm.weights": "weights"}


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Clone HEAD, make a venv, pip install the clone; returns the paths and a clean environment."""
    root = tmp_path_factory.mktemp("install")
    clone, venv, work = root / "clone", root / "venv", root / "elsewhere"
    work.mkdir()
    env = {k: v for k, v in os.environ.items()
           if k not in ("MRM_DATA_DIR", "MRM_WEIGHTS_DIR", "PYTHONPATH", "VIRTUAL_ENV", "PIP_REQUIRE_VIRTUALENV")}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    steps = [
        ["git", "clone", "--quiet", "--no-hardlinks", REPO, clone],
        # No pip inside the venv: the system's pip and setuptools (>= 77) serve it through the system site-packages.
        [sys.executable, "-m", "venv", "--system-site-packages", "--without-pip", venv],
        [venv / "bin" / "python", "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
         "--no-index", clone],
    ]
    for step in steps:
        done = _run(step, root, env, timeout=180)
        assert done.returncode == 0, (step, done.stdout[-2000:], done.stderr[-2000:])
    site = _run([venv / "bin" / "python", "-c", "import mrm; print(mrm.__file__)"], work, env)
    package = Path(site.stdout.strip()).parent
    return {"clone": clone, "venv": venv, "work": work, "env": env, "package": package}


def test_the_package_is_installed_with_samples_and_weights(installed):
    package, venv, clone = installed["package"], installed["venv"], installed["clone"]
    assert package.is_relative_to(venv), package  # the venv's copy, not the checkout
    assert not (installed["work"] / "weights").exists() and not (clone.parent / "shared").exists()
    for name in (*SAMPLE_FILES, "samples.csv", "LICENSE.txt", "README.md", "ptbxl_database.csv"):
        assert (package / "samples" / name).is_file(), name
    assert (package / "data" / "splits" / "cpsc2018_folds.csv").is_file()
    committed = sorted(p.name for p in (clone / "weights").glob("*") if p.suffix in (".pt", ".json", ".npz"))
    installed_weights = sorted(p.name for p in (package / "weights").glob("*")) if (package / "weights").is_dir() \
        else []
    assert installed_weights == committed


def test_mrm_version_names_the_cards_version(installed):
    mrm = installed["venv"] / "bin" / "mrm"
    done = _run([mrm, "--version"], installed["work"], installed["env"])
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == f"mrm {__version__}"
    cards = sorted((installed["package"] / "weights").glob("*.json"))
    if cards:
        versions = {json.loads(c.read_text())["code_version"] for c in cards if c.with_suffix(".pt").is_file()}
        for version in versions:
            assert any(f"made with mrm {version}" in line and str(installed["package"] / "weights") in line
                       for line in lines[1:]), lines
    else:
        assert lines[1].startswith("weights: none in")
    same = _run([installed["venv"] / "bin" / "python", "-m", "mrm", "--version"], installed["work"], installed["env"])
    assert same.stdout == done.stdout


def test_mrm_predict_on_a_bundled_sample(installed):
    package = installed["package"]
    weights = sorted((package / "weights").glob("mrm_*.pt")) if (package / "weights").is_dir() else []
    if not weights:
        reason = "no shipped weights are committed (weights/mrm_TASK.pt), so the installed mrm cannot predict"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    task = "superdiagnostic" if (package / "weights" / "mrm_superdiagnostic.pt").is_file() else \
        weights[0].stem.removeprefix("mrm_")
    card = json.loads(weights[0].with_name(f"mrm_{task}.json").read_text())
    samples = [package / "samples" / name for name in SAMPLE_FILES]
    done = _run([installed["venv"] / "bin" / "mrm", "predict", *samples, "--task", task, "--format", "json",
                 "--threads", "1"], installed["work"], installed["env"])
    assert done.returncode == 0, done.stderr[-3000:]
    document = json.loads(done.stdout)
    assert document["task"] == task and document["classes"] == card["classes"]
    assert Path(document["weights"]) == package / "weights" / f"mrm_{task}.pt"
    assert (document["n_predicted"], document["n_skipped"]) == (2, 0)
    for path, prediction in zip(samples, document["predictions"], strict=True):
        assert prediction["path"] == str(path) and prediction["fs"] == 500.0 and prediction["duration_s"] == 10.0
        probabilities = [c["probability"] for c in prediction["classes"]]
        assert len(probabilities) == len(card["classes"]) and all(0.0 <= p <= 1.0 for p in probabilities)
    # Two different ECGs (a normal one and atrial fibrillation) do not get the same output.
    first, second = ([c["probability"] for c in p["classes"]] for p in document["predictions"])
    assert first != second
