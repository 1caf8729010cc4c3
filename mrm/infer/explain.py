"""Explanations of a prediction at both resolutions: where each branch attended, and what drove a class.

Two kinds, both computed on the windows the Predictor uses (:meth:`Predictor.prepare`):

* **Attention maps** (:func:`attention_maps`): the temporal gates of the high- and low-resolution branches. Step i
  of a window's map of length L covers that window's samples [i * window / L, (i + 1) * window / L); each window's
  map is laid on the record at the window's start, overlapping windows are averaged, and the result is returned on
  the record's own time axis (its own sampling rate, e.g. 500 Hz), ready for bands on the tracing.
* **Attributions** (:func:`attribute`), per class, over leads x time on the model's 100 Hz axis:

  - ``"integrated_gradients"`` (default): integrated gradients of the record's probability of the class (after the
    card's window aggregation) from a flat 0 mV record to the record, midpoint rule with ``n_steps`` points. The
    values are in probability units and sum to about p(record) - p(flat record).
  - ``"integrated_gradients_time"``: the same summed over the 12 leads, a temporal map (every lead gets it).
  - ``"grad_cam_hr"``, ``"grad_cam_lr"``: Grad-CAM of each branch: the feature maps entering the branch's head,
    weighted by the time-averaged gradient of that head's logit, summed over channels, clipped at 0; per window,
    then averaged over overlapping windows. Grad-CAM has no lead resolution: every lead gets the same row.

Faithfulness is measured by a deletion test (:mod:`mrm.infer.faithfulness`, numbers in docs/benchmarks.md, section 2.4).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from mrm.data.recording import Recording
from mrm.infer.predictor import ModelInput, Prediction, Predictor

#: Attribution methods of :func:`attribute`, and the class-free attention maps usable where an attribution is.
ATTRIBUTION_METHODS = ("integrated_gradients", "integrated_gradients_time", "grad_cam_hr", "grad_cam_lr")
#: The methods whose values resolve leads; the others repeat one temporal map on every lead.
LEAD_RESOLVED = ("integrated_gradients",)
ATTENTION_METHODS = ("attention_hr", "attention_lr")
#: Windows per forward/backward pass of integrated gradients: bounds its memory whatever the record's length.
IG_WINDOWS_PER_PASS = 32


@dataclass
class AttentionMaps:
    """The two branches' temporal attention on the record's own time axis.

    Attributes
    ----------
    times : ndarray
        (n,) seconds of the record's own samples (``recording.time()``).
    hr, lr : ndarray
        (n,) attention in [0, 1] of the high- and low-resolution branch at those times.
    fs : float
        The record's own sampling rate.
    """

    times: np.ndarray
    hr: np.ndarray
    lr: np.ndarray
    fs: float

    def bands(self, branch: str = "hr", share: float = 0.2) -> list[tuple[float, float]]:
        """Intervals (start, end) in seconds where a branch's attention is in its top ``share`` of the record.

        Examples
        --------
        >>> t = np.arange(1000) / 100
        >>> maps = AttentionMaps(t, np.where((t >= 2) & (t < 3), 0.9, 0.1), np.zeros(1000), 100.0)
        >>> maps.bands("hr", share=0.1)
        [(2.0, 3.0)]
        >>> maps.bands("lr")  # a flat map has no bands
        []
        """
        values = {"hr": self.hr, "lr": self.lr}[branch]
        if values.size == 0 or np.ptp(values) <= 1e-6:
            return []  # a flat map (or a branch without attention) points nowhere
        cut = np.quantile(values, 1 - share)
        high = values >= cut
        if high.mean() > 1.5 * share:
            high = values > cut  # ties at the cut (e.g. a plateau) would otherwise swallow most of the record
        high = np.concatenate([[False], high, [False]])
        edges = np.flatnonzero(np.diff(high.astype(np.int8)))
        step = 1 / self.fs
        return [(float(self.times[a]), float(self.times[b - 1] + step)) for a, b in zip(edges[::2], edges[1::2],
                                                                                      strict=True)]


@dataclass
class Attribution:
    """What drove one class, over leads x time on the model's axis.

    Attributes
    ----------
    code, name : str
        The class.
    method : str
        One of :data:`ATTRIBUTION_METHODS`.
    values : ndarray
        (12, n) float32 at ``fs`` (the model's rate, 100 Hz), n = the record's length there (padding cut off).
        Positive values speak for the class.
    fs : float
        The model's sampling rate; sample k is at ``k / fs`` seconds of the record.
    probability : float
        The record's fused probability of the class.
    lead_resolved : bool
        False for Grad-CAM, whose 12 rows are the same temporal map.
    """

    code: str
    name: str
    method: str
    values: np.ndarray
    fs: float
    probability: float
    lead_resolved: bool

    @property
    def times(self) -> np.ndarray:
        """(n,) seconds of the columns of ``values`` on the record's time axis."""
        return np.arange(self.values.shape[1]) / self.fs

    def lead_totals(self) -> np.ndarray:
        """(12,) positive attribution per lead: which leads spoke for the class."""
        return np.clip(self.values, 0, None).sum(axis=1)


@dataclass
class Explanation:
    """A prediction with both explanations of one record."""

    prediction: Prediction
    attention: AttentionMaps | None
    attribution: Attribution



def attention_maps(predictor: Predictor, recording: Recording) -> AttentionMaps:
    """The high- and low-resolution attention maps of a record, on its own time axis.

    Raises
    ------
    ValueError
        When the network has no attention (an ablation or a baseline).

    Examples
    --------
    >>> from mrm.model import create_model
    >>> from mrm.infer.predictor import minimal_card
    >>> predictor = Predictor(create_model("tiny", 5), minimal_card([f"C{i}" for i in range(5)]))
    >>> rec = Recording(np.random.default_rng(0).normal(size=(12, 3800)).astype(np.float32), 500.0, "demo")
    >>> maps = attention_maps(predictor, rec)
    >>> maps.times.shape, maps.hr.shape, float(maps.times[-1])
    ((3800,), (3800,), 7.598)
    """
    x = predictor.prepare(recording)
    return _on_record_axis(predictor, x, *attention_on_model_axis(predictor, x))


def attribute(
    predictor: Predictor,
    recording: Recording,
    target: str | int | None = None,
    method: str = "integrated_gradients",
    n_steps: int = 16,
) -> Attribution:
    """Attribution of one class of a record over leads x time (model axis, 100 Hz).

    Parameters
    ----------
    predictor : Predictor
    recording : Recording
    target : str or int, optional
        Class code or index; by default the class of highest probability.
    method : str
        One of :data:`ATTRIBUTION_METHODS`.
    n_steps : int
        Integration points of integrated gradients.

    Examples
    --------
    >>> from mrm.model import create_model
    >>> from mrm.infer.predictor import minimal_card
    >>> predictor = Predictor(create_model("tiny", 5), minimal_card([f"C{i}" for i in range(5)]))
    >>> rec = Recording(np.random.default_rng(0).normal(size=(12, 1000)).astype(np.float32), 100.0, "demo")
    >>> a = attribute(predictor, rec, "C2", n_steps=4)
    >>> a.values.shape, float(a.times[-1])
    ((12, 1000), 9.99)
    """
    x = predictor.prepare(recording)
    probs = predictor.probabilities([x]).fused[0]
    index = int(np.argmax(probs)) if target is None else _class_index(predictor, target)
    values = attribution_values(predictor, x, method, [index], n_steps=n_steps)[0]
    return _attribution(predictor, index, method, values, float(probs[index]))


def explain(
    predictor: Predictor,
    recording: Recording,
    target: str | int | None = None,
    method: str = "integrated_gradients",
    n_steps: int = 16,
) -> Explanation:
    """Predict a record and explain it: attention maps of both branches and the attribution of one class.

    ``target`` defaults to the class of highest probability. ``attention`` is None for networks without attention.
    The record is prepared once; Grad-CAM and the attention maps share one forward pass.
    """
    x = predictor.prepare(recording)
    (prediction,) = predictor.predict_prepared([x])
    probs = prediction.probabilities()
    index = int(np.argmax(probs)) if target is None else _class_index(predictor, target)
    attention = None
    if method in ("grad_cam_hr", "grad_cam_lr"):
        cam, maps = _grad_cam(predictor, x, [index], method[-2:], with_attention=_has_attention(predictor))
        values = np.repeat(cam[:, None, :], 12, axis=1)[0]
        if maps is not None:
            attention = _on_record_axis(predictor, x, *maps)
    else:
        values = attribution_values(predictor, x, method, [index], n_steps=n_steps)[0]
        if _has_attention(predictor):
            attention = _on_record_axis(predictor, x, *attention_on_model_axis(predictor, x))
    return Explanation(prediction, attention, _attribution(predictor, index, method, values, float(probs[index])))


def _on_record_axis(predictor: Predictor, x: ModelInput, hr: np.ndarray, lr: np.ndarray) -> AttentionMaps:
    times = x.recording.time()
    # The model's sample k covers [k, k + 1) / fs_model seconds; hold its value over the record's samples there.
    k = np.minimum(np.floor(times * predictor.policy.fs + 1e-6).astype(np.int64), x.n_samples - 1)
    return AttentionMaps(times=times, hr=hr[k], lr=lr[k], fs=x.recording.fs)


def _attribution(predictor: Predictor, index: int, method: str, values: np.ndarray, probability: float
                 ) -> Attribution:
    return Attribution(
        code=predictor.classes[index],
        name=predictor.class_names[index],
        method=method,
        values=values,
        fs=predictor.policy.fs,
        probability=probability,
        lead_resolved=method in LEAD_RESOLVED,
    )


# --- on the model's axis (also used by the deletion test) -------------------------------------------------------


def attribution_values(
    predictor: Predictor, x: ModelInput, method: str, classes: Sequence[int], n_steps: int = 16
) -> np.ndarray:
    """(len(classes), 12, n) explanation values of a prepared record on the model's axis, padding cut off.

    ``method`` is one of :data:`ATTRIBUTION_METHODS` or :data:`ATTENTION_METHODS` (the same map for every class,
    on every lead).
    """
    if method == "integrated_gradients":
        return _integrated_gradients(predictor, x, classes, n_steps)
    if method == "integrated_gradients_time":
        total = _integrated_gradients(predictor, x, classes, n_steps).sum(axis=1, keepdims=True)
        return np.repeat(total, 12, axis=1)
    if method in ("grad_cam_hr", "grad_cam_lr"):
        cam, _ = _grad_cam(predictor, x, classes, method[-2:])
        return np.repeat(cam[:, None, :], 12, axis=1)
    if method in ATTENTION_METHODS:
        hr, lr = attention_on_model_axis(predictor, x)
        row = hr if method == "attention_hr" else lr
        return np.broadcast_to(row, (len(classes), 12, row.size)).copy()
    raise ValueError(f"unknown explanation {method!r}; choose one of {ATTRIBUTION_METHODS + ATTENTION_METHODS}")


def attention_on_model_axis(predictor: Predictor, x: ModelInput) -> tuple[np.ndarray, np.ndarray]:
    """The branches' attention maps (n,) on the model's axis, overlapping windows averaged."""
    if not _has_attention(predictor):
        raise ValueError(f"{predictor.name} has no attention maps (a network without attention blocks).")
    with torch.no_grad():
        out = predictor.model(_windows(torch.from_numpy(_padded(x)), x, predictor.policy.window))
    window = predictor.policy.window
    return (
        place_windows(out.attn_hr.numpy(), x.starts, window, x.n_samples),
        place_windows(out.attn_lr.numpy(), x.starts, window, x.n_samples),
    )


def place_windows(maps: np.ndarray, starts: np.ndarray, window: int, n_samples: int) -> np.ndarray:
    """Lay per-window maps (n_windows, L) on the record's axis and average where windows overlap.

    Step i of a map covers the window's samples [i * window / L, (i + 1) * window / L); samples past
    ``n_samples`` (padding) are dropped.

    Examples
    --------
    >>> place_windows(np.array([[1.0, 3.0], [5.0, 7.0]]), np.array([0, 2]), 4, 6).tolist()
    [1.0, 1.0, 4.0, 4.0, 7.0, 7.0]
    """
    total = np.zeros(max(n_samples, int(starts[-1]) + window))
    count = np.zeros_like(total)
    step_of = (np.arange(window) * maps.shape[1]) // window
    for start, values in zip(starts, maps, strict=True):
        total[start : start + window] += values[step_of]
        count[start : start + window] += 1
    return (total / np.maximum(count, 1))[:n_samples].astype(np.float32)


def _integrated_gradients(predictor: Predictor, x: ModelInput, classes: Sequence[int], n_steps: int) -> np.ndarray:
    signal = torch.from_numpy(_padded(x))
    # The baseline is a flat 0 mV record; padding is the same in both, so it gets no attribution.
    flat = torch.from_numpy(predictor.standardizer.transform(np.zeros((12, 1), np.float32)))
    baseline = signal.clone()
    baseline[:, : x.n_samples] = flat
    alphas = (torch.arange(n_steps, dtype=torch.float32) + 0.5) / n_steps
    # Steps go through the network in chunks of about IG_WINDOWS_PER_PASS windows: all 16 steps of a 38-s record
    # at once held ~1.5 GB of activations for the backward pass.
    chunk = max(1, IG_WINDOWS_PER_PASS // len(x.starts))
    grads = torch.zeros((len(classes), *signal.shape))
    with torch.enable_grad():
        for first in range(0, n_steps, chunk):
            a = alphas[first : first + chunk]
            path = (baseline + a[:, None, None] * (signal - baseline)).requires_grad_(True)
            probs = torch.sigmoid(predictor.model(_windows(path, x, predictor.policy.window)).logits)
            per_record = _aggregate(probs.reshape(len(a), len(x.starts), -1), predictor.policy.aggregation)
            for i, c in enumerate(classes):
                (grad,) = torch.autograd.grad(per_record[:, c].sum(), path, retain_graph=i < len(classes) - 1)
                grads[i] += grad.sum(dim=0)
    out = [((signal - baseline) * (g / n_steps))[:, : x.n_samples] for g in grads]
    return torch.stack(out).numpy().astype(np.float32)


def _grad_cam(
    predictor: Predictor, x: ModelInput, classes: Sequence[int], branch: str, with_attention: bool = False
) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray] | None]:
    """(len(classes), n) Grad-CAM maps of one branch, and the attention maps of the same forward pass if asked."""
    heads = getattr(predictor.model, "heads", None)
    if heads is None or branch not in heads:
        raise ValueError(f"{predictor.name} has no {branch.upper()} branch for Grad-CAM.")
    captured = []
    hook = heads[branch].register_forward_pre_hook(lambda _module, args: captured.append(args[0]))
    window = predictor.policy.window
    try:
        with torch.enable_grad():
            # The frozen network builds a graph only when its input asks for gradients.
            windows = _windows(torch.from_numpy(_padded(x)), x, window).requires_grad_(True)
            out = predictor.model(windows)
            logits, features = getattr(out, f"logits_{branch}"), captured[0]
            cams = []
            for c in classes:
                (grad,) = torch.autograd.grad(logits[:, c].sum(), features, retain_graph=True)
                cam = torch.relu((grad.mean(dim=2, keepdim=True) * features).sum(dim=1))
                cams.append(place_windows(cam.detach().numpy(), x.starts, window, x.n_samples))
    finally:
        hook.remove()
    maps = None
    if with_attention:
        maps = tuple(place_windows(a.detach().numpy(), x.starts, window, x.n_samples) for a in (out.attn_hr,
                                                                                                 out.attn_lr))
    return np.stack(cams), maps


