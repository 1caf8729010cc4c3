"""Train the runs behind docs/benchmarks.md, one after the other, resumable, then print the tables.

Every run is ``python -m mrm train ...`` with ``--resume`` into ``RUNS/<run name>``; a run whose weights file
exists is skipped, so the script can be stopped and started again at any time (e.g. across sessions)::

    python benchmarks/model_suite.py train --suite candidates baselines --data-dir data --runs runs
    python benchmarks/model_suite.py train --suite ablations curve crop size wang --data-dir data --runs runs

Suites
------
candidates the three recipes of MRM-Net ``cpu`` on the six PTB-XL tasks and the CPSC2018 label set that the shipped
           weights are chosen from on fold 9 (``choose``): the authors' softmax KL (``softmax``), the per-label
           Bernoulli KL (``bernoulli``) and no mutual loss (``nomutual``)
softmax    the candidates with the authors' softmax KL (also the recipe of the ablations, curve and size runs)
bernoulli  the candidates with the per-label Bernoulli KL
nomutual   the candidates without the mutual loss (BCE on each head only)
baselines  the baseline network on the same seven tasks, same harness, folds, crops and metrics
ablations  on superdiagnostic and all: no exchange, no mutual loss, no attention, single branch (hr and lr)
crop       superdiagnostic on whole 10-s records (the authors' input) instead of 2.5-s crops
curve      superdiagnostic with 25% and 50% of the training records, MRM-Net and the baseline
size       a smaller MRM-Net (stem 16-32, HR 32 / LR 64 channels, 0.39 M parameters) on superdiagnostic and all,
           to choose the shipped size on fold 9
wang       resnet1d_wang on superdiagnostic and all, to choose the baseline on fold 9
tune       superdiagnostic with the shipped softmax-KL recipe and one training setting changed (peak learning rate
           1e-3, weight decay 5e-2, 50 epochs), to see on fold 9 whether the recipe's settings leave anything there
aux        superdiagnostic (softmax KL and no mutual loss) and subdiagnostic (no mutual loss) trained with a finer
           task's labels as auxiliary outputs (``--aux-task``: subdiagnostic or diagnostic), removed after training;
           a run replaces the shipped file only if it beats it on fold 9 by 0.005 or more (fixed before the runs)
ema        every task with its shipped recipe (``SHIPPED_RECIPE``) plus an exponential moving average of the weights
           (``--ema 0.99``, about the last three epochs), validated and kept instead of the last step's weights; same
           switch rule as aux: a run replaces the shipped file only if it beats it on fold 9 by 0.005 or more (fixed
           before the runs; ``switch`` applies it); superdiagnostic also with seed 1, beside the ``seeds`` suite
seeds      the shipped superdiagnostic recipe (softmax KL) with seeds 1 and 2: how far fold 9 and fold 10 move with
           the seed alone, the yardstick for every difference in these tables

After training, every run gets the serving stride, the shipped weights are chosen and compared::

    python benchmarks/model_suite.py retune --suite ablations crop curve size wang --data-dir data
    python benchmarks/model_suite.py choose --stride 250 --data-dir data --runs runs --ship weights
    python benchmarks/model_suite.py switch --suite ema aux --data-dir data --runs runs --weights weights --ship
    python benchmarks/model_suite.py paired --data-dir data --runs runs --weights weights
    python benchmarks/model_suite.py table --runs runs --weights weights

``choose`` gives every candidate and baseline run the serving stride (``mrm retune``: thresholds and fold-10
report redone under it), picks per task the candidate with the best fold-9 macro AUC (fold 10 is never looked at)
and copies it into ``--ship`` as ``mrm_TASK``; ``paired`` runs the paired bootstrap of each shipped file against
the baseline on fold 10. ``switch`` then compares the runs of the ``ema`` and ``aux`` suites with the shipped file of
their task on fold 9 and replaces it only at a gain of ``SWITCH_GAIN`` (0.005) or more.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # `mrm` from this checkout, for choose/table

TASKS = ("superdiagnostic", "all", "rhythm", "form", "subdiagnostic", "diagnostic", "cpsc2018")
BASELINE = "xresnet1d50"
#: The recipes the shipped weights are chosen from on fold 9: suite name -> (run-name prefix, extra `mrm train`
#: arguments).
RECIPES = {
    "softmax": ("softmax", ("--kl", "softmax")),
    "bernoulli": ("bern", ("--kl", "bernoulli")),
    "nomutual": ("nomutual", ("--w-logit", "0", "--w-feat", "0")),
}
EPOCHS = 30
SUITES = ["candidates", "softmax", "bernoulli", "nomutual", "baselines", "ablations", "crop", "curve", "size", "wang",
          "tune", "aux", "ema", "seeds"]
#: The recipe fold 9 chose per task among RECIPES (``choose``, 2026-11-25), as in weights/mrm_TASK.json.
SHIPPED_RECIPE = {"superdiagnostic": "softmax", "all": "nomutual", "rhythm": "nomutual", "form": "nomutual",
                  "subdiagnostic": "nomutual", "diagnostic": "nomutual", "cpsc2018": "softmax"}
#: A candidate replaces a shipped file only when it gains this much fold-9 macro AUC (fixed before the runs: smaller
#: gaps are within what the seed alone moves fold 9, 0.004 in the ``seeds`` suite).
SWITCH_GAIN = 0.005
#: (task, auxiliary task, recipe) of the ``aux`` suite: each task with the labels one level finer.
AUX_RUNS = (
    ("superdiagnostic", "subdiagnostic", "softmax"),
    ("superdiagnostic", "subdiagnostic", "nomutual"),
    ("superdiagnostic", "diagnostic", "softmax"),
    ("superdiagnostic", "diagnostic", "nomutual"),
    ("subdiagnostic", "diagnostic", "nomutual"),
)


def _run(name: str, task: str, config: str = "cpu", *extra: str) -> dict:
    return {"name": name, "task": task, "config": config, "extra": list(extra)}


def suite(name: str) -> list[dict]:
    if name == "candidates":
        return [run for recipe in RECIPES for run in suite(recipe)]
    if name in ("softmax", "bernoulli", "nomutual"):
        prefix, extra = RECIPES[name]
        return [_run(f"{prefix}_{t}", t, "cpu", *extra) for t in TASKS]
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
    if name == "tune":
        return [
            _run("tune_lr1e-3_superdiagnostic", "superdiagnostic", "cpu", *RECIPES["softmax"][1], "--lr", "1e-3"),
            _run("tune_wd5e-2_superdiagnostic", "superdiagnostic", "cpu", *RECIPES["softmax"][1], "--weight-decay",
                 "5e-2"),
            _run("tune_ep50_superdiagnostic", "superdiagnostic", "cpu", *RECIPES["softmax"][1], "--epochs", "50"),
        ]
    if name == "aux":
        return [_run(f"aux-{aux}_{RECIPES[recipe][0]}_{t}", t, "cpu", *RECIPES[recipe][1], "--aux-task", aux)
                for t, aux, recipe in AUX_RUNS]
    if name == "ema":
        runs = [_run(f"ema_{RECIPES[r][0]}_{t}", t, "cpu", *RECIPES[r][1], "--ema", "0.99")
                for t, r in SHIPPED_RECIPE.items()]
        return runs + [_run("ema_seed1_softmax_superdiagnostic", "superdiagnostic", "cpu", *RECIPES["softmax"][1],
                            "--ema", "0.99", "--seed", "1")]
    if name == "seeds":
        return [_run(f"seed{k}_softmax_superdiagnostic", "superdiagnostic", "cpu", *RECIPES["softmax"][1], "--seed",
                     str(k)) for k in (1, 2)]
    if name == "wang":
        return [_run(f"resnet1d_wang_{t}", t, "resnet1d_wang") for t in ("superdiagnostic", "all")]
    raise SystemExit(f"unknown suite {name!r}")


def train(args: argparse.Namespace) -> None:
    runs = [run for name in args.suite for run in suite(name)]
    if args.only:
        unknown = set(args.only) - {run["name"] for run in runs}
        if unknown:
            raise SystemExit(f"--only: {', '.join(sorted(unknown))} not in suite(s) {', '.join(args.suite)}")
        runs = [run for run in runs if run["name"] in args.only]
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


def _fold9(card_path: Path) -> float:
    """Fold-9 macro AUC under the card's own input policy, from the fold-9 file beside the card."""
    from mrm.evaluate.auc import macro_auc

    with np.load(card_path.with_suffix(".fold9.npz"), allow_pickle=False) as fold9:
        return macro_auc(fold9["y"], fold9["p"]).macro


