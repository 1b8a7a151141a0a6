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

import json
import re
import threading
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, Final

import grpc
import numpy as np
import pandas as pd
from prometheus_client import REGISTRY, Counter, Gauge, Histogram, Info
from prometheus_client.core import HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

from components._shared import keys

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


NULL_METRIC: Final = "kfp_tabular_null_values"
OUT_OF_RANGE_METRIC: Final = "kfp_tabular_out_of_range_values"
NULL_VALUES = Counter(
    NULL_METRIC, "Missing (null) input values, per model and column.", ["model_name", "column"]
)
OUT_OF_RANGE_VALUES = Counter(
    OUT_OF_RANGE_METRIC,
    "Numeric input values outside the training data's [min, max] (profile.json), per column.",
    ["model_name", "column"],
)


# Below this many rows a Python loop counts an object column's nulls faster than pandas does.
_SMALL_OBJECT_COLUMN: Final = 64


def _nulls(values: np.ndarray) -> int:
    """Missing values of one decoded column: NaN (floats), None or NaN (objects)."""
    kind = values.dtype.kind
    if kind == "f":
        return int(np.count_nonzero(np.isnan(values)))
    if kind != "O":
        return 0  # integers, booleans: no missing value survives decoding as these dtypes
    if values.size <= _SMALL_OBJECT_COLUMN:
        return sum(1 for v in values if v is None or v != v)
    return int(np.count_nonzero(pd.isna(values)))


def _outside(values: np.ndarray, bounds: tuple[float, float] | None) -> int:
    """Numeric values outside [low, high] (NaN is not outside: it is a null)."""
    if bounds is None or values.dtype.kind not in "fiu":
        return 0
    return int(np.count_nonzero((values < bounds[0]) | (values > bounds[1])))


def _one_value(value: Any, bounds: tuple[float, float] | None) -> tuple[int, int]:
    """(null, out of range) of a single value, as 0/1."""
    if value is None or value != value:
        return 1, 0
    numeric = isinstance(value, int | float) and not isinstance(value, bool)
    if bounds is None or not numeric:
        return 0, 0
    return 0, int(value < bounds[0] or value > bounds[1])


def numeric_ranges(profile: Mapping[str, Any] | None) -> dict[str, tuple[float, float]]:
    """[min, max] of each numeric column of the bundle's profile."""
    out = {}
    for name, entry in ((profile or {}).get("columns") or {}).items():
        low, high = (entry or {}).get("min"), (entry or {}).get("max")
        if isinstance(low, int | float) and isinstance(high, int | float):
            out[name] = (float(low), float(high))
    return out


class ModelMetrics:
    """The observer a :class:`serving.scoring.Scorer` calls after each prediction.

    Args:
        model_name: The ``model_name`` label.
        ranges: [min, max] of the numeric columns in training (:func:`numeric_ranges`).
    """

    def __init__(
        self, model_name: str, ranges: Mapping[str, tuple[float, float]] | None = None
    ) -> None:
        self.model_name = model_name
        self.ranges = dict(ranges or {})
        self._unseen: dict[str, Counter] = {}

    def __call__(self, scores: np.ndarray, unseen: Mapping[str, int]) -> None:
        SCORES.observe(self.model_name, scores)
        for column, count in unseen.items():
            child = self._unseen.get(column)
            if child is None:
                child = self._unseen[column] = UNSEEN_VALUES.labels(self.model_name, column)
            child.inc(count)

    def inputs(self, columns: Mapping[str, np.ndarray]) -> None:
        """Count the nulls of every column and the out-of-range values of numeric ones."""
        for column, values in columns.items():
            bounds = self.ranges.get(column)
            if values.size == 1:  # one row: Python scalars cost a tenth of numpy calls
                nulls, outside = _one_value(values.item(), bounds)
            else:
                nulls, outside = _nulls(values), _outside(values, bounds)
            if nulls:
                NULL_VALUES.labels(self.model_name, column).inc(nulls)
            if outside:
                OUT_OF_RANGE_VALUES.labels(self.model_name, column).inc(outside)


# --- request metrics, model info ---------------------------------------------------------------

REQUESTS_METRIC: Final = "kfp_tabular_requests"  # exposed as kfp_tabular_requests_total
DURATION_METRIC: Final = "kfp_tabular_request_duration_seconds"
IN_FLIGHT_METRIC: Final = "kfp_tabular_requests_in_flight"
INFO_METRIC: Final = "kfp_tabular_model"  # exposed as kfp_tabular_model_info
REFERENCE_RATE_METRIC: Final = "kfp_tabular_reference_positive_rate"
BATCH_METRIC: Final = "kfp_tabular_micro_batch_requests"
# Latency buckets (seconds): sub-millisecond one-row predictions up to multi-second batches.
DURATION_BUCKETS: Final = (
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
)  # fmt: skip
# Prediction routes by protocol label (bounded: v1, v2); other routes are not counted.
_V1_PREDICT = re.compile(r"^/v1/models/[^/:]+:predict$")
_V2_INFER = re.compile(r"^/v2/models/[^/]+(?:/versions/[^/]+)?/infer$")

REQUESTS = Counter(
    REQUESTS_METRIC,
    "Prediction requests answered, by protocol (v1, v2, grpc) and status class (2xx, 4xx, 5xx).",
    ["model_name", "protocol", "status_class"],
)
DURATION = Histogram(
    DURATION_METRIC,
    "Time to answer a prediction request (read, decode, score, encode), by protocol.",
    ["model_name", "protocol"],
    buckets=DURATION_BUCKETS,
)
IN_FLIGHT = Gauge(
    IN_FLIGHT_METRIC, "Prediction requests being answered now.", ["model_name", "protocol"]
)
MICRO_BATCH = Histogram(
    BATCH_METRIC,
    "Requests scored together in one micro-batch (--max_batch_size; absent when batching is off).",
    ["model_name"],
    buckets=(1, 2, 4, 8, 16, 32, 64, 128),
)
MODEL_INFO = Info(
    INFO_METRIC,
    "The served bundle: model name, candidate, family, code version and bundle digest.",
    ["model_name"],
)
REFERENCE_POSITIVE_RATE = Gauge(
    REFERENCE_RATE_METRIC,
    "Positive rate of the bundle's training data (profile.json), the score shift reference.",
    ["model_name"],
)


