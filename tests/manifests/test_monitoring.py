"""manifests/base/monitoring: strict CRD schemas, its own kustomization, kept out of base."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from components._shared.manifests import ManifestError, load_documents, validate_manifest

BASE = Path(__file__).resolve().parents[2] / "manifests" / "base"
MONITORING = BASE / "monitoring"


def documents() -> list[tuple[str, dict]]:
    return [
        (p.name, doc)
        for p in sorted(MONITORING.glob("*.yaml"))
        if p.name != "kustomization.yaml"
        for doc in load_documents(p)
    ]


@pytest.mark.parametrize("name, doc", documents(), ids=[f"{n}:{d['kind']}" for n, d in documents()])
def test_every_document_validates_strictly(name: str, doc: dict) -> None:
    validate_manifest(doc)


def test_kustomization_lists_every_file_and_base_leaves_it_out() -> None:
    listed = yaml.safe_load((MONITORING / "kustomization.yaml").read_text())["resources"]
    present = sorted(p.name for p in MONITORING.glob("*.yaml") if p.name != "kustomization.yaml")
    assert sorted(listed) == present
    assert present == ["podmonitor-pushgateway.yaml", "podmonitor.yaml", "prometheusrule.yaml"]
    base = yaml.safe_load((BASE / "kustomization.yaml").read_text())["resources"]
    assert "monitoring" not in base  # needs the prometheus-operator CRDs: an overlay opts in


def test_pushgateway_podmonitor_keeps_the_pushed_labels() -> None:
    (doc,) = load_documents(MONITORING / "podmonitor-pushgateway.yaml")
    validate_manifest(doc)  # the real PodMonitor CRD's schema, strict
    (endpoint,) = doc["spec"]["podMetricsEndpoints"]
    assert endpoint["honorLabels"] is True  # model_name / namespace as the drift job pushed them


def test_podmonitor_schema_refuses_a_typo() -> None:
    (doc,) = load_documents(MONITORING / "podmonitor.yaml")
    doc["spec"]["podMetricsEndpoints"][0]["intervall"] = "15s"
    with pytest.raises(ManifestError, match="intervall"):
        validate_manifest(doc)


def test_podmonitor_scrapes_the_runtime_port_and_path() -> None:
    (doc,) = load_documents(MONITORING / "podmonitor.yaml")
    runtime = next(d for d in load_documents(BASE / "servingruntime.yaml"))
    (container,) = runtime["spec"]["containers"]
    port = container["ports"][0]
    assert port["name"] in {e["port"] for e in doc["spec"]["podMetricsEndpoints"]}
    assert runtime["spec"]["annotations"]["prometheus.kserve.io/path"] == "/metrics"
    assert {e["path"] for e in doc["spec"]["podMetricsEndpoints"]} == {"/metrics"}
