"""Every overlay rendered (tests/manifests/kustomize_subset.py) and every document validated:
CRDs against the strict schemas, core kinds with kubernetes-validate; and what each overlay is for."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from components._shared.manifests import validate_manifest
from components.deploy.render import validate_documents
from tests.manifests.kustomize_subset import build

MANIFESTS = Path(__file__).resolve().parents[2] / "manifests"
OVERLAYS = sorted(p.name for p in (MANIFESTS / "overlays").iterdir() if p.is_dir())


def named(documents: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    return next(d for d in documents if d["kind"] == kind and d["metadata"]["name"] == name)


def test_the_overlays_are_the_three_documented_ones() -> None:
    assert OVERLAYS == ["canary-knative", "canary-standard", "shadow"]


@pytest.mark.parametrize("overlay", ["base", *OVERLAYS])
def test_every_rendered_document_validates(overlay: str) -> None:
    path = MANIFESTS / "base" if overlay == "base" else MANIFESTS / "overlays" / overlay
    documents = build(path)
    for doc in documents:
        validate_manifest(doc)
    validate_documents(documents)  # and the KServe canary rules no schema carries
    if overlay != "base":
        assert {d["metadata"]["namespace"] for d in documents} == {"kfp-tabular"}
    kinds = {d["kind"] for d in documents}
    assert {"ServingRuntime", "ServiceAccount", "Role", "RoleBinding", "CronJob"} <= kinds
    for doc in documents:
        for container in _containers(doc):
            resources = container["resources"]
            assert resources["requests"] == resources["limits"], doc["metadata"]["name"]


def _containers(doc: dict[str, Any]) -> list[dict[str, Any]]:
    if doc["kind"] == "ServingRuntime":
        return doc["spec"]["containers"]
    if doc["kind"] == "CronJob":
        return doc["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"]
    if doc["kind"] == "InferenceService":
        spec = doc["spec"]
        return [
            spec["predictor"]["model"],
            *(c["predictor"]["model"] for c in spec.get("canary", [])),
        ]
    return []


def test_containers_run_locked_down() -> None:
    for doc in build(MANIFESTS / "base"):
        if doc["kind"] == "ServingRuntime":
            (container,) = doc["spec"]["containers"]
            security = container["securityContext"]
        elif doc["kind"] == "CronJob":
            pod = doc["spec"]["jobTemplate"]["spec"]["template"]["spec"]
            (container,) = pod["containers"]
            security = {**pod["securityContext"], **container["securityContext"]}
        else:
            continue
        assert security["runAsNonRoot"] is True and security["runAsUser"] >= 10000
        assert security["allowPrivilegeEscalation"] is False
        assert security["capabilities"]["drop"] == ["ALL"]


def test_canary_knative_sets_the_percentage_on_the_predictor() -> None:
    isvc = named(build(MANIFESTS / "overlays" / "canary-knative"), "InferenceService", "churn")
    assert isvc["metadata"]["annotations"]["serving.kserve.io/deploymentMode"] == "Knative"
    assert isvc["metadata"]["annotations"]["serving.kserve.io/enable-tag-routing"] == "true"
    predictor = isvc["spec"]["predictor"]
    assert predictor["canaryTrafficPercent"] == 10
    assert predictor["model"]["storageUri"].endswith("/challenger")
    assert predictor["model"]["runtime"] == "kfp-tabular"  # the base fields survive the patch


def test_canary_standard_has_a_named_canary_beside_the_stable_predictor() -> None:
    isvc = named(build(MANIFESTS / "overlays" / "canary-standard"), "InferenceService", "churn")
    assert isvc["metadata"]["annotations"]["serving.kserve.io/deploymentMode"] == "Standard"
    (canary,) = isvc["spec"]["canary"]
    assert canary["trafficPercent"] == 10
    assert canary["predictor"]["name"] != isvc["spec"]["predictor"].get("name")
    assert "canaryTrafficPercent" not in isvc["spec"]["predictor"]
    assert (
        isvc["spec"]["predictor"]["model"]["storageUri"]
        != canary["predictor"]["model"]["storageUri"]
    )


def test_shadow_mirrors_the_champion_to_a_logged_challenger() -> None:
    documents = build(MANIFESTS / "overlays" / "shadow")
    champion = named(documents, "InferenceService", "churn")
    shadow = named(documents, "InferenceService", "churn-shadow")
    for isvc in (champion, shadow):
        assert isvc["spec"]["predictor"]["logger"]["mode"] == "all"
    assert champion["spec"]["predictor"]["model"]["storageUri"].endswith("/champion")
    assert shadow["spec"]["predictor"]["model"]["storageUri"].endswith("/challenger")
    (route,) = named(documents, "VirtualService", "churn-mirror")["spec"]["http"]
    assert route["route"][0]["destination"]["host"].startswith("churn-predictor.kfp-tabular.")
    assert route["mirror"]["host"].startswith("churn-shadow-predictor.kfp-tabular.")
    assert 0 < route["mirrorPercentage"]["value"] <= 100


def test_the_subset_renderer_refuses_what_it_does_not_implement(tmp_path: Path) -> None:
    (tmp_path / "kustomization.yaml").write_text("resources: []\nimages: [{name: x}]\n")
    with pytest.raises(NotImplementedError, match="images"):
        build(tmp_path)
