"""What the dashboard benchmarks share: a Streamlit server on a free port, and their markdown timing tables."""

from __future__ import annotations

import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def start_app(data_dir: Path, log: Path, weights_dir: Path | None = None) -> tuple[subprocess.Popen, str]:
    """Start ``streamlit run streamlit_app.py`` headless on a free local port; return the process and its URL once
    the server answers its health check (output goes to ``log``)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = dict(os.environ, MRM_DATA_DIR=str(data_dir))
    if weights_dir is not None:
        env["MRM_WEIGHTS_DIR"] = str(weights_dir)
    process = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "streamlit_app.py", "--server.port", str(port),
         "--server.address", "127.0.0.1", "--server.headless", "true"],
        cwd=REPO, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(150):
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=1):
                return process, url
        except OSError:
            time.sleep(0.2)
    process.terminate()
    raise RuntimeError(f"streamlit did not start: {log.read_text()[-2000:]}")


def print_timings(title: str, results: dict[str, list[float]]) -> None:
    """A markdown table of each step's median, minimum and maximum seconds."""
    print(f"\n| {title} | median s | min s | max s |\n|---|---|---|---|")
    for name, values in results.items():
        print(f"| {name} | {statistics.median(values):.3f} | {min(values):.3f} | {max(values):.3f} |")
