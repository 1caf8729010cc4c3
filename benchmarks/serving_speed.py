"""Serving speed of the Predictor on this machine: load time, latency, throughput, memory, explanation time.

Not a test: run it by hand and paste its table into docs/benchmarks.md (section 2.5) with the command line.

    python benchmarks/serving_speed.py --weights weights/mrm_superdiagnostic.pt --data-dir data --threads 1 2
    python benchmarks/serving_speed.py ... --batch-sweep        # also: throughput per windows per forward pass

Records are PTB-XL fold-10 records at 500 Hz, read once into memory (so resampling to 100 Hz is timed, file
reading is not), except for the end-to-end row, which reads WFDB files from a folder as ``mrm predict`` does.
Speed does not depend on the weights' values: ``--config cpu`` times an untrained network of that configuration.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from mrm.data import load_ptbxl  # noqa: E402
from mrm.evaluate.policy import PRECISIONS  # noqa: E402
from mrm.evaluate.predict import FORWARD_BATCH  # noqa: E402
from mrm.infer.batch import predict_paths  # noqa: E402
from mrm.infer.explain import attention_maps, attribute, explain  # noqa: E402
from mrm.infer.predictor import Predictor, minimal_card  # noqa: E402
from mrm.model import create_model  # noqa: E402


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def timings(fn, items, warmup: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """Wall-clock and process CPU seconds of ``fn(item)`` for each item, after ``warmup`` calls."""
    for item in items[:warmup]:
        fn(item)
    wall, cpu = [], []
    for item in items:
        w, c = time.perf_counter(), time.process_time()
        fn(item)
        wall.append(time.perf_counter() - w)
        cpu.append(time.process_time() - c)
    return np.array(wall), np.array(cpu)


def cli_peak_rss_mb(weights: Path, folder: Path) -> float:
    """Peak RSS of ``python -m mrm predict FOLDER`` (one thread), the serving process as users run it.

    Measured from a small wrapper process: a child forked from this (large) process would count its pages.
    """
    command = [sys.executable, "-m", "mrm", "predict", str(folder), "--weights", str(weights), "--format", "csv",
               "--out", os.devnull, "--quiet", "--threads", "1"]
    wrapper = ("import resource, subprocess, sys; subprocess.run(sys.argv[1:]); "
               "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    out = subprocess.run([sys.executable, "-c", wrapper, *command], capture_output=True, text=True, cwd=REPO)
    return float(out.stdout.split()[-1]) / 1024


def load_seconds(weights: Path, repeats: int) -> tuple[float, float]:
    """Median (import of torch and mrm, Predictor.load) in fresh processes."""
    code = (
        "import time; t0 = time.perf_counter(); import torch; from mrm.infer.predictor import Predictor; "
        f"t1 = time.perf_counter(); Predictor.load({str(weights)!r}); t2 = time.perf_counter(); print(t1 - t0, t2 - t1)"
    )
    runs = []
    for _ in range(repeats):
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True,
                             env={**os.environ, "OMP_NUM_THREADS": "1"})
        runs.append([float(v) for v in out.stdout.split()])
    return tuple(np.median(np.array(runs), axis=0))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--weights", type=Path)
    which.add_argument("--config", help="time an untrained network of this configuration (e.g. cpu)")
    parser.add_argument("--data-dir", default="data", help="data root holding ptb-xl/ (default: ./data)")
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--n-single", type=int, default=100, help="records timed one at a time")
    parser.add_argument("--n-batch", type=int, default=328, help="records of the throughput run")
    parser.add_argument("--n-explain", type=int, default=20)
    parser.add_argument("--ig-steps", type=int, nargs="+", default=[16, 4],
                        help="integration points of integrated gradients (one timing each)")
    parser.add_argument("--batch-sweep", type=int, nargs="*", default=None, metavar="N",
                        help="also time the throughput run with these windows per forward pass (default when given "
                        "without values: 16 32 64 128 256)")
    parser.add_argument("--precision", choices=PRECISIONS, default="float32",
                        help="arithmetic of the predictions (explanations' attributions stay float32)")
    parser.add_argument("--json", type=Path, default=None, help="also write the numbers here")
    args = parser.parse_args()
    if args.batch_sweep == []:
        args.batch_sweep = [16, 32, 64, 128, 256]

    if args.weights:
        predictor = Predictor.load(args.weights, args.precision)
        load_import, load = load_seconds(args.weights, 5)
    else:
        predictor = Predictor(create_model(args.config, 5), minimal_card(["CD", "HYP", "MI", "NORM", "STTC"]),
                              precision=args.precision)
        load_import, load = float("nan"), float("nan")
    rss_loaded = peak_rss_mb()
    index = load_ptbxl(Path(args.data_dir) / "ptb-xl").filter(folds=10, fs=500)
    ids = [int(i) for i in index.ecg_ids[: max(args.n_single, args.n_batch, args.n_explain)]]
    records = [index.load_record(i, fs=500) for i in ids]
    low = [index.load_record(i, fs=100) for i in ids[: args.n_single]]

    folder = Path(tempfile.mkdtemp(prefix="mrm-bench-"))
    for i in ids[: args.n_batch]:
        stem = (index.folder / index.metadata.loc[i, "filename_hr"]).resolve()
        for ext in (".hea", ".dat"):
            (folder / f"{stem.name}{ext}").symlink_to(stem.with_suffix(ext))

    rows = []
    for threads in args.threads:
        torch.set_num_threads(threads)
        single, single_cpu = timings(predictor.predict, records[: args.n_single])
        single100, _ = timings(predictor.predict, low)
        predictor.predict_many(records[:64])
        w, c = time.perf_counter(), time.process_time()
        for start in range(0, args.n_batch, 64):
            predictor.predict_many(records[start : min(start + 64, args.n_batch)])
        batched, batched_cpu = args.n_batch / (time.perf_counter() - w), args.n_batch / (time.process_time() - c)
        sweep = {}
        for size in args.batch_sweep or ():
            w = time.perf_counter()
            for start in range(0, args.n_batch, 64):
                predictor.predict_many(records[start : min(start + 64, args.n_batch)], batch_size=size)
            sweep[f"throughput_per_s_batch{size}"] = args.n_batch / (time.perf_counter() - w)
        started = time.perf_counter()
        n_files = sum(1 for _ in predict_paths(predictor, [folder]))
        end_to_end = n_files / (time.perf_counter() - started)
        subset = records[: args.n_explain]
        row = {
            "threads": threads,
            "latency_500hz_p50_ms": 1e3 * np.percentile(single, 50),
            "latency_500hz_p95_ms": 1e3 * np.percentile(single, 95),
            "latency_500hz_cpu_p50_ms": 1e3 * np.percentile(single_cpu, 50),
            "latency_100hz_p50_ms": 1e3 * np.percentile(single100, 50),
            "throughput_per_s": batched,
            "throughput_per_cpu_s": batched_cpu,
            "throughput_files_per_s": end_to_end,
            **sweep,
        }
        explanations = {
            "attention": lambda r: attention_maps(predictor, r),
            "grad_cam_hr": lambda r: attribute(predictor, r, method="grad_cam_hr"),
            **{f"ig{n}": (lambda r, n=n: attribute(predictor, r, method="integrated_gradients", n_steps=n))
               for n in args.ig_steps},
            "explain_grad_cam": lambda r: explain(predictor, r, method="grad_cam_hr"),
            **{f"explain_ig{n}": (lambda r, n=n: explain(predictor, r, method="integrated_gradients", n_steps=n))
               for n in args.ig_steps},
        }
        for name, fn in explanations.items():
            wall, cpu = timings(fn, subset)
            row[f"{name}_p50_ms"] = 1e3 * np.median(wall)
            row[f"{name}_cpu_p50_ms"] = 1e3 * np.median(cpu)
        row["peak_rss_mb"] = peak_rss_mb()
        rows.append(row)
    cli_rss = cli_peak_rss_mb(args.weights, folder) if args.weights else float("nan")
    for p in folder.iterdir():
        p.unlink()
    folder.rmdir()

    meta = {
        "weights": str(args.weights) if args.weights else f"untrained {args.config}",
        "model": predictor.card.get("model", {}).get("name", args.config),
        "policy": predictor.policy.to_dict(),
        "load_import_s": load_import,
        "load_s": load,
        "rss_after_load_mb": rss_loaded,
        "cli_peak_rss_mb": cli_rss,
        "cpu": platform.processor() or platform.machine(),
        "cores": os.cpu_count(),
        "load_average": os.getloadavg(),
        "torch": torch.__version__,
        "n_single": args.n_single,
        "n_batch": args.n_batch,
        "n_explain": args.n_explain,
        "forward_batch": FORWARD_BATCH,
        "precision": args.precision,
    }
    print(f"weights {meta['weights']}; policy {meta['policy']}; {FORWARD_BATCH} windows per forward pass; "
          f"{args.precision}")
    print(f"load: {load:.3f} s for Predictor.load after importing torch and mrm ({load_import:.2f} s), median of 5 "
          f"fresh processes; peak RSS: {cli_rss:.0f} MB for `mrm predict` on {args.n_batch} files, "
          f"{rss_loaded:.0f} MB after loading here; load average {meta['load_average'][0]:.1f} on {meta['cores']} "
          "cores at the end")
    print("wall-clock ms (process CPU ms): p50 of single records, explanations of one record")
    for r in rows:
        print(f"threads {r['threads']}:")
        for key in r:
            if key.endswith("_p50_ms") and key.replace("_p50_ms", "_cpu_p50_ms") in r:
                print(f"  {key:32s} {r[key]:8.1f} ({r[key.replace('_p50_ms', '_cpu_p50_ms')]:.1f})")
            elif key != "threads" and not key.endswith("_cpu_p50_ms"):
                print(f"  {key:32s} {r[key]:8.1f}")
    if args.json:
        args.json.write_text(json.dumps({"meta": meta, "rows": rows}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
