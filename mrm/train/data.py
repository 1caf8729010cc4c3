"""A task's records, labels and folds, gathered once from a cache (or the files) for training and evaluation."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from mrm.data.cache import SignalCache, dataset_folder
from mrm.errors import ECGInputError

#: The CPSC2018 label set as PTB-XL statements, in the challenge's code order (1 Normal ... 9 STE).
CPSC2018_AS_PTBXL = ("NORM", "AFIB", "1AVB", "CLBBB", "CRBBB", "PAC", "PVC", "STD_", "STE_")


@dataclass
class TaskData:
    """Signals (mV, 100 Hz, one (12, n) array per record), multi-hot labels and folds of one task.

    ``excluded`` lists classes of the task left out of the model's head, with the reason. ``first_label`` is each
    record's first label as a column of ``y`` where the dataset ranks labels (CPSC2018, for its challenge score).
    ``aux_classes`` and ``y_aux`` are auxiliary labels of the same records (another task's), trained on beside
    ``y`` and never served (:func:`add_auxiliary_labels`).
    """

    classes: list[str]
    class_names: list[str]
    signals: list[np.ndarray]
    y: np.ndarray
    folds: np.ndarray
    ids: np.ndarray
    excluded: dict[str, str] = field(default_factory=dict)
    first_label: np.ndarray | None = None
    aux_classes: list[str] = field(default_factory=list)
    y_aux: np.ndarray | None = None

    def subset(self, mask: np.ndarray) -> TaskData:
        index = np.flatnonzero(mask)
        first = None if self.first_label is None else self.first_label[index]
        y_aux = None if self.y_aux is None else self.y_aux[index]
        return TaskData(self.classes, self.class_names, [self.signals[i] for i in index], self.y[index],
                        self.folds[index], self.ids[index], dict(self.excluded), first, list(self.aux_classes),
                        y_aux)


def _ptbxl_labels(index, task: str, classes: list[str] | None):
    if task == "cpsc2018":
        return index.labels_for_task("all", classes=list(classes or CPSC2018_AS_PTBXL))
    return index.labels_for_task(task, classes=classes)


def load_task_data(
    dataset: str,
    task: str,
    data_dir: str | Path,
    *,
    cache_dir: str | Path | None = None,
    classes: list[str] | None = None,
    folds: tuple[int, ...] | None = None,
    train_folds: tuple[int, ...] = (1, 2, 3, 4, 5, 6, 7, 8),
) -> TaskData:
    """Gather the records of ``task`` with their labels.

    Signals come from the cache when ``cache_dir`` is given (training), else from the dataset's files through
    the same loader the cache was built with (evaluation of a few hundred records). ``classes`` fixes the
    columns (a model's classes); by default they are the task's classes that have at least one positive
    record in ``train_folds`` (the others cannot be learned and are listed in ``excluded``).

    Examples
    --------
    >>> data = load_task_data("ptbxl", "superdiagnostic", "data", cache_dir="cache/ptbxl-100hz")  # doctest: +SKIP
    >>> data.classes  # doctest: +SKIP
    ['CD', 'HYP', 'MI', 'NORM', 'STTC']
    """
    if dataset == "cpsc2018":
        return _cpsc2018_task_data(task, data_dir, cache_dir, classes, folds, train_folds)
    if dataset != "ptbxl":
        raise ECGInputError(f"unknown dataset {dataset!r}; choose ptbxl or cpsc2018.")
    from mrm.data.ptbxl import load_ptbxl

    index = load_ptbxl(dataset_folder(data_dir, dataset))
    cache = SignalCache.open(cache_dir, in_memory=True) if cache_dir is not None else None
    if cache is not None:
        present = set(cache.index["record_id"].astype(int))
    else:
        present = set(index.ecg_ids[index.has_signal(100).to_numpy()])
    index = index.filter(ecg_ids=sorted(present), with_signal=False)
    meta = index.metadata

    excluded: dict[str, str] = {}
    if classes is None:
        labels = _ptbxl_labels(index, task, None)
        fold_of = meta.loc[labels.ids, "strat_fold"].to_numpy()
        in_train = np.isin(fold_of, train_folds)
        trainable = labels.y[in_train].any(axis=0)
        for name, ok in zip(labels.classes, trainable, strict=True):
            if not ok:
                excluded[name] = "no positive record in the training folds"
        classes = [c for c, ok in zip(labels.classes, trainable, strict=True) if ok]
        if task != "cpsc2018":
            for name in index.task_classes(task):
                if name not in labels.classes:
                    excluded[name] = "no record of these data carries it"
    labels = _ptbxl_labels(index, task, classes)
    record_folds = meta.loc[labels.ids, "strat_fold"].to_numpy()
    keep = np.ones(len(labels.ids), bool) if folds is None else np.isin(record_folds, folds)
    ids = labels.ids[keep]
    if cache is not None:
        row_of = {int(r): i for i, r in enumerate(cache.index["record_id"])}
        signals = [cache.signal(row_of[int(i)]) for i in ids]
    else:
        signals = [index.load_record(int(i), fs=100).signal for i in ids]
    return TaskData(
        classes=list(classes),
        class_names=[index.statement_name(c) for c in classes],
        signals=signals,
        y=labels.y[keep].astype(np.float32),
        folds=record_folds[keep],
        ids=ids,
        excluded=excluded,
    )


def add_auxiliary_labels(
    data: TaskData,
    aux_task: str,
    data_dir: str | Path,
    *,
    train_folds: tuple[int, ...] = (1, 2, 3, 4, 5, 6, 7, 8),
) -> TaskData:
    """Return ``data`` with the PTB-XL labels of ``aux_task`` for the same records, as auxiliary targets.

    The auxiliary classes are those of ``aux_task`` with a positive among ``data``'s records of ``train_folds``;
    a record without any of them gets a row of zeros. Fine-grained labels (subdiagnostic under superdiagnostic)
    give the shared layers more to learn from the same records; the auxiliary outputs are dropped after training.

    Examples
    --------
    >>> data = load_task_data("ptbxl", "superdiagnostic", "data", cache_dir="cache/ptbxl-100hz")  # doctest: +SKIP
    >>> add_auxiliary_labels(data, "subdiagnostic", "data").y_aux.shape  # doctest: +SKIP
    (2931, 23)
    """
    from mrm.data.ptbxl import load_ptbxl

    if aux_task == "cpsc2018":
        raise ECGInputError("cpsc2018 cannot be an auxiliary task; choose a PTB-XL task such as subdiagnostic.")
    index = load_ptbxl(dataset_folder(data_dir, "ptbxl")).filter(ecg_ids=[int(i) for i in data.ids],
                                                                  with_signal=False)
    labels = index.labels_for_task(aux_task)
    row_of = {int(r): k for k, r in enumerate(labels.ids)}
    y_all = np.zeros((len(data.ids), len(labels.classes)), np.float32)
    for k, record in enumerate(data.ids):
        if int(record) in row_of:
            y_all[k] = labels.y[row_of[int(record)]]
    keep = y_all[np.isin(data.folds, train_folds)].any(axis=0)
    return replace(data, aux_classes=[c for c, ok in zip(labels.classes, keep, strict=True) if ok],
                   y_aux=y_all[:, keep])


def _cpsc2018_task_data(task: str, data_dir: str | Path, cache_dir: str | Path | None, classes: list[str] | None,
                        folds: tuple[int, ...] | None, train_folds: tuple[int, ...]) -> TaskData:
    """CPSC2018's records with signals, their nine labels (as PTB-XL codes) and the 10-fold split we ship."""
    from mrm.data.cpsc2018 import load_cpsc2018
    from mrm.data.preprocess import MODEL_FS, resample

    if task != "cpsc2018":
        raise ECGInputError(f"CPSC2018 carries only its own nine classes; use --task cpsc2018, not {task!r}.")
    index = load_cpsc2018(dataset_folder(data_dir, "cpsc2018")).filter(with_signal=True)
    labels = index.labels()
    record_folds = index.records["fold"].to_numpy(dtype=int)
    excluded: dict[str, str] = {}
    if classes is None:
        trainable = labels.y[np.isin(record_folds, train_folds)].any(axis=0)
        excluded = {c: "no positive record in the training folds" for c, ok in zip(labels.classes, trainable,
                                                                                  strict=True) if not ok}
        classes = [c for c in labels.classes if c not in excluded]
    unknown = sorted(set(classes) - set(labels.classes))
    if unknown:
        raise ECGInputError(f"CPSC2018 has no class {', '.join(unknown)}; its classes are {labels.classes}.")
    columns = [labels.classes.index(c) for c in classes]
    keep = np.ones(len(labels.ids), bool) if folds is None else np.isin(record_folds, folds)
    ids = labels.ids[keep]
    if cache_dir is not None:
        cache = SignalCache.open(cache_dir, in_memory=True)
        row_of = {str(r): i for i, r in enumerate(cache.index["record_id"])}
        missing = [str(i) for i in ids if str(i) not in row_of]
        if missing:
            raise ECGInputError(f"{cache_dir}: {len(missing)} CPSC2018 records with signals are not in the cache "
                                f"(e.g. {missing[0]}); run `mrm prepare --dataset cpsc2018` again.")
        signals = [cache.signal(row_of[str(i)]) for i in ids]
    else:
        signals = [resample(index.load_record(str(i)), MODEL_FS).signal for i in ids]
    # The challenge books a wrong call against the first label: keep it, as a column of y, where every record's
    # first label is one of the classes asked for.
    position = {c: k for k, c in enumerate(columns)}
    first = np.array([position.get(code - 1, -1) for code in index.first_label[keep]])
    return TaskData(
        classes=classes,
        class_names=_cpsc_names(classes),
        signals=signals,
        y=labels.y[keep][:, columns].astype(np.float32),
        folds=record_folds[keep],
        ids=ids,
        excluded=excluded,
        first_label=first if (first >= 0).all() else None,
    )


def _cpsc_names(classes: list[str]) -> list[str]:
    from mrm.data.cpsc2018 import CLASSES

    name = {c.ptbxl: c.name for c in CLASSES}
    return [name[c] for c in classes]
