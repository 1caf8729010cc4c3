"""Command line: ``python -m mrm COMMAND ...``; each command lives in its own module of this package.

A command module defines ``add_parser(subparsers)``, which registers its arguments and sets ``func``,
a callable taking the parsed namespace and returning an exit code.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from mrm.errors import ECGInputError
from mrm.shipped import VersionAction

# Imported lazily so that `python -m mrm info` does not pay for importing torch.
COMMANDS = ("info", "download", "prepare", "train", "evaluate", "retune", "predict", "samples")


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The parser of every command, or of ``only`` that one (so ``mrm info`` never imports torch)."""
    parser = argparse.ArgumentParser(
        prog="mrm",
        description="MRM-Net: multi-label 12-lead ECG diagnosis (PTB-XL, CPSC2018).",
    )
    parser.add_argument("--version", action=VersionAction)
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS if only is None else (only,):
        importlib.import_module(f"mrm.cli.{name}").add_parser(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(argv[0] if argv and argv[0] in COMMANDS else None)
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except ECGInputError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
