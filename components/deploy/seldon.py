"""The ``seldon`` platform: a SeldonDeployment (machinelearning.seldon.io/v1, Seldon Core v1).

The project's serving image runs as a *custom server* speaking the Open Inference Protocol
(``spec.protocol: v2``): a graph node without ``implementation`` and a container of the same
name in ``componentSpecs`` (KFP_REST_AND_SELDON_FACTS 1.3). Seldon's service orchestrator
forwards ``/v2/models/<node>/infer`` to that container, so the node, the container and the
runtime's ``--model_name`` are one name: the deployment's, as on KServe.

What the runtime really accepts (serving/__main__.py, manifests/base/servingruntime.yaml):
``--model_name``, ``--model_dir``, ``--http_port=8080`` (V1 and V2 REST, /metrics,
``/v2/health/ready`` and ``/v2/health/live``) and ``--grpc_port=8081`` (V2 gRPC). The container
declares them as ports named ``http`` and ``grpc``: the operator takes a custom container's
endpoint ports from those names (``GetPort(constants.HttpPortName, ...)`` in
``apis/.../v1/defaults.go``) instead of allotting 9000/9500.

Seldon Core v1 downloads a ``modelUri`` only for its prepackaged servers, so the bundle is
fetched by an init container running KServe's storage initializer (the same code that fills an
InferenceService's ``/mnt/models``) into an ``emptyDir`` the server mounts read-only.

Strategies (the webhook's rules, checked by
:func:`components._shared.manifests.validate_manifest`):

- direct: one predictor, ``traffic: 100``;
- canary: the champion's predictor ``traffic: 100 - canary_percent`` and the challenger's
  ``traffic: canary_percent`` (Seldon's Istio VirtualService or Ambassador Mapping weights);
- shadow: the champion's predictor ``traffic: 100`` and the challenger's ``shadow: true`` with
  ``traffic: mirror_percent`` (Istio ``mirror`` + ``mirrorPercentage``), both logging payloads.

A predictor is named after its bundle (``bundle-<sha256(uri)[:8]>``): a promoted canary keeps its
name, and the next deployment, whose champion it now is, renders the same predictor, so its pods
are not replaced.
"""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Callable
from typing import Any, Final

from components._image import SERVING_IMAGE
from components._shared import keys
from components._shared.errors import ConfigError
from components.deploy.plan import DeployPlan

API_VERSION: Final = "machinelearning.seldon.io/v1"
KIND: Final = "SeldonDeployment"
# Seldon Core v1 releases whose CRD schema the strict schema is (deep-equal at both tags).
TARGET_VERSIONS: Final = ("1.17.1", "1.18.2")
HTTP_PORT: Final = 8080
GRPC_PORT: Final = 8081
MODEL_DIR: Final = "/mnt/models"
MODEL_VOLUME: Final = "kfp-tabular-bundle"
STORAGE_INITIALIZER: Final = "storage-initializer"
# Requests and limits of the init container (KServe's storage-initializer defaults).
INITIALIZER_RESOURCES: Final = {
    "requests": {"cpu": "100m", "memory": "100Mi"},
    "limits": {"cpu": "1", "memory": "1Gi"},
}
_RESTRICTED: Final = {
    "allowPrivilegeEscalation": False,
    "capabilities": {"drop": ["ALL"]},
    "seccompProfile": {"type": "RuntimeDefault"},
}


def predictor_name(storage_uri: str) -> str:
    """``bundle-<8 hex>``: a predictor's name, derived from the bundle it serves."""
    return "bundle-" + hashlib.sha256(storage_uri.encode()).hexdigest()[:8]


def workload_name(deployment: str, predictor: str) -> str:
    """The Deployment Seldon creates for a predictor (its ``componentSpecs[0].metadata.name``)."""
    return f"{deployment}-{predictor}"


def _server(plan: DeployPlan, storage_uri: str) -> dict[str, Any]:
    """The runtime container, started as the ServingRuntime starts it."""
    resources = {"cpu": plan.config.cpu, "memory": plan.config.memory}
    env = [{"name": "OMP_NUM_THREADS", "value": "1"}]
    if storage_uri == plan.storage_uri and plan.manifest_sha256:
        env.append({"name": keys.MANIFEST_SHA256_ENV, "value": plan.manifest_sha256})

    def probe(path: str, **timing: int) -> dict[str, Any]:
        return {"httpGet": {"path": path, "port": HTTP_PORT}, **timing}

    return {
        "name": plan.name,
        "image": SERVING_IMAGE,
        "args": [
            f"--model_name={plan.name}",
            f"--model_dir={MODEL_DIR}",
            f"--http_port={HTTP_PORT}",
            f"--grpc_port={GRPC_PORT}",
        ],
        "ports": [
            {"name": "http", "containerPort": HTTP_PORT, "protocol": "TCP"},
            {"name": "grpc", "containerPort": GRPC_PORT, "protocol": "TCP"},
        ],
        "env": env,
        "readinessProbe": probe("/v2/health/ready", periodSeconds=5),
        "livenessProbe": probe("/v2/health/live", periodSeconds=10, failureThreshold=3),
        # requests = limits: Guaranteed QoS, as for the InferenceService.
        "resources": {"requests": dict(resources), "limits": dict(resources)},
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": 10001,
            "runAsGroup": 10001,
            "readOnlyRootFilesystem": True,
            **copy.deepcopy(_RESTRICTED),
        },
        "volumeMounts": [{"name": MODEL_VOLUME, "mountPath": MODEL_DIR, "readOnly": True}],
    }


