"""The Predictor: a weights file and its card loaded once, applied to any Recording of any length and rate.

A record goes through exactly the path of evaluation (:func:`mrm.evaluate.predict.predict_records`):

1. resampled to the card's rate (100 Hz) with the anti-aliased polyphase filter, unless it is already there;
2. standardised per lead with the card's training-fold statistics;
3. cut into the card's windows (e.g. 2.5 s every 1.25 s; the last window flush with the end of the record, so
   nothing is left out). A record shorter than one window is padded at its end with the lead's mean (about
   0 mV) up to one window, and a warning says how much was padded;
4. the windows' probabilities aggregated as the card says (``max``: a finding seen in any window counts).

Each class gets its full name, the fused probability, the card's threshold (tuned on fold 9) and the decision,
plus the probabilities of the high- and low-resolution heads. The disagreement of the two branches is the largest
``|p_hr - p_lr|`` over the classes; it is flagged above :data:`DISAGREEMENT_FLAG`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from torch import nn

from mrm.data.preprocess import Standardizer, resample, window_starts
from mrm.data.recording import Recording
from mrm.errors import ECGInputError
from mrm.evaluate.predict import FORWARD_BATCH, PRECISIONS, InputPolicy, RecordProbabilities, predict_records
from mrm.shipped import default_weights_dir
from mrm.train.card import card_policy, card_standardizer, card_thresholds, load_weights

#: Largest ``|p_hr - p_lr|`` over the classes above which a prediction is flagged: the two branches then read the
#: record differently for at least one class, and its fused probability hides a split. A card's own
#: ``disagreement_flag`` (the 99th percentile of the disagreement on its fold 9, written by training and
#: ``mrm retune``) takes precedence; this value is for cards without one. See docs/benchmarks.md, section 2.2.
DISAGREEMENT_FLAG = 0.15

#: What the disagreement number is, as written into every prediction.
DISAGREEMENT_MEASURE = "max over classes of |p_hr - p_lr|"


def weights_for_task(task: str, weights_dir: str | Path | None = None) -> Path:
    """The shipped weights of a task: ``weights_dir/mrm_{task}.pt`` (its card ``mrm_{task}.json`` beside it).

    Without ``weights_dir``: ``MRM_WEIGHTS_DIR``, else ``./weights``, else the weights installed with the package
    (:func:`mrm.shipped.default_weights_dir`).

    Raises
    ------
    ECGInputError
        When the file is absent, naming it and the weights that are there.

    Examples
    --------
    >>> weights_for_task("superdiagnostic", "no-such-folder")
    Traceback (most recent call last):
    ...
    mrm.errors.ECGInputError: no-such-folder/mrm_superdiagnostic.pt: no weights for task superdiagnostic \
