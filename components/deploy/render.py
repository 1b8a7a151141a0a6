"""The manifests of a deployment: InferenceService(s) and, for shadow, an Istio VirtualService;
or, with ``platform: seldon``, one SeldonDeployment (:mod:`components.deploy.seldon`).

Pure functions of a :class:`~components.deploy.plan.DeployPlan`. Every document is validated
against the strict CRD schemas (:func:`components._shared.manifests.validate_manifest`) by
:func:`render`, so nothing unvalidated reaches a file or a cluster. The KServe rules no schema
carries (KSERVE_FACTS sections 4-5) are built in: the deploymentMode annotation is always set;
a Knative canary is ``canaryTrafficPercent`` on the predictor; a Standard canary is a named
``spec.canary[]`` entry whose name differs from the stable predictor's, without replica or
autoscaling fields; a logger always has a ``mode``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final

import yaml

from components._shared import keys
from components._shared.artifacts import atomic_dir
from components._shared.manifests import ManifestError, validate_manifest
from components.deploy import seldon
from components.deploy.plan import DeployPlan

ISVC_API_VERSION: Final = "serving.kserve.io/v1beta1"
VIRTUALSERVICE_API_VERSION: Final = "networking.istio.io/v1"
MODE_ANNOTATION: Final = "serving.kserve.io/deploymentMode"
TAG_ROUTING_ANNOTATION: Final = "serving.kserve.io/enable-tag-routing"
ROLE_LABEL: Final = "kfp-tabular.dev/role"
# The project's ServingRuntime (manifests/base/servingruntime.yaml): name and model format.
RUNTIME_NAME: Final = "kfp-tabular"
MODEL_FORMAT: Final = {"name": "kfp-tabular", "version": "1"}
MAX_REPLICAS: Final = 3
HTTP_PORT: Final = 80


def canary_predictor_name(storage_uri: str) -> str:
    """A Standard-mode canary name derived from the challenger's URI.

    Unique per bundle, so it never equals the stable predictor's name even after a previous
    canary was promoted (rollout moves the canary, name included, into ``spec.predictor``).
    """
    return "canary-" + hashlib.sha256(storage_uri.encode()).hexdigest()[:8]


def predictor_service_host(isvc_name: str, namespace: str) -> str:
    """The cluster host of an InferenceService's predictor (``{isvc}-predictor``, KServe 0.20)."""
    return f"{isvc_name}-predictor.{namespace}.svc.cluster.local"


def _labels(role: str) -> dict[str, str]:
    return {
        "app.kubernetes.io/name": "kfp-tabular",
        "app.kubernetes.io/component": "inference-service",
        "app.kubernetes.io/managed-by": "kfp-tabular-deploy",
        ROLE_LABEL: role,
    }


def _model(plan: DeployPlan, storage_uri: str) -> dict[str, Any]:
    resources = {"cpu": plan.config.cpu, "memory": plan.config.memory}
    model: dict[str, Any] = {
        "modelFormat": dict(MODEL_FORMAT),
        "runtime": RUNTIME_NAME,
        "protocolVersion": "v2",
        "storageUri": storage_uri,
        # requests = limits: Guaranteed QoS, and a latency benchmark that means something.
        "resources": {"requests": dict(resources), "limits": dict(resources)},
    }
    if storage_uri == plan.storage_uri and plan.manifest_sha256:
        # The runtime refuses to serve a bundle whose manifest.json is not the blessed one.
        model["env"] = [{"name": keys.MANIFEST_SHA256_ENV, "value": plan.manifest_sha256}]
    return model


def _predictor(
    plan: DeployPlan, storage_uri: str, *, name: str = "", stable: bool = True, logger: bool = False
) -> dict[str, Any]:
    predictor: dict[str, Any] = {}
    if name:
        predictor["name"] = name
    predictor["serviceAccountName"] = plan.config.service_account
    predictor["minReplicas"] = 1
    if stable:
        # KServe's webhook refuses maxReplicas (and autoscaling) on a spec.canary[] entry.
        predictor["maxReplicas"] = MAX_REPLICAS
    predictor["model"] = _model(plan, storage_uri)
    if logger or plan.logger.configured:
        predictor["logger"] = plan.logger.to_manifest()
    return predictor