def status_class(status: int) -> str:
    """``2xx``, ``4xx``, ``5xx`` (bounded label values)."""
    return f"{status // 100}xx"


def describe_model(
    model_name: str, bundle: Any, profile: Mapping[str, Any] | None, evaluation: Any = None
) -> None:
    """Set the info metric and the reference positive rate for the loaded bundle."""
    manifest = bundle.manifest
    MODEL_INFO.labels(model_name).info(
        {
            "candidate": str(manifest.get(keys.MANIFEST_CANDIDATE) or ""),
            "family": str(bundle.family),
            "version": str(manifest.get(keys.MANIFEST_CREATED_AT) or ""),
            "code_version": str(manifest.get(keys.MANIFEST_CODE_VERSION) or ""),
            # The digest deploy records and the runtime can require: sha256 of manifest.json.
            "bundle_digest": str(bundle.manifest_sha256),
            # How the trees are evaluated (components._shared.compiled): compiled or booster.
            "evaluation": str(getattr(evaluation, "path", "booster")),
            "evaluation_engine": str(getattr(evaluation, "engine", None) or ""),
        }
    )
    rate = ((profile or {}).get("target") or {}).get("positive_rate")
    if isinstance(rate, int | float):
        REFERENCE_POSITIVE_RATE.labels(model_name).set(float(rate))


def read_profile(bundle_dir: str) -> dict[str, Any] | None:
    """The bundle's profile.json (None when it cannot be read: the metric is then absent)."""
    try:
        path = Path(bundle_dir) / keys.PROFILE_FILE
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def protocol_of(path: str) -> str | None:
    """``v1`` or ``v2`` for a prediction route, None for any other route."""
    if _V1_PREDICT.match(path):
        return "v1"
    if _V2_INFER.match(path):
        return "v2"
    return None


class RequestMetrics:
    """ASGI middleware: counts, times and tracks in-flight prediction requests of ``app``."""

    def __init__(self, app: Any, model_name: str) -> None:
        self.app = app
        self.model_name = model_name
        # The labelled children, looked up once (``labels()`` costs a lock and a dict per call).
        self._children = {
            protocol: (
                IN_FLIGHT.labels(model_name, protocol),
                DURATION.labels(model_name, protocol),
            )
            for protocol in ("v1", "v2")
        }

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        protocol = protocol_of(scope.get("path", "")) if scope["type"] == "http" else None
        if protocol is None:
            await self.app(scope, receive, send)
            return
        status = [500]

        async def record_status(message: Any) -> None:
            if message["type"] == "http.response.start":
                status[0] = int(message["status"])
            await send(message)

        in_flight, duration = self._children[protocol]
        in_flight.inc()
        start = time.perf_counter()
        try:
            await self.app(scope, receive, record_status)
        finally:
            in_flight.dec()
            duration.observe(time.perf_counter() - start)
            REQUESTS.labels(self.model_name, protocol, status_class(status[0])).inc()


# gRPC status codes a client caused (4xx); every other failure is the server's (5xx).
_GRPC_CLIENT_CODES: Final = frozenset(
    {
        grpc.StatusCode.INVALID_ARGUMENT,
        grpc.StatusCode.NOT_FOUND,
        grpc.StatusCode.OUT_OF_RANGE,
        grpc.StatusCode.FAILED_PRECONDITION,
        grpc.StatusCode.UNAUTHENTICATED,
        grpc.StatusCode.PERMISSION_DENIED,
        grpc.StatusCode.RESOURCE_EXHAUSTED,
    }
)


def grpc_status_class(code: grpc.StatusCode | None) -> str:
    """The HTTP status class of a gRPC status (OK or none: 2xx)."""
    if code is None or code == grpc.StatusCode.OK:
        return "2xx"
    return "4xx" if code in _GRPC_CLIENT_CODES else "5xx"


def count_grpc_error(model_name: str, code: grpc.StatusCode) -> None:
    """Count a ``ModelInfer`` call that ends with ``code`` (before the status is sent)."""
    REQUESTS.labels(model_name, "grpc", grpc_status_class(code)).inc()


class GrpcRequestMetrics(grpc.aio.ServerInterceptor):
    """The same request metrics for the gRPC ``ModelInfer`` calls (protocol ``grpc``)."""

    def __init__(self, model_name: str) -> None:
        self.model_name = model_name

    async def intercept_service(self, continuation: Any, details: Any) -> Any:
        handler = await continuation(details)
        if handler is None or not details.method.endswith("/ModelInfer"):
            return handler
        inner = handler.unary_unary
        model_name = self.model_name

        async def counted(request: Any, context: Any) -> Any:
            in_flight = IN_FLIGHT.labels(model_name, "grpc")
            in_flight.inc()
            start = time.perf_counter()
            try:
                response = await inner(request, context)
            finally:
                in_flight.dec()
                DURATION.labels(model_name, "grpc").observe(time.perf_counter() - start)
            # Errors were counted by the service before it aborted (count_grpc_error); this
            # line runs before grpc sends the response, so a reader never sees it uncounted.
            REQUESTS.labels(model_name, "grpc", grpc_status_class(None)).inc()
            return response

        return grpc.unary_unary_rpc_method_handler(
            counted,
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )
