"""Evaluation metrics: hand-computed values, edge cases, and the real label sets of PTB-XL and CPSC2018."""

from __future__ import annotations

import ast

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from mrm.evaluate import (
    bootstrap_auc,
    challenge_score,
    draw_resamples,
    macro_auc,
    paired_bootstrap,
    resample_aucs,
    roc_points,
    threshold_metrics,
    tune_thresholds,
)

# Four classes on five records:
# A: positives score .9 and .3, negatives .8 .2 .1. Of the 2 x 3 = 6 pairs, .9 beats all 3 and
#    .3 beats .2 and .1 -> AUC 5/6.
# B: positives .5 and .7, negatives .5 .1 .9. .5 ties .5 (1/2), beats .1, loses to .9 -> 1.5;
#    .7 beats .5 and .1, loses to .9 -> 2; AUC 3.5/6 = 7/12.
# C: no positive, D: no negative -> both left out.
# Macro = (5/6 + 7/12) / 2 = (10/12 + 7/12) / 2 = 17/24.
Y4 = np.array([[1, 0, 0, 1], [0, 1, 0, 1], [1, 0, 0, 1], [0, 1, 0, 1], [0, 0, 0, 1]])
P4 = np.array(
    [[0.9, 0.5, 0.2, 0.1], [0.8, 0.5, 0.3, 0.2], [0.3, 0.1, 0.4, 0.3], [0.2, 0.7, 0.5, 0.4], [0.1, 0.9, 0.6, 0.5]]
)


def noisy_scores(y: np.ndarray, noise: float, seed: int) -> np.ndarray:
    return y + np.random.default_rng(seed).normal(0, noise, size=y.shape)


# --- macro_auc, roc_points ---


def test_macro_auc_matches_hand_computed_values_and_counts_left_out_classes() -> None:
    result = macro_auc(Y4, P4)
    assert result.per_class[:2] == pytest.approx([5 / 6, 7 / 12])
    assert np.isnan(result.per_class[2:]).all()
    assert result.macro == pytest.approx(17 / 24)
    assert result.classes_used.tolist() == [0, 1]
    assert result.left_out.tolist() == [2, 3]
    assert result.n_left_out == 2


def test_macro_auc_all_classes_undefined_is_nan_with_every_class_counted() -> None:
    y = np.zeros((4, 3), dtype=int)
    result = macro_auc(y, np.random.default_rng(0).random((4, 3)))
    assert np.isnan(result.macro)
    assert result.n_left_out == 3
    assert result.classes_used.size == 0