def _recipe(card: dict) -> str:
    config = card["training"]["config"]
    return "no mutual loss" if config["w_logit"] == 0 and config["w_feat"] == 0 else f"{config['kl_kind']} KL"


def _restride(weights: Path, stride: int | None, args: argparse.Namespace) -> None:
    """Apply ``stride`` (None: the run's own window, i.e. windows without overlap) unless the card has it."""
    from mrm.train.run import set_stride

    card = json.loads(weights.with_suffix(".json").read_text())
    policy = card["input_policy"]
    # (cards written before the disagreement flag existed are refreshed too)
    if policy["stride"] != (stride or policy["window"]) or "disagreement_flag" not in card:
        set_stride(weights, stride or policy["window"], args.data_dir, cache_dir=args.cache)


def retune(args: argparse.Namespace) -> None:
    """Give every finished run of the suites the serving stride (`mrm retune`), so all tables share one policy."""
    for run in [r for name in args.suite for r in suite(name)]:
        weights = Path(args.runs) / run["name"] / f"{run['name']}.pt"
        if weights.exists():
            _restride(weights, args.stride, args)


def choose(args: argparse.Namespace) -> None:
    runs = Path(args.runs)
    prefixes = [prefix for prefix, _ in RECIPES.values()]
    print(f"fold-9 macro AUC at stride {args.stride} (the chosen one in bold; fold 10 is not looked at)\n")
    print(f"| task | {' | '.join(RECIPES)} | shipped |")
    print("|---|" + "---|" * (len(RECIPES) + 1))
    for t in TASKS:
        scores = {}
        for run in [f"{prefix}_{t}" for prefix in prefixes] + [f"{BASELINE}_{t}"]:
            weights = runs / run / f"{run}.pt"
            if not weights.exists():
                continue
            _restride(weights, args.stride, args)
            if not run.startswith(BASELINE):
                scores[run] = _fold9(weights.with_suffix(".json"))
        if not scores:
            print(f"| {t} |" + " not run |" * (len(RECIPES) + 1))
            continue
        best = max(scores, key=scores.get)
        cells = []
        for prefix in prefixes:
            run = f"{prefix}_{t}"
            cells.append("not run" if run not in scores else
                         f"**{scores[run]:.4f}**" if run == best else f"{scores[run]:.4f}")
        print(f"| {t} | {' | '.join(cells)} | {best} |", flush=True)
        if args.ship:
            _ship(runs / best / f"{best}.pt", Path(args.ship) / f"mrm_{t}", scores)


