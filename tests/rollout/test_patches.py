"""Traffic, promotion and rollback patches in both canary APIs, schema-checked; the objects the
kubernetes target sends, recorded by a test double that stands in for the API server."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from components._shared.errors import ConfigError
from components._shared.manifests import ManifestError, validate_manifest
from components.rollout import patches

STORAGE = "gs://models/churn"


def knative(percent: int | None = 10) -> dict[str, Any]:
    predictor: dict[str, Any] = {
        "model": {
            "modelFormat": {"name": "kfp-tabular"},
            "storageUri": f"{STORAGE}/v2",
            "runtime": "kfp-tabular",
            "protocolVersion": "v2",
        },
        "minReplicas": 1,
    }
    if percent is not None:
        predictor["canaryTrafficPercent"] = percent
    return {
        "apiVersion": "serving.kserve.io/v1beta1",
        "kind": "InferenceService",
        "metadata": {
            "name": "churn",
            "namespace": "ml",
            "annotations": {patches.MODE_ANNOTATION: "Knative"},
            "resourceVersion": "42",
            "uid": "abc",
            "generation": 3,
        },
        "spec": {"predictor": predictor},
        "status": {
            "components": {
                "predictor": {
                    "traffic": [
                        {
                            "revisionName": "churn-predictor-00001",
                            "percent": 90,
                            "tag": "prev",
                            "latestRevision": False,
                        },
                        {
                            "revisionName": "churn-predictor-00002",
                            "percent": 10,
                            "latestRevision": True,
                        },
                    ]
                }
            }
        },
    }


def standard(percent: int = 10) -> dict[str, Any]:
    def predictor(name: str, version: str, **extra: Any) -> dict[str, Any]:
        # The strict schema requires model.name inside a canary entry.
        return {
            "name": name,
            "model": {
                "name": name,
                "modelFormat": {"name": "kfp-tabular"},
                "storageUri": f"{STORAGE}/{version}",
            },
            **extra,
        }

    return {
        "apiVersion": "serving.kserve.io/v1beta1",
        "kind": "InferenceService",
        "metadata": {
            "name": "churn",
            "namespace": "ml",
            "annotations": {patches.MODE_ANNOTATION: "Standard"},
        },
        "spec": {
            "predictor": predictor(
                "champion", "v1", minReplicas=2, serviceAccountName="kfp-tabular"
            ),
            "canary": [{"predictor": predictor("challenger", "v2"), "trafficPercent": percent}],
        },
    }


def test_knative_promotion_removes_the_percent_and_rollback_sets_it_to_zero() -> None:
    isvc = knative(10)
    promoted = patches.promote(isvc)
    assert "canaryTrafficPercent" not in promoted["spec"]["predictor"]
    assert "status" not in promoted and "uid" not in promoted["metadata"]
    rolled_back = patches.rollback(isvc)
    assert rolled_back["spec"]["predictor"]["canaryTrafficPercent"] == 0
    assert patches.set_traffic(isvc, 50)["spec"]["predictor"]["canaryTrafficPercent"] == 50
    assert patches.merge_patch(patches._cleaned(isvc), promoted) == {
        "spec": {"predictor": {"canaryTrafficPercent": None}}
    }
    assert isvc == knative(10)  # pure: the input is untouched


def test_standard_promotion_moves_the_canary_into_the_predictor() -> None:
    isvc = standard(10)
    promoted = patches.promote(isvc)
    assert promoted["spec"]["predictor"] == isvc["spec"]["canary"][0]["predictor"]
    assert promoted["spec"]["predictor"]["name"] == "challenger"
    assert "canary" not in promoted["spec"]
    rolled_back = patches.rollback(isvc)
    assert rolled_back["spec"]["predictor"] == isvc["spec"]["predictor"]
    assert "canary" not in rolled_back["spec"]
    assert patches.set_traffic(isvc, 50)["spec"]["canary"][0]["trafficPercent"] == 50
    # The merge patch reproduces the promoted object exactly, stale stable fields removed.
    patch = patches.merge_patch(patches._cleaned(isvc), promoted)
    assert patch["spec"]["canary"] is None
    assert patch["spec"]["predictor"]["minReplicas"] is None
    assert patches.apply_merge_patch(patches._cleaned(isvc), patch) == promoted


@pytest.mark.parametrize("make", [knative, standard], ids=["Knative", "Standard"])
def test_every_patched_object_is_schema_valid(make: Any) -> None:
    isvc = make()
    for patched in (patches.promote(isvc), patches.rollback(isvc), patches.set_traffic(isvc, 100)):
        validate_manifest(patched)


def test_a_typo_or_a_bad_value_is_caught_before_apply() -> None:
    isvc = knative()
    isvc["spec"]["predictor"]["canaryTraficPercent"] = 10  # typo'd field
    with pytest.raises(ManifestError, match="canaryTraficPercent"):
        patches.promote(isvc)
    with pytest.raises(ConfigError, match=r"0\.\.100"):
        patches.set_traffic(knative(), 120)
    bad = standard()
    bad["metadata"]["annotations"][patches.MODE_ANNOTATION] = "Serverles"
    with pytest.raises(ConfigError, match="deploymentMode"):
        patches.rollback(bad)


class RecordingCustomObjectsApi:
    """Test double for kubernetes.client.CustomObjectsApi: records every call and answers with
    the stored object (a merge patch applied as the API server applies it). No cluster."""

    def __init__(self, isvc: dict[str, Any]) -> None:
        self.isvc = copy.deepcopy(isvc)
        self.calls: list[tuple[str, tuple[Any, ...]]] = []

    def get_namespaced_custom_object(self, *args: Any) -> dict[str, Any]:
        self.calls.append(("get", args))
        return copy.deepcopy(self.isvc)

    def patch_namespaced_custom_object(self, *args: Any) -> dict[str, Any]:
        self.calls.append(("patch", args))
        status = self.isvc.get("status")
        self.isvc = patches.apply_merge_patch(self.isvc, args[-1])
        if status is not None:
            self.isvc["status"] = status
        return copy.deepcopy(self.isvc)


@pytest.mark.parametrize("make", [knative, standard], ids=["Knative", "Standard"])
def test_apply_sends_a_merge_patch_with_only_declared_api_calls(make: Any) -> None:
    api = RecordingCustomObjectsApi(make())
    before = patches.read(api, "ml", "churn")
    result = patches.apply(api, "ml", before, patches.promote(before))
    assert patches._cleaned(result) == patches.promote(before)
    verb, args = api.calls[-1]
    assert verb == "patch" and args[:5] == (
        patches.GROUP,
        patches.VERSION,
        "ml",
        patches.PLURAL,
        "churn",
    )
    used = {(patches.GROUP, patches.PLURAL, verb) for verb, _ in api.calls}
    assert used <= patches.API_CALLS
