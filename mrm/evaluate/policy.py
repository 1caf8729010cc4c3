"""How a record becomes model input, and in which arithmetic: plain settings, no torch (the CLIs' parsers use them)."""

from __future__ import annotations

from dataclasses import dataclass

#: How the windows' probabilities become the record's (see :func:`mrm.data.preprocess.aggregate_windows`).
AGGREGATIONS = ("max", "mean")

#: Arithmetic of the forward pass: ``float32`` (default; what the cards' numbers are computed with) or ``bfloat16``
#: (opt-in autocast: about 1.8 times faster on a CPU with AVX-512 BF16, probabilities within about 0.01; slower
#: where the CPU lacks it). docs/benchmarks.md section 2.5 measures both.
PRECISIONS = ("float32", "bfloat16")


@dataclass(frozen=True)
class InputPolicy:
    """How a record becomes model input; stored in every weight card and applied exactly by the Predictor.

    Examples
    --------
    >>> InputPolicy(window=250, stride=125).to_dict()
    {'fs': 100.0, 'window': 250, 'stride': 125, 'aggregation': 'max'}
    """

    window: int = 250
    stride: int = 125
    aggregation: str = "max"
    fs: float = 100.0

    def __post_init__(self) -> None:
        if self.window < 1:
            raise ValueError(f"window must be at least 1 sample, not {self.window}")
        if not 0 < self.stride <= self.window:
            raise ValueError(f"stride must be 1 to {self.window} (the window), not {self.stride}: a longer stride "
                             "would skip signal between windows")
        if self.aggregation not in AGGREGATIONS:
            raise ValueError(f"aggregation must be one of {', '.join(AGGREGATIONS)}, not {self.aggregation!r}")

    def to_dict(self) -> dict:
        return {"fs": self.fs, "window": self.window, "stride": self.stride, "aggregation": self.aggregation}

    @classmethod
    def from_dict(cls, data: dict) -> InputPolicy:
        return cls(int(data["window"]), int(data["stride"]), str(data["aggregation"]), float(data["fs"]))
