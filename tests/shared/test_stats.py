"""components._shared.stats against known values: a published worked example, brute-force
formulas computed here, slow per-resample loops with sklearn, and statsmodels."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, log_loss, roc_auc_score

from components._shared import keys, stats
from components._shared.errors import DataError


def _hanley_mcneil() -> tuple[np.ndarray, np.ndarray]:
    """Hanley & McNeil (1982), Radiology 143:29-36, Table 1: CT ratings 1-5 of 58 normal and 51
    abnormal patients (heavily tied). Published AUC 0.893, SE 0.032 (their approximation)."""
    normal = np.repeat([1, 2, 3, 4, 5], [33, 6, 6, 11, 2])
    abnormal = np.repeat([1, 2, 3, 4, 5], [3, 2, 2, 11, 33])
    labels = np.r_[np.zeros(normal.size), np.ones(abnormal.size)].astype(int)
    return labels, np.r_[normal, abnormal].astype(float)


def _placements(labels: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """DeLong et al. (1988) structural components by the O(m n) definition: psi = 1, 1/2, 0."""
    x, y = scores[labels == 1], scores[labels == 0]
    psi = (x[:, None] > y[None, :]) + 0.5 * (x[:, None] == y[None, :])
    return psi.mean(axis=1), psi.mean(axis=0)


def _brute_force_covariance(labels: np.ndarray, *scores: np.ndarray) -> np.ndarray:
    v10, v01 = zip(*(_placements(labels, s) for s in scores), strict=True)
    m, n = int(labels.sum()), int((labels == 0).sum())
    return np.atleast_2d(np.cov(np.vstack(v10))) / m + np.atleast_2d(np.cov(np.vstack(v01))) / n


@pytest.fixture(scope="module")
def paired() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Two correlated, rounded (tied) score vectors on 400 rows, ~30% positive."""
    rng = np.random.default_rng(7)
    y = (rng.random(400) < 0.3).astype(int)
    shared = rng.normal(size=400)
    a = np.round(1.0 * y + shared + 0.6 * rng.normal(size=400), 1)
    b = np.round(0.7 * y + shared + 0.6 * rng.normal(size=400), 1)
    return y, a, b


def test_auc_matches_the_published_hanley_mcneil_example() -> None:
    labels, ratings = _hanley_mcneil()
    interval = stats.auc_interval(labels, ratings)
    assert round(interval.estimate, 3) == 0.893
    se = (interval.high - interval.low) / (2 * 1.959963984540054)
    # DeLong's SE is not Hanley & McNeil's approximation, but on this example they agree closely.
    assert se == pytest.approx(0.032, abs=0.002)
    assert se**2 == pytest.approx(_brute_force_covariance(labels, ratings)[0, 0], rel=1e-12)


def test_delong_equals_the_brute_force_placement_formula(paired: tuple) -> None:
    y, a, b = paired
    aucs, cov = stats.delong(y, a, b)
    assert aucs == pytest.approx([roc_auc_score(y, a), roc_auc_score(y, b)], abs=1e-12)
    assert cov == pytest.approx(_brute_force_covariance(y, a, b), abs=1e-14)


def test_delong_test_statistic_and_p_value(paired: tuple) -> None:
    y, a, b = paired
    result = stats.delong_test(y, a, b, confidence=0.9)
    cov = _brute_force_covariance(y, a, b)
    se = math.sqrt(cov[0, 0] + cov[1, 1] - 2 * cov[0, 1])
    difference = roc_auc_score(y, a) - roc_auc_score(y, b)
    assert result.difference == pytest.approx(difference, abs=1e-12)
    assert result.se == pytest.approx(se, rel=1e-10)
    assert result.p_value == pytest.approx(math.erfc(abs(difference / se) / math.sqrt(2)), rel=1e-9)
    assert (result.low, result.high) == pytest.approx(
        (difference - 1.6448536269514722 * se, difference + 1.6448536269514722 * se), rel=1e-9
    )


def test_identical_scores_give_a_zero_difference_not_nan(paired: tuple) -> None:
    y, a, _ = paired
    result = stats.delong_test(y, a, a.copy())
    assert (result.difference, result.se, result.p_value, result.low, result.high) == (
        0.0,
        0.0,
        1.0,
        0.0,
        0.0,
    )


