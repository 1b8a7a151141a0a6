"""The kubernetes target's requests, recorded by RecordingCustomObjectsApi (a test double, not a
cluster): which objects are created or replaced, with which bodies, how readiness is waited on,
and what status is reported."""

from __future__ import annotations

from typing import Any

import pytest

from components._shared import keys
from components.deploy import apply, render
from tests.deploy.conftest import Outputs, RecordingCustomObjectsApi, run_deploy

CHAMPION = "gs://models-bucket/run-0/gate/blessed_bundle"
KSERVE = ("serving.kserve.io", "v1beta1")


def ready_after(polls: int, status: dict[str, Any]) -> Any:
    """on_get: the scripted controller status once the object was polled ``polls`` times."""

    def script(obj: dict[str, Any], gets: int) -> None:
        if gets >= polls:
            obj["status"] = {**status, "observedGeneration": obj["metadata"]["generation"]}

    return script


def knative_status() -> dict[str, Any]:
    return {
        "url": "http://churn.kfp-tabular.example.com",
        "conditions": [{"type": "Ready", "status": "True"}],
        "components": {
            "predictor": {
                "latestReadyRevision": "churn-predictor-00002",
                "latestRolledoutRevision": "churn-predictor-00001",
                "traffic": [
                    {
                        "revisionName": "churn-predictor-00002",
                        "percent": 10,
                        "latestRevision": True,
                        "tag": "latest",
                    },
                    {
                        "revisionName": "churn-predictor-00001",
                        "percent": 90,
                        "latestRevision": False,
                        "tag": "prev",
                    },
                ],
            }
        },
    }


def existing_champion(mode: str, predictor_name: str | None = None) -> dict[str, Any]:
    predictor: dict[str, Any] = {
        "model": {"modelFormat": {"name": "kfp-tabular"}, "storageUri": CHAMPION}
    }
    if predictor_name:
        predictor["name"] = predictor_name
    return {
        "apiVersion": "serving.kserve.io/v1beta1",
        "kind": "InferenceService",
        "metadata": {
            "name": "churn",
            "namespace": "kfp-tabular",
            "annotations": {"serving.kserve.io/deploymentMode": mode},
        },
        "spec": {"predictor": predictor},
        # Ready for the spec it has now (generation 1, observed), the champion's.
        "status": {"observedGeneration": 1, "conditions": [{"type": "Ready", "status": "True"}]},
    }


def run_kubernetes(
    outputs: Outputs, bundle: Any, blessing: Any, api: Any, **params: Any
) -> dict[str, Any]:
    return run_deploy(
        outputs,
        bundle,
        blessing,
        target="kubernetes",
        inference_service_name="churn",
        namespace="kfp-tabular",
        champion_storage_uri=CHAMPION,
        custom_objects_api=api,
        poll_s=0.001,
        **params,
    )


def test_knative_canary_replaces_the_served_isvc_and_reports_traffic_per_revision(
    outputs: Outputs, remote_bundle: Any, blessing: Any
) -> None:
    api = RecordingCustomObjectsApi([existing_champion("Knative")])
    api.on_get = ready_after(3, knative_status())
    record = run_kubernetes(
        outputs, remote_bundle, blessing, api, strategy="canary", deployment_mode="Knative"
    )

    assert api.verbs()[:2] == [("get", "inferenceservices"), ("replace", "inferenceservices")]
    assert all(verb == "get" for verb, _ in api.verbs()[2:])  # readiness polls only
    _, replace = api.calls[1]
    assert (replace["group"], replace["version"]) == KSERVE
    assert replace["field_manager"] == apply.FIELD_MANAGER
    body = replace["body"]
    assert body["metadata"]["resourceVersion"] == "101"  # the server's, so no lost update
    assert body["spec"]["predictor"]["canaryTrafficPercent"] == 10
    assert body["spec"]["predictor"]["model"]["storageUri"] == remote_bundle.uri
    assert "status" not in body

    (status,) = record[keys.DEPLOY_CLUSTER_STATUS]
    assert status["ready"] is True
    assert [(t["revisionName"], t["percent"]) for t in status["traffic"]] == [
        ("churn-predictor-00002", 10),
        ("churn-predictor-00001", 90),
    ]
    assert record["deployed_revision"] == "churn-predictor-00002"
    assert record["applied"] == [
        {"kind": "InferenceService", "name": "churn", "action": "replaced"}
    ]
    sides = {s["role"]: s for s in record["sides"]}
    assert sides["canary"]["url"] == "http://churn.kfp-tabular.example.com"


