"""What a data root holds: which datasets, how many records, with signals, in which folds."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from mrm.errors import ECGInputError

#: How a user gets each dataset the tool knows.
DOWNLOAD_COMMANDS = {
    "ptbxl": "python -m mrm download ptbxl --dest data",
    "cpsc2018": "python -m mrm download cpsc2018 --dest data",
}


@dataclass
class DatasetSummary:
    """One dataset of a data root; ``found`` is False (with ``problem`` saying why) when it is absent or unusable."""

    dataset: str
    folder: str
    found: bool
    n_listed: int = 0
    n_with_signal: int = 0
    folds: dict[int, int] = field(default_factory=dict)
    problem: str | None = None
    download: str = ""

    def to_dict(self) -> dict:
        return asdict(self)


def _summarise(dataset: str, folder: Path) -> DatasetSummary:
    summary = DatasetSummary(dataset, str(folder), False, download=DOWNLOAD_COMMANDS[dataset])
    try:
        if dataset == "ptbxl":
            from mrm.data.ptbxl import load_ptbxl

            index = load_ptbxl(folder)
            present = index.has_signal(100).to_numpy()
            folds = index.metadata["strat_fold"].to_numpy()[present]
            summary.n_listed = len(index)
        else:
            from mrm.data.cpsc2018 import load_cpsc2018

            index = load_cpsc2018(folder)
            present = index.records["path"].notna().to_numpy()
            folds = index.records["fold"].to_numpy()[present]
            summary.n_listed = len(index)
    except ECGInputError as err:
        summary.problem = str(err)
        return summary
    summary.found = True
    summary.n_with_signal = int(present.sum())
    values, counts = np.unique(folds[~pd.isna(folds)].astype(int), return_counts=True)
    summary.folds = {int(v): int(c) for v, c in zip(values, counts, strict=True)}
    return summary


def describe_data_root(data_dir: str | Path) -> list[DatasetSummary]:
    """Summarise the PTB-XL and CPSC2018 folders of a data root (``data/ptb-xl``, ``data/cpsc2018``).

    Examples
    --------
    >>> [s.found for s in describe_data_root("/nonexistent")]
    [False, False]
    """
    root = Path(data_dir)
    return [_summarise("ptbxl", root / "ptb-xl"), _summarise("cpsc2018", root / "cpsc2018")]
