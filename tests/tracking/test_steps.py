"""train, compare and gate through their executors with tracking on, against a real MLflow
server: one parent run per pipeline run with every step nested under it, the blessed bundle
registered as the challenger; and with tracking off, nothing of MLflow at all."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from kfp import dsl
from mlflow.tracking import MlflowClient

from components._shared import keys, registry, tracking
from components.compare import executor as compare
from components.gate import executor as gate
from components.gate.config import GateConfig
from components.train import executor as train
from tests.fixtures.datasets import Prepared, fast_candidate
from tests.gate.conftest import gate_inputs, gate_outputs


def _train(prepared: Prepared, out: Path, candidate: dict, **tracking_args: str) -> dict[str, Any]:
    """train.main as the component calls it; its output artifacts."""
    name = candidate["name"]
    outputs = {
        "bundle": dsl.Model(name="bundle", uri=str(out / f"bundle_{name}")),
        "metrics": dsl.Metrics(name="metrics", uri=str(out / f"metrics_{name}")),
        "roc": dsl.ClassificationMetrics(name="roc", uri=str(out / f"roc_{name}")),
        "feature_importance": dsl.Markdown(name="fi", uri=str(out / f"importance_{name}.md")),
    }
    train.main(
        {
            "candidate": candidate,
            "features": dsl.Dataset(name="features", uri=str(prepared.features)),
            "splits": dsl.Dataset(name="splits", uri=str(prepared.splits)),
            "featurizer": dsl.Artifact(name="featurizer", uri=str(prepared.featurizer)),
            "schema": dsl.Artifact(name="schema", uri=str(prepared.schema)),
            "profile": dsl.Artifact(name="profile", uri=str(prepared.profile)),
            "seed": 5,
            **outputs,
            **tracking_args,
        }
    )
    return outputs


def _compare(prepared: Prepared, out: Path, bundles: list[dsl.Model], **tracking_args: str) -> dict:
    outputs = {
        "challenger": dsl.Model(name="challenger", uri=str(out / "challenger")),
        "leaderboard": dsl.Artifact(name="leaderboard", uri=str(out / "leaderboard.json")),
        "leaderboard_md": dsl.Markdown(name="leaderboard_md", uri=str(out / "leaderboard.md")),
        "leaderboard_html": dsl.HTML(name="leaderboard_html", uri=str(out / "leaderboard.html")),
        "metrics": dsl.Metrics(name="metrics", uri=str(out / "compare_metrics")),
    }
    compare.main(
        {
            "candidates": bundles,
            "splits": dsl.Dataset(name="splits", uri=str(prepared.splits)),
            "primary_metric": "auc",
            "champion_uri": "",
            **outputs,
            **tracking_args,
        }
    )
    return outputs


def test_a_pipeline_run_is_one_parent_with_every_step_and_a_registered_challenger(
    mlflow_server: str, telco_prepared: Prepared, tmp_path: Path, no_tracking_env: None
) -> None:
    run_id = f"run-{uuid.uuid4().hex[:12]}"
    model = f"churn-{uuid.uuid4().hex[:8]}"
    on = {"tracking_uri": mlflow_server, "run_id": run_id}
    trained = [
        _train(telco_prepared, tmp_path, fast_candidate(family), **on)
        for family in ("lightgbm", "sklearn_logreg")
    ]
    ranked = _compare(telco_prepared, tmp_path, [t["bundle"] for t in trained], **on)
    outputs = gate_outputs(tmp_path / "gate")
    gate.run(
        gate_inputs(
            telco_prepared.splits, Path(ranked["challenger"].path), Path(ranked["leaderboard"].path)
        ),
        outputs,
        GateConfig(run_name="nightly", registered_model_name=model, **on),
    )
    blessing = json.loads(Path(outputs.blessing.path).read_text())
    assert blessing["blessed"] is True

    client = MlflowClient(mlflow_server)
    tracker = tracking.open_tracker(mlflow_server, kfp_run_id=run_id)
    assert tracker is not None
    (parent,) = tracker.step_runs(tracking.STEP_PIPELINE)
    # train created it with the run id as its name; the gate, which knows the run's name, renamed it
    assert parent.info.run_name == "nightly" and parent.info.status == "FINISHED"
    children = client.search_runs(
        [tracker.experiment_id], f"tags.`{tracking.TAG_PARENT}` = '{parent.info.run_id}'"
    )
    steps = sorted((run.data.tags[tracking.TAG_STEP], run.info.run_name) for run in children)
    challenger = outputs.blessed_bundle.metadata[keys.META_CANDIDATE]
    # A challenger no train task logged (compare's ensemble) is logged by the gate in its own run.
    logged = challenger in ("lightgbm_fast", "sklearn_logreg_fast")
    assert steps == [
        *([] if logged else [(tracking.STEP_BUNDLE, f"bundle {challenger}")]),
        ("compare", "compare"),
        ("gate", "gate"),
        ("train", "lightgbm_fast"),
        ("train", "sklearn_logreg_fast"),
    ]
    assert all(run.data.tags[tracking.TAG_KFP_RUN_ID] == run_id for run in children)

    version = client.get_model_version_by_alias(model, registry.ALIAS_CHALLENGER)
    assert version.tags[registry.TAG_BUNDLE_SHA256] == blessing["bundle_manifest_sha256"]
    assert version.tags[registry.TAG_BUNDLE_URI] == outputs.blessed_bundle.uri
    assert version.tags[registry.TAG_LINEAGE_URI] == outputs.lineage.uri
    assert version.tags[registry.TAG_GATE_DECISION] == blessing["summary"]
    assert client.get_run(version.run_id).data.tags[tracking.TAG_CANDIDATE] == challenger
    (entry,) = registry.Registry(client).audit_trail(model)
    assert (entry.event, entry.who) == ("registered", f"kfp-tabular gate (KFP run {run_id})")

    # feature importance in each candidate's KFP metrics and Markdown chart, and in MLflow
    for artifact in trained:
        shares = {
            k: v for k, v in artifact["metrics"].metadata.items() if k.startswith("importance.")
        }
        assert 0.95 < sum(shares.values()) <= 1.0 + 1e-6
        assert (
            Path(artifact["feature_importance"].path)
            .read_text()
            .startswith("# Feature importance: ")
        )


def test_tracking_off_logs_importance_to_kfp_only(
    telco_prepared: Prepared, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(tracking.ENV_TRACKING_URI, raising=False)
    monkeypatch.chdir(tmp_path)
    outputs = _train(telco_prepared, tmp_path / "out", fast_candidate("xgboost"))
    assert any(k.startswith("importance.") for k in outputs["metrics"].metadata)
    assert Path(outputs["feature_importance"].path).is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # no ./mlruns
