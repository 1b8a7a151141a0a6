"""deploy's manifests for every strategy x mode, validated; refusals and parameter errors."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml
from kfp import dsl

from components._shared import keys
from components._shared.bundle import sha256_file
from components._shared.errors import ConfigError
from components._shared.manifests import ManifestError, load_documents, validate_manifest
from components.deploy import executor, render
from components.deploy.config import DeployConfig
from components.deploy.executor import NotBlessedError
from components.deploy.plan import DeployPlan, plan
from tests.deploy.conftest import Outputs, RecordingCustomObjectsApi, run_deploy, write_blessing

CHAMPION = "gs://models-bucket/run-0/gate/blessed_bundle"
LOGGER = {"logger_url": "http://message-dumper.kfp-tabular.svc.cluster.local"}
STRATEGIES = ["direct", "canary", "shadow"]
MODES = ["Knative", "Standard"]


def deploy(outputs: Outputs, bundle: Any, blessing: Any, **params: Any) -> dict[str, Any]:
    params.setdefault("target", "render")
    return run_deploy(outputs, bundle, blessing, **params)


def rendered(outputs: Outputs) -> list[dict[str, Any]]:
    return load_documents(Path(outputs.manifests.path) / keys.DEPLOY_ALL_MANIFESTS_FILE)


def predictors(isvc: dict[str, Any]) -> list[dict[str, Any]]:
    return [isvc["spec"]["predictor"], *(c["predictor"] for c in isvc["spec"].get("canary", []))]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("strategy", STRATEGIES)
def test_every_strategy_and_mode_renders_valid_manifests(
    strategy: str, mode: str, outputs: Outputs, remote_bundle: Any, blessing: Any
) -> None:
    record = deploy(
        outputs,
        remote_bundle,
        blessing,
        strategy=strategy,
        deployment_mode=mode,
        champion_storage_uri=CHAMPION,
        inference_service_name="churn",
        namespace="ml-prod",
        cpu="500m",
        memory="2Gi",
        **LOGGER,
    )
    documents = rendered(outputs)
    for doc in documents:
        validate_manifest(doc)  # strict CRD schemas
        assert doc["metadata"]["namespace"] == "ml-prod"
    # One file per document beside all.yaml, the same documents.
    files = sorted(p.name for p in Path(outputs.manifests.path).iterdir())
    assert files == sorted(record[keys.DEPLOY_MANIFESTS])
    singles = [
        d
        for f in files
        if f != "all.yaml"
        for d in load_documents(Path(outputs.manifests.path) / f)
    ]
    assert singles == documents

    services = [d for d in documents if d["kind"] == "InferenceService"]
    for isvc in services:
        assert isvc["metadata"]["annotations"]["serving.kserve.io/deploymentMode"] == mode
        for predictor in predictors(isvc):
            model = predictor["model"]
            assert model["runtime"] == "kfp-tabular"
            assert model["modelFormat"] == {"name": "kfp-tabular", "version": "1"}
            assert (
                model["resources"]["requests"]
                == model["resources"]["limits"]
                == {
                    "cpu": "500m",
                    "memory": "2Gi",
                }
            )
            assert predictor["logger"] == {"mode": "all", "url": LOGGER["logger_url"]}
    uris = {p["model"]["storageUri"] for s in services for p in predictors(s)}
    sides = {s[keys.DEPLOY_SIDE_ROLE]: s[keys.DEPLOY_SIDE_BUNDLE_URI] for s in record["sides"]}

    if strategy == "direct":
        (isvc,) = documents
        assert uris == {remote_bundle.uri} and sides == {"stable": remote_bundle.uri}
        assert (
            "canaryTrafficPercent" not in isvc["spec"]["predictor"] and "canary" not in isvc["spec"]
        )
    elif strategy == "canary" and mode == "Knative":
        (isvc,) = documents
        # The challenger is the new revision; the champion is the revision that serves now.
        assert isvc["spec"]["predictor"]["canaryTrafficPercent"] == 10
        assert uris == {remote_bundle.uri}
        assert isvc["metadata"]["annotations"]["serving.kserve.io/enable-tag-routing"] == "true"
        assert sides == {"stable": CHAMPION, "canary": remote_bundle.uri}
    elif strategy == "canary":
        (isvc,) = documents
        (entry,) = isvc["spec"]["canary"]
        assert entry["trafficPercent"] == 10
        assert entry["predictor"]["name"] == render.canary_predictor_name(remote_bundle.uri)
        assert entry["predictor"]["name"] != isvc["spec"]["predictor"].get("name")
        assert entry["predictor"]["model"]["storageUri"] == remote_bundle.uri
        assert isvc["spec"]["predictor"]["model"]["storageUri"] == CHAMPION
        assert "maxReplicas" not in entry["predictor"]
        assert "canaryTrafficPercent" not in isvc["spec"]["predictor"]
        canary_side = next(s for s in record["sides"] if s["role"] == "canary")
        assert canary_side[keys.DEPLOY_SIDE_PREDICTOR_NAME] == entry["predictor"]["name"]
    else:
        champion, shadow, mirror = documents
        assert [d["kind"] for d in documents] == [
            "InferenceService",
            "InferenceService",
            "VirtualService",
        ]
        assert (
            champion["metadata"]["name"] == "churn" and shadow["metadata"]["name"] == "churn-shadow"
        )
        assert champion["spec"]["predictor"]["model"]["storageUri"] == CHAMPION
        assert shadow["spec"]["predictor"]["model"]["storageUri"] == remote_bundle.uri
        (route,) = mirror["spec"]["http"]
        assert mirror["spec"]["hosts"] == ["churn-predictor.ml-prod.svc.cluster.local"]
        assert (
            route["route"][0]["destination"]["host"] == "churn-predictor.ml-prod.svc.cluster.local"
        )
        assert route["mirror"]["host"] == "churn-shadow-predictor.ml-prod.svc.cluster.local"
        assert route["mirrorPercentage"] == {"value": 100.0}
        assert "mirrors" not in route  # Istio refuses mirror and mirrors together
    assert outputs.deployment.metadata["display_name"].startswith("deployment record")
    assert outputs.manifests.metadata["display_name"].startswith("manifests")
    assert outputs.summary.metadata["display_name"] == "deployment summary"
    assert f"# deploy: {record['strategy']} on render" in Path(outputs.summary.path).read_text()


def test_storage_logger_and_logger_mode(
    outputs: Outputs, remote_bundle: Any, blessing: Any
) -> None:
    deploy(
        outputs,
        remote_bundle,
        blessing,
        strategy="direct",
        logger_mode="response",
        logger_storage_path="gs://logs/churn",
        logger_storage_key="gcs-key",
        logger_storage_parameters={"type": "gs", "bucket": "logs"},
    )
    (isvc,) = rendered(outputs)
    assert isvc["spec"]["predictor"]["logger"] == {
        "mode": "response",
        "storage": {
            "path": "gs://logs/churn",
            "key": "gcs-key",
            "parameters": {"type": "gs", "bucket": "logs"},
        },
    }


def test_not_blessed_is_refused_before_anything_is_written(
    tmp_path: Path, outputs: Outputs, remote_bundle: Any
) -> None:
    refused = write_blessing(tmp_path, blessed=False)
    api = RecordingCustomObjectsApi()
    with pytest.raises(
        NotBlessedError,
        match=r"refusing to deploy a bundle that is not blessed.*"
        r"got False \(verdict 'refused': auc below the floor\)",
    ):
        deploy(outputs, remote_bundle, refused, target="kubernetes", custom_objects_api=api)
    assert api.calls == []
    assert not Path(outputs.deployment.path).exists() and not Path(outputs.manifests.path).exists()


def test_a_typo_in_a_generated_field_fails_before_any_request(
    monkeypatch: pytest.MonkeyPatch, outputs: Outputs, remote_bundle: Any, blessing: Any
) -> None:
    real = render.build_documents

    def with_typo(spec: Any) -> list[dict[str, Any]]:
        documents = copy.deepcopy(real(spec))
        predictor = documents[0]["spec"]["predictor"]
        predictor["canaryTraficPercent"] = predictor.pop("canaryTrafficPercent")
        return documents

    monkeypatch.setattr(render, "build_documents", with_typo)
    api = RecordingCustomObjectsApi()
    with pytest.raises(
        ManifestError, match=r"InferenceService churn: spec\.predictor.*canaryTraficPercent"
    ):
        deploy(
            outputs,
            remote_bundle,
            blessing,
            target="kubernetes",
            strategy="canary",
            champion_storage_uri=CHAMPION,
            inference_service_name="churn",
            custom_objects_api=api,
        )
    assert api.calls == [], "nothing may be sent after a schema error"
    assert not Path(outputs.manifests.path).exists()


def test_kserve_canary_rules_are_checked_beyond_the_schema(
    outputs: Outputs, remote_bundle: Any
) -> None:
    spec_docs = yaml.safe_load(
        render.to_yaml(
            render.build_documents(
                _spec(strategy="canary", deployment_mode="Standard", champion_storage_uri=CHAMPION)
            )
        )
    )
    same_name = copy.deepcopy(spec_docs)
    same_name["spec"]["predictor"]["name"] = same_name["spec"]["canary"][0]["predictor"]["name"]
    with pytest.raises(ManifestError, match="unique names different from the stable"):
        render.validate_documents([same_name])
    knative = copy.deepcopy(spec_docs)
    knative["metadata"]["annotations"]["serving.kserve.io/deploymentMode"] = "Knative"
    with pytest.raises(ManifestError, match="needs the annotation"):
        render.validate_documents([knative])
    scaled = copy.deepcopy(spec_docs)
    scaled["spec"]["canary"][0]["predictor"]["maxReplicas"] = 2
    with pytest.raises(ManifestError, match="maxReplicas"):
        render.validate_documents([scaled])


def _spec(**overrides: Any) -> DeployPlan:
    """The resolved plan of a config with these overrides (the bundle at gs://b/challenger)."""
    params: dict[str, Any] = {"ready_timeout_s": 60.0, **overrides}
    return plan(DeployConfig(**params), bundle_uri="gs://b/challenger")


def test_first_deployment_without_a_champion_goes_direct_and_says_so(
    outputs: Outputs, remote_bundle: Any, blessing: Any
) -> None:
    record = deploy(outputs, remote_bundle, blessing, strategy="canary")
    assert record["strategy"] == "direct" and record["requested_strategy"] == "canary"
    assert "first deployment" in record["notes"][0]
    (isvc,) = rendered(outputs)
    assert "canaryTrafficPercent" not in isvc["spec"]["predictor"]


@pytest.mark.parametrize(
    "overrides, message",
    [
        (
            {"target": "cluster"},
            r"deploy config: target: expected one of \['kubernetes', 'render', 'local'\], "
            r"got 'cluster'",
        ),
        (
            {"deployment_mode": "Serverless"},
            r"deployment_mode: expected one of \['Knative', 'Standard'\]",
        ),
        ({"canary_percent": 0}, r"canary_percent: expected an integer in 1..99, got 0"),
        ({"cpu": "half"}, r"cpu: expected a Kubernetes quantity string"),
        ({"cpu": 0.5}, r"cpu: expected text, got float 0.5"),
        (
            {"inference_service_name": "Churn_Model"},
            r"inference_service_name: expected a DNS-1123 label",
        ),
        (
            {"logger_mode": "everything"},
            r"logger_mode: expected one of \['all', 'request', 'response'\]",
        ),
        (
            {"logger_storage_path": "gs://logs"},
            r"logger_storage_key and logger_storage_parameters are required",
        ),
        (
            {"strategy": "shadow", "champion_storage_uri": CHAMPION},
            r"strategy shadow .* needs a payload logger",
        ),
    ],
)
def test_bad_parameters_are_named(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        _spec(**overrides)


def test_every_bad_parameter_is_named_at_once_and_a_bundle_needs_a_uri() -> None:
    with pytest.raises(ConfigError) as caught:
        DeployConfig(canary_percent=100, mirror_percent=0.0, ready_timeout_s=-1.0, memory="1 GB")
    assert str(caught.value) == (
        'deploy config: memory: expected a Kubernetes quantity string such as "1", "500m" '
        "or \"1Gi\", got '1 GB'; canary_percent: expected an integer in 1..99, got 100; "
        "mirror_percent: expected a number in (0, 100], got 0.0; "
        "ready_timeout_s: expected seconds > 0, got -1.0"
    )
    with pytest.raises(ConfigError, match=r"deploy: storage_uri: expected the bundle's URI"):
        plan(DeployConfig(), bundle_uri="")
    resolved = plan(DeployConfig(storage_uri="gs://b/given"), bundle_uri="gs://b/artifact")
    assert resolved.storage_uri == "gs://b/given"


def test_main_takes_the_component_arguments_as_kfp_passes_them(
    outputs: Outputs, remote_bundle: Any, blessing: Any
) -> None:
    arguments = {
        **DeployConfig().to_dict(),
        "bundle": remote_bundle,
        "blessing": blessing,
        **outputs.kwargs(),
        "strategy": "shadow",
        "champion_storage_uri": CHAMPION,
        "mirror_percent": 25,  # a pipeline's int handed to a float parameter
        **LOGGER,
    }
    executor.main(arguments)
    record = outputs.record()
    assert record["strategy"] == "shadow" and record["mirror_percent"] == 25.0
    assert record["sides"][0]["bundle_uri"] == CHAMPION
    mirror = rendered(outputs)[-1]
    assert mirror["spec"]["http"][0]["mirrorPercentage"] == {"value": 25.0}


def test_the_blessed_manifest_digest_is_recorded_annotated_and_required(
    outputs: Outputs, bundles: Any, tmp_path: Path
) -> None:
    challenger = dsl.Model(name="blessed_bundle", uri=str(bundles.challenger))
    digest = sha256_file(bundles.challenger / keys.MANIFEST_FILE)
    blessing = write_blessing(tmp_path, manifest_sha256=digest)
    record = deploy(
        outputs, challenger, blessing, strategy="direct", inference_service_name="churn"
    )
    assert record[keys.DEPLOY_MANIFEST_SHA256] == digest
    (isvc,) = rendered(outputs)
    assert isvc["metadata"]["annotations"][keys.MANIFEST_SHA256_ANNOTATION] == digest
    env = isvc["spec"]["predictor"]["model"]["env"]
    assert env == [{"name": keys.MANIFEST_SHA256_ENV, "value": digest}]


def test_a_bundle_that_is_not_the_blessed_one_is_refused(
    outputs: Outputs, bundles: Any, tmp_path: Path
) -> None:
    challenger = dsl.Model(name="blessed_bundle", uri=str(bundles.champion))
    blessing = write_blessing(tmp_path, manifest_sha256="f" * 64)
    with pytest.raises(NotBlessedError, match=r"expected f{64} \(the bundle the gate blessed\)"):
        deploy(outputs, challenger, blessing, strategy="direct")
    assert not Path(outputs.manifests.path).exists()
