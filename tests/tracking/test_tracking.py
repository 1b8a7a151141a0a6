"""Tracking against a real MLflow server: nested runs per pipeline run, candidates, leaderboard,
blessing; read back with MLflow's own client."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import uuid
from pathlib import Path

import numpy as np
import pytest
from mlflow.tracking import MlflowClient

from components._shared import importance, tracking
from components._shared.metrics import roc_points
from tests.fixtures.datasets import Prepared, fast_candidate, feature_arrays, train_bundle

ROOT = Path(__file__).resolve().parents[2]


def _kfp_run() -> str:
    return f"run-{uuid.uuid4().hex[:12]}"


def _tracker(url: str, kfp_run_id: str) -> tracking.Tracker:
    found = tracking.open_tracker(url, kfp_run_id=kfp_run_id, kfp_run_name=f"name of {kfp_run_id}")
    assert found is not None
    return found


def test_tracking_off_imports_nothing_and_writes_nothing(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "from components._shared import registry, tracking\n"
        "assert tracking.open_tracker('', kfp_run_id='r') is None\n"
        "assert registry.open_registry('') is None\n"
        "assert registry.resolve_champion_uri('', 'churn') == ''\n"
        "assert registry.resolve_champion_uri('gs://b/m', 'churn') == 'gs://b/m'\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'mlflow'))\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
    env["PYTHONPATH"] = str(ROOT)
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
    assert list(tmp_path.iterdir()) == []  # no ./mlruns, nothing at all


def test_the_environment_variable_turns_tracking_on(
    mlflow_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(tracking.ENV_TRACKING_URI, mlflow_server)
    found = tracking.open_tracker(kfp_run_id=_kfp_run())
    assert found is not None and found.uri == mlflow_server
    # created as a model-training experiment, which MLflow 3's UI shows as runs, not traces
    experiment = MlflowClient(mlflow_server).get_experiment(found.experiment_id)
    assert experiment.tags[tracking.EXPERIMENT_KIND] == tracking.MODEL_TRAINING


def test_parallel_steps_share_one_parent_run(mlflow_server: str, no_tracking_env: None) -> None:
    kfp_run_id = _kfp_run()
    children: list[str] = []
    errors: list[BaseException] = []

    def step(index: int) -> None:
        try:  # each task has its own process and client; threads race the same way
            children.append(_tracker(mlflow_server, kfp_run_id).start_step("train", f"c{index}"))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=step, args=(i,)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    client = MlflowClient(mlflow_server)
    parents = {client.get_run(run_id).data.tags[tracking.TAG_PARENT] for run_id in children}
    assert len(parents) == 1
    (parent,) = parents
    live = _tracker(mlflow_server, kfp_run_id).step_runs(tracking.STEP_PIPELINE)
    assert [run.info.run_id for run in live] == [parent]
    tags = client.get_run(parent).data.tags
    assert tags[tracking.TAG_KFP_RUN_ID] == kfp_run_id
    assert tags["mlflow.runName"] == f"name of {kfp_run_id}"


def test_two_parents_left_by_a_race_are_merged_into_the_earliest(
    mlflow_server: str, no_tracking_env: None
) -> None:
    """The race the re-read cannot close (two tasks each seeing only their own new parent)."""
    kfp_run_id = _kfp_run()
    tracker = _tracker(mlflow_server, kfp_run_id)
    client = MlflowClient(mlflow_server)
    tags = {tracking.TAG_KFP_RUN_ID: kfp_run_id, tracking.TAG_STEP: tracking.STEP_PIPELINE}
    first = client.create_run(tracker.experiment_id, start_time=1000, tags=tags).info.run_id
    second = client.create_run(tracker.experiment_id, start_time=2000, tags=tags).info.run_id
    children = [
        client.create_run(tracker.experiment_id, tags={tracking.TAG_PARENT: parent}).info.run_id
        for parent in (first, second, second)
    ]
    assert tracker.parent_run_id() == first  # what compare's first call does
    assert {client.get_run(c).data.tags[tracking.TAG_PARENT] for c in children} == {first}
    assert client.get_run(second).info.lifecycle_stage == "deleted"
    assert [r.info.run_id for r in tracker.step_runs(tracking.STEP_PIPELINE)] == [first]


def test_without_a_kfp_run_id_a_step_stands_alone(mlflow_server: str) -> None:
    found = tracking.open_tracker(mlflow_server)
    assert found is not None
    run = MlflowClient(mlflow_server).get_run(found.start_step("train", "alone"))
    assert tracking.TAG_PARENT not in run.data.tags


def _logged_candidate(
    url: str, kfp_run_id: str, prepared: Prepared, tmp_path: Path, family: str = "xgboost"
) -> tuple[str, Path, dict]:
    candidate = fast_candidate(family)
    bundle = train_bundle(prepared, tmp_path / "bundle", candidate)
    manifest = json.loads((bundle / "manifest.json").read_text())
    x_valid, y_valid = feature_arrays(prepared, "valid")
    from components._shared import families

    model = families.load(family, bundle)
    found = importance.candidate_importance(
        model,
        prepared.featurizer_obj.feature_names_,
        prepared.featurizer_obj.to_dict(),
        x_valid,
        y_valid,
        seed=1,
    )
    proba = model.predict_proba(x_valid)
    run_id = _tracker(url, kfp_run_id).log_candidate(
        candidate,
        metrics=manifest["metrics"],
        importance=found.to_dict(),
        importance_chart=importance.render_markdown(found, candidate["name"]),
        roc=roc_points(y_valid, proba),
        bundle_dir=str(bundle),
        bundle_uri=f"gs://models/{kfp_run_id}/bundle",
    )
    return run_id, bundle, found.to_dict()


def test_a_candidate_is_logged_with_params_metrics_importance_roc_and_bundle(
    mlflow_server: str, telco_prepared: Prepared, tmp_path: Path
) -> None:
    kfp_run_id = _kfp_run()
    run_id, bundle, logged = _logged_candidate(mlflow_server, kfp_run_id, telco_prepared, tmp_path)
    client = MlflowClient(mlflow_server)
    run = client.get_run(run_id)
    assert run.info.status == "FINISHED"
    assert run.data.tags[tracking.TAG_KFP_RUN_ID] == kfp_run_id
    assert run.data.tags[tracking.TAG_CANDIDATE] == "xgboost_fast"
    assert run.data.tags[tracking.TAG_BUNDLE_URI] == f"gs://models/{kfp_run_id}/bundle"
    assert run.data.params["family"] == "xgboost"
    assert run.data.params["max_depth"] == "3"
    assert 0.7 < run.data.metrics["auc"] < 1.0
    shares = {
        k.split("/", 1)[1]: v for k, v in run.data.metrics.items() if k.startswith("importance/")
    }
    assert shares == pytest.approx(logged["columns"])
    names = {a.path for a in client.list_artifacts(run_id)}
    assert {"bundle", "importance.json", "importance.md", "roc.json"} <= names
    in_run = {a.path for a in client.list_artifacts(run_id, "bundle")}
    assert {f"bundle/{p.name}" for p in bundle.iterdir()} == in_run
    roc = json.loads(Path(client.download_artifacts(run_id, "roc.json", str(tmp_path))).read_text())
    assert roc["fpr"][0] == 0.0 and roc["tpr"][-1] == 1.0
    assert len(roc["fpr"]) <= tracking.ROC_POINTS + 1
    assert np.all(np.diff(roc["fpr"]) >= 0)


def test_leaderboard_and_blessing_are_child_runs(mlflow_server: str) -> None:
    kfp_run_id = _kfp_run()
    tracker = _tracker(mlflow_server, kfp_run_id)
    board = {
        "primary_metric": "auc",
        "challenger": "lgbm",
        "rows": [{"name": "lgbm", "auc": 0.84}, {"name": "logreg", "auc": 0.83}],
    }
    compare_run = tracker.log_leaderboard(board, "auc")
    blessing = {"blessed": True, "reasons": ["auc 0.84 >= 0.7"], "auc": 0.84}
    gate_run = tracker.log_blessing(blessing, "# Model card\nblessed")
    client = MlflowClient(mlflow_server)
    parent = tracker.parent_run_id()
    compared, gated = client.get_run(compare_run), client.get_run(gate_run)
    assert compared.data.tags[tracking.TAG_PARENT] == parent == gated.data.tags[tracking.TAG_PARENT]
    assert compared.data.metrics == {"lgbm/auc": 0.84, "logreg/auc": 0.83, "candidates": 2.0}
    assert compared.data.params == {"primary_metric": "auc", "challenger": "lgbm"}
    assert gated.data.tags[tracking.TAG_BLESSED] == "true"
    assert gated.data.metrics == {"blessed": 1.0, "auc": 0.84}
    assert {a.path for a in client.list_artifacts(gate_run)} == {"blessing.json", "model_card.md"}
    assert client.get_run(parent).info.status == "FINISHED"  # the gate closes the pipeline run
