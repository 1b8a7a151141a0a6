"""Watch a deployed bundle for drift: fast verdicts on all current rows, Evidently's report on a
sample, prediction and performance drift, and an optional retrain trigger.

One pass over the current data, chunk by chunk (``current.read_current``): each chunk updates
the per-column summaries (``verdicts.DriftMonitor``), is scored by the bundle's model (the
prediction-drift summary, and labels for performance drift when the target is present) and is
offered to a bounded reservoir for the Evidently report; then it is dropped. Memory is the
chunk, the summaries (bounded by the profile), the sample and one float per scored row.
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

import numpy as np
import pandas as pd

from components._shared import io, keys
from components._shared.artifacts import (
    ArtifactLike,
    MetricsLike,
    set_display_name,
    write_text_atomic,
)
from components._shared.bundle import Bundle, load_bundle
from components._shared.errors import (
    BundleError,
    ConfigError,
    DataError,
    KfpTabularError,
    expected_got,
)
from components._shared.metrics import classification_metrics
from components._shared.profile import numeric_profile
from components.drift import current as current_data
from components.drift.samples import Reservoir, reference_sample
from components.drift.summary import render_markdown
from components.drift.verdicts import (
    CATEGORICAL_KINDS,
    NUMERIC_KINDS,
    DriftMonitor,
    DriftResult,
    DriftSettings,
)

MISSING_POLICIES: Final = ("error", "report")
DEFAULT_SAMPLE_ROWS: Final = 2000
REFERENCE_SCORE_ROWS: Final = 5000
DEFAULT_MAX_AUC_DROP: Final = 0.05
SCORE_COLUMN: Final = keys.DRIFT_SCORE_COLUMN
# Where the compiled retrain pipeline sits in a source checkout and in the component image.
DEFAULT_RETRAIN_PIPELINE: Final = str(
    Path(__file__).resolve().parents[2] / "pipelines" / "compiled" / "train_and_rollout.yaml"
)


@dataclass
class DriftConfig:
    """Every knob of one drift run (the component's and the CLI's parameters)."""

    bundle_uri: str
    current_uri: str
    current_format: str = current_data.AUTO
    window_start: str = ""
    window_end: str = ""
    columns: Sequence[str] = ()
    settings: DriftSettings = field(default_factory=DriftSettings)
    missing_columns: str = "error"
    sample_rows: int = DEFAULT_SAMPLE_ROWS
    chunk_rows: int = current_data.DEFAULT_CHUNK_ROWS
    reference_data_uri: str = ""
    max_auc_drop: float = DEFAULT_MAX_AUC_DROP
    kfp_host: str = ""
    retrain_pipeline_uri: str = ""
    retrain_experiment: str = "drift-retrain"
    kfp_namespace: str = ""


@dataclass
class DriftOutcome:
    """Everything the run found; ``to_dict`` is the ``drift.json`` result."""

    result: DriftResult
    read: current_data.ReadReport
    window: str
    prediction: dict[str, Any]
    performance: dict[str, Any]
    missing_columns: list[str]
    sample_rows: int
    report: dict[str, Any] = field(default_factory=dict)
    retrain: dict[str, Any] = field(default_factory=dict)
    bundle_uri: str = ""

    @property
    def drift_detected(self) -> bool:
        return (
            self.result.dataset_drift
            or bool(self.prediction.get("drifted"))
            or bool(self.performance.get("drifted"))
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "bundle_uri": self.bundle_uri,
            "drift_detected": self.drift_detected,
            "dataset_drift": self.result.dataset_drift,
            "drift_share_threshold": self.result.drift_share,
            "drifted_share": self.result.share,
            "drifted_columns": self.result.drifted_columns,
            "current_rows": self.result.current_rows,
            "window": self.window,
            "columns": [c.to_dict() for c in self.result.columns],
            "missing_columns": self.missing_columns,
            "prediction": self.prediction,
            "performance": self.performance,
            "read": self.read.to_dict(),
            "evidently": {**self.report, "sample_rows": self.sample_rows},
            "retrain": self.retrain,
        }


def monitored_columns(
    bundle: Bundle, profile: Mapping[str, Any], wanted: Sequence[str]
) -> dict[str, str]:
    """``{column: kind}`` to test: the feature columns Evidently can test, or ``wanted``."""
    kinds = {c.name: c.kind for c in bundle.schema.feature_columns}
    testable = NUMERIC_KINDS + CATEGORICAL_KINDS
    if wanted:
        bad = [c for c in wanted if kinds.get(c) not in testable]
        if bad:
            usable = sorted(c for c, k in kinds.items() if k in testable)
            raise ConfigError(expected_got("columns", f"feature columns among {usable}", bad))
        return {c: kinds[c] for c in wanted}
    return {c: k for c, k in kinds.items() if k in testable and c in profile["columns"]}


def _read_profile(bundle: Bundle, bundle_uri: str) -> dict[str, Any]:
    """The bundle's profile.json, checked against the sha256 its manifest lists."""
    raw = io.read_bytes(io.join(bundle_uri, keys.PROFILE_FILE))
    expected = bundle.manifest[keys.MANIFEST_FILES].get(keys.PROFILE_FILE)
    if hashlib.sha256(raw).hexdigest() != expected:
        raise BundleError(f"{keys.PROFILE_FILE}: sha256 does not match the manifest")
    profile: dict[str, Any] = json.loads(raw)
    return profile


