"""Where the shipped weights are, and which code version made them (``mrm --version``).

The weights live in ``weights/`` at the top of the repository; ``pip install .`` copies them into the installed
package as ``mrm/weights/`` (pyproject.toml maps the package ``mrm.weights`` to that folder). So a user who runs
``mrm`` outside a checkout still finds them, while a ``./weights`` folder in the working directory (the project's
own layout, or a user's retrained weights) comes first.
"""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Mapping
from pathlib import Path

from mrm import __version__

#: The folder name the command line and the app look for in the working directory.
DEFAULT_WEIGHTS_DIR = "weights"
_PACKAGE = Path(__file__).resolve().parent


def shipped_weights_dir() -> Path | None:
    """The weights that came with the code: ``mrm/weights`` of an installed package, else ``weights/`` of the
    source checkout this package is imported from; None when neither exists.

    Examples
    --------
    >>> folder = shipped_weights_dir()
    >>> folder is None or folder.name == "weights"
    True
    """
    installed = _PACKAGE / "weights"
    if installed.is_dir():
        return installed
    checkout = _PACKAGE.parent / DEFAULT_WEIGHTS_DIR
    if (_PACKAGE.parent / "pyproject.toml").is_file() and checkout.is_dir():
        return checkout
    return None


def default_weights_dir(environ: Mapping[str, str] | None = None) -> Path:
    """The weights folder to use when none is named: ``MRM_WEIGHTS_DIR``, else ``./weights`` when it exists, else
    the shipped weights (:func:`shipped_weights_dir`), else ``weights`` (so that error messages name it).

    Examples
    --------
    >>> default_weights_dir({"MRM_WEIGHTS_DIR": "/srv/w"}).as_posix()
    '/srv/w'
    """
    environ = os.environ if environ is None else environ
    if environ.get("MRM_WEIGHTS_DIR"):
        return Path(environ["MRM_WEIGHTS_DIR"])
    local = Path(DEFAULT_WEIGHTS_DIR)
    if local.is_dir():
        return local
    return shipped_weights_dir() or local


def card_versions(folder: str | Path) -> dict[str, list[str]]:
    """The ``code_version`` recorded in the cards (``*.json`` beside a ``*.pt``) of a weights folder: version ->
    weights names. Cards without a version count as ``"unknown"``.

    Examples
    --------
    >>> card_versions("/nonexistent")
    {}
    """
    folder = Path(folder)
    versions: dict[str, list[str]] = {}
    for card in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        if not card.with_suffix(".pt").is_file():
            continue
        try:
            version = str(json.loads(card.read_text()).get("code_version") or "unknown")
        except (OSError, ValueError, AttributeError):
            version = "unknown"
        versions.setdefault(version, []).append(card.stem)
    return versions


def version_text(folder: str | Path | None = None) -> str:
    """What ``mrm --version`` prints: the package version, and the version of the code that made the weights
    ``mrm predict`` would use.

    Examples
    --------
    >>> print(version_text("/nonexistent"))  # doctest: +ELLIPSIS
    mrm 0.1.0
    weights: none in /nonexistent; ...
    """
    folder = default_weights_dir() if folder is None else Path(folder)
    versions = card_versions(folder)
    lines = [f"mrm {__version__}"]
    if not versions:
        lines.append(f"weights: none in {folder}; train them with `python -m mrm train` or reinstall the package.")
    for version, names in versions.items():
        lines.append(f"weights: {len(names)} card{'s' * (len(names) != 1)} in {folder} made with mrm {version} "
                     f"({', '.join(names)})")
    return "\n".join(lines)


class VersionAction(argparse.Action):
    """``--version``: print :func:`version_text` and exit (the cards are read only when asked)."""

    def __init__(self, option_strings, dest=argparse.SUPPRESS, default=argparse.SUPPRESS,
                 help="print the package version and the version the shipped weights were made with, then exit"):
        super().__init__(option_strings, dest=dest, default=default, nargs=0, help=help)

    def __call__(self, parser, namespace, values, option_string=None):
        print(version_text())
        parser.exit()