def _initializer(plan: DeployPlan, storage_uri: str) -> dict[str, Any]:
    """KServe's storage initializer: ``<uri> /mnt/models``, as KServe's injector runs it."""
    return {
        "name": STORAGE_INITIALIZER,
        "image": plan.config.storage_initializer_image,
        "args": [storage_uri, MODEL_DIR],
        "resources": {k: dict(v) for k, v in INITIALIZER_RESOURCES.items()},
        "securityContext": {"runAsNonRoot": True, **copy.deepcopy(_RESTRICTED)},
        "volumeMounts": [{"name": MODEL_VOLUME, "mountPath": MODEL_DIR}],
    }


def _predictor(
    plan: DeployPlan, storage_uri: str, traffic: int, *, shadow: bool = False, log: bool = False
) -> dict[str, Any]:
    name = predictor_name(storage_uri)
    graph: dict[str, Any] = {"name": plan.name, "type": "MODEL"}
    if log or plan.logger.configured:
        # Seldon's logger: a CloudEvents URL and a mode (the webhook requires the mode).
        graph["logger"] = {"mode": plan.logger.mode}
        if plan.logger.url:
            graph["logger"]["url"] = plan.logger.url
    predictor: dict[str, Any] = {"name": name, "replicas": 1, "traffic": traffic}
    if shadow:
        predictor["shadow"] = True
    predictor["componentSpecs"] = [
        {
            "metadata": {
                "name": workload_name(plan.name, name),
                "labels": {
                    "app.kubernetes.io/name": "kfp-tabular",
                    "app.kubernetes.io/component": "model-server",
                },
            },
            "spec": {
                "serviceAccountName": plan.config.service_account,
                "initContainers": [_initializer(plan, storage_uri)],
                "containers": [_server(plan, storage_uri)],
                "volumes": [{"name": MODEL_VOLUME, "emptyDir": {}}],
            },
        }
    ]
    predictor["graph"] = graph
    return predictor


Labels = Callable[[str], dict[str, str]]


def _document(
    plan: DeployPlan, role: str, predictors: list[dict[str, Any]], labels: Labels
) -> dict[str, Any]:
    return {
        "apiVersion": API_VERSION,
        "kind": KIND,
        "metadata": {"name": plan.name, "namespace": plan.config.namespace, "labels": labels(role)},
        "spec": {"protocol": "v2", "predictors": predictors},
    }


def build_documents(plan: DeployPlan, labels: Labels) -> list[dict[str, Any]]:
    """The one SeldonDeployment of the plan's strategy (not yet validated); ``labels(role)``
    gives the object's labels.

    Raises:
        ConfigError: canary or shadow of a bundle against itself (one predictor name twice).
    """
    champion = plan.config.champion_storage_uri
    if plan.strategy == keys.DEPLOY_STRATEGY_DIRECT:
        predictors = [_predictor(plan, plan.storage_uri, 100)]
        return [_document(plan, keys.DEPLOY_ROLE_STABLE, predictors, labels)]
    if predictor_name(champion) == predictor_name(plan.storage_uri):
        raise ConfigError(
            f"deploy (seldon): champion_storage_uri and the challenger are the same bundle "
            f"{plan.storage_uri!r}: a {plan.strategy} needs two"
        )
    if plan.strategy == keys.DEPLOY_STRATEGY_CANARY:
        percent = int(plan.config.canary_percent)
        predictors = [
            _predictor(plan, champion, 100 - percent),
            _predictor(plan, plan.storage_uri, percent),
        ]
        return [_document(plan, keys.DEPLOY_ROLE_CANARY, predictors, labels)]
    predictors = [
        _predictor(plan, champion, 100, log=True),
        _predictor(plan, plan.storage_uri, int(plan.config.mirror_percent), shadow=True, log=True),
    ]
    return [_document(plan, keys.DEPLOY_ROLE_SHADOW, predictors, labels)]


def roles(plan: DeployPlan) -> list[tuple[str, str, str]]:
    """(role, bundle URI, predictor name) of each side the SeldonDeployment serves."""
    champion = plan.config.champion_storage_uri
    challenger = (plan.storage_uri, predictor_name(plan.storage_uri))
    if plan.strategy == keys.DEPLOY_STRATEGY_DIRECT:
        return [(keys.DEPLOY_ROLE_STABLE, *challenger)]
    other = (
        keys.DEPLOY_ROLE_CANARY
        if plan.strategy == keys.DEPLOY_STRATEGY_CANARY
        else keys.DEPLOY_ROLE_SHADOW
    )
    return [
        (keys.DEPLOY_ROLE_STABLE, champion, predictor_name(champion)),
        (other, *challenger),
    ]