def _reference_scores(bundle: Bundle, uri: str, chunk_rows: int) -> tuple[np.ndarray | None, str]:
    """Model scores on up to REFERENCE_SCORE_ROWS rows of the reference data, or why not."""
    if not uri:
        return None, "no reference data URI (manifest training_data.source.uri is empty)"
    read = current_data.ReadReport()
    sample = Reservoir(REFERENCE_SCORE_ROWS, seed=1)
    try:
        for chunk in current_data.read_current(
            uri, bundle.schema, bundle.featurizer.input_columns_, source_kind=current_data.DATASET,
            chunk_rows=chunk_rows, report=read,
        ):  # fmt: skip
            sample.add(chunk)
        rows = sample.frame()
        if rows.empty:
            return None, f"reference data {uri!r} has no rows"
        return bundle.predict_proba_frame(rows), f"model scores on {len(rows)} rows of {uri}"
    except (KfpTabularError, KeyError, ValueError) as exc:
        return None, f"reference data {uri!r} unusable: {exc}"


def analyse(
    config: DriftConfig,
) -> tuple[DriftOutcome, pd.DataFrame, dict[str, Any], dict[str, str]]:
    """Run the drift job without writing anything.

    Returns:
        The outcome (verdicts, prediction and performance drift, what was read), the current
        sample for the report, the reference profile and the monitored ``{column: kind}``.
    """
    if config.missing_columns not in MISSING_POLICIES:
        raise ConfigError(
            expected_got("missing_columns", list(MISSING_POLICIES), repr(config.missing_columns))
        )
    bundle = load_bundle(config.bundle_uri)
    profile = _read_profile(bundle, config.bundle_uri)
    kinds = monitored_columns(bundle, profile, config.columns)
    monitor = DriftMonitor(profile, kinds, config.settings)
    window = current_data.Window.parse(config.window_start, config.window_end)
    schema = bundle.schema
    needed = list(dict.fromkeys([*kinds, *bundle.featurizer.input_columns_]))

    ref_scores, score_source = _reference_scores(
        bundle,
        config.reference_data_uri
        or str(
            (bundle.manifest.get(keys.MANIFEST_TRAINING_DATA) or {}).get("source", {}).get("uri")
            or ""
        ),
        config.chunk_rows,
    )
    score_monitor = None
    if ref_scores is not None:
        score_profile = {"columns": {SCORE_COLUMN: numeric_profile(ref_scores)}}
        score_monitor = DriftMonitor(score_profile, {SCORE_COLUMN: "numeric"}, DriftSettings())

    read = current_data.ReadReport()
    seen: set[str] = set()
    sample = Reservoir(config.sample_rows)
    labels, labelled_scores = [], []
    unscored = ""
    for chunk in current_data.read_current(
        config.current_uri, schema, needed, source_kind=config.current_format, window=window,
        chunk_rows=config.chunk_rows, report=read,
    ):  # fmt: skip
        seen.update(chunk.columns)
        monitor.update(chunk)
        sample.add(chunk[[c for c in kinds if c in chunk.columns]])
        absent = [c for c in bundle.featurizer.input_columns_ if c not in chunk.columns]
        if absent:
            unscored = f"current rows lack model input column(s) {absent}"
            continue
        scores = bundle.predict_proba_frame(chunk)
        if score_monitor is not None:
            score_monitor.update(pd.DataFrame({SCORE_COLUMN: scores}))
        if schema.target in chunk.columns:
            target = chunk[schema.target]
            has = target.notna().to_numpy()
            if has.any():
                labels.append((target[has].astype(str) == schema.positive_label).to_numpy(np.int8))
                labelled_scores.append(scores[has])

    if monitor.rows == 0:
        raise DataError(
            f"no current rows in window {window.describe()} under {config.current_uri!r}: "
            f"{read.files} file(s), {read.events} event(s) ({read.events_outside_window} outside "
            f"the window, {read.response_events} responses, {read.malformed_events} malformed), "
            f"{len(read.malformed_files)} unreadable file(s)"
            + (f"; first problems: {read.problems[:3]}" if read.problems else "")
        )
    missing = [c for c in kinds if c not in seen]
    if missing and config.missing_columns == "error":
        raise DataError(
            f"current data lacks monitored column(s) {missing} (expected every column of "
            f"{sorted(kinds)}); pass missing_columns='report' to test the others and report these"
        )
    result = monitor.results()
    result.columns = [c for c in result.columns if c.column not in missing]

    prediction: dict[str, Any] = {"available": False, "reason": unscored or score_source}
    if score_monitor is not None and not unscored:
        (verdict,) = score_monitor.results().columns
        prediction = {"available": True, "reference": score_source, **verdict.to_dict()}
    performance = _performance(bundle, labels, labelled_scores, config.max_auc_drop)
    outcome = DriftOutcome(
        result=result,
        read=read,
        window=window.describe(),
        prediction=prediction,
        performance=performance,
        missing_columns=missing,
        sample_rows=0,
        bundle_uri=config.bundle_uri,
    )
    return outcome, sample.frame(), profile, {c: k for c, k in kinds.items() if c not in missing}


