"""Paired statistics for comparing two binary classifiers on the same rows (the gate's evidence).

- :func:`delong` / :func:`delong_test`: DeLong's covariance of correlated ROC AUCs, computed with
  the midrank algorithm of Sun & Xu (2014, "Fast implementation of DeLong's algorithm for comparing
  the areas under correlated receiver operating characteristic curves", IEEE SPL 21(11)), which is
  O(n log n) instead of the O(m n) placement sums of DeLong, DeLong & Clarke-Pearson (1988).
- :func:`paired_bootstrap`: percentile intervals of AUC, log loss and accuracy, and of their
  differences, over resamples that draw the *same* rows for both models (pairing removes the
  row-to-row noise both models share, which is most of it).
- :func:`mcnemar_test`: McNemar's exact test on the discordant pairs of two models' 0/1 correctness.

Everything is vectorised with numpy: the bootstrap turns each resample into per-row counts and
computes every resample's metric from the counts at once, in bounded chunks of resamples.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Final

import numpy as np
from scipy import stats as sps

from components._shared import keys
from components._shared.errors import DataError, expected_got

# Probabilities are clipped like components._shared.metrics does, so log losses agree with it.
_EPS: Final = 1e-15
# Resamples per chunk are chosen so that one chunk's (resamples x rows) float64 matrix stays
# under ~16 MB, whatever the test split's size.
_CHUNK_CELLS: Final = 2_000_000
BOOTSTRAP_METRICS: Final = (keys.METRIC_AUC, keys.METRIC_LOG_LOSS, keys.METRIC_ACCURACY)


def _labels_scores(labels: np.ndarray, *scores: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
    y = np.asarray(labels).astype(np.int64).reshape(-1)
    if not np.isin(y, (0, 1)).all():
        raise DataError(expected_got("labels", "0 or 1", sorted(set(np.unique(y).tolist()))))
    out = []
    for s in scores:
        s = np.asarray(s, dtype=np.float64).reshape(-1)
        if s.shape != y.shape:
            raise DataError(expected_got("scores", f"{y.size} (one per label)", s.size))
        if not np.isfinite(s).all():
            raise DataError(f"scores: {int(np.count_nonzero(~np.isfinite(s)))} are NaN or infinite")
        out.append(s)
    positives = int(y.sum())
    if positives in (0, y.size):
        raise DataError(f"AUC needs both classes, got {positives} positive(s) out of {y.size} rows")
    return y, out


def _z(confidence: float) -> float:
    if not 0.0 < confidence < 1.0:
        raise DataError(expected_got("confidence", "a level strictly between 0 and 1", confidence))
    return float(sps.norm.ppf(0.5 + confidence / 2.0))


# --- DeLong ---------------------------------------------------------------------------------


def delong(labels: np.ndarray, *scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """AUCs of ``k`` score vectors on the same rows and their k x k DeLong covariance.

    Sun & Xu's midrank form: with ``m`` positives and ``n`` negatives, the placement of a positive
    (the share of negatives it outranks, ties counting one half) is ``(rank among all - rank among
    positives) / n``, and likewise for negatives. The covariance is
    ``cov(positive placements) / m + cov(negative placements) / n`` (each with ``ddof=1``).

    Returns:
        ``(aucs (k,), covariance (k, k))``.
    """
    y, columns = _labels_scores(labels, *scores)
    matrix = np.vstack(columns)  # (k, rows)
    positives, negatives = matrix[:, y == 1], matrix[:, y == 0]
    m, n = positives.shape[1], negatives.shape[1]
    rank_all = sps.rankdata(np.hstack([positives, negatives]), axis=1)  # midranks
    rank_pos = sps.rankdata(positives, axis=1)
    rank_neg = sps.rankdata(negatives, axis=1)
    v10 = (rank_all[:, :m] - rank_pos) / n  # per positive: share of negatives below
    v01 = 1.0 - (rank_all[:, m:] - rank_neg) / m  # per negative: share of positives above
    aucs = v10.mean(axis=1)
    s10 = np.atleast_2d(np.cov(v10)) if m > 1 else np.zeros((len(columns), len(columns)))
    s01 = np.atleast_2d(np.cov(v01)) if n > 1 else np.zeros((len(columns), len(columns)))
    return aucs, s10 / m + s01 / n


@dataclass(frozen=True)
class Interval:
    """A point estimate with a two-sided confidence interval."""

    estimate: float
    low: float
    high: float
    confidence: float

    def to_dict(self) -> dict[str, float]:
        """Plain floats for JSON."""
        return {
            "estimate": self.estimate,
            "low": self.low,
            "high": self.high,
            "confidence": self.confidence,
        }


def auc_interval(labels: np.ndarray, scores: np.ndarray, *, confidence: float = 0.95) -> Interval:
    """One model's AUC with its DeLong (normal) interval, clipped to [0, 1]."""
    aucs, cov = delong(labels, scores)
    half = _z(confidence) * float(np.sqrt(max(cov[0, 0], 0.0)))
    auc = float(aucs[0])
    return Interval(auc, max(0.0, auc - half), min(1.0, auc + half), confidence)


