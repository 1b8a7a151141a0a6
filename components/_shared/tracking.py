"""Experiment tracking in MLflow: one parent run per pipeline run, one child run per step.

Tracking is on when a tracking URI is configured (a component parameter, else the environment
variable ``MLFLOW_TRACKING_URI``) and off otherwise. Off costs nothing: :func:`open_tracker`
returns None before anything of MLflow is imported (``import mlflow`` alone takes seconds).

Every KFP task runs in its own process (its own pod on a cluster), so the steps of one pipeline
run cannot hand each other an MLflow run id. They find their parent run by its tag instead: the
parent carries ``kfp.run_id`` (the KFP run id) and ``kfp_tabular.step = pipeline``, and the first
step to look creates it. Parallel train tasks may race to create it: each one re-reads after
creating and uses the earliest parent (start time, then run id); a task that sees more than one
moves the other parents' children under the earliest and deletes the others. compare starts only
after every train task has ended, so by then the children of one pipeline run are under one
parent. Every run, parent and child, is tagged with the KFP run id and name so a person can go
from the KFP UI to MLflow's and back.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from components._shared import importance, keys, registry
from components._shared.artifacts import (
    ArtifactLike,
    MetricsLike,
    set_display_name,
    write_text_atomic,
)
from components._shared.errors import ConfigError, expected_got
from components._shared.metrics import roc_points

if TYPE_CHECKING:  # the real import happens in open_tracker, only when tracking is on
    from mlflow.tracking import MlflowClient

    from components._shared.featurizer import Featurizer

ENV_TRACKING_URI = "MLFLOW_TRACKING_URI"
ENV_EXPERIMENT = "MLFLOW_EXPERIMENT_NAME"
DEFAULT_EXPERIMENT = "kfp-tabular"

TAG_KFP_RUN_ID = "kfp.run_id"
TAG_KFP_RUN_NAME = "kfp.run_name"
TAG_STEP = "kfp_tabular.step"
TAG_CANDIDATE = "kfp_tabular.candidate"
TAG_FAMILY = "kfp_tabular.family"
TAG_BUNDLE_URI = "kfp_tabular.bundle_uri"
TAG_BLESSED = "kfp_tabular.blessed"
# MLflow 3's UI opens an experiment without this tag as a GenAI one (traces, judges); this kind
# shows the runs, their metrics and the nesting.
EXPERIMENT_KIND = "mlflow.experimentKind"
MODEL_TRAINING = "custom_model_development"
TAG_PARENT = "mlflow.parentRunId"  # MLflow's own: the UI nests a run under this run id

STEP_PIPELINE = "pipeline"
STEP_TRAIN = "train"
STEP_COMPARE = "compare"
STEP_GATE = "gate"
# A blessed bundle no train task logged (compare's ensemble of candidates): the gate logs it in a
# run of its own, the registered version's source.
STEP_BUNDLE = "bundle"

ARTIFACT_BUNDLE = "bundle"
ARTIFACT_IMPORTANCE = "importance.json"
ARTIFACT_IMPORTANCE_CHART = "importance.md"
ARTIFACT_ROC = "roc.json"
ARTIFACT_LEADERBOARD = "leaderboard.json"
ARTIFACT_BLESSING = "blessing.json"
ARTIFACT_MODEL_CARD = "model_card.md"

# MLflow's limit on a model version tag's value.
MAX_TAG_VALUE = 5000
# ROC curves are thinned to at most this many points for the run's artifact.
ROC_POINTS = 200
_METRIC_KEY_UNSAFE = re.compile(r"[^\w./ -]")


def tracking_uri(configured: str = "") -> str:
    """The tracking URI in force: ``configured``, else ``$MLFLOW_TRACKING_URI``, else ""."""
    return (configured or os.environ.get(ENV_TRACKING_URI, "")).strip()


def metric_key(name: str) -> str:
    """``name`` made a valid MLflow metric key (letters, digits, ``_ . / - space``)."""
    return _METRIC_KEY_UNSAFE.sub("_", name)


def client(uri: str) -> MlflowClient:
    """An MLflow client for ``uri`` (tracking and registry); imports MLflow."""
    # The component image has no git binary: GitPython (an MLflow dependency, for source
    # versions this project does not use) would print a warning on every import.
    os.environ.setdefault("GIT_PYTHON_REFRESH", "quiet")
    from mlflow.tracking import MlflowClient

    return MlflowClient(tracking_uri=uri, registry_uri=uri)


def open_tracker(
    configured_uri: str = "",
    *,
    kfp_run_id: str = "",
    kfp_run_name: str = "",
    experiment: str = "",
) -> Tracker | None:
    """A :class:`Tracker` when a tracking URI is configured, else None (nothing imported).

    Args:
        configured_uri: The component's ``tracking_uri`` parameter; "" reads the environment.
        kfp_run_id: The KFP run id (``dsl.PIPELINE_JOB_ID_PLACEHOLDER``): the parent run's key.
            Without it each step's run stands alone, not nested.
        kfp_run_name: The KFP run name, recorded as a tag and the parent run's name.
        experiment: The MLflow experiment; default ``$MLFLOW_EXPERIMENT_NAME`` or "kfp-tabular".
    """
    uri = tracking_uri(configured_uri)
    if not uri:
        return None
    mlflow_client = client(uri)
    name = experiment or os.environ.get(ENV_EXPERIMENT, "") or DEFAULT_EXPERIMENT
    return Tracker(
        mlflow_client, uri, _experiment_id(mlflow_client, name), kfp_run_id, kfp_run_name
    )


def _experiment_id(mlflow_client: MlflowClient, name: str) -> str:
    """The experiment's id, creating it; a parallel task creating it first is not an error."""
    from mlflow.exceptions import MlflowException

    found = mlflow_client.get_experiment_by_name(name)
    if found is not None:
        return str(found.experiment_id)
    try:
        return str(mlflow_client.create_experiment(name, tags={EXPERIMENT_KIND: MODEL_TRAINING}))
    except MlflowException:
        found = mlflow_client.get_experiment_by_name(name)
        if found is None:
            raise
        return str(found.experiment_id)


