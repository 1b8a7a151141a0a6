"""manifests/base against the strict CRD schemas and the Kubernetes schemas, and its rules."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from components._image import SERVING_IMAGE
from components._shared.manifests import (
    ManifestError,
    is_custom_resource,
    load_documents,
    validate_manifest,
)
from components.deploy.config import DeployConfig

BASE = Path(__file__).resolve().parents[2] / "manifests" / "base"


def documents() -> list[tuple[str, dict]]:
    return [
        (path.name, doc)
        for path in sorted(BASE.glob("*.yaml"))
        if path.name != "kustomization.yaml"
        for doc in load_documents(path)
    ]


def by_kind(kind: str, name: str | None = None) -> dict:
    return next(
        doc
        for _, doc in documents()
        if doc["kind"] == kind and name in (None, doc["metadata"]["name"])
    )


@pytest.mark.parametrize("name, doc", documents(), ids=[f"{n}:{d['kind']}" for n, d in documents()])
def test_every_document_validates_strictly(name: str, doc: dict) -> None:
    validate_manifest(doc)


def test_kustomization_lists_every_file_and_only_existing_ones() -> None:
    kustomization = yaml.safe_load((BASE / "kustomization.yaml").read_text())
    listed = kustomization["resources"]
    assert all((BASE / name).is_file() for name in listed), listed
    present = sorted(p.name for p in BASE.glob("*.yaml") if p.name != "kustomization.yaml")
    assert sorted(listed) == present, "add new manifests to manifests/base/kustomization.yaml"


def test_serving_runtime_pins_the_versioned_image_and_runs_locked_down() -> None:
    runtime = by_kind("ServingRuntime")
    spec = runtime["spec"]
    assert spec["protocolVersions"] == ["v1", "v2"]
    assert spec["supportedModelFormats"][0]["name"] == "kfp-tabular"
    (container,) = spec["containers"]
    assert container["image"] == SERVING_IMAGE and not container["image"].endswith(":latest")
    resources = container["resources"]
    assert resources["requests"] == resources["limits"]
    assert all(isinstance(r["cpu"], str) for r in resources.values())
    security = container["securityContext"]
    assert security["runAsNonRoot"] is True and security["allowPrivilegeEscalation"] is False
    assert security["capabilities"]["drop"] == ["ALL"]
    assert "--model_dir=/mnt/models" in container["args"]


def test_inference_service_uses_the_runtime_with_an_explicit_mode() -> None:
    isvc = by_kind("InferenceService")
    assert isvc["metadata"]["annotations"]["serving.kserve.io/deploymentMode"] in (
        "Standard",
        "Knative",
    )
    model = isvc["spec"]["predictor"]["model"]
    assert model["runtime"] == by_kind("ServingRuntime")["metadata"]["name"]
    assert model["modelFormat"]["name"] == "kfp-tabular"
    assert model["resources"]["requests"] == model["resources"]["limits"]
    account = isvc["spec"]["predictor"]["serviceAccountName"]
    assert by_kind("ServiceAccount", account)["automountServiceAccountToken"] is False


def test_validator_rejects_a_misspelt_field_naming_its_path() -> None:
    isvc = copy.deepcopy(by_kind("InferenceService"))
    isvc["spec"]["predictor"]["canaryTraficPercent"] = 10
    with pytest.raises(ManifestError, match=r"InferenceService churn: spec\.predictor"):
        validate_manifest(isvc)


def test_validator_rejects_a_float_cpu_and_a_bad_name() -> None:
    runtime = copy.deepcopy(by_kind("ServingRuntime"))
    runtime["spec"]["containers"][0]["resources"]["limits"]["cpu"] = 0.5
    with pytest.raises(ManifestError, match="cpu"):
        validate_manifest(runtime)
    # The manifests' serving account is the one deploy names by default (one name, checked).
    account = copy.deepcopy(by_kind("ServiceAccount", DeployConfig.defaults().service_account))
    assert not is_custom_resource(account)
    account["metadata"]["name"] = "Bad_Name"
    with pytest.raises(ManifestError, match="DNS-1123"):
        validate_manifest(account)
    account["metadata"]["name"] = "ok"
    account["automountServiceAcountToken"] = False
    with pytest.raises(ManifestError, match="automountServiceAcountToken"):
        validate_manifest(account)


def test_unknown_kind_is_an_error() -> None:
    with pytest.raises(ManifestError, match="no schema"):
        validate_manifest(
            {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}}
        )
