"""Teaching mode without Streamlit: the pool of cases a learner draws from, the grade of one answer, and the
session's score.

Cases come from the test fold (fold 10) by default: those are the records the model never saw, so its output is a
fair second opinion next to the learner's. A learner ticks the classes they see; the answer is graded against the
record's truth by class (hits, misses, false alarms) and by the Jaccard index of the two sets.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

import numpy as np

from mrm.data.cpsc2018 import CPSC2018
from mrm.data.labels import SPLITS
from mrm.data.ptbxl import PTBXL
from mrm.errors import ECGInputError


def case_pool(
    index: PTBXL | CPSC2018,
    task: str,
    classes: Sequence[str],
    *,
    wanted: Iterable[str] = (),
    folds: Iterable[int] | None = SPLITS["test"],
) -> list[str]:
    """Record ids a case can be drawn from: records with signals, of ``folds``, carrying any of ``wanted``.

    Parameters
    ----------
    index:
        A PTB-XL or CPSC2018 index.
    task, classes:
        The task and its classes (the weights' card); PTB-XL records with none of the classes are left out.
    wanted:
        Classes a case must carry (any of them); empty: every record.
    folds:
        Folds to draw from (default the test fold); None: every fold.

    Examples
    --------
    >>> pool = case_pool(load_ptbxl("data/ptb-xl"), "superdiagnostic", ["CD", "HYP", "MI", "NORM", "STTC"],
    ...                  wanted=["MI"])  # doctest: +SKIP
    """
    wanted = list(wanted)
    unknown = sorted(set(wanted) - set(classes))
    if unknown:
        raise ECGInputError(f"{', '.join(unknown)}: not a class of the {task} task; choose among "
                            f"{', '.join(classes)}.")
    folds = None if folds is None else list(folds)
    if isinstance(index, PTBXL):
        index = index.filter(folds=folds, with_signal=True)
        labels = index.labels_for_task(task, classes=classes)
    else:
        labels = index.filter(folds=folds, with_signal=True).labels()
        if list(labels.classes) != list(classes):
            raise ECGInputError(f"the {task} task's classes ({', '.join(classes)}) are not CPSC2018's; teach "
                                "CPSC2018 records with the cpsc2018 weights.")
    keep = np.ones(len(labels.ids), bool)
    if wanted:
        columns = [list(labels.classes).index(c) for c in wanted]
        keep = labels.y[:, columns].any(axis=1)
    return [str(i) for i in np.asarray(labels.ids)[keep]]


def draw_case(pool: Sequence[str], rng: np.random.Generator, seen: Iterable[str] = ()) -> str:
    """A random record of the pool, one not seen yet while there is one.

    Examples
    --------
    >>> draw_case(["1", "2", "3"], np.random.default_rng(0), seen=["1", "3"])
    '2'
    """
    if not pool:
        raise ECGInputError("no record matches the case filter; widen it (another class or every fold).")
    seen = set(seen)
    fresh = [r for r in pool if r not in seen]
    return str(rng.choice(fresh or list(pool)))


@dataclass(frozen=True)
class Grade:
    """One answer against the truth.

    Attributes
    ----------
    hits:
        Classes ticked that the record carries.
    misses:
        Classes the record carries that were not ticked.
    false_alarms:
        Classes ticked that the record does not carry.
    """

    hits: tuple[str, ...]
    misses: tuple[str, ...]
    false_alarms: tuple[str, ...]

    @property
    def jaccard(self) -> float:
        """``|hits| / |ticked or true|``; 1.0 when nothing was ticked and nothing is there."""
        union = len(self.hits) + len(self.misses) + len(self.false_alarms)
        return 1.0 if union == 0 else len(self.hits) / union

    @property
    def exact(self) -> bool:
        """Whether the answer is exactly the truth."""
        return not self.misses and not self.false_alarms


def grade_answer(ticked: Iterable[str], truth: Iterable[str], classes: Sequence[str]) -> Grade:
    """Grade the ticked classes against the true ones (both among ``classes``, kept in their order).

    Examples
    --------
    >>> g = grade_answer({"MI", "NORM"}, {"MI", "STTC"}, ["CD", "HYP", "MI", "NORM", "STTC"])
    >>> g.hits, g.misses, g.false_alarms, round(g.jaccard, 3)
    (('MI',), ('STTC',), ('NORM',), 0.333)
    """
    ticked, truth = set(ticked), set(truth)
    return Grade(
        hits=tuple(c for c in classes if c in ticked and c in truth),
        misses=tuple(c for c in classes if c in truth and c not in ticked),
        false_alarms=tuple(c for c in classes if c in ticked and c not in truth),
    )


@dataclass(frozen=True)
class Score:
    """The session's running score: cases answered, exact answers, and the sum of Jaccard indices.

    Examples
    --------
    >>> s = Score().add(Grade(("MI",), (), ())).add(Grade((), ("MI",), ()))
    >>> s.cases, s.exact, s.mean_jaccard
    (2, 1, 0.5)
    """

    cases: int = 0
    exact: int = 0
    jaccard_sum: float = 0.0
    model_exact: int = 0

    def add(self, grade: Grade, model: Grade | None = None) -> Score:
        """The score after one more graded case (``model``: the model's grade on it, counted beside)."""
        return replace(
            self, cases=self.cases + 1, exact=self.exact + int(grade.exact),
            jaccard_sum=self.jaccard_sum + grade.jaccard,
            model_exact=self.model_exact + int(model is not None and model.exact),
        )

    @property
    def mean_jaccard(self) -> float:
        """Mean Jaccard index over the cases (0 before the first)."""
        return self.jaccard_sum / self.cases if self.cases else 0.0
