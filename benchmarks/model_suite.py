"""Train the runs behind docs/benchmarks.md, one after the other, resumable, then print the tables.

Every run is ``python -m mrm train ...`` with ``--resume`` into ``RUNS/<run name>``; a run whose weights file
exists is skipped, so the script can be stopped and started again at any time (e.g. across sessions)::

    python benchmarks/model_suite.py train --suite shipped --data-dir data --runs runs
    python benchmarks/model_suite.py train --suite baselines ablations curve kl crop --data-dir data --runs runs
    python benchmarks/model_suite.py table --runs runs          # markdown tables from the cards

Suites
------
shipped    MRM-Net ``cpu`` on the six PTB-XL tasks and the CPSC2018 label set (the weights in weights/), each with
           the KL kind that won on fold 9 (SHIPPED_KL)
softmax    the same with the authors' softmax KL on every task (the recipe of the ablations, curve and size runs)
baselines  the baseline network on the same seven tasks, same harness, folds, crops and metrics
ablations  on superdiagnostic and all: no exchange, no mutual loss, no attention, single branch (hr and lr)
kl         superdiagnostic and all with the per-label Bernoulli KL instead of the authors' softmax KL
crop       superdiagnostic on whole 10-s records (the authors' input) instead of 2.5-s crops
curve      superdiagnostic with 25% and 50% of the training records, MRM-Net and the baseline
size       a smaller MRM-Net (stem 16-32, HR 32 / LR 64 channels, 0.39 M parameters) on superdiagnostic and all,
           to choose the shipped size on fold 9
wang       resnet1d_wang on superdiagnostic and all, to choose the baseline on fold 9
nomutual   MRM-Net without the mutual loss on the five other tasks (superdiagnostic and all: the ablations), to
           choose the mutual-loss weight per task on fold 9
bernoulli  the shipped recipe with the per-label Bernoulli KL on all seven tasks (candidates to replace the shipped
           weights: on fold 9 it tied on superdiagnostic and beat the softmax KL on all)
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

TASKS = ("superdiagnostic", "all", "rhythm", "form", "subdiagnostic", "diagnostic", "cpsc2018")
BASELINE = "xresnet1d50"
#: The KL of each shipped run: the per-label Bernoulli KL where it beat the authors' softmax KL on fold 9 (the
#: softmax runs are the `softmax` suite, the recipe of the ablations).
SHIPPED_KL = {**dict.fromkeys(TASKS, "bernoulli"), "cpsc2018": "softmax"}
EPOCHS = 30


def _run(name: str, task: str, config: str = "cpu", *extra: str) -> dict:
    return {"name": name, "task": task, "config": config, "extra": list(extra)}


def suite(name: str) -> list[dict]:
    if name == "shipped":
        return [_run(f"mrm_{t}", t, "cpu", "--kl", SHIPPED_KL[t]) for t in TASKS]
    if name == "softmax":
        return [_run(f"softmax_{t}", t, "cpu", "--kl", "softmax") for t in TASKS]
    if name == "baselines":
        return [_run(f"{BASELINE}_{t}", t, BASELINE) for t in TASKS]
    if name == "ablations":
        runs = []
        for t in ("superdiagnostic", "all"):
            runs += [
                _run(f"ablation_no_exchange_{t}", t, "cpu", "--set", "exchange=false"),
                _run(f"ablation_no_mutual_{t}", t, "cpu", "--w-logit", "0", "--w-feat", "0"),
                _run(f"ablation_no_attention_{t}", t, "cpu", "--set", "attention=false"),
                _run(f"ablation_hr_only_{t}", t, "cpu", "--set", "single_branch=hr"),
                _run(f"ablation_lr_only_{t}", t, "cpu", "--set", "single_branch=lr"),
            ]
        return runs
    if name == "kl":
        return [_run(f"kl_bernoulli_{t}", t, "cpu", "--kl", "bernoulli") for t in ("superdiagnostic", "all")]
    if name == "crop":
        return [_run("whole10s_superdiagnostic", "superdiagnostic", "cpu", "--crop", "1000")]
    if name == "curve":
        runs = []
        for fraction in ("0.25", "0.5"):
            pct = int(float(fraction) * 100)
            runs.append(_run(f"curve{pct}_mrm_superdiagnostic", "superdiagnostic", "cpu", "--train-fraction", fraction))
            runs.append(_run(f"curve{pct}_{BASELINE}_superdiagnostic", "superdiagnostic", BASELINE,
                             "--train-fraction", fraction))
        return runs
    if name == "size":
        small = ["--set", "stem_channels=[16,32]", "--set", "stem_kernels=[11,7]", "--set", "hr_channels=32",
                 "--set", "lr_channels=64"]
        return [_run(f"small_{t}", t, "cpu", *small) for t in ("superdiagnostic", "all")]
    if name == "bernoulli":
        return [_run(f"bern_{t}", t, "cpu", "--kl", "bernoulli") for t in TASKS]
    if name == "nomutual":
        return [_run(f"nomutual_{t}", t, "cpu", "--w-logit", "0", "--w-feat", "0")
                for t in TASKS if t not in ("superdiagnostic", "all")]
    if name == "wang":
        return [_run(f"resnet1d_wang_{t}", t, "resnet1d_wang") for t in ("superdiagnostic", "all")]
    raise SystemExit(f"unknown suite {name!r}")


def train(args: argparse.Namespace) -> None:
    runs = [run for name in args.suite for run in suite(name)]
    for i, run in enumerate(runs, 1):
        out = Path(args.runs) / run["name"]
        if (out / f"{run['name']}.pt").exists():
            print(f"[{i}/{len(runs)}] {run['name']}: done, skipped", flush=True)
            continue
        cmd = [sys.executable, "-m", "mrm", "train", "--task", run["task"], "--config", run["config"],
               "--data-dir", args.data_dir, "--out", str(out), "--name", run["name"], "--epochs", str(args.epochs),
               "--resume", "--quiet", *run["extra"]]
        if args.cache:
            cmd += ["--cache", args.cache]
        if args.threads:
            cmd += ["--threads", str(args.threads)]
        print(f"[{i}/{len(runs)}] {' '.join(cmd[1:])}", flush=True)
        started = time.time()
        subprocess.run(cmd, check=True)
        print(f"[{i}/{len(runs)}] {run['name']}: {time.time() - started:.0f} s", flush=True)


def _card(runs: Path, name: str) -> dict | None:
    path = runs / name / f"{name}.json"
    return json.loads(path.read_text()) if path.exists() else None


def _auc(card: dict | None) -> str:
    if card is None:
        return "not run"
    t = card["test"]
    return f"{t['macro_auc']:.3f} ({t['macro_auc_low']:.3f}-{t['macro_auc_high']:.3f})"


def _minutes(card: dict | None) -> str:
    return f"{card['training']['seconds'] / 60:.1f} min" if card else "n/a"


def _val(card: dict | None) -> str:
    return f"{card['training']['val_macro_auc']:.3f}" if card else "n/a"


def table(args: argparse.Namespace) -> None:
    runs = Path(args.runs)
    print(f"| task | MRM-Net cpu (KL), fold 10 (95% CI) | fold 9 | {BASELINE}, fold 10 (95% CI) | fold 9 "
          "| MRM minus baseline (95% CI) | P(MRM beats baseline) | training time MRM / baseline |")
    print("|---|---|---|---|---|---|---|---|")
    for t in TASKS:
        mrm, base = _card(runs, f"mrm_{t}"), _card(runs, f"{BASELINE}_{t}")
        diff = paired = "n/a"
        paired_file = runs / f"paired_{t}.json"
        if paired_file.exists():
            pr = json.loads(paired_file.read_text())["paired"]
            diff, paired = f"{pr['diff']:+.3f} ({pr['low']:+.3f} to {pr['high']:+.3f})", f"{pr['p_a_beats_b']:.2f}"
        kl = mrm["training"]["config"]["kl_kind"] if mrm else "-"
        print(f"| {t} | ({kl}) {_auc(mrm)} | {_val(mrm)} | {_auc(base)} | {_val(base)} | {diff} | {paired} "
              f"| {_minutes(mrm)} / {_minutes(base)} |")
    print()
    print("| run | fold-10 macro AUC (95% CI) | fold-9 AUC | best epoch | training time |")
    print("|---|---|---|---|---|")
    for name in [r["name"] for s in ("softmax", "ablations", "kl", "crop", "curve", "size", "wang", "bernoulli",
                                     "nomutual") for r in suite(s)]:
        card = _card(runs, name)
        if card is not None:
            print(f"| {name} | {_auc(card)} | {_val(card)} | {card['training']['best_epoch']} | {_minutes(card)} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("train", help="train the runs of one or more suites (resumable)")
    p.add_argument("--suite", nargs="+", required=True,
                   choices=["shipped", "softmax", "baselines", "ablations", "kl", "crop", "curve", "size", "wang",
                            "bernoulli", "nomutual"])
    p.add_argument("--data-dir", default="data")
    p.add_argument("--cache", default=None)
    p.add_argument("--runs", default="runs")
    p.add_argument("--epochs", type=int, default=EPOCHS)
    p.add_argument("--threads", type=int, default=None)
    p.set_defaults(func=train)
    p = sub.add_parser("table", help="print the markdown tables from the cards of finished runs")
    p.add_argument("--runs", default="runs")
    p.set_defaults(func=table)
    args = parser.parse_args()
    args.func(args)


if __name__ == "__main__":
    main()