def test_standard_canary_keeps_a_promoted_stable_name_and_waits_for_the_canary(
    outputs: Outputs, remote_bundle: Any, blessing: Any
) -> None:
    api = RecordingCustomObjectsApi(
        [existing_champion("Standard", predictor_name="canary-0123abcd")]
    )
    canary_name = render.canary_predictor_name(remote_bundle.uri)
    api.on_get = ready_after(
        2,
        {
            "conditions": [
                {"type": "Ready", "status": "True"},
                {"type": "CanaryPredictorReady", "status": "True"},
            ],
            "canaryStatuses": [{"name": canary_name, "ready": True, "trafficPercent": 10}],
        },
    )
    record = run_kubernetes(
        outputs, remote_bundle, blessing, api, strategy="canary", deployment_mode="Standard"
    )
    body = api.calls[1][1]["body"]
    assert body["spec"]["predictor"]["name"] == "canary-0123abcd"  # adopted: no Deployment swap
    assert body["spec"]["canary"][0]["predictor"]["name"] == canary_name
    assert record[keys.DEPLOY_CLUSTER_STATUS][0]["canary_statuses"][0]["trafficPercent"] == 10


def test_shadow_creates_both_services_and_the_mirror(
    outputs: Outputs, remote_bundle: Any, blessing: Any
) -> None:
    api = RecordingCustomObjectsApi()
    api.on_get = ready_after(
        1, {"url": "http://x", "conditions": [{"type": "Ready", "status": "True"}]}
    )
    record = run_kubernetes(
        outputs,
        remote_bundle,
        blessing,
        api,
        strategy="shadow",
        deployment_mode="Standard",
        logger_url="http://logs.kfp-tabular.svc.cluster.local",
    )
    creates = [
        (args["plural"], args["body"]["metadata"]["name"])
        for verb, args in api.calls
        if verb == "create"
    ]
    assert creates == [
        ("inferenceservices", "churn"),
        ("inferenceservices", "churn-shadow"),
        ("virtualservices", "churn-mirror"),
    ]
    vs_create = next(a for v, a in api.calls if v == "create" and a["plural"] == "virtualservices")
    assert (vs_create["group"], vs_create["version"]) == ("networking.istio.io", "v1")
    assert [s["name"] for s in record[keys.DEPLOY_CLUSTER_STATUS]] == ["churn", "churn-shadow"]


def test_every_call_is_declared_in_api_calls(
    outputs: Outputs, remote_bundle: Any, blessing: Any
) -> None:
    api = RecordingCustomObjectsApi([existing_champion("Knative")])
    api.on_get = ready_after(1, knative_status())
    run_kubernetes(
        outputs, remote_bundle, blessing, api, strategy="canary", deployment_mode="Knative"
    )
    verb_of = {"get": "get", "create": "create", "replace": "update"}
    used = {(args["group"], args["plural"], verb_of[method]) for method, args in api.calls}
    assert used <= apply.API_CALLS


def test_not_ready_in_time_names_the_service_and_its_conditions(
    outputs: Outputs, remote_bundle: Any, blessing: Any
) -> None:
    api = RecordingCustomObjectsApi()
    api.on_get = ready_after(
        1,
        {
            "conditions": [
                {
                    "type": "Ready",
                    "status": "False",
                    "message": "storage initializer: no model found",
                }
            ]
        },
    )
    with pytest.raises(
        apply.DeployError, match=r"not ready within 0.05s: churn: Ready=False storage initializer"
    ):
        run_kubernetes(
            outputs, remote_bundle, blessing, api, strategy="direct", ready_timeout_s=0.05
        )
    assert not __import__("pathlib").Path(outputs.deployment.path).exists()