def _performance(
    bundle: Bundle, labels: list[np.ndarray], scores: list[np.ndarray], max_auc_drop: float
) -> dict[str, Any]:
    if not labels:
        return {"available": False, "reason": "the current data has no labels (target column)"}
    y, p = np.concatenate(labels), np.concatenate(scores)
    if len(np.unique(y)) < 2:
        return {"available": False, "reason": f"labels of {len(y)} rows hold one class only"}
    now = classification_metrics(y, p, what="current labelled rows")
    then = {k: float(v) for k, v in (bundle.manifest.get(keys.MANIFEST_METRICS) or {}).items()}
    delta = {k: now[k] - then[k] for k in now if k in then}
    drop = -delta.get(keys.METRIC_AUC, 0.0)
    return {
        "available": True,
        "labelled_rows": len(y),
        "current": now,
        "reference": then,
        "reference_split": "valid (bundle manifest)",
        "delta": delta,
        "auc_drop": drop,
        "max_auc_drop": max_auc_drop,
        "drifted": bool(drop > max_auc_drop),
    }


def render_report(
    outcome: DriftOutcome,
    sample: pd.DataFrame,
    profile: Mapping[str, Any],
    kinds: Mapping[str, str],
    sample_rows: int,
) -> tuple[str, str]:
    """Evidently's HTML and snapshot JSON on bounded samples, with the same test per column."""
    from components.drift.evidently_adapter import render_drift_report

    tested = {c.column: c for c in outcome.result.tested}
    usable = {c: k for c, k in kinds.items() if c in tested and c in sample.columns}
    current = sample[list(usable)].copy()
    for name, kind in usable.items():
        if kind == "boolean":
            current[name] = current[name].map({True: "True", False: "False"})
    # Columns Evidently cannot test on the sample (all null there) stay out of the report.
    usable = {c: k for c, k in usable.items() if current[c].notna().any()}
    reference = reference_sample(profile, usable, sample_rows)
    numeric = [c for c, k in usable.items() if k in NUMERIC_KINDS]
    categorical = [c for c in usable if c not in numeric]
    report = render_drift_report(
        reference,
        current[list(usable)],
        numeric=numeric,
        categorical=categorical,
        methods={c: tested[c].method for c in usable},
        thresholds={c: tested[c].threshold for c in usable},
        drift_share=outcome.result.drift_share,
    )
    outcome.sample_rows = len(current)
    outcome.report = {
        "evidently_version": report.version,
        "reference_sample_rows": len(reference),
        "current_sample_rows": len(current),
        "columns": len(usable),
        "html_bytes": len(report.html.encode("utf-8")),
        "scores_on_sample": {c: {"method": m, "score": s} for c, (m, s) in report.scores.items()},
    }
    banner = (
        '<div style="font-family:sans-serif;padding:8px;background:#fff8e1;border:1px solid #ccc">'
        f"<b>Sample:</b> this Evidently report runs on {len(current)} sampled current rows and "
        f"{len(reference)} reference rows drawn from the bundle profile. The verdicts in the "
        f"metrics and the Markdown summary use all {outcome.result.current_rows} current rows.</div>"
    )
    html = report.html.replace("<body>", "<body>" + banner, 1)
    return html, report.snapshot_json


