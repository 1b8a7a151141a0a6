"""The PodMonitor schema is prometheus-operator's CRD, not a hand-picked subset.

``components/_shared/crd_schemas/monitoring/podmonitor.v1.json`` is the openAPIV3Schema of the
CRD (descriptions and CEL rules dropped, see its ``$comment``); the strict form is the same with
``additionalProperties: false`` on every object that lists its properties, as for the other
``*.strict.json`` files (components/_shared/crd_schemas/README.md).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from components._shared.manifests import ManifestError, load_documents, validate_manifest

ROOT = Path(__file__).resolve().parents[2]
SCHEMAS = ROOT / "components" / "_shared" / "crd_schemas"
PODMONITOR = ROOT / "manifests" / "base" / "monitoring" / "podmonitor.yaml"


def strict(schema: Any) -> Any:
    """The schema with unknown fields refused wherever an object lists its properties."""
    if isinstance(schema, list):
        return [strict(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: strict(v) for k, v in schema.items()}
    if out.get("type") == "object" and "properties" in out and "additionalProperties" not in out:
        out["additionalProperties"] = False
    return out


@pytest.mark.parametrize("kind", ["PodMonitor", "PrometheusRule"])
def test_the_strict_schema_is_the_default_made_strict(kind: str) -> None:
    files = json.loads((SCHEMAS / "index.json").read_text())[f"monitoring.coreos.com/v1/{kind}"]
    assert files["default"] != files["strict"]
    default = json.loads((SCHEMAS / files["default"]).read_text())
    assert json.loads((SCHEMAS / files["strict"]).read_text()) == strict(default)


def test_the_podmonitor_schema_is_the_whole_crd() -> None:
    schema = json.loads((SCHEMAS / "monitoring" / "podmonitor.v1.json").read_text())
    spec = schema["properties"]["spec"]
    endpoint = spec["properties"]["podMetricsEndpoints"]["items"]["properties"]
    # Fields a user adds to the manifest beyond what it uses today are known to the schema.
    assert {"relabelings", "metricRelabelings", "tlsConfig", "oauth2", "scrapeTimeout"} <= set(
        endpoint
    )
    assert {"attachMetadata", "sampleLimit", "scrapeProtocols", "selector"} <= set(
        spec["properties"]
    )
    assert spec["required"] == ["selector"]


def test_the_podmonitor_validates_and_its_crd_rules_apply() -> None:
    (doc,) = load_documents(PODMONITOR)
    validate_manifest(doc)
    doc["spec"]["podMetricsEndpoints"][0]["relabelings"] = [
        {"sourceLabels": ["__meta_kubernetes_pod_name"], "targetLabel": "pod"}
    ]
    validate_manifest(doc)  # a field the manifest does not use yet, valid in the CRD
    doc["spec"]["podMetricsEndpoints"][0]["interval"] = "15 seconds"
    with pytest.raises(ManifestError, match="interval"):
        validate_manifest(doc)  # the CRD's duration pattern
    doc["spec"]["podMetricsEndpoints"][0]["interval"] = "15s"
    doc["spec"]["podMetricsEndpoints"][0]["relabelings"][0]["action"] = "rename"
    with pytest.raises(ManifestError, match="rename"):
        validate_manifest(doc)  # the CRD's relabel action enum
