"""The model registry against a real MLflow server: a blessed bundle registered as a challenger,
the champion alias moved by a promotion and kept by a rollback, models:/ resolution, approval
and the audit trail; read back with MLflow's own client."""

from __future__ import annotations

import json
import threading
import uuid
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from components._shared import registry, tracking
from components._shared.errors import ConfigError

SHA = "ab" * 32


def _bundle(tmp_path: Path, label: str) -> Path:
    """A stand-in bundle directory (the registry copies files; it does not read models)."""
    bundle = tmp_path / label
    bundle.mkdir()
    (bundle / "manifest.json").write_text(json.dumps({"label": label}))
    (bundle / "model.ubj").write_bytes(b"\x00" * 64)
    return bundle


def _registered(
    url: str, tmp_path: Path, model: str, label: str, sha: str = SHA
) -> registry.ModelVersionRef:
    """One pipeline run: a train run logs the bundle, the gate blesses and registers it."""
    kfp_run_id = f"run-{uuid.uuid4().hex[:12]}"
    tracker = tracking.open_tracker(url, kfp_run_id=kfp_run_id, kfp_run_name=label)
    assert tracker is not None
    bundle = _bundle(tmp_path, label)
    tracker.log_candidate(
        {"name": label, "family": "xgboost", "params": {}},
        metrics={"auc": 0.8},
        importance=None,
        importance_chart="",
        roc=None,
        bundle_dir=str(bundle),
        bundle_uri=f"gs://models/{label}",
    )
    return tracker.register_blessed(
        model,
        candidate=label,
        bundle_dir=str(bundle),
        bundle_uri=f"gs://models/{label}",
        bundle_sha256=sha,
        decision="blessed: auc 0.80 >= 0.70",
        lineage_uri=f"gs://runs/{kfp_run_id}/lineage.json",
        who="gate",
    )


@pytest.fixture
def model() -> str:
    return f"churn-{uuid.uuid4().hex[:8]}"


def test_a_blessed_bundle_becomes_a_challenger_version(
    mlflow_server: str, tmp_path: Path, model: str
) -> None:
    ref = _registered(mlflow_server, tmp_path, model, "first")
    client = MlflowClient(mlflow_server)
    version = client.get_model_version(model, ref.version)
    assert version.tags[registry.TAG_BUNDLE_SHA256] == SHA
    assert version.tags[registry.TAG_GATE_DECISION] == "blessed: auc 0.80 >= 0.70"
    assert version.tags[registry.TAG_LINEAGE_URI].endswith("/lineage.json")
    assert version.tags[registry.TAG_BUNDLE_URI] == "gs://models/first"
    assert version.tags[registry.TAG_KFP_RUN_ID].startswith("run-")
    # the version's source is the bundle the candidate's train run logged
    run = client.get_run(version.run_id)
    assert run.data.tags[tracking.TAG_CANDIDATE] == "first"
    assert version.source == f"runs:/{version.run_id}/bundle"
    assert (
        client.get_model_version_by_alias(model, registry.ALIAS_CHALLENGER).version == ref.version
    )
    with pytest.raises(Exception, match="champion"):
        client.get_model_version_by_alias(model, registry.ALIAS_CHAMPION)


def test_a_gate_without_a_logged_train_run_logs_the_bundle_itself(
    mlflow_server: str, tmp_path: Path, model: str
) -> None:
    tracker = tracking.open_tracker(mlflow_server, kfp_run_id=f"run-{uuid.uuid4().hex[:12]}")
    assert tracker is not None
    ref = tracker.register_blessed(
        model,
        candidate="untracked",
        bundle_dir=str(_bundle(tmp_path, "untracked")),
        bundle_uri="/local/bundle",
        bundle_sha256=SHA,
        decision="blessed",
        lineage_uri="",
        who="gate",
    )
    client = MlflowClient(mlflow_server)
    version = client.get_model_version(model, ref.version)
    assert {a.path for a in client.list_artifacts(version.run_id, "bundle")} == {
        "bundle/manifest.json",
        "bundle/model.ubj",
    }
    assert registry.TAG_LINEAGE_URI not in version.tags  # empty tags are left out


def test_promotion_moves_the_champion_and_a_rollback_leaves_it(
    mlflow_server: str, tmp_path: Path, model: str
) -> None:
    found = registry.open_registry(mlflow_server)
    assert found is not None
    first = _registered(mlflow_server, tmp_path, model, "first")
    assert found.champion(model) is None
    assert registry.resolve_champion_uri("", model, mlflow_server) == ""

    assert found.promote(model, first.version, who="deploy", reason="first deploy") is None
    second = _registered(mlflow_server, tmp_path, model, "second")
    assert found.promote(model, second.version, who="rollout") == first.version
    third = _registered(mlflow_server, tmp_path, model, "third")
    found.record_rollback(model, third.version, who="rollout", reason="error rate 4% > 1%")

    client = MlflowClient(mlflow_server)
    assert client.get_model_version_by_alias(model, "champion").version == second.version
    assert client.get_model_version_by_alias(model, "challenger").version == third.version
    assert (
        client.get_model_version(model, third.version).tags[registry.TAG_ROLLOUT] == "rolled_back"
    )
    # the next run finds the champion by itself
    assert found.resolve(f"models:/{model}@champion") == "gs://models/second"
    assert found.resolve(f"models:/{model}/{first.version}") == "gs://models/first"
    assert found.resolve("gs://elsewhere/bundle") == "gs://elsewhere/bundle"
    assert registry.resolve_champion_uri("", model, mlflow_server) == "gs://models/second"
    assert registry.resolve_champion_uri(f"models:/{model}@champion", "", mlflow_server) == (
        "gs://models/second"
    )
    assert registry.resolve_champion_uri("gs://given", model, mlflow_server) == "gs://given"
    with pytest.raises(ConfigError, match="no version with alias 'nope'"):
        found.resolve(f"models:/{model}@nope")
    events = [(e.version, e.event) for e in found.audit_trail(model)]
    assert events == [
        (first.version, "registered"),
        (first.version, "promoted"),
        (second.version, "registered"),
        (second.version, "promoted"),
        (third.version, "registered"),
        (third.version, "rolled_back"),
    ]


