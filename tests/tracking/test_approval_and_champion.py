"""Deploy's approval step, ``kfp-tabular approve``, and the champion moves of deploy and rollout,
against a real MLflow server (read back with MLflow's own client).

The bundles here are stand-ins registered by their manifest sha256 (the registry does not read
models); deploy renders manifests (nothing is applied), and the promotion hooks are called as
deploy and rollout call them after something really served.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
from kfp import dsl
from mlflow.tracking import MlflowClient

from components._shared import keys, registry, tracking
from components._shared.errors import ConfigError
from components.deploy import registry_steps
from components.deploy.config import DeployConfig
from components.rollout import champion
from components.rollout.config import RolloutConfig
from kfp_tabular import approve, cli
from tests.deploy.conftest import Outputs, run_deploy, write_blessing


def _register(url: str, tmp_path: Path, model: str, sha: str) -> str:
    """A gate's registration of a bundle with manifest ``sha``: its version."""
    tracker = tracking.open_tracker(url, kfp_run_id=f"run-{uuid.uuid4().hex[:12]}")
    assert tracker is not None
    bundle = tmp_path / sha[:8]
    bundle.mkdir()
    (bundle / "manifest.json").write_text(json.dumps({"sha": sha}))
    return tracker.register_blessed(
        model,
        candidate="stand-in",
        bundle_dir=str(bundle),
        bundle_uri=f"gs://models/{sha[:8]}",
        bundle_sha256=sha,
        decision="blessed",
        lineage_uri="",
        who="gate",
    ).version


@pytest.fixture
def model() -> str:
    return f"churn-{uuid.uuid4().hex[:8]}"


def _outputs(tmp_path: Path) -> Outputs:
    out = tmp_path / "deploy"
    return Outputs(
        deployment=dsl.Artifact(name="deployment", uri=str(out / "deployment")),
        manifests=dsl.Artifact(name="manifests", uri=str(out / "manifests")),
        summary=dsl.Markdown(name="summary", uri=str(out / "summary")),
    )


def test_deploy_waits_for_approval_and_records_it(
    mlflow_server: str, tmp_path: Path, model: str, no_tracking_env: None
) -> None:
    sha = uuid.uuid4().hex * 2
    version = _register(mlflow_server, tmp_path, model, sha)
    bundle = dsl.Model(name="blessed_bundle", uri="gs://models-bucket/run-1/blessed_bundle")
    blessing = write_blessing(tmp_path, manifest_sha256=sha)
    params = {
        "tracking_uri": mlflow_server,
        "registered_model_name": model,
        "approval_timeout_s": 0.0,
    }
    refused = _outputs(tmp_path / "refused")
    with pytest.raises(registry.ApprovalError, match=f"version {version}: no approval within 0 s"):
        run_deploy(refused, bundle, blessing, **params)
    assert not Path(refused.manifests.path).exists()  # refused before anything was written

    argv = ["approve", "--tracking-uri", mlflow_server, "--model", model, "--version", version]
    assert cli.main([*argv, "--who", "ana", "--note", "looked at the slices"]) == 0
    record = run_deploy(_outputs(tmp_path / "approved"), bundle, blessing, **params)
    entry = record[keys.LINEAGE_REGISTRY]
    assert (entry["model"], entry["version"]) == (model, version)
    assert entry["approval"]["decision"] == "approved"
    assert entry["approval"]["detail"] == "approved by ana"
    assert entry["promotion"] is None  # render: nothing serves, the champion does not move
    events = [e.event for e in registry.open_registry(mlflow_server).audit_trail(model, version)]
    assert events == ["registered", "approved", "deploy_allowed"]


def test_a_rejected_version_is_refused_by_name(
    mlflow_server: str, tmp_path: Path, model: str, no_tracking_env: None
) -> None:
    sha = uuid.uuid4().hex * 2
    version = _register(mlflow_server, tmp_path, model, sha)
    assert approve.main(
        ["--tracking-uri", mlflow_server, "--model", model, "--version", version, "--reject",
         "--who", "bo"]
    ) == 0  # fmt: skip
    tags = MlflowClient(mlflow_server).get_model_version(model, version).tags
    assert (tags["approval"], tags["approval_by"]) == ("rejected", "bo")
    with pytest.raises(registry.ApprovalError, match=f"version {version}: rejected by bo"):
        run_deploy(
            _outputs(tmp_path),
            dsl.Model(name="blessed_bundle", uri="gs://b/m"),
            write_blessing(tmp_path, manifest_sha256=sha),
            tracking_uri=mlflow_server,
            registered_model_name=model,
            approval_timeout_s=30.0,
        )


