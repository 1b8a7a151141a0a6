"""deploy's ``platform: seldon``: SeldonDeployment manifests for direct, canary and shadow,
validated against the strict Seldon Core v1 schema and the webhook's rules; the container runs
as the real runtime accepts it (its rendered arguments start ``python -m serving`` here); applied
through RecordingCustomObjectsApi (a test double of CustomObjectsApi, not a cluster)."""

from __future__ import annotations

import copy
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import orjson
import pytest
from kfp import dsl

from components._shared import keys
from components._shared.bundle import load_bundle
from components._shared.errors import ConfigError
from components._shared.local_serving import free_port
from components._shared.manifests import ManifestError, load_documents, validate_manifest
from components._shared.oip import v2_output, v2_request
from components.deploy import apply, seldon
from components.deploy.config import DeployConfig
from serving.__main__ import build_parser
from tests.deploy.conftest import Bundles, Outputs, RecordingCustomObjectsApi, run_deploy

CHAMPION = "gs://models-bucket/run-0/gate/blessed_bundle"
LOGGER = "http://broker-ingress.knative-eventing.svc.cluster.local/ml/default"
SELDON = ("machinelearning.seldon.io", "v1")


def render_seldon(outputs: Outputs, bundle: Any, blessing: Any, **params: Any) -> dict[str, Any]:
    params = {
        "target": "render",
        "platform": "seldon",
        "inference_service_name": "churn",
        "namespace": "ml",
        "champion_storage_uri": CHAMPION,
        **params,
    }
    run_deploy(outputs, bundle, blessing, **params)
    (doc,) = load_documents(Path(outputs.manifests.path) / keys.DEPLOY_ALL_MANIFESTS_FILE)
    return doc


def container(predictor: dict[str, Any]) -> dict[str, Any]:
    (component,) = predictor["componentSpecs"]
    (server,) = component["spec"]["containers"]
    return server


@pytest.mark.parametrize(
    ("strategy", "traffic", "shadow"),
    [
        ("direct", [100], [False]),
        ("canary", [90, 10], [False, False]),
        ("shadow", [100, 100], [False, True]),
    ],
)
def test_each_strategy_renders_one_valid_seldon_deployment(
    strategy: str,
    traffic: list[int],
    shadow: list[bool],
    outputs: Outputs,
    remote_bundle: Any,
    blessing: Any,
) -> None:
    doc = render_seldon(outputs, remote_bundle, blessing, strategy=strategy, logger_url=LOGGER)
    validate_manifest(doc)  # strict schema + webhook rules
    assert (doc["apiVersion"], doc["kind"]) == ("machinelearning.seldon.io/v1", "SeldonDeployment")
    assert doc["spec"]["protocol"] == "v2"
    predictors = doc["spec"]["predictors"]
    assert [p["traffic"] for p in predictors] == traffic
    assert [bool(p.get("shadow")) for p in predictors] == shadow
    uris = [container_uri(p) for p in predictors]
    assert uris[-1] == remote_bundle.uri  # the challenger is last
    if strategy != "direct":
        assert uris[0] == CHAMPION
    for p in predictors:
        # A custom V2 server: graph node = container = model name; its Deployment named by deploy.
        assert p["graph"] == {
            "name": "churn",
            "type": "MODEL",
            "logger": {"mode": "all", "url": LOGGER},
        }
        assert container(p)["name"] == "churn"
        assert p["name"] == seldon.predictor_name(container_uri(p))
        assert p["componentSpecs"][0]["metadata"]["name"] == f"churn-{p['name']}"


def container_uri(predictor: dict[str, Any]) -> str:
    (init,) = predictor["componentSpecs"][0]["spec"]["initContainers"]
    assert init["args"][1] == "/mnt/models"
    return str(init["args"][0])


def test_the_container_is_started_as_the_serving_runtime_starts_it(
    outputs: Outputs, remote_bundle: Any, blessing: Any
) -> None:
    doc = render_seldon(outputs, remote_bundle, blessing, strategy="direct")
    server = container(doc["spec"]["predictors"][0])
    args = build_parser().parse_args(server["args"])  # the runtime's own argparse
    assert (args.model_name, args.model_dir) == ("churn", "/mnt/models")
    assert (args.http_port, args.grpc_port, args.enable_grpc) == (8080, 8081, True)
    # The operator takes a custom container's endpoint from ports named http and grpc.
    assert {p["name"]: p["containerPort"] for p in server["ports"]} == {"http": 8080, "grpc": 8081}
    assert server["readinessProbe"]["httpGet"] == {"path": "/v2/health/ready", "port": 8080}
    assert server["livenessProbe"]["httpGet"] == {"path": "/v2/health/live", "port": 8080}
    mounts = server["volumeMounts"]
    assert mounts == [{"name": seldon.MODEL_VOLUME, "mountPath": "/mnt/models", "readOnly": True}]


