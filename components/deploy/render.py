"""The manifests of a deployment: InferenceService(s) and, for shadow, an Istio VirtualService.

Pure functions of a :class:`~components.deploy.config.DeploySpec`. Every document is validated
against the strict CRD schemas (:func:`components._shared.manifests.validate_manifest`) by
:func:`render`, so nothing unvalidated reaches a file or a cluster. The KServe rules no schema
carries (KSERVE_FACTS sections 4-5) are built in: the deploymentMode annotation is always set;
a Knative canary is ``canaryTrafficPercent`` on the predictor; a Standard canary is a named
``spec.canary[]`` entry whose name differs from the stable predictor's, without replica or
autoscaling fields; a logger always has a ``mode``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final

import yaml

from components._shared import keys
from components._shared.artifacts import atomic_dir
from components._shared.manifests import ManifestError, validate_manifest
from components.deploy.config import DeploySpec

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


def _model(spec: DeploySpec, storage_uri: str) -> dict[str, Any]:
    resources = {"cpu": spec.cpu, "memory": spec.memory}
    return {
        "modelFormat": dict(MODEL_FORMAT),
        "runtime": RUNTIME_NAME,
        "protocolVersion": "v2",
        "storageUri": storage_uri,
        # requests = limits: Guaranteed QoS, and a latency benchmark that means something.
        "resources": {"requests": dict(resources), "limits": dict(resources)},
    }


def _predictor(
    spec: DeploySpec, storage_uri: str, *, name: str = "", stable: bool = True, logger: bool = False
) -> dict[str, Any]:
    predictor: dict[str, Any] = {}
    if name:
        predictor["name"] = name
    predictor["serviceAccountName"] = spec.service_account
    predictor["minReplicas"] = 1
    if stable:
        # KServe's webhook refuses maxReplicas (and autoscaling) on a spec.canary[] entry.
        predictor["maxReplicas"] = MAX_REPLICAS
    predictor["model"] = _model(spec, storage_uri)
    if logger or spec.logger.configured:
        predictor["logger"] = spec.logger.to_manifest()
    return predictor


def _isvc(
    spec: DeploySpec, name: str, role: str, predictor: dict[str, Any], **extra_annotations: str
) -> dict[str, Any]:
    return {
        "apiVersion": ISVC_API_VERSION,
        "kind": "InferenceService",
        "metadata": {
            "name": name,
            "namespace": spec.namespace,
            "labels": _labels(role),
            # Explicit, never the cluster default: KServe's code and installers disagree on it.
            "annotations": {MODE_ANNOTATION: spec.mode, **extra_annotations},
        },
        "spec": {"predictor": predictor},
    }


def build_documents(spec: DeploySpec) -> list[dict[str, Any]]:
    """The documents for the spec's strategy and mode (not yet validated)."""
    if spec.strategy == keys.DEPLOY_STRATEGY_DIRECT:
        return [_isvc(spec, spec.name, keys.DEPLOY_ROLE_STABLE, _predictor(spec, spec.storage_uri))]
    if spec.strategy == keys.DEPLOY_STRATEGY_CANARY:
        if spec.mode == keys.DEPLOY_MODE_KNATIVE:
            # The new revision (challenger) gets canaryTrafficPercent, the last rolled-out
            # revision (the champion this InferenceService serves now) keeps the rest.
            predictor = _predictor(spec, spec.storage_uri)
            predictor["canaryTrafficPercent"] = spec.canary_percent
            return [
                _isvc(
                    spec,
                    spec.name,
                    keys.DEPLOY_ROLE_CANARY,
                    predictor,
                    # "latest"/"prev" hosts, so each revision can be probed on its own.
                    **{TAG_ROUTING_ANNOTATION: "true"},
                )
            ]
        stable = _predictor(spec, spec.champion_storage_uri)
        canary = _predictor(
            spec, spec.storage_uri, name=canary_predictor_name(spec.storage_uri), stable=False
        )
        # The CRD (0.20) requires a container name on a canary's model, unlike spec.predictor's;
        # "kserve-container" is the name KServe gives the model container anyway.
        canary["model"] = {"name": "kserve-container", **canary["model"]}
        doc = _isvc(spec, spec.name, keys.DEPLOY_ROLE_CANARY, stable)
        doc["spec"]["canary"] = [{"predictor": canary, "trafficPercent": spec.canary_percent}]
        return [doc]
    # shadow: the champion keeps all traffic; the mesh mirrors a share to the challenger's own
    # InferenceService; both log requests and responses, which the shadow step compares.
    champion = _isvc(
        spec,
        spec.name,
        keys.DEPLOY_ROLE_STABLE,
        _predictor(spec, spec.champion_storage_uri, logger=True),
    )
    shadow = _isvc(
        spec,
        spec.shadow_name,
        keys.DEPLOY_ROLE_SHADOW,
        _predictor(spec, spec.storage_uri, logger=True),
    )
    champion_host = predictor_service_host(spec.name, spec.namespace)
    mirror = {
        "apiVersion": VIRTUALSERVICE_API_VERSION,
        "kind": "VirtualService",
        "metadata": {
            "name": f"{spec.name}-mirror",
            "namespace": spec.namespace,
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
                        "host": predictor_service_host(spec.shadow_name, spec.namespace),
                        "port": {"number": HTTP_PORT},
                    },
                    "mirrorPercentage": {"value": spec.mirror_percent},
                }
            ],
        },
    }
    return [champion, shadow, mirror]


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


def render(spec: DeploySpec) -> list[dict[str, Any]]:
    """The validated documents of a deployment."""
    documents = build_documents(spec)
    validate_documents(documents)
    return documents


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
