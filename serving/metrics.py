"""Prometheus metrics of the runtime, beside KServe's own (``request_predict_seconds``, ...).

- ``kfp_tabular_prediction_score``: histogram of P(positive) of every predicted row, per model.
  A shift in this distribution is the cheapest drift signal there is.
- ``kfp_tabular_unseen_values_total``: per model and column, values the featurizer had not seen
  in training (unknown categories, unrecognised boolean tokens, unparseable datetimes), which it
  sends to the unknown bucket exactly as in training.

The score histogram is counted with numpy (one ``searchsorted`` per request, whatever the batch
size) and exposed by a custom collector: ``Histogram.observe`` once per row would cost a Python
call per row, and batched requests must cost per row only in the model.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from typing import Final

import numpy as np
from prometheus_client import REGISTRY, Counter
from prometheus_client.core import HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

SCORE_METRIC: Final = "kfp_tabular_prediction_score"
UNSEEN_METRIC: Final = "kfp_tabular_unseen_values"
# Upper bounds of the score buckets: 0.05 steps (the last bucket, +Inf, is implicit).
SCORE_BUCKETS: Final = tuple(round(0.05 * k, 2) for k in range(1, 21))

UNSEEN_VALUES = Counter(
    UNSEEN_METRIC,
    "Values not seen in training, sent to the unknown bucket, per model and column.",
    ["model_name", "column"],
)


class ScoreHistogram(Collector):
    """Histogram of predicted scores per model, counted in numpy and exposed on collect."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._edges = np.array(SCORE_BUCKETS, dtype=np.float64)
        self._counts: dict[str, np.ndarray] = {}
        self._sums: dict[str, float] = {}

    def observe(self, model_name: str, scores: np.ndarray) -> None:
        """Count every score of one request into its bucket."""
        # side="left": a score equal to a bound belongs to that bucket (le = less or equal).
        slots = np.searchsorted(self._edges, scores, side="left")
        counts = np.bincount(slots, minlength=self._edges.size + 1)
        total = float(scores.sum())
        with self._lock:
            if model_name in self._counts:
                self._counts[model_name] += counts
                self._sums[model_name] += total
            else:
                self._counts[model_name] = counts.astype(np.int64)
                self._sums[model_name] = total

    def collect(self) -> Iterator[Metric]:
        """The Prometheus histogram family (cumulative buckets), one sample set per model."""
        family = HistogramMetricFamily(
            SCORE_METRIC, "Predicted P(positive) of every scored row.", labels=["model_name"]
        )
        with self._lock:
            snapshot = {name: (c.copy(), self._sums[name]) for name, c in self._counts.items()}
        bounds = [*(str(b) for b in SCORE_BUCKETS), "+Inf"]
        for name, (counts, total) in snapshot.items():
            cumulative = np.cumsum(counts).tolist()
            family.add_metric([name], list(zip(bounds, cumulative, strict=True)), sum_value=total)
        yield family


SCORES = ScoreHistogram()
REGISTRY.register(SCORES)


class ModelMetrics:
    """The observer a :class:`serving.scoring.Scorer` calls after each prediction."""

    def __init__(self, model_name: str) -> None:
        self.model_name = model_name
        self._unseen: dict[str, Counter] = {}

    def __call__(self, scores: np.ndarray, unseen: Mapping[str, int]) -> None:
        SCORES.observe(self.model_name, scores)
        for column, count in unseen.items():
            child = self._unseen.get(column)
            if child is None:
                child = self._unseen[column] = UNSEEN_VALUES.labels(self.model_name, column)
            child.inc(count)