@dataclass(frozen=True)
class DeLongResult:
    """DeLong's test of ``auc_a - auc_b`` on the same rows."""

    auc_a: float
    auc_b: float
    difference: float
    se: float
    z: float
    p_value: float  # two-sided, H0: the AUCs are equal
    low: float
    high: float
    confidence: float

    def to_dict(self) -> dict[str, float]:
        """Plain floats for JSON."""
        return {name: float(getattr(self, name)) for name in self.__dataclass_fields__}


def delong_test(
    labels: np.ndarray, scores_a: np.ndarray, scores_b: np.ndarray, *, confidence: float = 0.95
) -> DeLongResult:
    """DeLong's test and normal interval for ``AUC(a) - AUC(b)``, paired on the same rows.

    Identical rankings give a zero variance: the difference is then exactly 0 (p = 1, interval
    [0, 0]) rather than 0/0.
    """
    aucs, cov = delong(labels, scores_a, scores_b)
    difference = float(aucs[0] - aucs[1])
    variance = float(cov[0, 0] + cov[1, 1] - 2.0 * cov[0, 1])
    se = float(np.sqrt(variance)) if variance > 1e-300 else 0.0
    if se == 0.0:
        z = 0.0 if difference == 0.0 else float(np.sign(difference) * np.inf)
        p = 1.0 if difference == 0.0 else 0.0
    else:
        z = difference / se
        p = float(2.0 * sps.norm.sf(abs(z)))
    half = _z(confidence) * se
    return DeLongResult(
        auc_a=float(aucs[0]),
        auc_b=float(aucs[1]),
        difference=difference,
        se=se,
        z=z,
        p_value=p,
        low=difference - half,
        high=difference + half,
        confidence=confidence,
    )


# --- bootstrap ------------------------------------------------------------------------------