def _wait(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        assert process.poll() is None, log.read_text()[-2000:]
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"not ready: {log.read_text()[-2000:]}")


def test_the_rendered_container_serves_what_seldons_orchestrator_calls(
    outputs: Outputs, bundles: Bundles, blessing: Any, tmp_path: Path
) -> None:
    """The rendered args and env run the real runtime (only the model dir and the ports
    replaced, for this machine); the probes' paths answer, and ``/v2/models/<graph node>/infer``
    (the path Seldon's executor calls for protocol v2) returns the bundle's own predictions."""
    bundle = dsl.Model(name="blessed_bundle", uri=str(bundles.challenger))
    doc = render_seldon(outputs, bundle, blessing, strategy="direct")
    server = container(doc["spec"]["predictors"][0])
    http_port, grpc_port = free_port(), free_port()
    args = [
        a.replace("/mnt/models", str(bundles.challenger))
        .replace("=8080", f"={http_port}")
        .replace("=8081", f"={grpc_port}")
        for a in server["args"]
    ]
    env = {**os.environ, **{e["name"]: e["value"] for e in server["env"]}}
    log = tmp_path / "server.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "serving", *args, "--host=127.0.0.1"],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
        )
    try:
        base = f"http://127.0.0.1:{http_port}"
        _wait(base + server["readinessProbe"]["httpGet"]["path"], process, log)
        assert httpx.get(base + server["livenessProbe"]["httpGet"]["path"]).status_code == 200
        with socket.create_connection(("127.0.0.1", grpc_port), timeout=5):
            pass  # the gRPC port listens
        records = bundles.records(5)
        schema = load_bundle(str(bundles.challenger)).schema
        node = doc["spec"]["predictors"][0]["graph"]["name"]
        response = httpx.post(
            f"{base}/v2/models/{node}/infer",
            content=orjson.dumps(v2_request(records, schema)),
            headers={"content-type": "application/json"},
            timeout=30,
        )
        assert response.status_code == 200, response.text
        expected = load_bundle(str(bundles.challenger)).predict_proba_records(records)
        got = v2_output(orjson.loads(response.content), "probability").ravel()
        np.testing.assert_allclose(
            got, expected, atol=1e-6, rtol=0
        )  # compiled trees: within 1e-6 of the booster
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_the_blessed_digest_reaches_the_challenger_only(
    outputs: Outputs, remote_bundle: Any, tmp_path: Path
) -> None:
    from tests.deploy.conftest import write_blessing

    digest = "ab" * 32
    blessing = write_blessing(tmp_path, manifest_sha256=digest)
    doc = render_seldon(outputs, remote_bundle, blessing, strategy="canary")
    assert doc["metadata"]["annotations"] == {keys.MANIFEST_SHA256_ANNOTATION: digest}
    champion, challenger = (
        {e["name"]: e["value"] for e in container(p)["env"]} for p in doc["spec"]["predictors"]
    )
    assert keys.MANIFEST_SHA256_ENV not in champion
    assert challenger[keys.MANIFEST_SHA256_ENV] == digest


def test_the_webhook_rules_and_strict_schema_catch_what_seldon_would_refuse(
    outputs: Outputs, remote_bundle: Any, blessing: Any
) -> None:
    doc = render_seldon(outputs, remote_bundle, blessing, strategy="canary")
    bad = copy.deepcopy(doc)
    bad["spec"]["predictors"][1]["traffic"] = 20  # 90 + 20
    with pytest.raises(ManifestError, match="sum to 100"):
        validate_manifest(bad)
    bad = copy.deepcopy(doc)
    bad["spec"]["predictors"][0]["trafic"] = 90  # typo: pruned by the API server
    with pytest.raises(ManifestError, match="trafic"):
        validate_manifest(bad)
    bad = copy.deepcopy(doc)
    bad["spec"]["predictors"][1]["graph"]["name"] = "model"  # no container named so
    with pytest.raises(ManifestError, match="no container named 'model'"):
        validate_manifest(bad)
    bad = copy.deepcopy(doc)
    bad["spec"]["predictors"][1]["shadow"] = True
    bad["spec"]["predictors"][0]["shadow"] = True
    with pytest.raises(ManifestError, match=r"multiple shadows|only predictor"):
        validate_manifest(bad)
    bad = copy.deepcopy(doc)
    bad["spec"]["protocol"] = "v3"
    with pytest.raises(ManifestError, match="Invalid protocol"):
        validate_manifest(bad)