@dataclass
class Tracker:
    """Where one pipeline run's steps log: an MLflow client, experiment and the KFP run."""

    client: MlflowClient
    uri: str
    experiment_id: str
    kfp_run_id: str = ""
    kfp_run_name: str = ""

    # --- runs -----------------------------------------------------------------------------------
    def _kfp_tags(self) -> dict[str, str]:
        tags = {TAG_KFP_RUN_ID: self.kfp_run_id, TAG_KFP_RUN_NAME: self.kfp_run_name}
        return {k: v for k, v in tags.items() if v}

    def _search(self, filter_string: str) -> list[Any]:
        runs = self.client.search_runs([self.experiment_id], filter_string=filter_string)
        return sorted(runs, key=lambda run: (run.info.start_time, run.info.run_id))

    def _pipeline_filter(self) -> str:
        return (
            f"tags.`{TAG_KFP_RUN_ID}` = '{_quoted(self.kfp_run_id)}' "
            f"and tags.`{TAG_STEP}` = '{STEP_PIPELINE}'"
        )

    def parent_run_id(self) -> str | None:
        """The pipeline run's parent run id, found by tag or created; None without a KFP run id."""
        if not self.kfp_run_id:
            return None
        found = self._search(self._pipeline_filter())
        if not found:
            self.client.create_run(
                self.experiment_id,
                start_time=int(time.time() * 1000),
                tags={**self._kfp_tags(), TAG_STEP: STEP_PIPELINE},
                run_name=self.kfp_run_name or self.kfp_run_id,
            )
            found = self._search(self._pipeline_filter())
        if len(found) > 1:
            self._merge_parents(found)
        return str(found[0].info.run_id)

    def _merge_parents(self, parents: list[Any]) -> None:
        """Parallel tasks created more than one parent: keep the earliest, move the others'
        children under it and delete them. Idempotent, so any task that sees it may do it;
        compare, which starts after every train task ended, always sees every parent."""
        from mlflow.exceptions import MlflowException

        keep = str(parents[0].info.run_id)
        for extra in parents[1:]:
            extra_id = str(extra.info.run_id)
            for child in self._search(f"tags.`{TAG_PARENT}` = '{extra_id}'"):
                self.client.set_tag(child.info.run_id, TAG_PARENT, keep)
            with contextlib.suppress(MlflowException):  # another task deleted it first
                self.client.delete_run(extra_id)

    def start_step(self, step: str, run_name: str, tags: Mapping[str, str] | None = None) -> str:
        """A new run for one step, nested under the pipeline run's parent; its run id."""
        all_tags = {**self._kfp_tags(), TAG_STEP: step, **(tags or {})}
        parent = self.parent_run_id()
        if parent is not None:
            all_tags[TAG_PARENT] = parent
        run = self.client.create_run(self.experiment_id, tags=all_tags, run_name=run_name)
        return str(run.info.run_id)

    def step_runs(self, step: str) -> list[Any]:
        """This pipeline run's runs of ``step`` (oldest first); [] without a KFP run id."""
        if not self.kfp_run_id:
            return []
        return self._search(
            f"tags.`{TAG_KFP_RUN_ID}` = '{_quoted(self.kfp_run_id)}' and tags.`{TAG_STEP}` = '{step}'"
        )

    def candidate_run_id(self, candidate: str) -> str | None:
        """The train run of ``candidate`` in this pipeline run, if it logged one."""
        for run in self.step_runs(STEP_TRAIN):
            if run.data.tags.get(TAG_CANDIDATE) == candidate:
                return str(run.info.run_id)
        return None

    def _log(
        self,
        run_id: str,
        *,
        params: Mapping[str, Any] | None = None,
        metrics: Mapping[str, float] | None = None,
    ) -> None:
        from mlflow.entities import Metric, Param

        now = int(time.time() * 1000)
        self.client.log_batch(
            run_id,
            metrics=[Metric(metric_key(k), float(v), now, 0) for k, v in (metrics or {}).items()],
            params=[Param(k, _param_value(v)) for k, v in (params or {}).items()],
        )

    # --- what the steps log ---------------------------------------------------------------------
    def log_candidate(
        self,
        candidate: Mapping[str, Any],
        *,
        metrics: Mapping[str, float],
        importance: Mapping[str, Any] | None,
        importance_chart: str,
        roc: tuple[Sequence[float], Sequence[float], Sequence[float]] | None,
        bundle_dir: str,
        bundle_uri: str,
    ) -> str:
        """Log one trained candidate as a child run; its run id.

        Params: the family and every hyper-parameter; metrics: the valid metrics and each input
        column's importance share (``importance/<column>``); artifacts: the importance (JSON and
        Markdown chart), the ROC points and the bundle directory (``bundle/``).
        """
        name, family = str(candidate["name"]), str(candidate["family"])
        run_id = self.start_step(
            STEP_TRAIN,
            name,
            {TAG_CANDIDATE: name, TAG_FAMILY: family, TAG_BUNDLE_URI: bundle_uri},
        )
        params = {"family": family, **dict(candidate.get("params") or {})}
        shares = dict((importance or {}).get("columns") or {})
        all_metrics = {**metrics, **{f"importance/{k}": v for k, v in shares.items()}}
        self._log(run_id, params=params, metrics=all_metrics)
        if importance is not None:
            self.client.log_dict(run_id, dict(importance), ARTIFACT_IMPORTANCE)
        if importance_chart:
            self.client.log_text(run_id, importance_chart, ARTIFACT_IMPORTANCE_CHART)
        if roc is not None:
            self.client.log_dict(run_id, _thin_roc(*roc), ARTIFACT_ROC)
        self.client.log_artifacts(run_id, bundle_dir, ARTIFACT_BUNDLE)
        self.client.set_terminated(run_id, "FINISHED")
        return run_id

    def log_leaderboard(self, leaderboard: Mapping[str, Any], primary_metric: str) -> str:
        """Log compare's leaderboard as a child run: each row's primary metric, the JSON."""
        rows = list(leaderboard.get("rows") or [])
        run_id = self.start_step(STEP_COMPARE, "compare", {"primary_metric": primary_metric})
        metrics = {
            f"{row.get('name')}/{primary_metric}": row[primary_metric]
            for row in rows
            if isinstance(row.get(primary_metric), int | float)
        }
        challenger = leaderboard.get("challenger")
        self._log(run_id, params={"primary_metric": primary_metric, "challenger": challenger})
        self._log(run_id, metrics={**metrics, "candidates": len(rows)})
        self.client.log_dict(run_id, dict(leaderboard), ARTIFACT_LEADERBOARD)
        self.client.set_terminated(run_id, "FINISHED")
        return run_id

    def log_blessing(self, blessing: Mapping[str, Any], model_card: str) -> str:
        """Log the gate's blessing and model card as a child run; its run id.

        Ends the parent run too: the gate is the last step that logs to it.
        """
        blessed = bool(blessing.get("blessed"))
        run_id = self.start_step(STEP_GATE, "gate", {TAG_BLESSED: str(blessed).lower()})
        numbers = {
            k: v
            for k, v in blessing.items()
            if isinstance(v, int | float) and not isinstance(v, bool)
        }
        self._log(run_id, metrics={"blessed": float(blessed), **numbers})
        self.client.log_dict(run_id, dict(blessing), ARTIFACT_BLESSING)
        if model_card:
            self.client.log_text(run_id, model_card, ARTIFACT_MODEL_CARD)
        self.client.set_terminated(run_id, "FINISHED")
        parent = self.parent_run_id()
        if parent is not None:
            if self.kfp_run_name:  # train created the parent without the name the gate knows
                self.client.set_tag(parent, "mlflow.runName", self.kfp_run_name)
                self.client.set_tag(parent, TAG_KFP_RUN_NAME, self.kfp_run_name)
            self.client.set_terminated(parent, "FINISHED")
        return run_id

    def register_blessed(
        self,
        model_name: str,
        *,
        candidate: str,
        bundle_dir: str,
        bundle_uri: str,
        bundle_sha256: str,
        decision: str,
        lineage_uri: str,
        who: str,
    ) -> registry.ModelVersionRef:
        """Register a blessed bundle as a version of ``model_name`` with the alias ``challenger``.

        The version's source is the bundle as logged by the candidate's train run (logged now
        into a run of its own when train did not log it); ``bundle_uri`` (where serving reads
        it) is a tag, with the bundle's manifest sha256, the gate decision and the lineage URI.
        """
        run_id = self.candidate_run_id(candidate)
        if run_id is None:
            run_id = self.start_step(STEP_BUNDLE, f"bundle {candidate}", {TAG_CANDIDATE: candidate})
            self.client.log_artifacts(run_id, bundle_dir, ARTIFACT_BUNDLE)
            self.client.set_terminated(run_id, "FINISHED")
        return registry.Registry(self.client).register_bundle(
            model_name,
            source=f"runs:/{run_id}/{ARTIFACT_BUNDLE}",
            run_id=run_id,
            bundle_uri=bundle_uri,
            bundle_sha256=bundle_sha256,
            decision=decision,
            lineage_uri=lineage_uri,
            kfp_run_id=self.kfp_run_id,
            who=who,
        )


