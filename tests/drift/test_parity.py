"""Parity with Evidently 0.7.23 DataDriftPreset on data small enough for it.

Tolerances (measured on these frames, kept in the README): KS, chi-square, z-test and
Jensen-Shannon on categories are computed exactly (|diff| < 1e-9); the normed Wasserstein
distance lies within its reported error bound of Evidently's value (bound <= 0.005 here); PSI
and Jensen-Shannon on Sturges-binned numeric columns (not a default test for them) spread the
current counts linearly inside the profile's intervals: within 0.01 of Evidently's score.
"""

from __future__ import annotations

import numpy as np
import pytest

from components.drift import stats
from components.drift.verdicts import ColumnTests
from tests.drift.helpers import KINDS, evidently_scores, fast_verdicts, rng_frame

EXACT = 1e-9
BINNED_TOLERANCE = 0.01


@pytest.mark.parametrize(
    ("reference_rows", "current_rows", "shift"),
    [(800, 600, 0.0), (800, 600, 0.3), (5000, 3000, 0.0), (5000, 3000, 0.2)],
    ids=["small-same", "small-shifted", "large-same", "large-shifted"],
)
def test_default_tests_match_evidently(
    reference_rows: int, current_rows: int, shift: float
) -> None:
    reference = rng_frame(reference_rows, seed=1)
    current = rng_frame(current_rows, seed=2, shift=shift)
    ours = {c.column: c for c in fast_verdicts(reference, current, KINDS).columns}
    theirs = evidently_scores(reference, current, KINDS)
    names = {"K-S p_value": stats.KS, "Wasserstein distance (normed)": stats.WASSERSTEIN,
             "chi-square p_value": stats.CHISQUARE, "Z-test p_value": stats.Z,
             "Jensen-Shannon distance": stats.JENSENSHANNON}  # fmt: skip
    for column, (display, score) in theirs.items():
        mine = ours[column]
        assert mine.method == names[display], column
        assert mine.drifted == stats.drifted(mine.method, score, mine.threshold), column
        tolerance = mine.error_bound + EXACT
        assert mine.score == pytest.approx(score, abs=tolerance), (column, mine.method)
    if reference_rows <= stats.SMALL_SAMPLE_ROWS:
        assert {c.method for c in ours.values()} == {stats.KS, stats.CHISQUARE, stats.Z}
        assert all(c.exact for c in ours.values())
    if shift:
        assert ours["normal"].drifted


@pytest.mark.parametrize("method", [stats.PSI, stats.JENSENSHANNON])
def test_psi_and_js_on_every_column_match_evidently(method: str) -> None:
    reference, current = rng_frame(5000, seed=3), rng_frame(3000, seed=4, shift=0.2)
    tests = ColumnTests(drift_share=0.5, num_method=method, cat_method=method)
    ours = {c.column: c for c in fast_verdicts(reference, current, KINDS, tests).columns}
    theirs = evidently_scores(reference, current, KINDS, method=method)
    for column, (_, score) in theirs.items():
        tolerance = EXACT if ours[column].exact else BINNED_TOLERANCE
        assert ours[column].score == pytest.approx(score, abs=tolerance), column


def test_large_reference_sketch_bounds_hold() -> None:
    """A 50,000-row reference goes through a 2,048-point sketch: the Wasserstein bound holds."""
    from scipy.stats import wasserstein_distance

    rng = np.random.default_rng(0)
    reference = rng_frame(50_000, seed=5)
    current = rng_frame(20_000, seed=6, shift=0.1)
    kinds = {"normal": "numeric", "lognormal": "numeric"}
    ours = {c.column: c for c in fast_verdicts(reference, current, kinds, chunk_rows=4096).columns}
    for column in kinds:
        ref, cur = reference[column].to_numpy(), current[column].to_numpy()
        exact = wasserstein_distance(ref, cur) / max(np.std(ref), 0.001)
        assert not ours[column].exact
        assert abs(ours[column].score - exact) <= ours[column].error_bound + EXACT, column
        assert ours[column].error_bound < 0.01
    del rng


def test_unseen_category_is_counted_and_certain_drift_for_chisquare() -> None:
    reference = rng_frame(500, seed=1)
    current = rng_frame(400, seed=2)
    current.loc[:49, "color"] = "purple"
    (color,) = [c for c in fast_verdicts(reference, current, {"color": "categorical"}).columns]
    assert color.unseen == {"purple": 50}
    assert color.method == stats.CHISQUARE and color.score == 0.0 and color.drifted
