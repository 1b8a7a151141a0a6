"""The thin cluster client of deploy: create or replace the validated documents, wait, report.

The same client applies both platforms: InferenceServices (and a shadow's VirtualService) and
SeldonDeployments (``machinelearning.seldon.io/v1``), with the same error handling.

Only this module talks to a Kubernetes API server, through ``kubernetes.client.CustomObjectsApi``
(get, create, replace). :data:`API_CALLS` lists every (api group, resource, verb) it uses; the
Role in manifests/base/rbac.yaml grants exactly those plus rollout's
(``components/rollout/patches.py: API_CALLS``), and a test holds them equal.

Replace (PUT with the server's resourceVersion) rather than a merge patch: the deployed object
becomes exactly the rendered one, so a field left over from an earlier deploy (an old
``canaryTrafficPercent``, a removed canary entry) cannot survive it.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final

from components._shared.errors import KfpTabularError
from components.deploy.render import validate_documents

FIELD_MANAGER: Final = "kfp-tabular-deploy"
# kind -> (api group, version, plural)
RESOURCES: Final = {
    "InferenceService": ("serving.kserve.io", "v1beta1", "inferenceservices"),
    "VirtualService": ("networking.istio.io", "v1", "virtualservices"),
    "SeldonDeployment": ("machinelearning.seldon.io", "v1", "seldondeployments"),
}
# The kinds whose readiness deploy waits on.
SERVING_KINDS: Final = ("InferenceService", "SeldonDeployment")
# Every (api group, resource, verb) this module calls: get (existence, readiness), create,
# update (replace). The RBAC test reads this.
API_CALLS: Final = frozenset(
    (group, plural, verb)
    for group, _, plural in RESOURCES.values()
    for verb in ("get", "create", "update")
)
POLL_INTERVAL_S: Final = 5.0


class DeployError(KfpTabularError):
    """The cluster refused a document, or an InferenceService did not become ready in time."""


def _status_code(exc: Exception) -> int | None:
    status = getattr(exc, "status", None)
    return int(status) if isinstance(status, int) else None


def _get(api: Any, doc: Mapping[str, Any]) -> dict[str, Any] | None:
    group, version, plural = RESOURCES[doc["kind"]]
    meta = doc["metadata"]
    try:
        return dict(
            api.get_namespaced_custom_object(
                group, version, meta["namespace"], plural, meta["name"]
            )
        )
    except Exception as exc:  # kubernetes.client.ApiException; 404 = not there yet
        if _status_code(exc) == 404:
            return None
        raise DeployError(f"GET {doc['kind']} {meta['name']}: {exc}") from None


def _adopt_stable_name(doc: dict[str, Any], existing: Mapping[str, Any] | None) -> None:
    """Keep the running stable predictor's ``name`` (set by an earlier promotion): renaming it
    would replace its Deployment, and a canary must differ from it (KServe's webhook)."""
    if existing is None or doc["kind"] != "InferenceService" or not doc["spec"].get("canary"):
        return
    name = ((existing.get("spec") or {}).get("predictor") or {}).get("name")
    if name:
        doc["spec"]["predictor"] = {"name": name, **doc["spec"]["predictor"]}


def apply_documents(api: Any, documents: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Create each document, or replace it if it exists; validated again right before sending.

    Returns one ``{kind, name, action: created|replaced}`` per document.
    """
    results = []
    for original in documents:
        doc = copy.deepcopy(dict(original))
        group, version, plural = RESOURCES[doc["kind"]]
        meta = doc["metadata"]
        existing = _get(api, doc)
        _adopt_stable_name(doc, existing)
        validate_documents([doc])
        try:
            if existing is None:
                api.create_namespaced_custom_object(
                    group, version, meta["namespace"], plural, doc, field_manager=FIELD_MANAGER
                )
                action = "created"
            else:
                meta["resourceVersion"] = existing["metadata"]["resourceVersion"]
                api.replace_namespaced_custom_object(
                    group,
                    version,
                    meta["namespace"],
                    plural,
                    meta["name"],
                    doc,
                    field_manager=FIELD_MANAGER,
                )
                action = "replaced"
        except Exception as exc:  # ApiException: admission webhook refusals land here
            raise DeployError(
                f"{doc['kind']} {meta['name']}: the API server refused it: {exc}"
            ) from None
        results.append({"kind": doc["kind"], "name": meta["name"], "action": action})
    return results


def _condition(status: Mapping[str, Any], kind: str) -> dict[str, Any] | None:
    return next((c for c in status.get("conditions") or [] if c.get("type") == kind), None)


def summarize_seldon_status(sdep: Mapping[str, Any]) -> dict[str, Any]:
    """Readiness and URL of a SeldonDeployment as the operator reports it.

    Ready when ``status.state`` is ``Available`` and the Deployment of every predictor in the
    spec (``componentSpecs[].metadata.name``) is listed Available in ``deploymentStatus``: right
    after a replace the state may still describe the previous spec, whose Deployments differ.
    """
    status = sdep.get("status") or {}
    deployments = status.get("deploymentStatus") or {}
    wanted = [
        (component.get("metadata") or {}).get("name")
        for predictor in (sdep.get("spec") or {}).get("predictors") or []
        for component in predictor.get("componentSpecs") or []
    ]
    ready = status.get("state") == "Available" and all(
        (deployments.get(name) or {}).get("status") == "Available" for name in wanted if name
    )
    return {
        "name": (sdep.get("metadata") or {}).get("name"),
        "ready": ready,
        "state": status.get("state"),
        "url": (status.get("address") or {}).get("url"),
        "conditions": [
            {"type": name, "status": str((d or {}).get("status")), "message": ""}
            for name, d in deployments.items()
        ],
        "traffic": [
            {
                "predictor": p.get("name"),
                "percent": p.get("traffic"),
                "shadow": bool(p.get("shadow")),
            }
            for p in (sdep.get("spec") or {}).get("predictors") or []
        ],
        "description": status.get("description"),
    }


def summarize_status(isvc: Mapping[str, Any]) -> dict[str, Any]:
    """Readiness, URL, conditions and traffic of an InferenceService as the server reports it.

    Knative mode: ``traffic`` per revision (status.components.predictor.traffic) and the
    latest-ready / latest-rolled-out revisions. Standard mode: ``canary_statuses``
    (status.canaryStatuses) and the CanaryPredictorReady condition.
    """
    status = isvc.get("status") or {}
    predictor = (status.get("components") or {}).get("predictor") or {}
    conditions = [
        {k: c.get(k) for k in ("type", "status", "reason", "message") if c.get(k) is not None}
        for c in status.get("conditions") or []
    ]
    ready = (_condition(status, "Ready") or {}).get("status") == "True"
    # Right after a replace the status still describes the previous spec: it counts only once
    # the controller has observed the current generation.
    generation = (isvc.get("metadata") or {}).get("generation")
    observed = status.get("observedGeneration")
    if generation is not None and (observed is None or int(observed) < int(generation)):
        ready = False
    if (isvc.get("spec") or {}).get("canary"):
        ready = ready and (_condition(status, "CanaryPredictorReady") or {}).get("status") == "True"
    return {
        "name": (isvc.get("metadata") or {}).get("name"),
        "ready": ready,
        "generation": generation,
        "observed_generation": observed,
        "url": status.get("url"),
        "conditions": conditions,
        "traffic": [
            {k: t.get(k) for k in ("revisionName", "percent", "latestRevision", "tag") if k in t}
            for t in predictor.get("traffic") or []
        ],
        "latest_ready_revision": predictor.get("latestReadyRevision"),
        "latest_rolledout_revision": predictor.get("latestRolledoutRevision"),
        "canary_statuses": list(status.get("canaryStatuses") or []),
    }


def wait_ready(
    api: Any,
    documents: Sequence[Mapping[str, Any]],
    *,
    timeout_s: float,
    poll_s: float = POLL_INTERVAL_S,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> list[dict[str, Any]]:
    """Poll every InferenceService until it (and its canary) is Ready, every SeldonDeployment
    until it is Available; their status summaries.

    Raises:
        DeployError: not ready within ``timeout_s``, naming the service and its conditions.
    """
    services = [d for d in documents if d["kind"] in SERVING_KINDS]
    deadline = clock() + timeout_s
    while True:
        summaries = []
        for doc in services:
            current = _get(api, doc)
            summarize = (
                summarize_seldon_status if doc["kind"] == "SeldonDeployment" else summarize_status
            )
            summaries.append(summarize(current or {"metadata": doc["metadata"]}))
        waiting = [s for s in summaries if not s["ready"]]
        if not waiting:
            return summaries
        if clock() >= deadline:
            detail = "; ".join(
                f"{s['name']}: "
                + (
                    ", ".join(
                        f"{c.get('type')}={c.get('status')} {c.get('message', '')}".strip()
                        for c in s["conditions"]
                    )
                    or "no conditions yet"
                )
                for s in waiting
            )
            raise DeployError(f"not ready within {timeout_s:g}s: {detail}")
        sleep(poll_s)