def switch(args: argparse.Namespace) -> None:
    """Replace a shipped file by a run of the suites only where it gains SWITCH_GAIN or more on fold 9.

    The rule and the candidates were fixed before the runs; fold 10 is never looked at. Each candidate is compared
    with the shipped file of its task at the same input policy (the serving stride).
    """
    runs, shipped = Path(args.runs), Path(args.weights)
    print(f"fold-9 macro AUC, shipped against each candidate (switch at a gain of {SWITCH_GAIN} or more)\n")
    print("| task | shipped | candidate | candidate fold 9 | gain | switch |")
    print("|---|---|---|---|---|---|")
    for t in TASKS:
        card_path = shipped / f"mrm_{t}.json"
        candidates = [r["name"] for s in args.suite for r in suite(s) if r["task"] == t]
        candidates = [c for c in candidates if (runs / c / f"{c}.pt").exists()]
        if not card_path.exists() or not candidates:
            continue
        base = _fold9(card_path)
        scores = {}
        for name in candidates:
            _restride(runs / name / f"{name}.pt", args.stride, args)
            scores[name] = _fold9(runs / name / f"{name}.json")
        qualifying = {k: v for k, v in scores.items() if v - base >= SWITCH_GAIN}
        chosen = max(qualifying, key=qualifying.get) if qualifying else None
        for name, score in scores.items():
            print(f"| {t} | {base:.4f} | {name} | {score:.4f} | {score - base:+.4f} | "
                  f"{'**yes**' if name == chosen else 'no'} |", flush=True)
        if args.ship and chosen:
            previous = json.loads(card_path.read_text()).get("chosen_on_fold9")
            rule = (f"replaces the shipped file when it gains {SWITCH_GAIN} or more fold-9 macro AUC "
                    "(fixed before the runs)")
            _ship(runs / chosen / f"{chosen}.pt", shipped / f"mrm_{t}",
                  {(previous or {}).get("chosen", f"mrm_{t} before"): base, **scores}, rule=rule, previous=previous)


