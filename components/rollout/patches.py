"""Canary traffic, promotion and rollback of a KServe InferenceService, in both canary APIs.

KServe v0.20 has two canary APIs (../shared/reference/KSERVE_FACTS.md, section 4):

| mode | traffic step | promotion | rollback |
|---|---|---|---|
| Knative | ``spec.predictor.canaryTrafficPercent = p`` | remove ``canaryTrafficPercent`` (latest gets 100%) | ``canaryTrafficPercent = 0`` (100% back to the ``prev`` revision) |
| Standard | ``spec.canary[i].trafficPercent = p`` | ``spec.predictor`` = the canary's predictor (its ``name`` included), canary entry removed | canary entry removed |

The functions here are pure: they take the InferenceService as the API server returned it and
return the patched object, validated against the strict CRD schema, so a typo'd field fails
before anything is sent. :func:`merge_patch` turns (before, after) into the RFC 7386 merge patch
that reproduces ``after`` exactly (``null`` removes a field), which :func:`apply` sends with the
kubernetes client; that is the only code here that talks to a cluster.

A Seldon Core v1 SeldonDeployment (deploy's ``platform: seldon``) splits traffic between
predictors by their integer ``traffic``; the same three functions handle it when given one:

| traffic step | promotion | rollback |
|---|---|---|
| canary predictor ``traffic = p``, stable ``100 - p`` | stable predictor removed, canary ``traffic = 100`` | canary predictor removed, stable ``traffic = 100`` |

A shadow predictor (``shadow: true``) is left as it is. The webhook's rules (traffic summing to
100, one shadow at most, ...) are checked with the schema, before anything is sent.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any, Final

from components._shared import keys
from components._shared.errors import ConfigError, expected_got
from components._shared.manifests import validate_manifest

GROUP: Final = "serving.kserve.io"
VERSION: Final = "v1beta1"
PLURAL: Final = "inferenceservices"
MODE_ANNOTATION: Final = "serving.kserve.io/deploymentMode"
# Legacy spellings of the two modes (constants.go:559-586).
_MODE_ALIASES: Final = {
    "Knative": keys.DEPLOY_MODE_KNATIVE,
    "Serverless": keys.DEPLOY_MODE_KNATIVE,
    "Standard": keys.DEPLOY_MODE_STANDARD,
    "RawDeployment": keys.DEPLOY_MODE_STANDARD,
}
# Every (api group, resource, verb) this module's client calls use; the RBAC test reads it so
# the Role grants exactly what rollout needs and nothing more.
SELDON_KIND: Final = "SeldonDeployment"
# kind -> (api group, version, plural) of the objects rollout reads and patches.
RESOURCES: Final = {
    "InferenceService": (GROUP, VERSION, PLURAL),
    SELDON_KIND: ("machinelearning.seldon.io", "v1", "seldondeployments"),
}
MODE_SELDON: Final = "Seldon"
API_CALLS: Final = frozenset(
    (group, plural, verb) for group, _, plural in RESOURCES.values() for verb in ("get", "patch")
)


def deployment_mode(isvc: Mapping[str, Any]) -> str:
    """``Knative`` or ``Standard`` from the mode annotation (deploy always sets it); ``Seldon``
    for a SeldonDeployment."""
    if isvc.get("kind") == SELDON_KIND:
        return MODE_SELDON
    annotations = (isvc.get("metadata") or {}).get("annotations") or {}
    raw = annotations.get(MODE_ANNOTATION)
    if raw not in _MODE_ALIASES:
        raise ConfigError(
            expected_got(
                f"InferenceService {_name(isvc)} annotation {MODE_ANNOTATION}",
                f"one of {sorted(_MODE_ALIASES)}",
                repr(raw),
            )
        )
    return _MODE_ALIASES[raw]


def _name(isvc: Mapping[str, Any]) -> str:
    return str((isvc.get("metadata") or {}).get("name", "?"))


def _canary_index(isvc: Mapping[str, Any], canary_name: str | None) -> int:
    canaries = (isvc.get("spec") or {}).get("canary") or []
    if not canaries:
        raise ConfigError(
            f"InferenceService {_name(isvc)}: Standard mode, but spec.canary is empty"
        )
    if canary_name is None:
        if len(canaries) > 1:
            names = [c.get("predictor", {}).get("name") for c in canaries]
            raise ConfigError(
                f"InferenceService {_name(isvc)} has {len(canaries)} canaries {names}: "
                "name the one to roll out"
            )
        return 0
    for i, entry in enumerate(canaries):
        if (entry.get("predictor") or {}).get("name") == canary_name:
            return i
    names = [c.get("predictor", {}).get("name") for c in canaries]
    raise ConfigError(expected_got("canary name", f"one of {names}", repr(canary_name)))


def _cleaned(isvc: Mapping[str, Any]) -> dict[str, Any]:
    """A deep copy without ``status`` and server-managed metadata: the part a client owns."""
    out = copy.deepcopy(dict(isvc))
    out.pop("status", None)
    meta = out.get("metadata") or {}
    for field in ("managedFields", "creationTimestamp", "generation", "uid", "selfLink"):
        meta.pop(field, None)
    return out


def _checked(isvc: dict[str, Any]) -> dict[str, Any]:
    validate_manifest(isvc)
    return isvc


def set_traffic(
    isvc: Mapping[str, Any], percent: int, *, canary_name: str | None = None
) -> dict[str, Any]:
    """The InferenceService with ``percent`` of traffic on the canary (0..100)."""
    if not 0 <= int(percent) <= 100:
        raise ConfigError(expected_got("canary traffic percent", "0..100", percent))
    out = _cleaned(isvc)
    if out.get("kind") == SELDON_KIND:
        predictors, canary, stable = _seldon_sides(out, canary_name)
        predictors[canary]["traffic"] = int(percent)
        predictors[stable]["traffic"] = 100 - int(percent)
        return _checked(out)
    if deployment_mode(isvc) == keys.DEPLOY_MODE_KNATIVE:
        out["spec"]["predictor"]["canaryTrafficPercent"] = int(percent)
    else:
        out["spec"]["canary"][_canary_index(isvc, canary_name)]["trafficPercent"] = int(percent)
    return _checked(out)


def promote(isvc: Mapping[str, Any], *, canary_name: str | None = None) -> dict[str, Any]:
    """The InferenceService with the canary promoted to 100% (KServe's documented way)."""
    out = _cleaned(isvc)
    if out.get("kind") == SELDON_KIND:
        predictors, canary, stable = _seldon_sides(out, canary_name)
        predictors[canary]["traffic"] = 100
        del predictors[stable]
        return _checked(out)
    if deployment_mode(isvc) == keys.DEPLOY_MODE_KNATIVE:
        # Without canaryTrafficPercent, latest (the canary revision) gets 100% and becomes
        # the latestRolledoutRevision.
        out["spec"]["predictor"].pop("canaryTrafficPercent", None)
    else:
        index = _canary_index(isvc, canary_name)
        canaries = out["spec"]["canary"]
        # "set predictor.name to the canary name and remove the canary entry" (KServe's Go doc):
        # the canary's Deployment keeps running as the stable one, no restart.
        out["spec"]["predictor"] = canaries.pop(index)["predictor"]
        if not canaries:
            del out["spec"]["canary"]
    return _checked(out)


def rollback(isvc: Mapping[str, Any], *, canary_name: str | None = None) -> dict[str, Any]:
    """The InferenceService with the canary taken out of traffic."""
    out = _cleaned(isvc)
    if out.get("kind") == SELDON_KIND:
        predictors, canary, stable = _seldon_sides(out, canary_name)
        predictors[stable]["traffic"] = 100
        del predictors[canary]
        return _checked(out)
    if deployment_mode(isvc) == keys.DEPLOY_MODE_KNATIVE:
        # 0 pins all traffic to the prev (last rolled-out) revision; removing the field would
        # do the opposite (promote).
        out["spec"]["predictor"]["canaryTrafficPercent"] = 0
    else:
        canaries = out["spec"]["canary"]
        canaries.pop(_canary_index(isvc, canary_name))
        if not canaries:
            del out["spec"]["canary"]
    return _checked(out)


def _seldon_sides(sdep: dict[str, Any], canary_name: str | None) -> tuple[list[Any], int, int]:
    """The predictors, and the indices of the canary and of the one stable predictor.

    ``canary_name`` None: the last live (non-shadow) predictor is the canary, as deploy renders.
    """
    predictors = sdep["spec"]["predictors"]
    live = [i for i, p in enumerate(predictors) if not p.get("shadow")]
    names = [predictors[i].get("name") for i in live]
    if canary_name is None:
        canary = live[-1] if len(live) == 2 else -1
    else:
        canary = next((i for i in live if predictors[i].get("name") == canary_name), -1)
    if len(live) != 2 or canary < 0:
        raise ConfigError(
            expected_got(
                f"SeldonDeployment {_name(sdep)} live predictors",
                f"two, the canary {canary_name or '(the last)'} and the stable one",
                names,
            )
        )
    return predictors, canary, next(i for i in live if i != canary)


def merge_patch(before: Any, after: Any) -> Any:
    """The RFC 7386 JSON merge patch that turns ``before`` into ``after``.

    Removed fields become ``None`` (null); lists are replaced whole, as merge patch defines.
    """
    if not isinstance(before, Mapping) or not isinstance(after, Mapping):
        return copy.deepcopy(after)
    patch: dict[str, Any] = {}
    for key in before:
        if key not in after:
            patch[key] = None
    for key, value in after.items():
        if key not in before:
            patch[key] = copy.deepcopy(value)
        elif before[key] != value:
            patch[key] = merge_patch(before[key], value)
    return patch


def apply_merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 applied to ``target`` (what the API server does with a merge patch)."""
    if not isinstance(patch, Mapping):
        return copy.deepcopy(patch)
    out = dict(copy.deepcopy(target)) if isinstance(target, Mapping) else {}
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = apply_merge_patch(out.get(key), value)
    return out


# --- the thin cluster client -----------------------------------------------------------------


def read(api: Any, namespace: str, name: str, kind: str = "InferenceService") -> dict[str, Any]:
    """GET the InferenceService, or the SeldonDeployment (``get`` on its resource)."""
    group, version, plural = RESOURCES[kind]
    return dict(api.get_namespaced_custom_object(group, version, namespace, plural, name))


def apply(
    api: Any, namespace: str, before: Mapping[str, Any], after: Mapping[str, Any]
) -> dict[str, Any]:
    """PATCH the object from ``before`` to ``after`` (a merge patch; ``patch`` verb).

    ``after`` is validated again here, so nothing unvalidated is ever sent. Returns the object
    the API server answered with.
    """
    validate_manifest(after)
    patch = merge_patch(_cleaned(before), dict(after))
    name = (after.get("metadata") or {})["name"]
    group, version, plural = RESOURCES[str(after.get("kind") or "InferenceService")]
    return dict(api.patch_namespaced_custom_object(group, version, namespace, plural, name, patch))
