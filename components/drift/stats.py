"""Drift statistics on counts, the same formulas as Evidently 0.7.23's default tests.

Every function here works on *summaries* (counts per value or per interval), never on rows, so
the current data can be streamed in chunks and the reference is the bundle's profile. The
formulas and defaults were read from the installed Evidently source
(``evidently/legacy/calculations/stattests``) and are reproduced, not re-invented:

| test | Evidently name | score | drift when | default threshold |
|---|---|---|---|---|
| Kolmogorov-Smirnov | ``ks`` | p-value of ``scipy.stats.ks_2samp`` (exact when both sizes <= 10,000) | p <= t | 0.05 |
| normed Wasserstein | ``wasserstein`` | W1 / max(std_ref (ddof 0), 0.001) | score >= t | 0.1 |
| chi-square | ``chisquare`` | p of ``scipy.stats.chisquare(cur, ref * n_cur / n_ref)`` | p < t | 0.05 |
| two-proportion z | ``z`` | two-sided p of the pooled z statistic | p < t | 0.05 |
| Jensen-Shannon | ``jensenshannon`` | ``scipy.spatial.distance.jensenshannon`` (natural log), no zero fill | score >= t | 0.1 |
| PSI | ``components._shared.stats.psi`` | sum (r - c) ln(r / c), zeros replaced as Evidently does | score >= t | 0.1 |

Evidently's default choice (``registry._get_default_stattest``) is by reference rows (after
dropping nulls) and the number of distinct values in reference and current together:
numeric: <= 1,000 rows: ``z`` (<= 2 values), ``chisquare`` (3-5), else ``ks``; above:
``jensenshannon`` (<= 5 values), else ``wasserstein``. Categorical: <= 1,000 rows:
``chisquare``, or ``z`` for at most 2 values; above: ``jensenshannon``.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Final

import numpy as np
from scipy import stats
from scipy.spatial import distance

KS: Final = "ks"
WASSERSTEIN: Final = "wasserstein"
CHISQUARE: Final = "chisquare"
Z: Final = "z"
JENSENSHANNON: Final = "jensenshannon"
PSI: Final = "psi"
METHODS: Final = (KS, WASSERSTEIN, CHISQUARE, Z, JENSENSHANNON, PSI)
NUMERIC_METHODS: Final = METHODS
CATEGORICAL_METHODS: Final = (CHISQUARE, Z, JENSENSHANNON, PSI)
# Tests whose score is a p-value (drift when small); the others are distances (drift when large).
P_VALUE_METHODS: Final = frozenset({KS, CHISQUARE, Z})
DEFAULT_THRESHOLDS: Final = {
    KS: 0.05,
    WASSERSTEIN: 0.1,
    CHISQUARE: 0.05,
    Z: 0.05,
    JENSENSHANNON: 0.1,
    PSI: 0.1,
}
# Evidently's boundary between its small- and large-sample defaults (reference rows).
SMALL_SAMPLE_ROWS: Final = 1000
# Evidently bins numeric columns for JS / PSI by value when the reference has at most this many
# distinct values, otherwise into Sturges bins over reference and current together.
VALUE_BINNING_MAX_DISTINCT: Final = 20
# scipy.stats.ks_2samp computes the exact p-value when both samples are at most this large.
KS_EXACT_MAX_N: Final = 10_000
# Evidently floors the reference standard deviation of the normed Wasserstein distance here.
WASSERSTEIN_MIN_STD: Final = 0.001


def default_method(kind: str, reference_rows: int, distinct: int) -> str:
    """Evidently 0.7.23's default test for a column.

    Args:
        kind: ``"numeric"`` or ``"categorical"`` (Evidently's column types).
        reference_rows: Non-null reference rows.
        distinct: Distinct non-null values of reference and current together.
    """
    small = reference_rows <= SMALL_SAMPLE_ROWS
    if kind == "numeric":
        if distinct <= 5:
            if small:
                return CHISQUARE if distinct > 2 else Z
            return JENSENSHANNON
        return KS if small else WASSERSTEIN
    if small:
        return CHISQUARE if distinct > 2 else Z
    return JENSENSHANNON


def drifted(method: str, score: float, threshold: float) -> bool:
    """Evidently's decision rule (note KS uses <=, chi-square and z use <)."""
    if method == KS:
        return bool(score <= threshold)
    if method in (CHISQUARE, Z):
        return bool(score < threshold)
    return bool(score >= threshold)


# --------------------------------------------------------------------------------------------
# Tests on counts per value (categorical columns, and numeric columns with few values)


def chisquare_pvalue(reference: np.ndarray, current: np.ndarray) -> float:
    """p-value of Evidently's chi-square test from counts per key (same key order in both)."""
    ref = np.asarray(reference, dtype=np.float64)
    cur = np.asarray(current, dtype=np.float64)
    expected = ref * (cur.sum() / ref.sum())
    with np.errstate(divide="ignore", invalid="ignore"), warnings.catch_warnings():
        # An unseen category has an expected count of 0: scipy then says p = 0 (certain drift),
        # exactly as Evidently reports it.
        warnings.simplefilter("ignore", RuntimeWarning)
        return float(stats.chisquare(cur, expected)[1])


def z_pvalue(reference: np.ndarray, current: np.ndarray) -> float:
    """Two-sided p-value of Evidently's two-proportion z-test from counts per sorted key.

    Evidently codes the first sorted key as 0 and every other key as 1 and compares the shares
    of 1 with a pooled standard error. Both samples holding the same single value give p = 1.
    """
    ref = np.asarray(reference, dtype=np.float64)
    cur = np.asarray(current, dtype=np.float64)
    if (
        np.count_nonzero(ref) == 1
        and np.count_nonzero(cur) == 1
        and np.argmax(ref) == np.argmax(cur)
    ):
        return 1.0
    n1, n2 = ref.sum(), cur.sum()
    p1, p2 = (n1 - ref[0]) / n1, (n2 - cur[0]) / n2
    pooled = (p1 * n1 + p2 * n2) / (n1 + n2)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (p1 - p2) / np.sqrt(pooled * (1 - pooled) * (1.0 / n1 + 1.0 / n2))
    return float(2 * (1 - stats.norm.cdf(np.abs(z))))


def jensenshannon_distance(reference_share: np.ndarray, current_share: np.ndarray) -> float:
    """Jensen-Shannon distance (natural log) of two share vectors over the same bins."""
    return float(distance.jensenshannon(reference_share, current_share, None))


def sturges_edges(low: float, high: float, rows: int) -> np.ndarray:
    """``np.histogram_bin_edges(x, bins="sturges")`` from the range and size of ``x`` alone.

    Evidently bins reference and current *together*, so the edges depend on the current range
    and size; this reproduces numpy's rule without the values (width = range / (log2 n + 1),
    bins = ceil(range / width); a zero range gives one bin of width 1 around the value).
    """
    if high <= low:
        return np.array([low - 0.5, low + 0.5])
    width = (high - low) / (np.log2(rows) + 1.0)
    bins = int(np.ceil((high - low) / width))
    return np.linspace(low, high, bins + 1, endpoint=True)


# --------------------------------------------------------------------------------------------
# Kolmogorov-Smirnov and Wasserstein from a reference step function and current interval sums


@dataclass(frozen=True)
class Interval:
    """Current rows summarised against the reference points ``u`` (sorted, distinct).

    ``below[j]`` counts current values ``< u[j]``, ``at[j]`` values ``== u[j]``; ``bin_count``
    and ``bin_sum`` hold the count and sum of current values in ``[u[j-1], u[j])`` for
    ``j = 0..m`` (bin 0 is below ``u[0]``, bin ``m`` is ``>= u[m-1]``).
    """

    points: np.ndarray
    below: np.ndarray
    at: np.ndarray
    bin_count: np.ndarray
    bin_sum: np.ndarray
    rows: int


def ks_statistic(ref_cdf: np.ndarray, current: Interval) -> float:
    """sup |F_ref - F_cur| exactly, from the current counts below and at each reference point.

    Between two reference points F_ref is flat and F_cur only rises, so the supremum is reached
    at a point (F_cur(u)) or just before one (F_cur(u-)): both are counted while streaming.
    """
    n = current.rows
    cur_before = current.below / n
    cur_at = (current.below + current.at) / n
    ref_before = np.concatenate(([0.0], ref_cdf[:-1]))
    return float(max(np.max(np.abs(ref_before - cur_before)), np.max(np.abs(ref_cdf - cur_at))))


def ks_pvalue(statistic: float, reference_rows: int, current_rows: int) -> float:
    """Two-sided p-value of ``scipy.stats.ks_2samp`` (method "auto") for a known statistic.

    scipy computes the exact distribution when both sizes are at most 10,000, else Smirnov's
    asymptotic one; its exact routine is private, so a scipy without it falls back to the
    asymptotic formula (which is what scipy itself does when the exact one fails).
    """
    n1, n2 = int(reference_rows), int(current_rows)
    if max(n1, n2) <= KS_EXACT_MAX_N:
        try:
            from scipy.stats._stats_py import _attempt_exact_2kssamp
        except ImportError:  # pragma: no cover - depends on the scipy version
            pass
        else:
            success, _, prob = _attempt_exact_2kssamp(
                n1, n2, math.gcd(n1, n2), statistic, "two-sided"
            )
            if success:
                return float(np.clip(prob, 0, 1))
    m, n = sorted([float(n1), float(n2)], reverse=True)
    return float(np.clip(stats.kstwo.sf(statistic, np.round(m * n / (m + n))), 0, 1))


def wasserstein_bounds(ref_cdf: np.ndarray, current: Interval) -> tuple[float, float]:
    """Lower and upper bounds of W1 = integral |F_ref - F_cur| from interval counts and sums.

    Outside the reference points and in every interval where F_cur stays on one side of the
    (flat) F_ref, the integral is exact: the integral of F_cur over [L, U) is the sum over rows
    of (U - clip(x, L, U)), i.e. counts and sums. Only where F_cur crosses F_ref inside an
    interval is |.| not linear; there the true value exceeds |integral| by at most
    (U - L) * (F_cur(U-) - F_cur(L)), which is the gap returned in the upper bound.
    """
    u, n = current.points, current.rows
    total = (current.bin_count[0] * u[0] - current.bin_sum[0]) / n
    total += (current.bin_sum[-1] - current.bin_count[-1] * u[-1]) / n
    if u.size < 2:
        return float(total), float(total)
    low, high = u[:-1], u[1:]
    width = high - low
    counts = current.bin_count[1:-1]
    sums = current.bin_sum[1:-1]
    below = current.below[:-1]  # rows < L for each interval [L, U)
    integral_cur = (below * width + counts * high - sums) / n
    level = ref_cdf[:-1]
    signed = level * width - integral_cur
    exact = float(np.sum(np.abs(signed)))
    f_low = (below + current.at[:-1]) / n
    f_high = (below + counts) / n
    crossing = (f_low < level) & (level < f_high)
    gap = float(np.sum(width[crossing] * (f_high[crossing] - f_low[crossing])))
    return float(total) + exact, float(total) + exact + gap