def _padded(x: ModelInput) -> np.ndarray:
    # Zero in standardised units, as make_windows pads for the prediction itself.
    return np.pad(x.signal, ((0, 0), (0, x.padded))) if x.padded else x.signal


def _windows(signal: torch.Tensor, x: ModelInput, window: int) -> torch.Tensor:
    """(..., 12, N) -> (prod(...) * n_windows, 12, window), by indexing so that gradients reach ``signal``."""
    index = torch.from_numpy(x.starts)[:, None] + torch.arange(window)
    return signal[..., index].movedim(-2, -3).reshape(-1, signal.shape[-2], window)


def _aggregate(probs: torch.Tensor, how: str) -> torch.Tensor:
    """(..., n_windows, C) -> (..., C) as :func:`mrm.data.preprocess.aggregate_windows` does."""
    if how == "max":
        return probs.max(dim=-2).values
    if how == "mean":
        return probs.mean(dim=-2)
    raise ValueError(f"unknown aggregation {how!r}; use 'max' or 'mean'")


def _class_index(predictor: Predictor, target: str | int) -> int:
    if isinstance(target, int | np.integer):
        if not 0 <= int(target) < len(predictor.classes):
            raise ValueError(f"class index {target} out of range for {len(predictor.classes)} classes")
        return int(target)
    if target not in predictor.classes:
        raise ValueError(f"unknown class {target!r}; {predictor.name} predicts {', '.join(predictor.classes)}")
    return predictor.classes.index(target)


def _has_attention(predictor: Predictor) -> bool:
    return getattr(predictor.model, "attention", None) is not None