def test_seldon_parameter_problems_name_the_parameter() -> None:
    with pytest.raises(ConfigError) as refused:
        DeployConfig(
            platform="seldon",
            strategy="shadow",
            mirror_percent=12.5,
            champion_storage_uri=CHAMPION,
            logger_storage_path="gs://logs",
            logger_storage_key="k",
            logger_storage_parameters={"type": "gs"},
        )
    assert "mirror_percent: expected a whole percent" in str(refused.value)
    assert "logger_storage_path: Seldon Core's payload logger" in str(refused.value)
    with pytest.raises(ConfigError, match="platform: expected one of"):
        DeployConfig(platform="triton")


def test_a_canary_of_a_bundle_against_itself_is_refused(
    outputs: Outputs, remote_bundle: Any, blessing: Any
) -> None:
    with pytest.raises(ConfigError, match="same bundle"):
        render_seldon(
            outputs,
            remote_bundle,
            blessing,
            strategy="canary",
            champion_storage_uri=remote_bundle.uri,
        )


def available(sdep: dict[str, Any], gets: int) -> None:
    """on_get: the status Seldon's operator writes once the predictors' Deployments are up."""
    if gets >= 2:
        names = [p["componentSpecs"][0]["metadata"]["name"] for p in sdep["spec"]["predictors"]]
        sdep["status"] = {
            "state": "Available",
            "address": {
                "url": "http://churn-default.ml.svc.cluster.local:8000/api/v1.0/predictions"
            },
            "deploymentStatus": {n: {"status": "Available", "availableReplicas": 1} for n in names},
        }


def test_kubernetes_target_applies_through_custom_objects_api(
    outputs: Outputs, remote_bundle: Any, blessing: Any
) -> None:
    api = RecordingCustomObjectsApi()
    api.on_get = available
    record = run_deploy(
        outputs,
        remote_bundle,
        blessing,
        target="kubernetes",
        platform="seldon",
        strategy="canary",
        inference_service_name="churn",
        namespace="ml",
        champion_storage_uri=CHAMPION,
        custom_objects_api=api,
        poll_s=0.001,
    )
    assert api.verbs()[:2] == [("get", "seldondeployments"), ("create", "seldondeployments")]
    _, create = api.calls[1]
    assert (create["group"], create["version"]) == SELDON
    assert create["field_manager"] == apply.FIELD_MANAGER
    verb_of = {"get": "get", "create": "create", "replace": "update"}
    assert {(a["group"], a["plural"], verb_of[m]) for m, a in api.calls} <= apply.API_CALLS
    (status,) = record[keys.DEPLOY_CLUSTER_STATUS]
    assert status["ready"] is True and status["state"] == "Available"
    assert [(t["percent"], t["shadow"]) for t in status["traffic"]] == [(90, False), (10, False)]
    assert record[keys.DEPLOY_PLATFORM] == "seldon"
    sides = {s["role"]: s for s in record["sides"]}
    assert sides["canary"][keys.DEPLOY_SIDE_PREDICTOR_NAME] == seldon.predictor_name(
        remote_bundle.uri
    )
    assert sides["stable"][keys.DEPLOY_SIDE_PREDICTOR_NAME] == seldon.predictor_name(CHAMPION)
    assert sides["canary"]["url"].startswith("http://churn-default.ml")
    assert "SeldonDeployment `churn`" in Path(outputs.summary.path).read_text()

    # Deployed again (a new challenger): replaced with the server's resourceVersion, and not
    # ready until the new predictor's Deployment is Available, not just the old state.
    api.on_get = None
    stale = api.objects[("seldondeployments", "ml", "churn")]
    stale["status"] = {"state": "Available", "deploymentStatus": {}}
    with pytest.raises(apply.DeployError, match="not ready within"):
        run_deploy(
            outputs,
            dsl.Model(name="b", uri="gs://models-bucket/run-2/gate/blessed_bundle"),
            blessing,
            target="kubernetes",
            platform="seldon",
            strategy="canary",
            inference_service_name="churn",
            namespace="ml",
            champion_storage_uri=CHAMPION,
            custom_objects_api=api,
            poll_s=0.001,
            ready_timeout_s=0.05,
        )
    assert ("replace", "seldondeployments") in api.verbs()