def _retrain(
    config: DriftConfig,
    bundle_schema_target: str,
    outcome: DriftOutcome,
    schema_info: Mapping[str, Any],
) -> dict[str, Any]:
    from components.drift.retrain import RetrainError, submit_run

    if not config.kfp_host:
        return {"submitted": False, "reason": "no Kubeflow host configured"}
    if not outcome.drift_detected:
        return {"submitted": False, "reason": "no drift"}
    if outcome.read.source_kind != current_data.DATASET or not outcome.performance.get("available"):
        return {
            "submitted": False,
            "reason": "retraining needs a labelled dataset as current data (got "
            f"{outcome.read.source_kind} data, labels: {bool(outcome.performance.get('available'))})",
        }
    arguments = {
        "data_uri": config.current_uri,
        "target": bundle_schema_target,
        "champion_uri": config.bundle_uri,
        **schema_info,
    }
    name = f"drift-retrain {datetime.now(UTC).strftime('%Y-%m-%d %H:%M:%S')}"
    try:
        run = submit_run(
            config.kfp_host,
            config.retrain_pipeline_uri or DEFAULT_RETRAIN_PIPELINE,
            arguments,
            run_name=name,
            experiment_name=config.retrain_experiment,
            namespace=config.kfp_namespace,
        )
    except (RetrainError, KfpTabularError) as exc:
        # The drift report is worth keeping even when the trigger fails: say so loudly instead.
        print(f"drift: retrain trigger failed: {exc}", file=sys.stderr)
        return {"submitted": False, "reason": f"failed: {exc}", "arguments": arguments}
    return {"submitted": True, "run_id": run.run_id, "experiment_id": run.experiment_id,
            "url": run.url, "arguments": arguments}  # fmt: skip


def execute(config: DriftConfig) -> tuple[DriftOutcome, str, str, str]:
    """The whole job: analyse, render the report, trigger a retrain; returns the outcome,
    the HTML, the snapshot JSON and the Markdown summary."""
    outcome, sample, profile, kinds = analyse(config)
    html, snapshot = render_report(outcome, sample, profile, kinds, config.sample_rows)
    bundle_manifest = io.read_json(io.join(config.bundle_uri, keys.MANIFEST_FILE))
    schema = bundle_manifest[keys.MANIFEST_SCHEMA]
    info = {
        "positive_label": schema["positive_label"],
        "id_columns": list(schema.get("id_columns") or []),
        "time_column": schema.get("time_column") or "",
    }
    outcome.retrain = _retrain(config, schema["target"], outcome, info)
    return outcome, html, snapshot, render_markdown(outcome.to_dict())


def run(
    *,
    config: DriftConfig,
    metrics: MetricsLike,
    report_html: ArtifactLike,
    snapshot: ArtifactLike,
    result: ArtifactLike,
    summary: ArtifactLike,
    drift_detected_path: str,
) -> DriftOutcome:
    """Run the drift job and write the component's outputs (each atomically)."""
    outcome, html, snapshot_json, markdown = execute(config)
    data = outcome.to_dict()
    write_text_atomic(report_html.path, html)
    write_text_atomic(snapshot.path, snapshot_json)
    write_text_atomic(result.path, json.dumps(data, indent=2, default=float) + "\n")
    write_text_atomic(summary.path, markdown)
    write_text_atomic(drift_detected_path, "true" if outcome.drift_detected else "false")
    for name, value in metric_values(outcome).items():
        metrics.log_metric(name, value)
    for artifact in (metrics, report_html, snapshot, result, summary):
        artifact.metadata[keys.META_DATASET_DRIFT] = outcome.result.dataset_drift
        artifact.metadata[keys.META_SAMPLE_ROWS] = outcome.sample_rows
    report_html.metadata[keys.META_HTML_BYTES] = outcome.report.get("html_bytes", 0)
    if outcome.retrain.get("run_id"):
        result.metadata[keys.META_RETRAIN_RUN_ID] = outcome.retrain["run_id"]
    verdict = "drift" if outcome.drift_detected else "no drift"
    set_display_name(metrics, f"drift ({verdict})")
    set_display_name(report_html, "Evidently drift report")
    set_display_name(snapshot, "Evidently snapshot")
    set_display_name(result, "drift verdicts")
    set_display_name(summary, f"drift summary ({verdict})")
    return outcome