(none in no-such-folder); train them with `python -m mrm train --task superdiagnostic` or pass --weights FILE.
    """
    folder = default_weights_dir() if weights_dir is None else Path(weights_dir)
    path = folder / f"mrm_{task}.pt"
    if path.is_file():
        return path
    there = sorted(p.name for p in folder.glob("*.pt")) if folder.is_dir() else []
    shown = f"found: {', '.join(there)}" if there else f"none in {folder}"
    raise ECGInputError(
        f"{path}: no weights for task {task} ({shown}); train them with `python -m mrm train --task {task}` "
        "or pass --weights FILE."
    )


def minimal_card(classes: Sequence[str], policy: InputPolicy | None = None) -> dict:
    """The least a card must hold for a :class:`Predictor`: classes, no thresholds, an identity standardiser.

    For demonstrations and tests of networks that were not trained; real cards come from ``mrm train``.

    Examples
    --------
    >>> minimal_card(["NORM", "MI"])["input_policy"]
    {'fs': 100.0, 'window': 250, 'stride': 125, 'aggregation': 'max'}
    """
    return {
        "name": "untrained",
        "task": "",
        "classes": list(classes),
        "class_names": list(classes),
        "thresholds": [None] * len(classes),
        "standardizer": Standardizer((0.0,) * 12, (1.0,) * 12).to_dict(),
        "input_policy": (policy or InputPolicy()).to_dict(),
    }


def branch_gap(probability_hr: float | None, probability_lr: float | None) -> float | None:
    """``|p_hr - p_lr|``, or None where a network has one head.

    Examples
    --------
    >>> round(branch_gap(0.8, 0.25), 2), branch_gap(None, 0.3)
    (0.55, None)
    """
    if probability_hr is None or probability_lr is None:
        return None
    return abs(probability_hr - probability_lr)


@dataclass(frozen=True)
class ClassPrediction:
    """One class of a prediction.

    Attributes
    ----------
    code, name : str
        Statement code (``"MI"``) and full name (``"myocardial infarction"``).
    probability : float
        The fused probability (the one to use).
    threshold : float or None
        The card's threshold (maximises F1 on fold 9); ``None`` where fold 9 had no positive record.
    decision : bool or None
        ``probability >= threshold``; ``None`` without a threshold.
    probability_hr, probability_lr : float or None
        The probabilities of the high- and low-resolution heads (``None`` for single-head networks).
    """

    code: str
    name: str
    probability: float
    threshold: float | None
    decision: bool | None
    probability_hr: float | None = None
    probability_lr: float | None = None

    @property
    def gap(self) -> float | None:
        """``|p_hr - p_lr|``: how far the two branches are apart on this class (``None`` for one head)."""
        return branch_gap(self.probability_hr, self.probability_lr)

    def to_dict(self) -> dict:
        return {
            "code": self.code,
            "name": self.name,
            "probability": _round(self.probability),
            "threshold": _round(self.threshold),
            "decision": self.decision,
            "probability_hr": _round(self.probability_hr),
            "probability_lr": _round(self.probability_lr),
        }


@dataclass
class Prediction:
    """What the Predictor says about one record.

    Attributes
    ----------
    record_id, source : str
        The record's identifier and the file it came from (``None`` when not from a file).
    model, task : str
        The card's name and task.
    classes : list of ClassPrediction
        In the card's class order.
    disagreement : float or None
        :data:`DISAGREEMENT_MEASURE` (``None`` for single-head networks); ``disagreement_class`` is the class where
        it is reached and ``disagreement_flagged`` whether it exceeds ``disagreement_flag`` (the card's, else
        :data:`DISAGREEMENT_FLAG`).
    fs, duration : float
        The record's own sampling rate (Hz) and length (s).
    policy : InputPolicy
        The card's input policy that was applied.
    windows : list of (float, float)
        Start and end (s) of every window on the record's own time axis; the end of a padded window lies past
        the record's end.
    padded : float
        Seconds of padding added (0 unless the record is shorter than one window).
    warnings : list of str
        The reader's warnings, then resampling, padding and disagreement notes.
    """

    record_id: str
    source: str | None
    model: str
    task: str
    classes: list[ClassPrediction]
    disagreement: float | None
    disagreement_class: str | None
    disagreement_flagged: bool
    fs: float
    duration: float
    policy: InputPolicy
    windows: list[tuple[float, float]]
    padded: float = 0.0
    warnings: list[str] = field(default_factory=list)
    disagreement_flag: float = DISAGREEMENT_FLAG

    @property
    def positive(self) -> list[ClassPrediction]:
        """The classes whose decision is positive."""
        return [c for c in self.classes if c.decision]

    def probabilities(self, head: str = "fused") -> np.ndarray:
        """Probabilities in class order of ``"fused"``, ``"hr"`` or ``"lr"``."""
        attr = {"fused": "probability", "hr": "probability_hr", "lr": "probability_lr"}[head]
        return np.array([np.nan if getattr(c, attr) is None else getattr(c, attr) for c in self.classes])

    def to_dict(self) -> dict:
        """A JSON-ready dict; its layout is documented in the README ("Prediction JSON")."""
        return {
            "record_id": self.record_id,
            "source": self.source,
            "model": self.model,
            "task": self.task,
            "fs": self.fs,
            "duration_s": _round(self.duration),
            "input": {
                "model_fs": self.policy.fs,
                "window_s": self.policy.window / self.policy.fs,
                "stride_s": self.policy.stride / self.policy.fs,
                "aggregation": self.policy.aggregation,
                "n_windows": len(self.windows),
                "windows_s": [[_round(a), _round(b)] for a, b in self.windows],
                "resampled": self.fs != self.policy.fs,
                "padded_s": _round(self.padded),
            },
            "classes": [c.to_dict() for c in self.classes],
            "positive": [c.code for c in self.positive],
            "disagreement": {
                "value": _round(self.disagreement),
                "class": self.disagreement_class,
                "flagged": self.disagreement_flagged,
                "flag_above": self.disagreement_flag,
                "measure": DISAGREEMENT_MEASURE,
            },
            "warnings": list(self.warnings),
        }


@dataclass
class ModelInput:
    """A record made ready for the network: standardised, at the policy's rate, with its window layout.

    ``recording`` is the record as given (its own rate); ``signal`` is (12, n) float32 at the policy's rate,
    standardised and unpadded; ``starts`` are the window starts in samples of ``signal``'s axis, as
    :func:`mrm.data.preprocess.make_windows` places them; ``padded`` counts the samples of padding.
    """

    recording: Recording
    signal: np.ndarray
    starts: np.ndarray
    padded: int
    warnings: list[str]

    @property
    def n_samples(self) -> int:
        return int(self.signal.shape[1])


class Predictor:
    """A network with its card, loaded once; predicts for any Recording.

    Build one with :meth:`load` (a weights file) or :meth:`for_task` (the shipped weights of a task). The network
    is in eval mode with its parameters frozen; :meth:`predict` runs without gradients.

    Examples
    --------
    >>> predictor = Predictor.for_task("superdiagnostic")  # doctest: +SKIP
    >>> from mrm.data import read_ecg
    >>> prediction = predictor.predict(read_ecg("data/ptb-xl/records500/00000/00001_hr.hea"))  # doctest: +SKIP
    >>> [(c.code, round(c.probability, 2), c.decision) for c in prediction.classes]  # doctest: +SKIP
    [('CD', 0.03, False), ('HYP', 0.02, False), ('MI', 0.04, False), ('NORM', 0.93, True), ('STTC', 0.05, False)]
    """

    def __init__(self, model: nn.Module, card: dict, weights: str | Path | None = None, precision: str = "float32"):
        if precision not in PRECISIONS:
            raise ECGInputError(f"precision must be one of {', '.join(PRECISIONS)}, not {precision!r}.")
        self.model = model.eval().requires_grad_(False)
        self.precision = precision
        self.card = card
        self.weights = None if weights is None else Path(weights)
        self.classes: list[str] = list(card["classes"])
        self.class_names: list[str] = list(card.get("class_names") or card["classes"])
        self.thresholds: np.ndarray = card_thresholds(card)
        self.policy: InputPolicy = card_policy(card)
        self.standardizer: Standardizer = card_standardizer(card)
        self.name: str = str(card.get("name") or (self.weights.stem if self.weights else "model"))
        self.task: str = str(card.get("task", ""))
        self.disagreement_flag: float = float(card.get("disagreement_flag") or DISAGREEMENT_FLAG)

    @classmethod
    def load(cls, weights: str | Path, precision: str = "float32") -> Predictor:
        """Load a weights file and the card beside it (``torch.load(weights_only=True)``).

        ``precision="bfloat16"`` predicts under bfloat16 autocast (faster on CPUs with AVX-512 BF16; probabilities
        within about 0.01 of the card's float32 ones); attributions always run in float32.
        """
        model, card = load_weights(weights)
        return cls(model, card, weights, precision)

    @classmethod
    def for_task(cls, task: str, weights_dir: str | Path | None = None, precision: str = "float32") -> Predictor:
        """Load the shipped weights of ``task`` (see :func:`weights_for_task`)."""
        return cls.load(weights_for_task(task, weights_dir), precision)

    def prepare(self, recording: Recording) -> ModelInput:
        """Resample and standardise a record and lay out its windows, as :meth:`predict` does."""
        at_rate = resample(recording, self.policy.fs)
        signal = self.standardizer.transform(at_rate.signal)
        n = signal.shape[1]
        padded = max(0, self.policy.window - n)
        starts = window_starts(n + padded, self.policy.window, self.policy.stride)
        warnings = list(at_rate.warnings)
        if padded:
            warnings.append(
                f"{recording.record_id}: {n / self.policy.fs:g} s is shorter than one "
                f"{self.policy.window / self.policy.fs:g}-s window of the model; padded at its end with "
                f"{padded / self.policy.fs:g} s of baseline."
            )
        return ModelInput(recording, signal, starts, padded, warnings)

    def probabilities(self, inputs: Sequence[ModelInput], batch_size: int = FORWARD_BATCH) -> RecordProbabilities:
        """Record probabilities (fused and per head) of prepared records, through the evaluation path."""
        return predict_records(self.model, [x.signal for x in inputs], self.policy, batch_size=batch_size,
                               precision=self.precision)

    def predict(self, recording: Recording) -> Prediction:
        """Predict one record of any length and sampling rate."""
        return self.predict_many([recording])[0]

    def predict_many(self, recordings: Sequence[Recording], batch_size: int = FORWARD_BATCH) -> list[Prediction]:
        """Predict several records at once (their windows share forward passes of up to ``batch_size``)."""
        return self.predict_prepared([self.prepare(r) for r in recordings], batch_size)

    def predict_prepared(self, inputs: Sequence[ModelInput], batch_size: int = FORWARD_BATCH) -> list[Prediction]:
        """Predict records already made ready by :meth:`prepare`."""
        if not inputs:
            return []
        probs = self.probabilities(inputs, batch_size)
        return [
            self._prediction(x, probs.fused[i], None if probs.hr is None else probs.hr[i],
                             None if probs.lr is None else probs.lr[i])
            for i, x in enumerate(inputs)
        ]

    def _prediction(self, x: ModelInput, fused: np.ndarray, hr: np.ndarray | None, lr: np.ndarray | None
                    ) -> Prediction:
        rec = x.recording
        classes = []
        for i, code in enumerate(self.classes):
            t = float(self.thresholds[i])
            has_t = bool(np.isfinite(t))
            classes.append(ClassPrediction(
                code=code,
                name=self.class_names[i],
                probability=float(fused[i]),
                threshold=t if has_t else None,
                decision=bool(fused[i] >= t) if has_t else None,
                probability_hr=None if hr is None else float(hr[i]),
                probability_lr=None if lr is None else float(lr[i]),
            ))
        warnings = list(x.warnings)
        disagreement, where, flagged = None, None, False
        if hr is not None and lr is not None:
            gap = np.abs(hr - lr)
            k = int(np.argmax(gap))
            disagreement, where = float(gap[k]), self.classes[k]
            flagged = disagreement > self.disagreement_flag
            if flagged:
                warnings.append(
                    f"{rec.record_id}: the high- and low-resolution branches disagree on {where} "
                    f"(p_hr {hr[k]:.2f}, p_lr {lr[k]:.2f}); read its fused probability with care."
                )
        fs_model = self.policy.fs
        windows = [(float(s / fs_model), float((s + self.policy.window) / fs_model)) for s in x.starts]
        return Prediction(
            record_id=rec.record_id,
            source=rec.source,
            model=self.name,
            task=self.task,
            classes=classes,
            disagreement=disagreement,
            disagreement_class=where,
            disagreement_flagged=flagged,
            fs=rec.fs,
            duration=rec.duration,
            policy=self.policy,
            windows=windows,
            padded=x.padded / fs_model,
            warnings=warnings,
            disagreement_flag=self.disagreement_flag,
        )


def _round(value: float | None, digits: int = 6) -> float | None:
    return None if value is None else round(float(value), digits)