def iter_bootstrap_indices(labels: np.ndarray, resamples: int, seed: int) -> Iterator[np.ndarray]:
    """Row indices of stratified bootstrap resamples, in chunks of shape (chunk, rows).

    Positives and negatives are resampled separately, so every resample keeps the split's class
    counts and its AUC is always defined (pROC's default, ``boot.stratified=TRUE``). The stream
    depends only on ``labels``, ``resamples`` and ``seed``.
    """
    y = np.asarray(labels).reshape(-1)
    if resamples < 1:
        raise DataError(expected_got("bootstrap resamples", "at least 1", resamples))
    positive, negative = np.flatnonzero(y == 1), np.flatnonzero(y == 0)
    rng = np.random.default_rng(seed)
    chunk = max(1, _CHUNK_CELLS // max(y.size, 1))
    for start in range(0, resamples, chunk):
        size = min(chunk, resamples - start)
        yield np.hstack(
            [
                positive[rng.integers(0, positive.size, size=(size, positive.size))],
                negative[rng.integers(0, negative.size, size=(size, negative.size))],
            ]
        )


def bootstrap_indices(labels: np.ndarray, resamples: int, seed: int) -> np.ndarray:
    """Every resample's row indices, (resamples, rows): the stream :func:`paired_bootstrap` uses."""
    return np.vstack(list(iter_bootstrap_indices(labels, resamples, seed)))


def _counts(indices: np.ndarray, rows: int) -> np.ndarray:
    """How often each row appears in each resample, (chunk, rows) float64."""
    chunk = indices.shape[0]
    flat = (indices + rows * np.arange(chunk)[:, None]).ravel()
    return np.bincount(flat, minlength=chunk * rows).reshape(chunk, rows).astype(np.float64)


class _WeightedAuc:
    """AUC of one score vector under many row weightings at once.

    Rows are sorted by score once and tied scores grouped, so for each weighting the AUC is
    ``sum over groups of W+(g) * (W-(below g) + W-(g) / 2) / (W+ W-)``: the Mann-Whitney
    statistic with ties counting one half, exactly what roc_auc_score gives on the resampled rows.
    """

    def __init__(self, labels: np.ndarray, scores: np.ndarray) -> None:
        self.order = np.argsort(scores, kind="mergesort")
        ordered = scores[self.order]
        self.starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
        self.positive = labels[self.order].astype(np.float64)

    def __call__(self, counts: np.ndarray) -> np.ndarray:
        weights = counts[:, self.order]
        pos = np.add.reduceat(weights * self.positive, self.starts, axis=1)
        neg = np.add.reduceat(weights * (1.0 - self.positive), self.starts, axis=1)
        below = np.cumsum(neg, axis=1) - neg
        pairs = pos.sum(axis=1) * neg.sum(axis=1)
        return np.asarray((pos * (below + 0.5 * neg)).sum(axis=1) / pairs)


@dataclass(frozen=True)
class BootstrapResult:
    """Bootstrap intervals of one metric for model a, model b, and the paired difference a - b."""

    metric: str
    a: Interval
    b: Interval | None
    difference: Interval | None
    resamples: int

    def to_dict(self) -> dict[str, object]:
        """Plain values for JSON."""
        return {
            "metric": self.metric,
            "a": self.a.to_dict(),
            "b": self.b.to_dict() if self.b else None,
            "difference": self.difference.to_dict() if self.difference else None,
            "resamples": self.resamples,
        }


def row_log_loss(labels: np.ndarray, proba: np.ndarray) -> np.ndarray:
    """Per-row log loss (clipped like components._shared.metrics)."""
    p = np.clip(np.asarray(proba, dtype=np.float64), _EPS, 1.0 - _EPS)
    y = np.asarray(labels, dtype=np.float64)
    return -(y * np.log(p) + (1.0 - y) * np.log1p(-p))


def row_correct(labels: np.ndarray, proba: np.ndarray, threshold: float = 0.5) -> np.ndarray:
    """Per-row 1.0 where the prediction at ``threshold`` is right, else 0.0."""
    predicted = np.asarray(proba, dtype=np.float64) >= threshold
    return (predicted == np.asarray(labels).astype(bool)).astype(np.float64)


def _percentile(point: float, values: np.ndarray, confidence: float) -> Interval:
    alpha = 1.0 - confidence
    low, high = np.quantile(values, [alpha / 2.0, 1.0 - alpha / 2.0])
    return Interval(float(point), float(low), float(high), confidence)


def paired_bootstrap(
    labels: np.ndarray,
    proba_a: np.ndarray,
    proba_b: np.ndarray | None = None,
    *,
    resamples: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
    threshold: float = 0.5,
) -> dict[str, BootstrapResult]:
    """Percentile intervals of AUC, log loss and accuracy (threshold 0.5), paired on rows.

    Each resample draws the same rows for both models (:func:`iter_bootstrap_indices`), so the
    interval of the difference reflects only how the models disagree. Point estimates are the
    metrics on the rows as given.

    Returns:
        ``{metric: BootstrapResult}`` for ``BOOTSTRAP_METRICS``; ``b`` and ``difference`` are None
        when ``proba_b`` is None.
    """
    models = [proba_a] if proba_b is None else [proba_a, proba_b]
    y, columns = _labels_scores(labels, *models)
    _z(confidence)  # validates the level
    rows = y.size
    aucs = [_WeightedAuc(y, s) for s in columns]
    losses = np.vstack([row_log_loss(y, s) for s in columns]).T  # (rows, k)
    correct = np.vstack([row_correct(y, s, threshold) for s in columns]).T
    draws: dict[str, list[np.ndarray]] = {m: [] for m in BOOTSTRAP_METRICS}
    for indices in iter_bootstrap_indices(y, resamples, seed):
        counts = _counts(indices, rows)
        draws[keys.METRIC_AUC].append(np.column_stack([auc(counts) for auc in aucs]))
        draws[keys.METRIC_LOG_LOSS].append(counts @ losses / rows)
        draws[keys.METRIC_ACCURACY].append(counts @ correct / rows)
    full = np.ones((1, rows))
    points = {
        keys.METRIC_AUC: np.array([auc(full)[0] for auc in aucs]),
        keys.METRIC_LOG_LOSS: losses.mean(axis=0),
        keys.METRIC_ACCURACY: correct.mean(axis=0),
    }
    results = {}
    for metric in BOOTSTRAP_METRICS:
        values = np.vstack(draws[metric])  # (resamples, k)
        point = points[metric]
        a = _percentile(point[0], values[:, 0], confidence)
        b = diff = None
        if len(columns) == 2:
            b = _percentile(point[1], values[:, 1], confidence)
            diff = _percentile(point[0] - point[1], values[:, 0] - values[:, 1], confidence)
        results[metric] = BootstrapResult(metric, a, b, diff, resamples)
    return results


# --- McNemar --------------------------------------------------------------------------------


@dataclass(frozen=True)
class McNemarResult:
    """McNemar's test on paired correctness: ``a_only`` rows only a got right, ``b_only`` rows
    only b got right. ``p_value`` is the exact two-sided binomial p-value on the discordant pairs;
    ``statistic`` is the chi-square (b - c)^2 / (b + c) without continuity correction, for
    reference."""

    a_only: int
    b_only: int
    rows: int
    statistic: float
    p_value: float

    def to_dict(self) -> dict[str, float]:
        """Plain numbers for JSON."""
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


def mcnemar_test(correct_a: np.ndarray, correct_b: np.ndarray) -> McNemarResult:
    """McNemar's exact test of equal accuracy for two models scored on the same rows."""
    a = np.asarray(correct_a).astype(bool).reshape(-1)
    b = np.asarray(correct_b).astype(bool).reshape(-1)
    if a.shape != b.shape:
        raise DataError(expected_got("paired correctness", f"{a.size} rows", b.size))
    a_only, b_only = int(np.count_nonzero(a & ~b)), int(np.count_nonzero(~a & b))
    discordant = a_only + b_only
    if discordant == 0:
        return McNemarResult(0, 0, int(a.size), 0.0, 1.0)
    statistic = (a_only - b_only) ** 2 / discordant
    p_value = float(sps.binomtest(a_only, discordant, 0.5).pvalue)
    return McNemarResult(a_only, b_only, int(a.size), float(statistic), min(1.0, p_value))


def psi(reference_share: np.ndarray, current_share: np.ndarray) -> float:
    """Population stability index with Evidently's replacement of empty bins.

    An empty bin gets 1e-4, or a millionth of the smallest non-empty share when that is at
    most 1e-4 (``utils.get_binned_data(feel_zeroes=True)``), so the log stays finite.
    """
    ref = _fill_zeros(np.asarray(reference_share, dtype=np.float64))
    cur = _fill_zeros(np.asarray(current_share, dtype=np.float64))
    return float(np.sum((ref - cur) * np.log(ref / cur)))


def _fill_zeros(share: np.ndarray) -> np.ndarray:
    share = share.copy()
    nonzero = share[share != 0]
    if nonzero.size and nonzero.size < share.size:
        smallest = float(nonzero.min())
        share[share == 0] = smallest / 10**6 if smallest <= 0.0001 else 0.0001
    return share