@pytest.mark.parametrize(
    ("y", "p", "message"),
    [
        (np.array([[0, 2]]), np.array([[0.1, 0.2]]), "0 and 1"),
        (np.array([[0, 1]]), np.array([[0.1, np.nan]]), "NaN"),
        (np.array([[0, 1]]), np.array([[0.1, 0.2, 0.3]]), "records, classes"),
        (np.zeros((0, 2)), np.zeros((0, 2)), "no records"),
    ],
)
def test_macro_auc_rejects_bad_arrays(y: np.ndarray, p: np.ndarray, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        macro_auc(y, p)


def test_roc_points_are_thinned_keep_end_points_and_skip_left_out_classes() -> None:
    y = np.random.default_rng(3).integers(0, 2, size=(400, 2))
    y[:, 1] = 0
    curves = roc_points(y, noisy_scores(y, 1.0, 4), max_points=20)
    assert curves[1] is None
    curve = curves[0]
    assert 2 < curve.fpr.size <= 20
    assert (curve.fpr[0], curve.tpr[0], curve.fpr[-1], curve.tpr[-1]) == (0.0, 0.0, 1.0, 1.0)
    assert (np.diff(curve.fpr) >= 0).all() and (np.diff(curve.tpr) >= 0).all()
    # The thinned curve keeps the area of the full one to within a few hundredths.
    area = np.sum(np.diff(curve.fpr) * (curve.tpr[1:] + curve.tpr[:-1]) / 2)
    assert area == pytest.approx(macro_auc(y[:, :1], noisy_scores(y, 1.0, 4)[:, :1]).macro, abs=0.03)


# --- bootstrap ---


def test_resample_aucs_equal_sklearn_with_the_resample_counts_as_weights() -> None:
    rng = np.random.default_rng(5)
    y = (rng.random((60, 6)) < 0.2).astype(int)
    p = np.round(y * 0.3 + rng.random((60, 6)), 1)  # rounding makes many ties
    counts = draw_resamples(y, 30, seed=1)
    aucs = resample_aucs(y, p, counts)
    for b in range(30):
        for k in range(6):
            positives = (counts[b] * y[:, k]).sum()
            negatives = (counts[b] * (1 - y[:, k])).sum()
            if positives == 0 or negatives == 0:
                assert np.isnan(aucs[b, k])
            else:
                expected = roc_auc_score(y[:, k], p[:, k], sample_weight=counts[b])
                assert aucs[b, k] == pytest.approx(expected, abs=1e-12)


def test_resample_macro_uses_the_classes_defined_in_that_resample() -> None:
    # Records: 0 (A+ .9, B+ .8), 1 (A- .2, B- .3), 2 (A+ .4, B- .1), 3 (A- .5, B- .6).
    y = np.array([[1, 1], [0, 0], [1, 0], [0, 0]])
    p = np.array([[0.9, 0.8], [0.2, 0.3], [0.4, 0.1], [0.5, 0.6]])
    # Resample {1, 2, 2, 3}: A has positive .4 (twice) against .2 and .5 -> 1/2; B has no positive.
    aucs = resample_aucs(y, p, np.array([[0, 1, 2, 1]]))
    assert aucs[0, 0] == pytest.approx(0.5)
    assert np.isnan(aucs[0, 1])


def test_bootstrap_is_reproducible_and_its_interval_contains_the_point() -> None:
    y = np.random.default_rng(6).integers(0, 2, size=(150, 5))
    p = noisy_scores(y, 1.0, 7)
    first, again, other = bootstrap_auc(y, p, n=300, seed=3), bootstrap_auc(y, p, n=300, seed=3), bootstrap_auc(
        y, p, n=300, seed=4
    )
    assert (first.low, first.high) == (again.low, again.high)
    assert (first.low, first.high) != (other.low, other.high)
    assert first.low < first.point < first.high
    assert 0.02 < first.high - first.low < 0.2
    per_class = macro_auc(y, p).per_class
    assert (first.per_class_low < per_class).all() and (per_class < first.per_class_high).all()
    assert (first.n, first.n_valid) == (300, 300)


def test_bootstrap_counts_resamples_without_any_usable_class() -> None:
    # One positive among four records: a resample without record 0, or made only of it, has no AUC.
    y = np.array([[1], [0], [0], [0]])
    p = np.array([[0.9], [0.1], [0.5], [0.3]])
    counts = draw_resamples(y, 200, seed=2)
    expected_valid = int(((counts[:, 0] > 0) & (counts[:, 0] < 4)).sum())
    result = bootstrap_auc(y, p, n=200, seed=2)
    assert result.n_valid == expected_valid < 200
    # Record 0 outranks every negative, so every defined resample has AUC 1.
    assert (result.point, result.low, result.high) == (1.0, 1.0, 1.0)


def test_bootstrap_with_no_usable_class_gives_nan_bounds() -> None:
    result = bootstrap_auc(np.zeros((5, 2), dtype=int), np.random.default_rng(0).random((5, 2)), n=50)
    assert np.isnan([result.point, result.low, result.high]).all()
    assert result.n_valid == 0


def test_redraw_keeps_only_resamples_with_both_outcomes_like_the_ptbxl_benchmark() -> None:
    y = np.random.default_rng(8).integers(0, 2, size=(80, 3))
    counts = draw_resamples(y, 100, seed=0, missing="redraw")
    positives = counts @ y
    assert counts.shape == (100, 80)
    assert (positives > 0).all() and (positives < 80).all()
    assert bootstrap_auc(y, noisy_scores(y, 1.0, 0), n=100, missing="redraw").n_valid == 100
    # A class with a single positive among 328 records is absent from 37% of resamples: with five
    # such classes only 0.63^5 = 10% of draws qualify, with forty almost none, and redraw gives up.
    rare = np.zeros((328, 40), dtype=int)
    rare[np.arange(40), np.arange(40)] = 1
    with pytest.raises(ValueError, match="missing='skip'"):
        draw_resamples(rare, 20, seed=0, missing="redraw")


def test_paired_bootstrap_of_a_model_with_itself_is_a_tie() -> None:
    y = np.random.default_rng(9).integers(0, 2, size=(100, 4))
    p = noisy_scores(y, 1.0, 10)
    result = paired_bootstrap(y, p, p, n=200, seed=0)
    # Every resample is a tie, and a tie counts one half.
    assert result.p_a_beats_b == 0.5
    assert (result.diff, result.mean_diff, result.low, result.high) == (0.0, 0.0, 0.0, 0.0)


def test_paired_bootstrap_finds_the_clearly_better_model_and_is_symmetric() -> None:
    y = np.random.default_rng(11).integers(0, 2, size=(200, 5))
    good, weak = noisy_scores(y, 0.6, 12), noisy_scores(y, 1.5, 13)
    a_vs_b = paired_bootstrap(y, good, weak, n=300, seed=1)
    b_vs_a = paired_bootstrap(y, weak, good, n=300, seed=1)
    assert a_vs_b.p_a_beats_b > 0.99
    assert 0 < a_vs_b.low < a_vs_b.mean_diff < a_vs_b.high
    assert a_vs_b.diff == pytest.approx(macro_auc(y, good).macro - macro_auc(y, weak).macro)
    assert a_vs_b.p_a_beats_b + b_vs_a.p_a_beats_b == pytest.approx(1.0)
    assert b_vs_a.high < 0


def test_bootstrap_of_the_ptbxl_test_fold_size_is_fast(ptbxl_dir) -> None:
    # The real fold-10 label matrix of the shared PTB-XL subset: 328 records, 71 statements ("all").
    table = pd.read_csv(ptbxl_dir / "ptbxl_database.csv")
    statements = pd.read_csv(ptbxl_dir / "scp_statements.csv", index_col=0).index
    fold = table[table.strat_fold == 10].scp_codes.map(ast.literal_eval)
    y = np.array([[int(code in codes) for code in statements] for codes in fold])
    present = {code for codes in fold for code in codes}
    assert y.shape == (328, 71)

    p = noisy_scores(y, 0.8, 0)
    result = bootstrap_auc(y, p, n=1000, seed=0)

    assert macro_auc(y, p).n_left_out == 71 - len(present)
    assert result.low < result.point < result.high


# --- thresholds ---


def test_tune_thresholds_f1_and_youden_by_hand() -> None:
    # Class 0: y 0 1 1 0 1 with scores .1 .4 .35 .8 .7. Calling >= t:
    #   t=.1: P 3/5, R 1 -> F1 .75     t=.35: P 3/4, R 1 -> F1 6/7 (best)   t=.4: P 2/3, R 2/3 -> 2/3
    #   Youden (TPR - FPR): t=.35 -> 1 - 1/2 = .5; t=.7 -> 1/3 - 1/2 < 0; t=.1 -> 0. Best .35.
    # Class 1: y 1 0 0 0 0, scores .2 .9 .1 .3 .05. Any t above .2 misses the positive (F1 0).
    #   t=.05: P 1/5 -> F1 1/3; t=.1: P 1/4 -> F1 .4; t=.2: calls {.2 .9 .3}, P 1/3 -> F1 .5 (best).
    #   Youden: t=.2 -> 1 - 2/4 = .5; t=.1 -> 1 - 3/4 = .25; t=.05 -> 0. Best .2.
    # Class 2: no positive -> NaN for both methods. Class 3: all positive -> F1 takes the lowest score,
    # Youden has no negative -> NaN.
    y = np.array([[0, 1, 0, 1], [1, 0, 0, 1], [1, 0, 0, 1], [0, 0, 0, 1], [1, 0, 0, 1]])
    p = np.array(
        [[0.1, 0.2, 0.5, 0.6], [0.4, 0.9, 0.4, 0.3], [0.35, 0.1, 0.3, 0.7], [0.8, 0.3, 0.2, 0.8], [0.7, 0.05, 0.1, 0.9]]
    )
    f1 = tune_thresholds(y, p, method="f1")
    youden = tune_thresholds(y, p, method="youden")
    assert f1[:2].tolist() == [0.35, 0.2] and np.isnan(f1[2]) and f1[3] == 0.3
    assert youden[:2].tolist() == [0.35, 0.2] and np.isnan(youden[2:]).all()
    assert threshold_metrics(y, p, f1).f1[:2] == pytest.approx([6 / 7, 0.5])


def test_youden_tie_takes_the_lower_threshold() -> None:
    # y 1 0 1 0, scores .9 .6 .3 .2: t=.9 -> TPR 1/2, FPR 0 -> .5; t=.3 -> TPR 1, FPR 1/2 -> .5 (tie).
    assert tune_thresholds(np.array([1, 0, 1, 0]), np.array([0.9, 0.6, 0.3, 0.2]), method="youden").tolist() == [0.3]


def test_tune_thresholds_rejects_an_unknown_method() -> None:
    with pytest.raises(ValueError, match="youden"):
        tune_thresholds(Y4, P4, method="accuracy")


def test_threshold_metrics_by_hand_with_undefined_rates() -> None:
    # Class 0 at .5: calls 1 1 0 0 against y 1 0 1 0 -> TP 1 FP 1 FN 1 TN 1: all rates 1/2.
    # Class 1 at .95: no call, y 0 0 1 1 -> TP 0 FP 0 FN 2 TN 2: sens 0, spec 1, PPV undefined, F1 0.
    # Class 2 at .5: no positive, calls 1 0 0 0 -> FP 1 TN 3: sens undefined, spec 3/4, PPV 0, F1 0.
    # Class 3 without threshold: never called, every rate NaN.
    y = np.array([[1, 0, 0, 1], [0, 0, 0, 0], [1, 1, 0, 1], [0, 1, 0, 0]])
    p = np.array([[0.9, 0.1, 0.6, 0.9], [0.6, 0.2, 0.1, 0.1], [0.3, 0.9, 0.2, 0.9], [0.2, 0.8, 0.3, 0.1]])
    m = threshold_metrics(y, p, np.array([0.5, 0.95, 0.5, np.nan]))
    assert m.tp.tolist() == [1, 0, 0, 0] and m.fp.tolist() == [1, 0, 1, 0]
    assert m.fn.tolist() == [1, 2, 0, 2] and m.tn.tolist() == [1, 2, 3, 2]
    np.testing.assert_array_equal(m.sensitivity, [0.5, 0.0, np.nan, np.nan])
    np.testing.assert_array_equal(m.specificity, [0.5, 1.0, 0.75, np.nan])
    np.testing.assert_array_equal(m.ppv, [0.5, np.nan, 0.0, np.nan])
    np.testing.assert_array_equal(m.f1, [0.5, 0.0, 0.0, np.nan])
    assert m.macro_f1 == pytest.approx(0.5 / 3)
    assert m.macro_sensitivity == pytest.approx(0.25)
    assert m.macro_specificity == pytest.approx(2.25 / 3)


def test_threshold_metrics_on_a_single_class_and_wrong_threshold_count() -> None:
    # One column: calls .9 and .6 against y 1 0 1 0 -> TP 1 FP 1 FN 1 TN 1 (not read as two classes).
    y, p = np.array([1, 0, 1, 0]), np.array([0.9, 0.6, 0.3, 0.2])
    m = threshold_metrics(y, p, [0.5])
    assert (m.tp.tolist(), m.fp.tolist(), m.fn.tolist(), m.tn.tolist()) == ([1], [1], [1], [1])
    with pytest.raises(ValueError, match="one per class"):
        threshold_metrics(y, p, [0.5, 0.5])


# --- challenge score ---


def test_challenge_score_books_a_miss_against_the_first_label() -> None:
    # Three classes. Records (labels, first, call):
    #   r0 {0},    0, call 0 -> correct, (0, 0)
    #   r1 {1, 2}, 1, call 2 -> correct (2 is one of its labels), (2, 2)
    #   r2 {1, 2}, 1, call 0 -> wrong, booked against first label: (1, 0)
    #   r3 {2, 1}, 2, call 0 -> wrong: (2, 0)
    #   r4 {0},    0, call 1 -> wrong: (0, 1)
    # Rows (reference): 0: [1, 1, 0], 1: [1, 0, 0], 2: [1, 0, 1] -> row sums 2, 1, 2; column sums 3, 1, 1.
    # F1: 2*1/(2+3) = .4; 2*0/(1+1) = 0; 2*1/(2+1) = 2/3; score (.4 + 0 + 2/3) / 3 = 16/45.
    labels = np.array([[1, 0, 0], [0, 1, 1], [0, 1, 1], [0, 1, 1], [1, 0, 0]])
    first = np.array([0, 1, 1, 2, 0])
    calls = np.array([0, 2, 0, 0, 1])
    result = challenge_score(labels, first, np.eye(3)[calls])
    assert result.confusion.tolist() == [[1, 1, 0], [1, 0, 0], [1, 0, 1]]
    assert result.per_class_f1 == pytest.approx([0.4, 0.0, 2 / 3])
    assert result.score == pytest.approx(16 / 45)
    assert result.predicted.tolist() == calls.tolist()


def test_challenge_class_without_reference_record_is_undefined_not_zero() -> None:
    # Class 2 is carried by no record but called once (r2, labels {1}): F1_2 is NaN, not 0.
    # Booked: (0,0), (1,1), (1,2) -> F1_0 = 2/2 = 1, F1_1 = 2/(2+1) = 2/3; score (1 + 2/3) / 2 = 5/6.
    labels = np.array([[1, 0, 0], [0, 1, 0], [0, 1, 0]])
    result = challenge_score(labels, np.array([0, 1, 1]), np.eye(3)[[0, 1, 2]])
    assert result.per_class_f1[:2] == pytest.approx([1.0, 2 / 3])
    assert np.isnan(result.per_class_f1[2])
    assert result.undefined.tolist() == [2]
    assert result.score == pytest.approx(5 / 6)


def test_challenge_score_rejects_a_first_label_the_record_does_not_carry() -> None:
    with pytest.raises(ValueError, match="first_label_index"):
        challenge_score(np.array([[1, 0], [0, 1]]), np.array([0, 0]), np.eye(2))


def test_challenge_score_on_the_real_cpsc2018_reference(cpsc_dir) -> None:
    reference = pd.read_csv(cpsc_dir / "REFERENCE.csv")
    # 18 records of this copy carry the code 10, which is none of the nine classes: leave them out.
    in_range = reference.First_label.between(1, 9)
    assert (~in_range).sum() == 18
    reference = reference[in_range].reset_index(drop=True)
    codes = reference[["First_label", "Second_label", "Third_label"]]
    labels = np.zeros((len(reference), 9), dtype=int)
    for column in codes:
        present = codes[column].notna()
        labels[np.flatnonzero(present), codes.loc[present, column].astype(int) - 1] = 1
    first = reference.First_label.to_numpy() - 1
    # 477 records have a second label, but A0953 lists PAC twice: 476 carry two or three classes.
    assert labels.shape == (6859, 9) and (labels.sum(axis=1) > 1).sum() == 476

    # Calling the first label, or the last one of multi-label records, is right every time.
    last = codes.ffill(axis=1).iloc[:, -1].astype(int).to_numpy() - 1
    for calls in (first, last):
        result = challenge_score(labels, first, np.eye(9)[calls])
        assert result.score == 1.0 and result.undefined.size == 0

    # Calling Normal for everyone: N_00 = records carrying Normal, row_0 = the same, column_0 = all;
    # every other class has no hit, so its F1 is 0, and the score is F1_0 / 9.
    normal = int(codes.isin([1]).any(axis=1).sum())
    result = challenge_score(labels, first, np.eye(9)[np.zeros(len(reference), dtype=int)])
    f1_normal = 2 * normal / (normal + len(reference))
    assert result.per_class_f1 == pytest.approx([f1_normal] + [0.0] * 8)
    assert result.score == pytest.approx(f1_normal / 9)
