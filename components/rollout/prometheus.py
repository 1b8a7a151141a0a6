"""Where a rollout's numbers come from: the local servers' ``/metrics``, or a Prometheus HTTP API.

Local: each server's Prometheus text is scraped before and after a window; the difference is
what the window did: predictions (KServe's ``request_predict_seconds`` count and buckets) and
the score histogram (``kfp_tabular_prediction_score``).

Cluster: instant queries to ``<url>/api/v1/query``. The PromQL is configurable (``queries``),
templated with ``{namespace}``, ``{pods}`` (a regex of the side's pods), ``{workload}`` (the
side's Deployment for Istio's metrics) and ``{window}`` (e.g. ``300s``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

import httpx
import numpy as np
from prometheus_client.parser import text_string_to_metric_families

from components._shared.errors import ConfigError, DataReadError, expected_got
from components.rollout.analysis import SideWindow

PREDICT_METRIC: Final = "request_predict_seconds"
SCORE_METRIC: Final = "kfp_tabular_prediction_score"
# Upper bounds of the runtime's score histogram (serving/metrics.py SCORE_BUCKETS) and +Inf.
SCORE_BOUNDS: Final = np.array([*(round(0.05 * k, 2) for k in range(1, 21)), np.inf])
REQUESTS: Final = "requests"
ERRORS: Final = "errors"
LATENCY_P95: Final = "latency_p95_seconds"
SCORE_BUCKETS: Final = "score_buckets"
QUERY_NAMES: Final = (REQUESTS, ERRORS, LATENCY_P95, SCORE_BUCKETS)
# The key of ``prometheus_queries`` that picks a preset (its other keys still override it).
PRESET: Final = "preset"
_SIDE: Final = 'namespace="{namespace}",pod=~"{pods}"'
# Defaults: the runtime's own metrics (serving/metrics.py), selected by namespace and pods.
RUNTIME_QUERIES: Final = {
    REQUESTS: f"sum(increase(kfp_tabular_requests_total{{{{{_SIDE}}}}}[{{window}}]))",
    ERRORS: f'sum(increase(kfp_tabular_requests_total{{{{{_SIDE},status_class="5xx"}}}}'
    "[{window}]))",
    LATENCY_P95: "histogram_quantile(0.95, sum by (le) (rate("
    f"kfp_tabular_request_duration_seconds_bucket{{{{{_SIDE}}}}}[{{window}}])))",
    SCORE_BUCKETS: "sum by (le) (increase(kfp_tabular_prediction_score_bucket"
    f"{{{{{_SIDE}}}}}[{{window}}]))",
}
# Istio's request counter for requests and failures (it also sees the requests a crashed pod
# never answered), KServe's latency histogram, the runtime's score histogram.
_ISTIO_SIDE: Final = (
    'destination_workload_namespace="{namespace}",destination_workload=~"{workload}"'
)
ISTIO_QUERIES: Final = {
    REQUESTS: f"sum(increase(istio_requests_total{{{{{_ISTIO_SIDE}}}}}[{{window}}]))",
    ERRORS: f'sum(increase(istio_requests_total{{{{{_ISTIO_SIDE},response_code=~"5.."}}}}'
    "[{window}]))",
    LATENCY_P95: "histogram_quantile(0.95, sum by (le) (rate(request_predict_seconds_bucket"
    f"{{{{{_SIDE}}}}}[{{window}}])))",
    SCORE_BUCKETS: RUNTIME_QUERIES[SCORE_BUCKETS],
}
PRESETS: Final = {"runtime": RUNTIME_QUERIES, "istio": ISTIO_QUERIES}
DEFAULT_QUERIES: Final = RUNTIME_QUERIES
SCRAPE_TIMEOUT_S: Final = 5.0

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


# --- local /metrics -------------------------------------------------------------------------


def parse_metrics(text: str) -> Samples:
    """Prometheus text exposition to {(sample name, labels): value}."""
    out: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out[(sample.name, frozenset(sample.labels.items()))] = float(sample.value)
    return out


def scrape(url: str, *, timeout: float = SCRAPE_TIMEOUT_S) -> Samples | None:
    """The server's ``/metrics``, or None when it does not answer (a dead canary)."""
    try:
        response = httpx.get(f"{url.rstrip('/')}/metrics", timeout=timeout)
    except httpx.HTTPError:
        return None
    if response.status_code != 200:
        return None
    return parse_metrics(response.text)


def _buckets(samples: Samples, name: str, model_name: str) -> dict[float, float]:
    out: dict[float, float] = {}
    for (sample, labels), value in samples.items():
        label = dict(labels)
        if sample == f"{name}_bucket" and label.get("model_name") == model_name:
            out[float(label["le"])] = value
    return out


def _value(samples: Samples, name: str, model_name: str) -> float:
    return next(
        (
            v
            for (s, labels), v in samples.items()
            if s == name and dict(labels).get("model_name") == model_name
        ),
        0.0,
    )


