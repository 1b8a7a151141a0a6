"""Watch a deployed bundle for drift: fast verdicts on all current rows, Evidently's report on a
sample, prediction and performance drift, and an optional retrain trigger.

``main`` is what the KFP component (and ``cli.py``) calls; ``run(inputs, outputs, config)``
reads and judges the current data in one chunked pass (:mod:`components.drift.analysis`),
renders Evidently's report and the summary (:mod:`components.drift.report`), submits a retrain
run when asked (:mod:`components.drift.retrain`), and ``write`` writes every output last, each
atomically.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from components._shared import keys, registry
from components._shared.artifacts import (
    ArtifactLike,
    MetricsLike,
    set_display_name,
    write_text_atomic,
)
from components._shared.entry import sort_arguments
from components.drift.analysis import Analysis, analyse
from components.drift.config import DriftConfig
from components.drift.push import push_verdicts
from components.drift.report import EvidentlyPages, render_markdown, render_report
from components.drift.retrain import maybe_retrain

__all__ = ["DriftInputs", "DriftOutcome", "DriftOutputs", "main", "metric_values", "run", "write"]


@dataclass(frozen=True)
class DriftInputs:
    """drift reads no input artifacts: the bundle and the current data are URIs (config)."""


@dataclass(frozen=True)
class DriftOutputs:
    """The metrics, Evidently's report and snapshot, the verdicts, the summary and the flag."""

    metrics: MetricsLike
    report_html: ArtifactLike
    snapshot: ArtifactLike
    result: ArtifactLike
    summary: ArtifactLike
    drift_detected: str  # an OutputPath: "true" or "false"


@dataclass(frozen=True)
class DriftOutcome:
    """Everything one run found; ``to_dict`` is the ``drift.json`` result."""

    analysis: Analysis
    pages: EvidentlyPages
    retrain: dict[str, Any]
    bundle_uri: str

    @property
    def drift_detected(self) -> bool:
        return self.analysis.drift_detected

    def to_dict(self) -> dict[str, Any]:
        analysis, result = self.analysis, self.analysis.result
        return {
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "bundle_uri": self.bundle_uri,
            "drift_detected": self.drift_detected,
            "dataset_drift": result.dataset_drift,
            "drift_share_threshold": result.drift_share,
            "drifted_share": result.share,
            "drifted_columns": result.drifted_columns,
            "all_null_columns": result.all_null_columns,
            "current_rows": result.current_rows,
            "window": analysis.window,
            "columns": [c.to_dict() for c in result.columns],
            "missing_columns": analysis.missing_columns,
            "prediction": analysis.prediction,
            "performance": analysis.performance,
            "read": analysis.read.to_dict(),
            "evidently": {**self.pages.info, "sample_rows": self.pages.current_rows},
            "retrain": self.retrain,
        }


def main(arguments: dict[str, Any]) -> None:
    """The component's entry: its arguments sorted into inputs, outputs and config."""
    run(*sort_arguments(arguments, DriftInputs, DriftOutputs, DriftConfig))


def run(inputs: DriftInputs, outputs: DriftOutputs, config: DriftConfig) -> DriftOutcome:
    """Judge the current data, push the verdicts to a Pushgateway when one is given, render the
    report, maybe retrain, write every output.

    Raises:
        BundleError: the bundle fails verification.
        ConfigError: a bad parameter, naming it.
        DataError: no usable current rows, or monitored columns missing (policy "error").
        PushError: the Pushgateway is unreachable or refused the push.
    """
    del inputs  # no input artifacts
    config = resolve_bundle(config)
    analysis = analyse(config)
    if config.pushgateway_url:  # before any side effect: a failed push leaves nothing behind
        push_verdicts(analysis, config.pushgateway_url, config.model_name, config.model_namespace)
    pages = render_report(analysis, config.sample_rows)
    outcome = DriftOutcome(analysis, pages, maybe_retrain(config, analysis), config.bundle_uri)
    write(outcome, outputs)
    return outcome


def resolve_bundle(config: DriftConfig) -> DriftConfig:
    """``config`` with a ``models:/<name>@<alias>`` bundle_uri resolved through the registry
    to the version's bundle URI (the same bundle every later use reads, the retrain included);
    any other bundle_uri unchanged."""
    if not config.bundle_uri.startswith(registry.MODELS_SCHEME):
        return config
    resolved = registry.resolve_champion_uri(config.bundle_uri, "", config.tracking_uri)
    print(f"drift: bundle_uri {config.bundle_uri} is {resolved}")  # in the step's log
    return dataclasses.replace(config, bundle_uri=resolved)


def write(outcome: DriftOutcome, outputs: DriftOutputs) -> None:
    """Write every output (each atomically) and describe them for the UI."""
    data = outcome.to_dict()
    write_text_atomic(outputs.report_html.path, outcome.pages.html)
    write_text_atomic(outputs.snapshot.path, outcome.pages.snapshot_json)
    write_text_atomic(outputs.result.path, json.dumps(data, indent=2, default=float) + "\n")
    write_text_atomic(outputs.summary.path, render_markdown(data))
    write_text_atomic(outputs.drift_detected, "true" if outcome.drift_detected else "false")
    for name, value in metric_values(outcome).items():
        outputs.metrics.log_metric(name, value)
    _describe(outcome, outputs)


def _describe(outcome: DriftOutcome, outputs: DriftOutputs) -> None:
    """Metadata and display names shown in the KFP UI."""
    artifacts = (outputs.metrics, outputs.report_html, outputs.snapshot, outputs.result)
    for artifact in (*artifacts, outputs.summary):
        artifact.metadata[keys.META_DATASET_DRIFT] = outcome.analysis.result.dataset_drift
        artifact.metadata[keys.META_SAMPLE_ROWS] = outcome.pages.current_rows
    outputs.report_html.metadata[keys.META_HTML_BYTES] = outcome.pages.info.get("html_bytes", 0)
    if outcome.retrain.get("run_id"):
        outputs.result.metadata[keys.META_RETRAIN_RUN_ID] = outcome.retrain["run_id"]
    verdict = "drift" if outcome.drift_detected else "no drift"
    set_display_name(outputs.metrics, f"drift ({verdict})")
    set_display_name(outputs.report_html, "Evidently drift report")
    set_display_name(outputs.snapshot, "Evidently snapshot")
    set_display_name(outputs.result, "drift verdicts")
    set_display_name(outputs.summary, f"drift summary ({verdict})")


def metric_values(outcome: DriftOutcome) -> dict[str, float]:
    """The Metrics artifact: dataset verdict, share, counts and every column's score."""
    result, prediction = outcome.analysis.result, outcome.analysis.prediction
    values = {
        keys.METRIC_DATASET_DRIFT: float(result.dataset_drift),
        keys.METRIC_DRIFT_SHARE: float(result.share),
        keys.METRIC_DRIFTED_COLUMNS: float(len(result.drifted_columns)),
        keys.METRIC_TESTED_COLUMNS: float(len(result.tested)),
        keys.METRIC_CURRENT_ROWS: float(result.current_rows),
        keys.METRIC_PREDICTION_DRIFT: float(bool(prediction.get("drifted"))),
        keys.METRIC_PERFORMANCE_DRIFT: float(bool(outcome.analysis.performance.get("drifted"))),
    }
    if prediction.get("available"):
        values[keys.METRIC_PREDICTION_DRIFT_SCORE] = float(prediction["score"])
    for column in result.tested:
        assert column.score is not None
        values[f"{keys.METRIC_DRIFT_SCORE_PREFIX}{column.column}"] = float(column.score)
    return values