def test_deploy_refuses_without_approval_and_waits_for_it(
    mlflow_server: str, tmp_path: Path, model: str
) -> None:
    found = registry.open_registry(mlflow_server)
    assert found is not None
    ref = _registered(mlflow_server, tmp_path, model, "candidate")
    with pytest.raises(
        registry.ApprovalError, match="no approval within 0 s; set the tag approval"
    ):
        found.await_approval(model, ref.version, timeout_s=0)

    # A person approves while deploy waits (here from another thread, on its own client).
    def person() -> None:
        other = registry.open_registry(mlflow_server)
        assert other is not None
        other.approve(model, ref.version, who="alice@example.com", note="reviewed the card")

    timer = threading.Timer(1.0, person)
    timer.start()
    entry = found.await_approval(model, ref.version, timeout_s=60, poll_s=0.2, who="deploy")
    timer.join()
    assert (entry.event, entry.decision, entry.who) == ("deploy_allowed", "approved", "deploy")
    assert entry.detail == "approved by alice@example.com"

    trail = found.audit_trail(model, ref.version)
    assert [(e.event, e.who) for e in trail] == [
        ("registered", "gate"),
        ("approved", "alice@example.com"),
        ("deploy_allowed", "deploy"),
    ]
    assert trail[1].detail == "reviewed the card" and trail[1].version == ref.version
    assert all(e.when.endswith("+00:00") for e in trail)
    # the trail is plain model-version tags: MLflow's own client (and UI) shows them
    tags = MlflowClient(mlflow_server).get_model_version(model, ref.version).tags
    assert tags[registry.TAG_APPROVAL] == "approved"
    assert sum(key.startswith("audit.") for key in tags) == 3


def test_a_rejection_is_refused_at_once(mlflow_server: str, tmp_path: Path, model: str) -> None:
    found = registry.open_registry(mlflow_server)
    assert found is not None
    ref = _registered(mlflow_server, tmp_path, model, "candidate")
    # set by hand in the UI: no approval_by tag
    MlflowClient(mlflow_server).set_model_version_tag(model, ref.version, "approval", "rejected")
    with pytest.raises(registry.ApprovalError, match="rejected by unknown; not deploying"):
        found.await_approval(model, ref.version, timeout_s=60)
    with pytest.raises(ConfigError, match="approval decision"):
        found.approve(model, ref.version, who="bob", decision="maybe")


def test_models_uris_are_checked() -> None:
    assert registry.parse_models_uri("models:/churn@champion") == ("churn", "champion", "")
    assert registry.parse_models_uri("models:/churn/3") == ("churn", "", "3")
    for bad in ("models:/churn", "models:/@x", "models:/churn/v3", "gs://b/m"):
        with pytest.raises(ConfigError, match="models:/<name>@<alias>"):
            registry.parse_models_uri(bad)


def test_a_models_uri_needs_tracking(no_tracking_env: None) -> None:
    with pytest.raises(ConfigError, match="no tracking URI is configured"):
        registry.resolve_champion_uri("models:/churn@champion", "churn")


def test_the_deploy_and_rollout_hooks_find_the_version_by_bundle_digest(
    mlflow_server: str, tmp_path: Path, model: str, no_tracking_env: None
) -> None:
    one, two = "1" * 64, "2" * 64
    first = _registered(mlflow_server, tmp_path, model, "first", sha=one)
    second = _registered(mlflow_server, tmp_path, model, "second", sha=two)
    # tracking off, or no model named: nothing happens
    assert registry.approve_deploy("", model, one, timeout_s=0) is None
    assert registry.approve_deploy(mlflow_server, "", one, timeout_s=0) is None
    assert registry.record_promotion("", model, one, who="rollout") is None
    with pytest.raises(ConfigError, match="no version for the bundle with manifest sha256 fff"):
        registry.approve_deploy(mlflow_server, model, "f" * 64, timeout_s=0)
    with pytest.raises(registry.ApprovalError, match=f"version {second.version}: no approval"):
        registry.approve_deploy(mlflow_server, model, two, timeout_s=0)

    found = registry.open_registry(mlflow_server)
    assert found is not None
    found.approve(model, first.version, who="carol")
    entry = registry.approve_deploy(mlflow_server, model, one, timeout_s=0, who="deploy")
    assert entry is not None and entry.version == first.version
    assert registry.record_promotion(mlflow_server, model, one, who="deploy") is None
    assert registry.record_promotion(mlflow_server, model, two, who="rollout") == first.version
    registry.record_rollback(mlflow_server, model, one, who="rollout", reason="canary failed")
    assert found.champion(model) == registry.ModelVersionRef(
        model, second.version, "gs://models/second"
    )