def _ship(weights: Path, stem: Path, scores: dict[str, float],
          rule: str = "best fold-9 macro AUC among the candidate recipes, at the card's stride",
          previous: dict | None = None) -> None:
    """Copy a chosen run into the weights folder under the shipped name, with the fold-9 choice in its card."""
    card = json.loads(weights.with_suffix(".json").read_text())
    card.pop("copied_from", None)
    card["name"] = stem.name
    card["chosen_on_fold9"] = {"rule": rule,
                               "fold9_macro_auc": {k: round(v, 5) for k, v in scores.items()},
                               "chosen": weights.stem}
    if previous:
        card["chosen_on_fold9"]["previous"] = previous
    stem.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(weights, stem.with_suffix(".pt"))
    shutil.copyfile(weights.with_suffix(".fold9.npz"), stem.with_suffix(".fold9.npz"))
    stem.with_suffix(".json").write_text(json.dumps(card, indent=1) + "\n")


def paired(args: argparse.Namespace) -> None:
    """Paired bootstrap of each shipped weights file against the baseline on fold 10 (RUNS/paired_TASK.json)."""
    for t in TASKS:
        shipped, base = Path(args.weights) / f"mrm_{t}.pt", Path(args.runs) / f"{BASELINE}_{t}" / f"{BASELINE}_{t}.pt"
        if not (shipped.exists() and base.exists()):
            print(f"{t}: {shipped if not shipped.exists() else base} missing, skipped")
            continue
        cmd = [sys.executable, "-m", "mrm", "evaluate", "--weights", str(shipped), "--compare", str(base),
               "--data-dir", args.data_dir, "--json", str(Path(args.runs) / f"paired_{t}.json")]
        if args.cache:
            cmd += ["--cache", args.cache]
        print(" ".join(cmd[1:]), flush=True)
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)