def _quoted(value: str) -> str:
    """``value`` safe inside a single-quoted MLflow filter string."""
    if "'" in value:
        raise ConfigError(expected_got("KFP run id", "no single quote", repr(value)))
    return value


def _param_value(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True, default=str)


def _thin_roc(
    fpr: Sequence[float], tpr: Sequence[float], thresholds: Sequence[float]
) -> dict[str, list[float]]:
    """At most :data:`ROC_POINTS` points of the curve, ends kept."""
    count = len(fpr)
    step = max(1, -(-count // ROC_POINTS))
    keep = sorted({*range(0, count, step), count - 1}) if count else []
    return {
        "fpr": [float(fpr[i]) for i in keep],
        "tpr": [float(tpr[i]) for i in keep],
        "thresholds": [_finite(thresholds[i]) for i in keep],
    }


def _finite(value: float) -> float:
    """JSON has no infinity (scikit-learn's first ROC threshold): clamp to the largest float."""
    number = float(value)
    return max(min(number, 1.7976931348623157e308), -1.7976931348623157e308)


# --- the steps' hooks: one call from each executor -------------------------------------------------
def record_candidate(
    model: Any,
    *,
    candidate: Mapping[str, Any],
    featurizer: Featurizer,
    x_valid: np.ndarray,
    y_valid: np.ndarray,
    valid_proba: np.ndarray,
    valid_metrics: Mapping[str, float],
    seed: int,
    bundle: ArtifactLike,
    kfp_metrics: MetricsLike,
    chart: ArtifactLike | None,
    found: importance.Importance | None = None,
    configured_uri: str = "",
    kfp_run_id: str = "",
) -> importance.Importance:
    """train's hook: the candidate's feature importance, always; its MLflow run when tracking.

    The importance goes into the KFP metrics (``importance.<column>``: each input column's
    share) and, as a Markdown bar chart, into ``chart``; with tracking on, the candidate is
    logged as a child run of the pipeline run (:meth:`Tracker.log_candidate`). ``found`` is
    the importance train already computed (for the bundle); None computes it here.
    """
    if found is None:
        found = importance.candidate_importance(
            model, featurizer.feature_names_, featurizer.to_dict(), x_valid, y_valid, seed=seed
        )
    for column, share in found.top():
        kfp_metrics.log_metric(f"importance.{column}", round(share, 6))
    text = importance.render_markdown(found, str(candidate["name"]))
    if chart is not None:
        write_text_atomic(chart.path, text)
        set_display_name(chart, f"feature importance {candidate['name']}")
    tracker = open_tracker(configured_uri, kfp_run_id=kfp_run_id)
    if tracker is not None:
        scored = len(y_valid) == len(valid_proba) and len(np.unique(y_valid)) == 2
        tracker.log_candidate(
            candidate,
            metrics=valid_metrics,
            importance=found.to_dict(),
            importance_chart=text,
            roc=roc_points(y_valid, valid_proba) if scored else None,
            bundle_dir=bundle.path,
            bundle_uri=bundle.uri or bundle.path,
        )
    return found


def record_leaderboard(
    board: Mapping[str, Any], primary_metric: str, configured_uri: str = "", kfp_run_id: str = ""
) -> None:
    """compare's hook: the leaderboard as a child run when tracking is on; nothing otherwise."""
    tracker = open_tracker(configured_uri, kfp_run_id=kfp_run_id)
    if tracker is not None:
        tracker.log_leaderboard(board, primary_metric)


def record_gate(
    blessing: ArtifactLike,
    blessed_bundle: ArtifactLike,
    lineage: ArtifactLike,
    *,
    configured_uri: str = "",
    kfp_run_id: str = "",
    kfp_run_name: str = "",
    registered_model_name: str = "",
) -> registry.ModelVersionRef | None:
    """gate's hook: the blessing and model card as a child run, and a blessed bundle registered
    as the ``challenger`` of ``registered_model_name``; nothing when tracking is off.

    Reads what the gate wrote: the blessing JSON, and the sealed bundle (when there is one).
    """
    tracker = open_tracker(configured_uri, kfp_run_id=kfp_run_id, kfp_run_name=kfp_run_name)
    if tracker is None:
        return None
    record = json.loads(Path(blessing.path).read_text(encoding="utf-8"))
    card_path = Path(blessed_bundle.path) / keys.MODEL_CARD_FILE
    card = card_path.read_text(encoding="utf-8") if card_path.is_file() else ""
    tracker.log_blessing(record, card)
    if not (record.get(keys.BLESSING_BLESSED) and registered_model_name and card):
        return None
    summary = record.get(keys.BLESSING_SUMMARY) or record.get(keys.BLESSING_VERDICT, "")
    return tracker.register_blessed(
        registered_model_name,
        candidate=str(blessed_bundle.metadata.get(keys.META_CANDIDATE, "")),
        bundle_dir=blessed_bundle.path,
        bundle_uri=blessed_bundle.uri or blessed_bundle.path,
        bundle_sha256=str(record.get(keys.BLESSING_BUNDLE_MANIFEST_SHA256) or ""),
        decision=str(summary)[:MAX_TAG_VALUE],
        lineage_uri=lineage.uri or lineage.path,
        who=f"kfp-tabular gate (KFP run {kfp_run_id or 'unknown'})",
    )
