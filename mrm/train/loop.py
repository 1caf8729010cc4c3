"""The training loop: random crops, one-cycle AdamW, optional weight averaging (EMA), fold-9 selection, a checkpoint
every epoch, ``--resume``.

Determinism: each epoch seeds its own shuffling, crops and dropout from ``(seed, epoch)``, so a run resumed
from the checkpoint of epoch k gives the same weights as an uninterrupted run (same threads, same machine).

Distributed: under ``torchrun`` (``WORLD_SIZE`` > 1) each process trains on its share of every epoch's
permutation inside ``DistributedDataParallel`` (gloo on CPU, nccl on GPUs); rank 0 validates and writes.
"""

from __future__ import annotations

import copy
import json
import os
import platform
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
from tqdm.auto import tqdm

from mrm import __version__
from mrm.data.preprocess import Standardizer
from mrm.evaluate import macro_auc
from mrm.evaluate.predict import RecordProbabilities, predict_records
from mrm.model import create_model
from mrm.model.losses import MutualLoss
from mrm.model.narrow import keep_first_classes, split_classes
from mrm.train.config import TrainConfig
from mrm.train.data import TaskData

CHECKPOINT = "checkpoint.pt"


@dataclass
class FitResult:
    """What :func:`fit` leaves: the selected network, its standardiser and the run's history."""

    model: torch.nn.Module
    standardizer: Standardizer
    best_epoch: int
    best_val_auc: float
    history: list[dict]
    seconds: float
    n_train: int
    n_val: int


def pick_device(requested: str | None = None) -> torch.device:
    """``cuda`` when a GPU is there (or asked for), else ``cpu``."""
    if requested:
        return torch.device(requested)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def hardware_description(device: torch.device) -> str:
    if device.type == "cuda":
        return f"{torch.cuda.get_device_name(device)} (CUDA)"
    return f"CPU {platform.machine()}, {torch.get_num_threads()} threads"