def metric_values(outcome: DriftOutcome) -> dict[str, float]:
    """The Metrics artifact: dataset verdict, share, counts and every column's score."""
    result = outcome.result
    values = {
        keys.METRIC_DATASET_DRIFT: float(result.dataset_drift),
        keys.METRIC_DRIFT_SHARE: float(result.share),
        keys.METRIC_DRIFTED_COLUMNS: float(len(result.drifted_columns)),
        keys.METRIC_TESTED_COLUMNS: float(len(result.tested)),
        keys.METRIC_CURRENT_ROWS: float(result.current_rows),
        keys.METRIC_PREDICTION_DRIFT: float(bool(outcome.prediction.get("drifted"))),
        keys.METRIC_PERFORMANCE_DRIFT: float(bool(outcome.performance.get("drifted"))),
    }
    if outcome.prediction.get("available"):
        values[keys.METRIC_PREDICTION_DRIFT_SCORE] = float(outcome.prediction["score"])
    for column in result.tested:
        assert column.score is not None
        values[f"{keys.METRIC_DRIFT_SCORE_PREFIX}{column.column}"] = float(column.score)
    return values


def make_config(
    *,
    bundle_uri: str,
    current_uri: str,
    current_format: str = current_data.AUTO,
    window_start: str = "",
    window_end: str = "",
    columns: Sequence[str] = (),
    num_method: str = "",
    cat_method: str = "",
    num_threshold: float = 0.0,
    cat_threshold: float = 0.0,
    per_column_method: Mapping[str, str] | None = None,
    per_column_threshold: Mapping[str, float] | None = None,
    drift_share: float = 0.5,
    missing_columns: str = "error",
    sample_rows: int = DEFAULT_SAMPLE_ROWS,
    chunk_rows: int = current_data.DEFAULT_CHUNK_ROWS,
    reference_data_uri: str = "",
    max_auc_drop: float = DEFAULT_MAX_AUC_DROP,
    kfp_host: str = "",
    retrain_pipeline_uri: str = "",
    retrain_experiment: str = "drift-retrain",
    kfp_namespace: str = "",
) -> DriftConfig:
    """A DriftConfig from flat parameters ("" / 0 mean "Evidently's default")."""
    settings = DriftSettings(
        num_method=num_method or None,
        cat_method=cat_method or None,
        num_threshold=num_threshold or None,
        cat_threshold=cat_threshold or None,
        per_column_method=dict(per_column_method or {}),
        per_column_threshold={k: float(v) for k, v in (per_column_threshold or {}).items()},
        drift_share=drift_share,
    )
    settings.check()
    if sample_rows < 0:
        raise ConfigError(expected_got("sample_rows", "an integer >= 0", repr(sample_rows)))
    return DriftConfig(
        bundle_uri=bundle_uri.strip(),
        current_uri=current_uri.strip(),
        current_format=current_format,
        window_start=window_start,
        window_end=window_end,
        columns=list(columns),
        settings=settings,
        missing_columns=missing_columns,
        sample_rows=sample_rows,
        chunk_rows=chunk_rows,
        reference_data_uri=reference_data_uri,
        max_auc_drop=max_auc_drop,
        kfp_host=kfp_host,
        retrain_pipeline_uri=retrain_pipeline_uri,
        retrain_experiment=retrain_experiment,
        kfp_namespace=kfp_namespace,
    )


def run_component(
    *,
    metrics: MetricsLike,
    report_html: ArtifactLike,
    snapshot: ArtifactLike,
    result: ArtifactLike,
    summary: ArtifactLike,
    drift_detected_path: str,
    **parameters: Any,
) -> DriftOutcome:
    """The component's entry: flat parameters to :class:`DriftConfig`, then :func:`run`."""
    return run(
        config=make_config(**parameters),
        metrics=metrics,
        report_html=report_html,
        snapshot=snapshot,
        result=result,
        summary=summary,
        drift_detected_path=drift_detected_path,
    )