def table(args: argparse.Namespace) -> None:
    runs, shipped = Path(args.runs), Path(args.weights)
    print(f"| task | MRM-Net cpu (recipe), fold 10 (95% CI) | fold 9 | {BASELINE}, fold 10 (95% CI) | fold 9 "
          "| MRM minus baseline (95% CI) | P(MRM beats baseline) | training time MRM / baseline |")
    print("|---|---|---|---|---|---|---|---|")
    for t in TASKS:
        path = shipped / f"mrm_{t}.json"
        mrm = json.loads(path.read_text()) if path.exists() else None
        base = _card(runs, f"{BASELINE}_{t}")
        diff = p_beats = "n/a"
        paired_file = runs / f"paired_{t}.json"
        if paired_file.exists():
            pr = json.loads(paired_file.read_text())["paired"]
            diff, p_beats = f"{pr['diff']:+.3f} ({pr['low']:+.3f} to {pr['high']:+.3f})", f"{pr['p_a_beats_b']:.2f}"
        base_path = runs / f"{BASELINE}_{t}" / f"{BASELINE}_{t}.json"
        print(f"| {t} | ({_recipe(mrm) if mrm else '-'}) {_auc(mrm)} | {_fold9(path) if mrm else float('nan'):.3f} "
              f"| {_auc(base)} | {_fold9(base_path) if base else float('nan'):.3f} | {diff} | {p_beats} "
              f"| {_minutes(mrm)} / {_minutes(base)} |")
    print()
    print("| run | stride | fold-10 macro AUC (95% CI) | fold-9 AUC | best epoch | training time |")
    print("|---|---|---|---|---|---|")
    for name in [r["name"] for s in SUITES if s not in RECIPES and s != "baselines" for r in suite(s)]:
        card = _card(runs, name)
        if card is not None:
            print(f"| {name} | {card['input_policy']['stride']} | {_auc(card)} "
                  f"| {_fold9(runs / name / f'{name}.json'):.3f} | {card['training']['best_epoch']} "
                  f"| {_minutes(card)} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("train", help="train the runs of one or more suites (resumable)")
    p.add_argument("--suite", nargs="+", required=True, choices=SUITES)
    p.add_argument("--data-dir", default="data")
    p.add_argument("--cache", default=None)
    p.add_argument("--runs", default="runs")
    p.add_argument("--epochs", type=int, default=EPOCHS)
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--only", nargs="+", default=None, metavar="RUN",
                   help="train only these runs of the suites (e.g. to split a suite over two processes)")
    p.set_defaults(func=train)
    p = sub.add_parser("retune", help="give the finished runs of suites the serving stride (mrm retune)")
    p.add_argument("--suite", nargs="+", required=True, choices=SUITES)
    p.add_argument("--stride", type=int, default=None,
                   help="serving stride, samples at 100 Hz (default: each run's window, i.e. no overlap)")
    p.add_argument("--data-dir", default="data")
    p.add_argument("--cache", default=None)
    p.add_argument("--runs", default="runs")
    p.set_defaults(func=retune)
    p = sub.add_parser("choose", help="give the runs the serving stride and choose each task's recipe on fold 9")
    p.add_argument("--stride", type=int, default=250, help="serving stride, samples at 100 Hz (default: 250)")
    p.add_argument("--data-dir", default="data")
    p.add_argument("--cache", default=None)
    p.add_argument("--runs", default="runs")
    p.add_argument("--ship", default=None, help="copy each task's chosen run here as mrm_TASK (e.g. weights)")
    p.set_defaults(func=choose)
    p = sub.add_parser("switch", help="replace shipped files by runs that gain SWITCH_GAIN on fold 9 (ema, aux)")
    p.add_argument("--suite", nargs="+", required=True, choices=SUITES)
    p.add_argument("--stride", type=int, default=250, help="serving stride, samples at 100 Hz (default: 250)")
    p.add_argument("--data-dir", default="data")
    p.add_argument("--cache", default=None)
    p.add_argument("--runs", default="runs")
    p.add_argument("--weights", default="weights")
    p.add_argument("--ship", action="store_true", help="copy the qualifying runs over the shipped files")
    p.set_defaults(func=switch)
    p = sub.add_parser("paired", help="paired bootstrap of the shipped weights against the baseline on fold 10")
    p.add_argument("--data-dir", default="data")
    p.add_argument("--cache", default=None)
    p.add_argument("--runs", default="runs")
    p.add_argument("--weights", default="weights")
    p.set_defaults(func=paired)
    p = sub.add_parser("table", help="print the markdown tables from the cards of finished runs")
    p.add_argument("--runs", default="runs")
    p.add_argument("--weights", default="weights", help="the shipped weights (the main table's MRM-Net column)")
    p.set_defaults(func=table)
    args = parser.parse_args()
    args.func(args)


if __name__ == "__main__":
    main()
