"""Distributed training: `torchrun --standalone --nproc_per_node=2 -m mrm train ...` on CPU (gloo), one epoch.

Runs torchrun as `python -m torch.distributed.run` with this interpreter, so the two workers import this
checkout of mrm and this torch. Torch ships it, so it is only skipped (never under CI) if it cannot be found.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

REPO = Path(__file__).resolve().parents[1]


def _torchrun() -> list[str]:
    if importlib.util.find_spec("torch.distributed.run") is None or not torch.distributed.is_available():
        reason = "torchrun (torch.distributed.run) is not available in this torch build"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    return [sys.executable, "-m", "torch.distributed.run"]


def test_torchrun_two_cpu_processes(ptbxl_dir: Path, ptbxl_cache: Path, tmp_path: Path):
    out = tmp_path / "run"
    command = [*_torchrun(), "--standalone", "--nproc_per_node=2", "-m", "mrm", "train", "--task",
               "superdiagnostic", "--config", "tiny", "--epochs", "1", "--batch-size", "32",
               "--data-dir", str(ptbxl_dir.parent), "--cache", str(ptbxl_cache), "--out", str(out),
               "--threads", "1", "--device", "cpu", "--quiet"]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "CUDA_VISIBLE_DEVICES": "",
           "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    done = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]

    weights = out / "mrm_tiny_superdiagnostic.pt"
    assert weights.exists() and weights.with_suffix(".json").exists() and weights.with_suffix(".fold9.npz").exists()
    # only rank 0 reports, validates and writes
    assert [line for line in done.stdout.splitlines() if line.startswith("weights:")] == [f"weights: {weights}"]
    lines = (out / "history.jsonl").read_text().splitlines()
    assert [json.loads(line)["epoch"] for line in lines] == [1]

    card = json.loads(weights.with_suffix(".json").read_text())
    assert card["classes"] == ["CD", "HYP", "MI", "NORM", "STTC"]
    assert card["training_data"]["n_train"] == 352 and card["training"]["config"]["epochs"] == 1
    assert card["test"]["n_records"] == 64 and 0 <= card["test"]["macro_auc"] <= 1
    ckpt = torch.load(out / "checkpoint.pt", weights_only=True)
    assert ckpt["epoch"] == 0
    # the selected weights are the network rank 0 trained (its single epoch), loadable and finite
    saved = torch.load(weights, weights_only=True)
    assert all(torch.equal(saved[k], ckpt["model"][k]) for k in saved)
    assert all(np.isfinite(v.numpy()).all() for v in saved.values() if v.is_floating_point())


@pytest.mark.parametrize(("device", "backend", "gpu"), [("cpu", "gloo", None), ("cuda", "nccl", 1)])
def test_backend_and_gpu_follow_the_training_device(monkeypatch, device: str, backend: str, gpu: int | None):
    """Under torchrun on a GPU machine: `--device cpu` needs gloo, and each rank its own GPU (LOCAL_RANK)."""
    from mrm.train import loop

    calls: dict[str, object] = {}
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("LOCAL_RANK", "1")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "set_device", lambda index: calls.setdefault("gpu", index))
    monkeypatch.setattr(loop.dist, "is_initialized", lambda: False)
    monkeypatch.setattr(loop.dist, "init_process_group", lambda name: calls.setdefault("backend", name))
    monkeypatch.setattr(loop.dist, "get_rank", lambda: 1)
    assert loop._distributed(torch.device(device)) == (1, 2)
    assert calls == {"backend": backend, **({} if gpu is None else {"gpu": gpu})}
