"""Start the dashboard as its own process: ``streamlit run streamlit_app.py`` headless on a free local port.

The browser tests and the dashboard benchmarks drive a real server; they all start it here, with
:func:`running_dashboard` (stopped on leaving the block) or :func:`start_dashboard` (the caller stops it).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

#: The repository checkout this package runs from (where ``streamlit_app.py`` is).
REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def dashboard_env(data_dir: Path, weights_dir: Path | None = None) -> dict[str, str]:
    """This process's environment with ``data_dir`` as the dashboard's data root and ``weights_dir`` (if given)
    as its weights folder.

    Examples
    --------
    >>> dashboard_env(Path("data"))["MRM_DATA_DIR"]
    'data'
    """
    env = dict(os.environ, MRM_DATA_DIR=str(data_dir))
    if weights_dir is not None:
        env["MRM_WEIGHTS_DIR"] = str(weights_dir)
    return env


def start_dashboard(log: Path, *, cwd: Path = REPO, env: Mapping[str, str] | None = None,
                    timeout: float = 30.0) -> tuple[subprocess.Popen, str]:
    """Start ``streamlit run streamlit_app.py`` in ``cwd`` with ``env`` (default: this process's environment), its
    output going to ``log``; return the process and its URL once the server answers its health check.

    Raises RuntimeError, with the end of the log, when the server dies or does not answer within ``timeout`` s.

    Examples
    --------
    >>> process, url = start_dashboard(Path("/tmp/server.log"))  # doctest: +SKIP
    >>> process.terminate()  # doctest: +SKIP
    """
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "streamlit_app.py", "--server.port", str(port),
         "--server.address", "127.0.0.1", "--server.headless", "true"],
        cwd=cwd, env=dict(os.environ if env is None else env), stdout=log.open("w"), stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=1) as reply:
                if reply.status == 200:
                    return process, url
        except OSError:
            time.sleep(0.2)
    process.terminate()
    raise RuntimeError(f"streamlit did not start on {url}: {log.read_text()[-2000:]}")


@contextmanager
def running_dashboard(log: Path, *, cwd: Path = REPO, env: Mapping[str, str] | None = None,
                      timeout: float = 30.0) -> Iterator[str]:
    """The dashboard's URL while the block runs (:func:`start_dashboard`); the server is stopped on leaving it.

    Examples
    --------
    >>> with running_dashboard(Path("/tmp/server.log")) as url:  # doctest: +SKIP
    ...     print(url)
    http://127.0.0.1:...
    """
    process, url = start_dashboard(log, cwd=cwd, env=env, timeout=timeout)
    try:
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)
