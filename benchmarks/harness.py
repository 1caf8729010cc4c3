"""What the dashboard benchmarks share: the browser, the server, picking a record, and the timing tables."""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from contextlib import AbstractContextManager
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # the benchmarks run as scripts from a checkout

from mrm.app.launch import dashboard_env, running_dashboard, start_dashboard  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]


def start_app(data_dir: Path, log: Path, weights_dir: Path | None = None) -> tuple[subprocess.Popen, str]:
    """The dashboard on a free local port with ``data_dir`` as its data root and ``weights_dir`` (if given) as its
    weights folder."""
    return start_dashboard(log, env=dashboard_env(data_dir, weights_dir))


def running_app(data_dir: Path, log: Path, weights_dir: Path | None = None) -> AbstractContextManager[str]:
    """:func:`start_app` as a context manager: the URL inside the block, the server stopped on leaving it."""
    return running_dashboard(log, env=dashboard_env(data_dir, weights_dir))


def pick(page, ecg_id: int, timeout_ms: float = 30_000) -> float:
    """Choose a record in the Record page's picker; seconds until its panel shows."""
    picker = page.get_by_role("combobox", name="Record (ecg_id)")
    picker.click()
    page.keyboard.type(f"{ecg_id} ·")
    start = time.perf_counter()
    page.keyboard.press("Enter")
    page.get_by_text(f"PTB-XL ecg_id {ecg_id} ·").wait_for(timeout=timeout_ms)
    page.get_by_text("Input check").first.wait_for()
    return time.perf_counter() - start


def print_timings(title: str, results: dict[str, list[float]]) -> None:
    """A markdown table of each step's median, minimum and maximum seconds."""
    print(f"\n| {title} | median s | min s | max s |\n|---|---|---|---|")
    for name, values in results.items():
        print(f"| {name} | {statistics.median(values):.3f} | {min(values):.3f} | {max(values):.3f} |")
