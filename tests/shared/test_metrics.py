"""Classification metrics, ROC points and the confusion matrix against scikit-learn."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn import metrics as skm

from components._shared import keys
from components._shared.errors import DataError
from components._shared.metrics import (
    ROC_POINTS,
    classification_metrics,
    confusion_matrix,
    is_better,
    roc_points,
)


@pytest.fixture()
def scored() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(3)
    labels = rng.integers(0, 2, 5000).astype(np.int8)
    proba = np.clip(0.35 * labels + rng.uniform(0, 0.65, 5000), 0, 1)
    return labels, proba


def test_metrics_match_sklearn_and_use_the_shared_names(
    scored: tuple[np.ndarray, np.ndarray],
) -> None:
    labels, proba = scored
    values = classification_metrics(labels, proba)
    assert tuple(values) == keys.CLASSIFICATION_METRICS
    predicted = proba >= 0.5
    assert values[keys.METRIC_AUC] == pytest.approx(skm.roc_auc_score(labels, proba))
    assert values[keys.METRIC_LOG_LOSS] == pytest.approx(skm.log_loss(labels, proba))
    assert values[keys.METRIC_ACCURACY] == pytest.approx(skm.accuracy_score(labels, predicted))
    assert values[keys.METRIC_PRECISION] == pytest.approx(skm.precision_score(labels, predicted))
    assert values[keys.METRIC_RECALL] == pytest.approx(skm.recall_score(labels, predicted))
    assert values[keys.METRIC_F1] == pytest.approx(skm.f1_score(labels, predicted))
    assert all(type(v) is float for v in values.values())


def test_confident_mistake_gives_finite_log_loss() -> None:
    values = classification_metrics(np.array([0, 1, 1]), np.array([0.0, 1.0, 0.0]))
    assert math.isfinite(values[keys.METRIC_LOG_LOSS]) and values[keys.METRIC_LOG_LOSS] > 5


def test_roc_points_are_downsampled_and_json_safe(scored: tuple[np.ndarray, np.ndarray]) -> None:
    labels, proba = scored
    fpr, tpr, thresholds = roc_points(labels, proba)
    assert len(fpr) == len(tpr) == len(thresholds) <= ROC_POINTS
    assert (fpr[0], tpr[0]) == (0.0, 0.0) and (fpr[-1], tpr[-1]) == (1.0, 1.0)
    assert all(math.isfinite(t) and 0.0 <= t <= 1.0 for t in thresholds)
    assert np.all(np.diff(fpr) >= 0) and np.all(np.diff(tpr) >= 0)
    # The downsampled curve keeps the area.
    assert np.trapezoid(tpr, fpr) == pytest.approx(skm.roc_auc_score(labels, proba), abs=2e-3)


def test_confusion_matrix_rows_are_true_class() -> None:
    labels = np.array([0, 0, 0, 1, 1])
    proba = np.array([0.1, 0.7, 0.2, 0.9, 0.4])
    assert confusion_matrix(labels, proba) == [[2, 1], [1, 1]]
    assert confusion_matrix(labels, proba, threshold=0.05) == [[0, 3], [0, 2]]


@pytest.mark.parametrize(
    ("labels", "proba", "message"),
    [
        (
            [1, 1, 1],
            [0.2, 0.4, 0.9],
            r"valid split: AUC needs both classes, got 3 positive\(s\) out of 3 rows",
        ),
        ([0, 1, 1], [0.2, np.nan, 0.9], r"valid split: 1 probability\(ies\) are NaN or infinite"),
        ([0, 1, 2], [0.2, 0.4, 0.9], r"valid split: labels: expected 0 or 1, got \[2\]"),
        (
            [0, 1],
            [0.2, 0.4, 0.9],
            r"valid split: probabilities: expected 2 \(one per label\), got 3",
        ),
        ([], [], "valid split: no rows"),
    ],
)
def test_bad_inputs_name_the_data(labels: list, proba: list, message: str) -> None:
    with pytest.raises(DataError, match=message):
        classification_metrics(np.array(labels), np.array(proba, dtype=float), what="valid split")


def test_is_better_knows_lower_is_better() -> None:
    assert is_better(keys.METRIC_AUC, 0.9, 0.8)
    assert is_better(keys.METRIC_LOG_LOSS, 0.3, 0.4)
    assert not is_better(keys.METRIC_LOG_LOSS, 0.4, 0.3)