def _isvc(
    plan: DeployPlan, name: str, role: str, predictor: dict[str, Any], **extra_annotations: str
) -> dict[str, Any]:
    return {
        "apiVersion": ISVC_API_VERSION,
        "kind": "InferenceService",
        "metadata": {
            "name": name,
            "namespace": plan.config.namespace,
            "labels": _labels(role),
            # Explicit, never the cluster default: KServe's code and installers disagree on it.
            "annotations": {MODE_ANNOTATION: plan.config.deployment_mode, **extra_annotations},
        },
        "spec": {"predictor": predictor},
    }


def build_documents(plan: DeployPlan) -> list[dict[str, Any]]:
    """The documents for the plan's platform, strategy and mode (not yet validated)."""
    if plan.config.platform == keys.DEPLOY_PLATFORM_SELDON:
        return seldon.build_documents(plan, _labels)
    if plan.strategy == keys.DEPLOY_STRATEGY_DIRECT:
        return [_isvc(plan, plan.name, keys.DEPLOY_ROLE_STABLE, _predictor(plan, plan.storage_uri))]
    if plan.strategy == keys.DEPLOY_STRATEGY_CANARY:
        if plan.config.deployment_mode == keys.DEPLOY_MODE_KNATIVE:
            return [_knative_canary(plan)]
        return [_standard_canary(plan)]
    return _shadow(plan)


def _knative_canary(plan: DeployPlan) -> dict[str, Any]:
    """The new revision (the challenger) gets canaryTrafficPercent; the last rolled-out
    revision (the champion this InferenceService serves now) keeps the rest."""
    predictor = _predictor(plan, plan.storage_uri)
    predictor["canaryTrafficPercent"] = plan.config.canary_percent
    return _isvc(
        plan,
        plan.name,
        keys.DEPLOY_ROLE_CANARY,
        predictor,
        # "latest"/"prev" hosts, so each revision can be probed on its own.
        **{TAG_ROUTING_ANNOTATION: "true"},
    )


def _standard_canary(plan: DeployPlan) -> dict[str, Any]:
    """The champion as ``spec.predictor``, the challenger as a named ``spec.canary[]`` entry."""
    stable = _predictor(plan, plan.config.champion_storage_uri)
    canary = _predictor(
        plan, plan.storage_uri, name=canary_predictor_name(plan.storage_uri), stable=False
    )
    # The CRD (0.20) requires a container name on a canary's model, unlike spec.predictor's;
    # "kserve-container" is the name KServe gives the model container anyway.
    canary["model"] = {"name": "kserve-container", **canary["model"]}
    doc = _isvc(plan, plan.name, keys.DEPLOY_ROLE_CANARY, stable)
    doc["spec"]["canary"] = [{"predictor": canary, "trafficPercent": plan.config.canary_percent}]
    return doc


def _shadow(plan: DeployPlan) -> list[dict[str, Any]]:
    """The champion keeps all traffic; the mesh mirrors a share to the challenger's own
    InferenceService; both log requests and responses, which the shadow step compares."""
    champion = _isvc(
        plan,
        plan.name,
        keys.DEPLOY_ROLE_STABLE,
        _predictor(plan, plan.config.champion_storage_uri, logger=True),
    )
    shadow = _isvc(
        plan,
        plan.shadow_name,
        keys.DEPLOY_ROLE_SHADOW,
        _predictor(plan, plan.storage_uri, logger=True),
    )
    return [champion, shadow, _mirror(plan)]


def _mirror(plan: DeployPlan) -> dict[str, Any]:
    """The Istio VirtualService that mirrors the champion's in-mesh traffic to the shadow."""
    namespace = plan.config.namespace
    champion_host = predictor_service_host(plan.name, namespace)
    return {
        "apiVersion": VIRTUALSERVICE_API_VERSION,
        "kind": "VirtualService",
        "metadata": {
            "name": f"{plan.name}-mirror",
            "namespace": namespace,
            "labels": _labels(keys.DEPLOY_ROLE_SHADOW),
        },
        "spec": {
            "hosts": [champion_host],
            "gateways": ["mesh"],
            "http": [
                {
                    "name": "champion-with-shadow",
                    "route": [
                        {"destination": {"host": champion_host, "port": {"number": HTTP_PORT}}}
                    ],
                    "mirror": {
                        "host": predictor_service_host(plan.shadow_name, namespace),
                        "port": {"number": HTTP_PORT},
                    },
                    "mirrorPercentage": {"value": float(plan.config.mirror_percent)},
                }
            ],
        },
    }