def test_approve_names_what_is_missing(
    mlflow_server: str, model: str, no_tracking_env: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert approve.main(["--model", model, "--version", "1"]) == 2
    assert (
        "no tracking URI: pass --tracking-uri or set MLFLOW_TRACKING_URI" in capsys.readouterr().err
    )
    assert approve.main(["--tracking-uri", mlflow_server, "--model", model, "--version", "1"]) == 2
    assert f"model {model!r} version 1 at {mlflow_server}" in capsys.readouterr().err
    assert approve.main(["--tracking-uri", mlflow_server, "--model", model, "--version", "v1"]) == 2
    assert "expected a version number such as 3, got 'v1'" in capsys.readouterr().err


def test_approval_without_tracking_is_refused_not_skipped(
    tmp_path: Path, no_tracking_env: None
) -> None:
    config = DeployConfig(registered_model_name="churn", approval_timeout_s=0.0)
    with pytest.raises(ConfigError, match="refusing to deploy without the approval step"):
        registry_steps.check_registered(config, "ab" * 32)
    with pytest.raises(ConfigError, match="registered_model_name is required"):
        DeployConfig(approval_timeout_s=10.0)


def test_direct_deploy_that_serves_promotes_and_rollout_records_its_decision(
    mlflow_server: str, tmp_path: Path, model: str, no_tracking_env: None
) -> None:
    first_sha, second_sha = uuid.uuid4().hex * 2, uuid.uuid4().hex * 2
    first = _register(mlflow_server, tmp_path, model, first_sha)
    second = _register(mlflow_server, tmp_path, model, second_sha)
    on = {"tracking_uri": mlflow_server, "registered_model_name": model}
    client = MlflowClient(mlflow_server)

    rendered = DeployConfig(target="render", **on)
    assert registry_steps.promote_if_serving(rendered, "direct", first_sha) is None
    local = DeployConfig(target="local", **on)
    assert registry_steps.promote_if_serving(local, "canary", first_sha) is None
    moved = registry_steps.promote_if_serving(local, "direct", first_sha)
    assert moved == {"event": "promoted", "previous_champion_version": None}
    assert client.get_model_version_by_alias(model, "champion").version == first

    rollout = RolloutConfig(**on)
    record = {keys.DEPLOY_MANIFEST_SHA256: second_sha}
    rolled_back = {"decision": keys.DECISION_ROLLBACK, "reasons": ["p95 latency 3x"]}
    assert champion.record_decision(record, rolled_back, rollout) == {
        "model": model,
        "event": "rolled_back",
    }
    assert client.get_model_version_by_alias(model, "champion").version == first  # stays
    promoted = {"decision": keys.DECISION_PROMOTE, "reasons": ["all 3 steps passed"]}
    assert champion.record_decision(record, promoted, rollout) == {
        "model": model,
        "event": "promoted",
        "previous_champion_version": first,
    }
    assert client.get_model_version_by_alias(model, "champion").version == second
    assert champion.record_decision(record, {"decision": keys.DECISION_NONE}, rollout) is None
    trail = registry.open_registry(mlflow_server).audit_trail(model, second)
    assert [e.event for e in trail] == ["registered", "rolled_back", "promoted"]
    assert trail[-1].who == "kfp-tabular rollout" and "all 3 steps passed" in trail[-1].detail


def test_drift_reads_the_champion_the_registry_names(
    mlflow_server: str, tmp_path: Path, model: str, no_tracking_env: None
) -> None:
    from components.drift.config import DriftConfig
    from components.drift.executor import resolve_bundle

    sha = uuid.uuid4().hex * 2
    _register(mlflow_server, tmp_path, model, sha)
    registry.record_promotion(mlflow_server, model, sha, who="test")
    given = DriftConfig(
        bundle_uri=f"models:/{model}@champion",
        current_uri=str(tmp_path / "requests"),
        tracking_uri=mlflow_server,
    )
    assert resolve_bundle(given).bundle_uri == f"gs://models/{sha[:8]}"
    plain = DriftConfig(bundle_uri="gs://b/m", current_uri="gs://b/logs")
    assert resolve_bundle(plain) is plain
