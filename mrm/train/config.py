"""What a training run is: one dataclass, saved in every checkpoint and weight card."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields

from mrm.evaluate.policy import InputPolicy

#: PTB-XL benchmark tasks, plus the CPSC2018 label set (nine PTB-XL statements).
TASKS = ("all", "diagnostic", "subdiagnostic", "superdiagnostic", "form", "rhythm", "cpsc2018")


@dataclass
class TrainConfig:
    """A training run's settings.

    ``crop`` is the training input length in samples at 100 Hz: 250 (random 2.5-s crops, tested with 2.5-s
    windows every 1.25 s and the maximum over windows, as the PTB-XL benchmark does) or 1000 (whole 10-s
    records, as the authors did; tested on 10-s windows). ``stride`` is the test-time step between windows
    (samples at 100 Hz); ``None`` means windows without overlap (``stride = crop``), which scored the same as half
    overlap on fold 9 at 1.75 times fewer forward passes (docs/benchmarks.md 2.5). ``train_fraction`` < 1
    keeps a seeded share of the training records (learning curves). ``model_overrides`` are fields of the model's
    configuration (ablations: ``exchange=False``, ``attention=False``, ``single_branch="hr"``). ``aux_task`` adds
    a second PTB-XL task's labels of the same records as extra outputs, trained with weight ``aux_weight`` on
    their BCE and removed from the heads after training (the served network predicts ``task`` only). ``ema`` > 0
    keeps an exponential moving average of the weights with that decay per optimiser step, its BatchNorm
    statistics recomputed on the training crops each epoch; the averaged network is the one validated, selected
    and shipped (0: off, the last step's weights).

    Examples
    --------
    >>> TrainConfig(task="rhythm").policy().to_dict()
    {'fs': 100.0, 'window': 250, 'stride': 250, 'aggregation': 'max'}
    >>> TrainConfig(task="rhythm", stride=125).policy().stride
    125
    >>> TrainConfig.from_dict(TrainConfig(epochs=3).to_dict()).epochs
    3
    """

    dataset: str = "ptbxl"
    task: str = "superdiagnostic"
    model: str = "cpu"
    model_overrides: dict = field(default_factory=dict)
    epochs: int = 30
    batch_size: int = 64
    lr: float = 3e-3
    weight_decay: float = 1e-2
    crop: int = 250
    aggregation: str = "max"
    stride: int | None = None
    kl_kind: str = "softmax"
    w_logit: float = 0.1
    w_feat: float = 0.01
    temperature: float = 4.0
    train_fraction: float = 1.0
    aux_task: str | None = None
    aux_weight: float = 1.0
    ema: float = 0.0
    seed: int = 0
    val_fold: int = 9
    test_fold: int = 10

    def __post_init__(self) -> None:
        if self.task not in TASKS:
            raise ValueError(f"unknown task {self.task!r}; choose one of {', '.join(TASKS)}")
        if self.crop not in (250, 1000):
            raise ValueError("crop must be 250 (2.5-s crops) or 1000 (whole 10-s records)")
        self.policy()  # checks the stride and aggregation against the crop
        if not 0 < self.train_fraction <= 1:
            raise ValueError("train_fraction must be in (0, 1]")
        if self.aux_task is not None:
            if self.dataset != "ptbxl" or self.aux_task not in TASKS or self.aux_task in ("cpsc2018", self.task):
                raise ValueError(f"aux_task must be a PTB-XL task other than {self.task!r} on the ptbxl dataset, "
                                 f"not {self.aux_task!r}")
            if self.aux_weight <= 0:
                raise ValueError(f"aux_weight must be positive, not {self.aux_weight}")
        if not 0 <= self.ema < 1:
            raise ValueError(f"ema must be a decay in [0, 1) (0: off), not {self.ema}")

    def policy(self):
        """The input policy at test time that matches the training crops."""
        return InputPolicy(window=self.crop, stride=self.stride or self.crop, aggregation=self.aggregation)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> TrainConfig:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})
