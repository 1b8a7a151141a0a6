"""Binary classification metrics from 0/1 labels and P(positive): the numbers every step reports.

Train, compare and gate all call these functions, so a leaderboard, a manifest and a gate
threshold mean the same thing by ``auc`` or ``f1``. Names come from ``keys.CLASSIFICATION_METRICS``.
"""

from __future__ import annotations

import numpy as np
from sklearn import metrics as skm

from components._shared import keys
from components._shared.errors import DataError, expected_got

DEFAULT_THRESHOLD = 0.5
# The KFP UI draws every ROC point it is given; ~200 keep the curve's shape and the UI light.
ROC_POINTS = 200
# Probabilities are clipped this far from 0 and 1 so that one confident mistake gives a large,
# finite log loss instead of infinity (which JSON cannot hold).
_EPS = 1e-15


def _checked(labels: np.ndarray, proba: np.ndarray, what: str) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(labels).astype(np.int64).reshape(-1)
    p = np.asarray(proba, dtype=np.float64).reshape(-1)
    if y.shape != p.shape:
        raise DataError(
            expected_got(f"{what}: probabilities", f"{y.shape[0]} (one per label)", p.shape[0])
        )
    if y.size == 0:
        raise DataError(f"{what}: no rows to compute metrics on")
    if not np.isin(y, (0, 1)).all():
        raise DataError(
            expected_got(f"{what}: labels", "0 or 1", sorted(set(np.unique(y).tolist()) - {0, 1}))
        )
    if not np.isfinite(p).all():
        raise DataError(
            f"{what}: {int(np.count_nonzero(~np.isfinite(p)))} probability(ies) are NaN or infinite"
        )
    positives = int(y.sum())
    if positives in (0, y.size):
        raise DataError(
            f"{what}: AUC needs both classes, got {positives} positive(s) out of {y.size} rows; "
            "use a larger split or a stratified split"
        )
    return y, p


def classification_metrics(
    labels: np.ndarray,
    proba: np.ndarray,
    *,
    threshold: float = DEFAULT_THRESHOLD,
    what: str = "metrics",
) -> dict[str, float]:
    """auc, log_loss, and accuracy / precision / recall / f1 at ``threshold``.

    Args:
        labels: 0/1 labels (1 = positive label).
        proba: P(positive) per row.
        threshold: Probability at or above which a row is predicted positive.
        what: Names the data in error messages (e.g. "valid split of candidate xgb_deep").

    Returns:
        ``{name: value}`` for every name in ``keys.CLASSIFICATION_METRICS``, as plain floats.
    """
    y, p = _checked(labels, proba, what)
    predicted = (p >= threshold).astype(np.int64)
    values = {
        keys.METRIC_AUC: skm.roc_auc_score(y, p),
        keys.METRIC_LOG_LOSS: skm.log_loss(y, np.clip(p, _EPS, 1 - _EPS), labels=[0, 1]),
        keys.METRIC_ACCURACY: skm.accuracy_score(y, predicted),
        keys.METRIC_PRECISION: skm.precision_score(y, predicted, zero_division=0),
        keys.METRIC_RECALL: skm.recall_score(y, predicted, zero_division=0),
        keys.METRIC_F1: skm.f1_score(y, predicted, zero_division=0),
    }
    return {name: float(values[name]) for name in keys.CLASSIFICATION_METRICS}


def roc_points(
    labels: np.ndarray, proba: np.ndarray, *, max_points: int = ROC_POINTS, what: str = "ROC"
) -> tuple[list[float], list[float], list[float]]:
    """ROC curve (fpr, tpr, threshold) downsampled to at most ``max_points`` points.

    The first and last points (0,0) and (1,1) are always kept. sklearn's first threshold is
    +inf; it becomes 1.0 here because JSON (KFP metadata) has no infinity.
    """
    y, p = _checked(labels, proba, what)
    fpr, tpr, thresholds = skm.roc_curve(y, p, drop_intermediate=True)
    if fpr.size > max_points:
        keep = np.unique(np.linspace(0, fpr.size - 1, max_points).round().astype(np.int64))
        fpr, tpr, thresholds = fpr[keep], tpr[keep], thresholds[keep]
    thresholds = np.minimum(thresholds, 1.0)
    return fpr.tolist(), tpr.tolist(), thresholds.tolist()


def confusion_matrix(
    labels: np.ndarray, proba: np.ndarray, *, threshold: float = DEFAULT_THRESHOLD
) -> list[list[int]]:
    """2x2 counts ``[[TN, FP], [FN, TP]]``: rows are the true class (negative, positive),
    columns the predicted one, the order KFP's ``log_confusion_matrix`` expects with
    categories ``[negative_label, positive_label]``."""
    y = np.asarray(labels).astype(np.int64).reshape(-1)
    predicted = (np.asarray(proba, dtype=np.float64).reshape(-1) >= threshold).astype(np.int64)
    matrix = skm.confusion_matrix(y, predicted, labels=[0, 1])
    return [[int(v) for v in row] for row in matrix]


def is_better(metric: str, value: float, other: float) -> bool:
    """Whether ``value`` beats ``other`` for ``metric`` (lower wins for ``keys.LOWER_IS_BETTER``)."""
    return value < other if metric in keys.LOWER_IS_BETTER else value > other