def validate_documents(documents: Sequence[dict[str, Any]]) -> None:
    """Validate every document; ManifestError (document, field path, rule) on the first bad one."""
    for doc in documents:
        validate_manifest(doc)
        _check_kserve_rules(doc)


def _check_kserve_rules(doc: dict[str, Any]) -> None:
    """The webhook rules of spec.canary[] that no schema carries (KSERVE_FACTS section 4c)."""
    if doc.get("kind") != "InferenceService":
        return
    spec = doc.get("spec") or {}
    canaries = spec.get("canary") or []
    if not canaries:
        return
    where = f"InferenceService {doc['metadata']['name']}"
    if doc["metadata"].get("annotations", {}).get(MODE_ANNOTATION) != keys.DEPLOY_MODE_STANDARD:
        raise ManifestError(
            f"{where}: spec.canary needs the annotation {MODE_ANNOTATION}: Standard"
        )
    names = [(c.get("predictor") or {}).get("name") for c in canaries]
    stable_name = (spec.get("predictor") or {}).get("name")
    if not all(names) or len(set(names)) != len(names) or stable_name in names:
        raise ManifestError(
            f"{where}: spec.canary[].predictor.name: expected unique names different from the "
            f"stable predictor's {stable_name!r}, got {names}"
        )
    if sum(int(c.get("trafficPercent") or 0) for c in canaries) > 100:
        raise ManifestError(f"{where}: spec.canary[].trafficPercent: the sum exceeds 100")
    for i, entry in enumerate(canaries):
        forbidden = {"workerSpec", "maxReplicas", "scaleTarget", "scaleMetric", "autoScaling"}
        present = sorted(forbidden & set(entry.get("predictor") or {}))
        if present:
            raise ManifestError(
                f"{where}: spec.canary[{i}].predictor: {present} not allowed on a canary"
            )


def render(plan: DeployPlan) -> list[dict[str, Any]]:
    """The validated documents of a deployment."""
    documents = build_documents(plan)
    if plan.manifest_sha256:
        _annotate_digest(documents, plan)
    validate_documents(documents)
    return documents


def _annotate_digest(documents: list[dict[str, Any]], plan: DeployPlan) -> None:
    """Annotate every InferenceService (or SeldonDeployment) that serves the challenger with its
    manifest digest."""
    for doc in documents:
        serving = doc["kind"] in ("InferenceService", seldon.KIND)
        if serving and plan.storage_uri in json.dumps(doc["spec"]):
            annotations = doc["metadata"].setdefault("annotations", {})
            annotations[keys.MANIFEST_SHA256_ANNOTATION] = plan.manifest_sha256


def document_file_name(index: int, doc: dict[str, Any]) -> str:
    """``00-inferenceservice-churn.yaml``: ordered, kind and name in the file name."""
    return f"{index:02d}-{doc['kind'].lower()}-{doc['metadata']['name']}.yaml"


def to_yaml(documents: Sequence[dict[str, Any]]) -> str:
    """Multi-document YAML, keys in the order built (readable diffs)."""
    return yaml.safe_dump_all(list(documents), sort_keys=False, default_flow_style=False)


def write_documents(documents: Sequence[dict[str, Any]], directory: str | Path) -> list[str]:
    """Write one file per document plus ``all.yaml`` (``kubectl apply -f all.yaml``), atomically.

    The documents are validated again first: this is the last stop before a file.
    Returns the file names written, ``all.yaml`` last.
    """
    validate_documents(documents)
    names = [document_file_name(i, doc) for i, doc in enumerate(documents)]
    with atomic_dir(directory) as tmp:
        for name, doc in zip(names, documents, strict=True):
            (tmp / name).write_text(to_yaml([doc]), encoding="utf-8")
        (tmp / keys.DEPLOY_ALL_MANIFESTS_FILE).write_text(to_yaml(documents), encoding="utf-8")
    return [*names, keys.DEPLOY_ALL_MANIFESTS_FILE]