def histogram_quantile(q: float, cumulative: Mapping[float, float]) -> float | None:
    """Prometheus' ``histogram_quantile`` on cumulative bucket counts {le: count}."""
    bounds = sorted(cumulative)
    if not bounds or cumulative[bounds[-1]] <= 0:
        return None
    total = cumulative[bounds[-1]]
    rank = q * total
    previous_bound, previous_count = 0.0, 0.0
    for bound in bounds:
        count = cumulative[bound]
        if count >= rank:
            if math.isinf(bound):
                return previous_bound  # Prometheus answers the last finite bound
            width = count - previous_count
            share = (rank - previous_count) / width if width > 0 else 1.0
            return previous_bound + (bound - previous_bound) * share
        previous_bound, previous_count = bound, count
    return None


@dataclass
class ServerDelta:
    """What one local server did between two scrapes."""

    predictions: float
    latency_p95_ms: float | None
    score_bounds: np.ndarray
    score_counts: np.ndarray


def delta(before: Samples, after: Samples, model_name: str) -> ServerDelta:
    """The difference between two scrapes of one server, for one model."""
    predictions = _value(after, f"{PREDICT_METRIC}_count", model_name) - _value(
        before, f"{PREDICT_METRIC}_count", model_name
    )
    lat_after = _buckets(after, PREDICT_METRIC, model_name)
    lat_before = _buckets(before, PREDICT_METRIC, model_name)
    latency = {b: v - lat_before.get(b, 0.0) for b, v in lat_after.items()}
    p95 = histogram_quantile(0.95, latency)
    score_after = _buckets(after, SCORE_METRIC, model_name)
    score_before = _buckets(before, SCORE_METRIC, model_name)
    bounds = np.array(sorted(score_after), dtype=np.float64)
    cumulative = np.array([score_after[b] - score_before.get(b, 0.0) for b in bounds])
    counts = np.diff(cumulative, prepend=0.0) if cumulative.size else cumulative
    return ServerDelta(
        predictions=predictions,
        latency_p95_ms=None if p95 is None else p95 * 1000.0,
        score_bounds=bounds,
        score_counts=counts,
    )


# --- Prometheus HTTP API ----------------------------------------------------------------------


class PrometheusClient:
    """Instant queries against ``<url>/api/v1/query`` (bearer token optional)."""

    def __init__(self, url: str, *, token: str = "", timeout: float = 10.0) -> None:
        if not url.startswith(("http://", "https://")):
            raise ConfigError(expected_got("prometheus url", "http(s)://host[:port]", repr(url)))
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.client = httpx.Client(base_url=url.rstrip("/"), headers=headers, timeout=timeout)

    def query(self, promql: str) -> list[tuple[dict[str, str], float]]:
        """The instant vector of ``promql`` as (labels, value) pairs."""
        try:
            response = self.client.get("/api/v1/query", params={"query": promql})
        except httpx.HTTPError as exc:
            raise DataReadError(f"prometheus query {promql!r}: {exc}") from None
        try:
            body = response.json()
        except ValueError:
            body = {}
        if response.status_code != 200 or body.get("status") != "success":
            raise DataReadError(
                f"prometheus query {promql!r}: HTTP {response.status_code}, "
                f"{body.get('errorType', '')} {body.get('error', response.text[:200])}"
            )
        data = body.get("data", {})
        if data.get("resultType") == "scalar":
            return [({}, float(data["result"][1]))]
        return [(dict(r.get("metric", {})), float(r["value"][1])) for r in data.get("result", [])]

    def close(self) -> None:
        self.client.close()


def queries_with_defaults(overrides: Mapping[str, str]) -> dict[str, str]:
    """The preset's PromQL (``preset``: runtime, the default, or istio) with the given names
    replaced; an unknown name or preset is an error."""
    overrides = dict(overrides)
    preset = overrides.pop(PRESET, "runtime")
    if preset not in PRESETS:
        raise ConfigError(expected_got("prometheus queries preset", sorted(PRESETS), repr(preset)))
    unknown = sorted(set(overrides) - set(QUERY_NAMES))
    if unknown:
        raise ConfigError(
            expected_got("prometheus queries", f"names in {(*QUERY_NAMES, PRESET)}", unknown)
        )
    return {**PRESETS[preset], **overrides}


def cluster_window(
    client: PrometheusClient,
    queries: Mapping[str, str],
    side: str,
    variables: Mapping[str, str],
    score_bounds: np.ndarray,
) -> SideWindow:
    """One side's window from Prometheus (requests, errors, p95 latency, score buckets)."""

    def scalar(name: str) -> float | None:
        result = client.query(queries[name].format(**variables))
        values = [v for _, v in result if math.isfinite(v)]
        return sum(values) if values else None

    requests = scalar(REQUESTS) or 0.0
    errors = scalar(ERRORS) or 0.0
    p95 = scalar(LATENCY_P95)
    cumulative: dict[float, float] = {}
    for labels, value in client.query(queries[SCORE_BUCKETS].format(**variables)):
        if "le" in labels:
            cumulative[float(labels["le"])] = value
    counts = None
    if cumulative:
        ordered = np.array([cumulative.get(float(b), 0.0) for b in score_bounds])
        counts = np.diff(ordered, prepend=0.0)
    extra: dict[str, Any] = {"source": "prometheus"}
    return SideWindow(
        side=side,
        requests=round(requests),
        errors=round(errors),
        latency_p95_value_ms=None if p95 is None else p95 * 1000.0,
        latency_source="prometheus p95",
        score_bounds=score_bounds,
        score_counts=counts,
        extra=extra,
    )
