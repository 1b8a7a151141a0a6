"""The deploy component through kfp.local (SubprocessRunner): the local servers it starts
outlive its task subprocess, and `make stop`'s stop_all stops them from the record."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from kfp import dsl, local

from components._shared import keys
from components._shared.local_serving import is_ready, stop_all
from components.catalog import deploy
from tests.deploy.conftest import Bundles


@pytest.mark.slow
def test_deploy_component_local_canary_outlives_its_task(bundles: Bundles, tmp_path: Path) -> None:
    local.init(runner=local.SubprocessRunner(use_venv=False), pipeline_root=str(tmp_path / "root"))
    blessing = tmp_path / "blessing.json"
    blessing.write_text(json.dumps({keys.BLESSING_BLESSED: True, keys.BLESSING_VERDICT: "blessed"}))

    @dsl.pipeline
    def deploy_only():  # kfp reads a return annotation as an output type: none here
        bundle = dsl.importer(artifact_uri=str(bundles.challenger), artifact_class=dsl.Model)
        verdict = dsl.importer(artifact_uri=str(blessing), artifact_class=dsl.Artifact)
        deploy(
            bundle=bundle.output,
            blessing=verdict.output,
            target="local",
            strategy="canary",
            inference_service_name="churn",
            champion_storage_uri=str(bundles.champion),
        )

    deploy_only()
    (record_path,) = (tmp_path / "root").rglob("deployment")
    record = json.loads(record_path.read_text())
    try:
        assert [s["role"] for s in record["sides"]] == ["stable", "canary"]
        # The task subprocess has exited; its servers still answer.
        assert all(is_ready(s["url"]) for s in record["sides"])
    finally:
        stopped = stop_all(tmp_path / "root")
    assert sorted(stopped) == sorted(s["pid"] for s in record["sides"])
