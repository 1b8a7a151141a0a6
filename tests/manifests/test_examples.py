"""manifests/examples/: the checked-in rendered examples equal what deploy renders now (for every
platform, mode and strategy, and the segment-routing InferenceGraphs), and every document in them
validates against the strict CRD schemas and the webhook rules. Regenerate them with
``kfp-tabular render-examples``."""

from __future__ import annotations

from pathlib import Path

import pytest

from components._shared.manifests import load_documents, validate_files
from components.deploy import examples
from kfp_tabular.cli import main as cli

FILES = sorted(examples.examples())


def test_the_checked_in_examples_are_what_deploy_renders() -> None:
    stale = examples.differences()
    assert stale == [], f"{stale}: run `kfp-tabular render-examples`"


@pytest.mark.parametrize("path", FILES)
def test_every_example_document_is_schema_valid(path: str) -> None:
    assert validate_files([examples.EXAMPLES_DIR / path]) >= 1


def test_each_platform_renders_the_kinds_it_should() -> None:
    kinds = {
        path: [d["kind"] for d in load_documents(examples.EXAMPLES_DIR / path)] for path in FILES
    }
    for mode in ("knative", "standard"):
        assert kinds[f"kserve-{mode}/direct.yaml"] == ["InferenceService"]
        assert kinds[f"kserve-{mode}/canary.yaml"] == ["InferenceService"]
        assert kinds[f"kserve-{mode}/shadow.yaml"] == [
            "InferenceService",
            "InferenceService",
            "VirtualService",
        ]
    for strategy in ("direct", "canary", "shadow"):
        assert kinds[f"seldon/{strategy}.yaml"] == ["SeldonDeployment"]
    assert kinds["inferencegraph/switch.yaml"] == ["InferenceGraph"]
    assert kinds["inferencegraph/splitter.yaml"] == ["InferenceGraph"]


def test_render_examples_writes_and_checks(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert cli(["render-examples", "--check", "--out", str(tmp_path)]) == 1
    assert "missing" in capsys.readouterr().err
    assert cli(["render-examples", "--out", str(tmp_path)]) == 0
    assert cli(["render-examples", "--check", "--out", str(tmp_path)]) == 0
    edited = tmp_path / "seldon" / "canary.yaml"
    edited.write_text(edited.read_text().replace("traffic: 10", "traffic: 20"))
    (tmp_path / "seldon" / "extra.yaml").write_text("kind: x\n")
    assert cli(["render-examples", "--check", "--out", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "seldon/canary.yaml: differs" in err and "seldon/extra.yaml: not a generated" in err