def _distributed(device: torch.device) -> tuple[int, int]:
    """(rank, world size); initialises the process group when started by torchrun."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return 0, 1
    if not dist.is_initialized():
        if device.type == "cuda" and device.index is None:
            # One GPU per process; without this every rank would train on cuda:0 (NCCL refuses duplicate GPUs).
            torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
        # The backend follows the training device: nccl cannot move the CPU tensors of a `--device cpu` run.
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return dist.get_rank(), world


class _CropSampler:
    """Random crops of fixed length from records of any length >= the crop (shorter ones were padded)."""

    def __init__(self, signals: list[np.ndarray], crop: int):
        padded = [s if s.shape[1] >= crop else np.pad(s, ((0, 0), (0, crop - s.shape[1]))) for s in signals]
        self.lengths = np.array([s.shape[1] for s in padded])
        self.offsets = np.concatenate([[0], np.cumsum(self.lengths)[:-1]])
        self.flat = torch.from_numpy(np.concatenate([s.T for s in padded]).astype(np.float32))  # (total, 12)
        self.crop = crop

    def batch(self, records: np.ndarray, rng: np.random.Generator) -> torch.Tensor:
        starts = self.offsets[records] + rng.integers(0, self.lengths[records] - self.crop + 1)
        index = torch.from_numpy(starts[:, None] + np.arange(self.crop)[None, :])
        return self.flat[index].permute(0, 2, 1).contiguous()  # (B, 12, crop)


def _averaged_model(model: torch.nn.Module, decay: float) -> torch.optim.swa_utils.AveragedModel | None:
    """An exponential moving average of ``model``'s parameters, or None at 0.

    Its BatchNorm statistics are not averaged: statistics of past weights do not fit averaged weights (measured:
    fold-9 AUC 0.55 against 0.89 after 4 epochs), so :func:`_refit_batchnorm` recomputes them before each use.
    """
    if decay == 0:
        return None
    from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

    return AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(decay), use_buffers=False)


def _refit_batchnorm(model: torch.nn.Module, sampler: _CropSampler, n_records: int, batch_size: int,
                     rng: np.random.Generator, device: torch.device) -> None:
    """BatchNorm statistics of ``model`` recomputed on one random crop of every training record (SWA's update_bn)."""
    from torch.optim.swa_utils import update_bn

    batches = [sampler.batch(records, rng).to(device) for records in np.array_split(
        np.arange(n_records), -(-n_records // batch_size))]
    with torch.no_grad():  # update_bn runs the forward passes with autograd on; the statistics need no graph
        update_bn(batches, model)


def _atomic_save(obj: dict, path: Path) -> None:
    tmp = path.with_suffix(".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def fit(
    config: TrainConfig,
    data: TaskData,
    out_dir: str | Path,
    *,
    resume: bool = False,
    device: str | None = None,
    progress: bool = True,
    log: Callable[[str], None] = print,
) -> FitResult:
    """Train on folds 1-8 of ``data``, select the epoch on the validation fold, return the selected network.

    Writes ``checkpoint.pt`` (everything needed to resume) and ``history.jsonl`` into ``out_dir`` every epoch.

    Examples
    --------
    >>> result = fit(TrainConfig(task="superdiagnostic", model="tiny", epochs=2), data, "runs/x")  # doctest: +SKIP
    """
    dev = pick_device(device)
    rank, world = _distributed(dev)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()

    train_mask = ~np.isin(data.folds, (config.val_fold, config.test_fold))
    train_index = np.flatnonzero(train_mask)
    if config.train_fraction < 1:
        keep = np.random.default_rng(config.seed).permutation(len(train_index))
        train_index = np.sort(train_index[keep[: max(1, round(config.train_fraction * len(train_index)))]])
    val_index = np.flatnonzero(data.folds == config.val_fold)
    standardizer = Standardizer.fit([data.signals[i] for i in train_index])
    train_signals = [standardizer.transform(data.signals[i]) for i in train_index]
    val_signals = [standardizer.transform(data.signals[i]) for i in val_index]
    n_classes = len(data.classes)
    y_fit = data.y if data.y_aux is None else np.concatenate([data.y, data.y_aux], axis=1)
    y_train = torch.from_numpy(y_fit[train_index])
    y_val = data.y[val_index]
    sampler = _CropSampler(train_signals, config.crop)

    torch.manual_seed(config.seed)
    model = create_model(config.model, y_fit.shape[1], **config.model_overrides).to(dev)
    loss_fn = MutualLoss(config.w_logit, config.w_feat, config.temperature, config.kl_kind).to(dev)
    aux_loss_fn = MutualLoss(w_logit=0.0, w_feat=0.0).to(dev)  # the BCE of each head on the auxiliary labels
    steps_per_epoch = -(-len(train_index) // (config.batch_size * world))
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=config.lr, total_steps=config.epochs * steps_per_epoch
    )
    # The averaged copy is what is validated and kept: with ~36 steps an epoch on 2,300 records, the last step's
    # weights wander more from epoch to epoch than an average over the last few epochs does.
    averaged = _averaged_model(model, config.ema)
    selected = model if averaged is None else averaged.module
    history: list[dict] = []
    best = {"auc": -1.0, "epoch": -1, "state": None}
    start_epoch = 0
    ckpt_path = out / CHECKPOINT
    if resume and ckpt_path.exists():
        ckpt = torch.load(ckpt_path, map_location=dev, weights_only=True)
        # (through from_dict: a checkpoint from before a field existed holds that field's default)
        if TrainConfig.from_dict(ckpt["config"]) != config:
            raise ValueError(f"{ckpt_path}: the checkpoint was made with other settings; use another --out.")
        model.load_state_dict(ckpt["model"])
        optimizer.load_state_dict(ckpt["optimizer"])
        scheduler.load_state_dict(ckpt["scheduler"])
        if averaged is not None:
            averaged.load_state_dict(ckpt["averaged"])
        history = json.loads(ckpt["history"])
        best = {"auc": ckpt["best_auc"], "epoch": ckpt["best_epoch"], "state": ckpt["best_state"]}
        start_epoch = ckpt["epoch"] + 1
        log(f"resumed from {ckpt_path} after epoch {start_epoch}")
    if rank == 0:
        # The log restarts from what the checkpoint knows: a new run in an old folder, or a line written after
        # the last checkpoint of an interrupted run, must not leave stale epochs in it.
        (out / "history.jsonl").write_text("".join(json.dumps(entry) + "\n" for entry in history))
    net = model
    if world > 1:
        net = torch.nn.parallel.DistributedDataParallel(model, device_ids=[dev.index] if dev.type == "cuda" else None)

    for epoch in range(start_epoch, config.epochs):
        model.train()
        torch.manual_seed(config.seed * 1000 + epoch)
        rng = np.random.default_rng([config.seed, epoch, rank])
        perm = torch.randperm(len(train_index), generator=torch.Generator().manual_seed(config.seed * 1000 + epoch))
        perm = perm.numpy()
        perm = perm[: len(perm) - len(perm) % world][rank::world]  # equal shares, or DDP waits forever
        tick = time.perf_counter()
        totals: dict[str, float] = {}
        bar = tqdm(range(0, len(perm), config.batch_size), desc=f"epoch {epoch + 1}/{config.epochs}",
                   disable=not progress or rank != 0, leave=False, unit="batch")
        n_batches = 0
        for start in bar:
            records = perm[start : start + config.batch_size]
            x = sampler.batch(records, rng).to(dev)
            target = y_train[records].to(dev)
            if data.y_aux is None:
                terms = loss_fn(net(x), target)
                total = terms.total
            else:
                main, aux = split_classes(net(x), n_classes)
                terms = loss_fn(main, target[:, :n_classes])
                aux_bce = aux_loss_fn(aux, target[:, n_classes:]).total
                total = terms.total + config.aux_weight * aux_bce
                totals["bce_aux"] = totals.get("bce_aux", 0.0) + float(aux_bce.detach())
            optimizer.zero_grad(set_to_none=True)
            total.backward()
            optimizer.step()
            if averaged is not None:
                averaged.update_parameters(model)
            if scheduler.last_epoch < scheduler.total_steps:
                scheduler.step()
            for key, value in {**terms.as_floats(), "total": float(total.detach())}.items():
                totals[key] = totals.get(key, 0.0) + value
            n_batches += 1
            bar.set_postfix(loss=f"{total.item():.3f}")
        if rank != 0:
            continue
        if averaged is not None:
            # crops of their own (no rank reaches 2**16), so the training crops stay those of a plain run
            _refit_batchnorm(selected, sampler, len(train_index), config.batch_size,
                             np.random.default_rng([config.seed, epoch, 2**16]), dev)
        probs = predict_records(selected, val_signals, config.policy())
        probs = RecordProbabilities(*(p if p is None else p[:, :n_classes] for p in (probs.fused, probs.hr, probs.lr)))
        auc = macro_auc(y_val, probs.fused).macro
        entry = {"epoch": epoch + 1, "seconds": round(time.perf_counter() - tick, 1), "val_auc": round(auc, 5),
                 **{f"loss_{k}": round(v / max(n_batches, 1), 5) for k, v in totals.items()}}
        if probs.hr is not None:
            entry["val_auc_hr"] = round(macro_auc(y_val, probs.hr).macro, 5)
            entry["val_auc_lr"] = round(macro_auc(y_val, probs.lr).macro, 5)
        history.append(entry)
        if auc > best["auc"]:
            best = {"auc": auc, "epoch": epoch + 1, "state": copy.deepcopy(selected.state_dict())}
        log(json.dumps(entry))
        with open(out / "history.jsonl", "a") as fh:
            fh.write(json.dumps(entry) + "\n")
        _atomic_save(
            {
                "config": config.to_dict(), "epoch": epoch, "model": model.state_dict(),
                "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
                "history": json.dumps(history), "best_auc": best["auc"], "best_epoch": best["epoch"],
                "best_state": best["state"], "mrm_version": __version__,
                **({} if averaged is None else {"averaged": averaged.state_dict()}),
            },
            ckpt_path,
        )
    if world > 1:
        dist.barrier()
    if best["state"] is not None:
        model.load_state_dict(best["state"])
    if data.y_aux is not None:
        keep_first_classes(model, n_classes)
    model.eval()
    seconds = sum(h["seconds"] for h in history) if history else time.perf_counter() - started
    return FitResult(model.cpu(), standardizer, best["epoch"], float(best["auc"]), history, round(seconds, 1),
                     len(train_index), len(val_index))


def describe_run(config: TrainConfig, result: FitResult, device: torch.device) -> dict:
    """The training part of a weight card."""
    return {
        "config": config.to_dict(),
        "best_epoch": result.best_epoch,
        "val_macro_auc": round(result.best_val_auc, 5),
        "history": result.history,
        "seconds": result.seconds,
        "hardware": hardware_description(device),
        "mrm_version": __version__,
        "n_train": result.n_train,
        "n_val": result.n_val,
        "model_config": asdict(result.model.config) if hasattr(result.model, "config") else {},
    }
