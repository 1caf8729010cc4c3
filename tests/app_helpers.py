"""What the AppTest modules share: open the dashboard on a data root (and weights folder), and check a run."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parents[1] / "streamlit_app.py")


def open_app(monkeypatch, data_dir: Path, weights: Path | None = None, **params: str) -> AppTest:
    """Run the entry script once with ``data_dir`` as the data root, ``weights`` as the weights folder (None: the
    shipped weights) and ``params`` as the URL's query parameters."""
    monkeypatch.setenv("MRM_DATA_DIR", str(data_dir))
    if weights is None:
        monkeypatch.delenv("MRM_WEIGHTS_DIR", raising=False)
    else:
        monkeypatch.setenv("MRM_WEIGHTS_DIR", str(weights))
    at = AppTest.from_file(APP, default_timeout=90)
    for key, value in params.items():
        at.query_params[key] = value
    return at.run()


def assert_ok(at: AppTest) -> AppTest:
    """The run raised nothing and showed no error box."""
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    return at
