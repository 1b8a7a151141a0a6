"""The drift verdicts as Prometheus metrics, pushed to a Pushgateway.

A drift run is a batch job (a KFP task or the CronJob), gone before Prometheus could scrape it,
so it pushes its verdicts to a Prometheus Pushgateway, which Prometheus scrapes with
``honor_labels`` (``manifests/base/monitoring/podmonitor-pushgateway.yaml``). One push replaces
the group ``{job="kfp-tabular-drift", model_name=...}`` whole: the gauges always show the last
run's verdicts, and a column no longer tested disappears instead of keeping a stale score.

Metrics (gauges; ``model_name`` on every one, ``namespace`` too when given):

- ``kfp_tabular_drift_detected``: 1 when the run found drift of any kind (data, prediction,
  performance, or a monitored column with no current value), else 0.
- ``kfp_tabular_drift_dataset_drift``: 1 when the share of drifted columns reached the threshold.
- ``kfp_tabular_drift_share`` and ``kfp_tabular_drift_share_threshold``: that share and threshold.
- ``kfp_tabular_drift_column_score{column, method}`` and ``kfp_tabular_drift_column_drifted
  {column}``: each tested column's test score and verdict.
- ``kfp_tabular_drift_prediction_drift`` / ``kfp_tabular_drift_performance_drift``: 0 or 1.
- ``kfp_tabular_drift_current_rows``: current rows judged.
- ``kfp_tabular_drift_last_run_timestamp_seconds``: when the run pushed (Unix time), for the
  "drift job has not run" alert.

The alert rules on them are :mod:`serving.alert_rules`' ``KfpTabularDataDrift`` and
``KfpTabularDriftJobStale``.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Final

from prometheus_client import CollectorRegistry, Gauge, push_to_gateway

from components._shared.errors import KfpTabularError
from components.drift.analysis import Analysis

JOB: Final = "kfp-tabular-drift"
PREFIX: Final = "kfp_tabular_drift_"
PUSH_TIMEOUT_SECONDS: Final = 10.0


class PushError(KfpTabularError):
    """The Pushgateway could not be reached or refused the push."""


def drift_registry(analysis: Analysis, labels: Mapping[str, str]) -> CollectorRegistry:
    """A registry holding the run's verdicts as gauges (the module doc lists them)."""
    registry = CollectorRegistry()
    names = list(labels)

    def gauge(name: str, help_text: str, value: float) -> None:
        metric = Gauge(f"{PREFIX}{name}", help_text, names, registry=registry)
        metric.labels(**labels).set(value)

    result = analysis.result
    gauge("detected", "1 when the last drift run found drift of any kind.", analysis.drift_detected)
    gauge("dataset_drift", "1 when the drifted share reached the threshold.", result.dataset_drift)
    gauge("share", "Share of tested columns that drifted.", result.share)
    gauge("share_threshold", "Drifted share at which the dataset drifts.", result.drift_share)
    gauge(
        "prediction_drift",
        "1 when the predicted scores drifted.",
        bool(analysis.prediction.get("drifted")),
    )
    gauge(
        "performance_drift",
        "1 when AUC on labelled current rows dropped past the limit.",
        bool(analysis.performance.get("drifted")),
    )
    gauge("current_rows", "Current rows the last drift run judged.", result.current_rows)
    _columns(registry, analysis, labels)
    gauge("last_run_timestamp_seconds", "Unix time of the last drift run's push.", time.time())
    return registry


def _columns(registry: CollectorRegistry, analysis: Analysis, labels: Mapping[str, str]) -> None:
    score = Gauge(
        f"{PREFIX}column_score",
        "Drift test score of each tested column (the method's statistic or p-value).",
        [*labels, "column", "method"],
        registry=registry,
    )
    drifted = Gauge(
        f"{PREFIX}column_drifted",
        "1 when the column drifted (or had no current value).",
        [*labels, "column"],
        registry=registry,
    )
    for column in analysis.result.columns:
        drifted.labels(**labels, column=column.column).set(column.drifted)
        if column.score is not None:
            score.labels(**labels, column=column.column, method=column.method).set(column.score)


def push_verdicts(analysis: Analysis, url: str, model_name: str, namespace: str = "") -> None:
    """Push the run's verdicts to the Pushgateway at ``url``, replacing the model's group.

    Raises:
        PushError: the gateway is unreachable or answers an error, naming the URL.
    """
    labels = {"model_name": model_name, **({"namespace": namespace} if namespace else {})}
    registry = drift_registry(analysis, labels)
    try:
        push_to_gateway(
            url, job=JOB, grouping_key=labels, registry=registry, timeout=PUSH_TIMEOUT_SECONDS
        )
    except (OSError, ValueError) as exc:  # URLError and HTTPError are OSErrors
        reason = getattr(exc, "reason", None) or exc
        raise PushError(
            f"pushgateway_url {url!r}: could not push the drift metrics ({reason}); "
            "the verdicts were not written either: fix or clear pushgateway_url and rerun"
        ) from None