def test_bootstrap_equals_a_slow_loop_over_the_same_resamples(paired: tuple) -> None:
    y, a, b = paired
    pa, pb = 1 / (1 + np.exp(-a)), 1 / (1 + np.exp(-b))
    result = stats.paired_bootstrap(y, pa, pb, resamples=100, confidence=0.9, seed=11)
    indices = stats.bootstrap_indices(y, 100, 11)
    assert indices.shape == (100, y.size)
    # Stratified: every resample keeps the class counts.
    assert (y[indices].sum(axis=1) == y.sum()).all()
    slow = {
        keys.METRIC_AUC: [
            (roc_auc_score(y[i], pa[i]), roc_auc_score(y[i], pb[i])) for i in indices
        ],
        keys.METRIC_LOG_LOSS: [(log_loss(y[i], pa[i]), log_loss(y[i], pb[i])) for i in indices],
        keys.METRIC_ACCURACY: [
            (accuracy_score(y[i], pa[i] >= 0.5), accuracy_score(y[i], pb[i] >= 0.5))
            for i in indices
        ],
    }
    points = {
        keys.METRIC_AUC: (roc_auc_score(y, pa), roc_auc_score(y, pb)),
        keys.METRIC_LOG_LOSS: (log_loss(y, pa), log_loss(y, pb)),
        keys.METRIC_ACCURACY: (accuracy_score(y, pa >= 0.5), accuracy_score(y, pb >= 0.5)),
    }
    for metric, pairs in slow.items():
        values = np.asarray(pairs)
        got = result[metric]
        for interval, column in ((got.a, values[:, 0]), (got.b, values[:, 1])):
            assert interval is not None
            assert (interval.low, interval.high) == pytest.approx(
                tuple(np.quantile(column, [0.05, 0.95])), abs=1e-12
            )
        assert got.difference is not None
        assert (got.difference.low, got.difference.high) == pytest.approx(
            tuple(np.quantile(values[:, 0] - values[:, 1], [0.05, 0.95])), abs=1e-12
        )
        assert (got.a.estimate, got.b.estimate if got.b else None) == pytest.approx(
            points[metric], abs=1e-12
        )


def test_bootstrap_variance_of_the_auc_difference_agrees_with_delong(paired: tuple) -> None:
    """Two independent routes to the same quantity: resampling and DeLong's asymptotics."""
    y, a, b = paired
    indices = stats.bootstrap_indices(y, 2000, 3)
    counts = np.zeros((len(indices), y.size))
    np.add.at(counts, (np.arange(len(indices))[:, None], indices), 1.0)
    diffs = stats._WeightedAuc(y, a)(counts) - stats._WeightedAuc(y, b)(counts)
    assert diffs.std(ddof=1) == pytest.approx(stats.delong_test(y, a, b).se, rel=0.1)


def test_bootstrap_is_reproducible_and_works_for_one_model(paired: tuple) -> None:
    y, a, b = paired
    one = stats.paired_bootstrap(y, a / 10 + 0.5, b / 10 + 0.5, resamples=250, seed=5)
    again = stats.paired_bootstrap(y, a / 10 + 0.5, b / 10 + 0.5, resamples=250, seed=5)
    assert one == again
    other = stats.paired_bootstrap(y, a / 10 + 0.5, None, resamples=250, seed=6)
    assert other[keys.METRIC_AUC].b is None and other[keys.METRIC_AUC].difference is None


def test_mcnemar_matches_statsmodels_and_the_textbook_example() -> None:
    # The 2x2 example of McNemar's test on Wikipedia: b=121, c=59, chi-square 21.35.
    a = np.r_[np.ones(101 + 121), np.zeros(59 + 33)].astype(bool)
    b = np.r_[np.ones(101), np.zeros(121), np.ones(59), np.zeros(33)].astype(bool)
    result = stats.mcnemar_test(a, b)
    assert (result.a_only, result.b_only, result.rows) == (121, 59, 314)
    assert result.statistic == pytest.approx(21.3556, abs=1e-4)
    exact = 2 * sum(math.comb(180, k) for k in range(0, 60)) / 2**180
    assert result.p_value == pytest.approx(exact, rel=1e-9)
    contingency = pytest.importorskip("statsmodels.stats.contingency_tables")
    reference = contingency.mcnemar([[101, 121], [59, 33]], exact=True).pvalue
    assert result.p_value == pytest.approx(reference, rel=1e-9)
    assert stats.mcnemar_test(a, a).p_value == 1.0


def test_bad_input_names_the_problem() -> None:
    with pytest.raises(DataError, match="both classes"):
        stats.delong(np.ones(5), np.arange(5.0))
    with pytest.raises(DataError, match=r"scores: expected 4 \(one per label\), got 3"):
        stats.delong(np.array([0, 1, 0, 1]), np.arange(3.0))
    with pytest.raises(DataError, match="NaN or infinite"):
        stats.paired_bootstrap(np.array([0, 1, 0, 1]), np.array([0.1, np.nan, 0.2, 0.3]))
    with pytest.raises(DataError, match="confidence"):
        stats.auc_interval(np.array([0, 1, 0, 1]), np.arange(4.0), confidence=1.0)
