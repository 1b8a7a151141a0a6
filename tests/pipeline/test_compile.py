"""Every pipeline compiles; the committed YAML is current; images are pinned, nothing installed."""

from __future__ import annotations

from pathlib import Path

import yaml

from components import __version__
from components._image import COMPONENT_IMAGE
from kfp_tabular.compile import PIPELINES, compile_all, stale


def test_every_pipeline_compiles(tmp_path: Path) -> None:
    written = compile_all(tmp_path)
    assert sorted(p.stem for p in written) == sorted(PIPELINES)
    for path in written:
        spec = next(yaml.safe_load_all(path.read_text()))
        assert spec["pipelineInfo"]["name"]
        assert spec["deploymentSpec"]["executors"], f"{path.name} has no executors"


def test_committed_yaml_is_current() -> None:
    problems = stale()
    assert not problems, "\n".join(problems)


def test_executors_use_the_versioned_image_and_install_nothing(tmp_path: Path) -> None:
    for path in compile_all(tmp_path):
        text = path.read_text()
        assert ":latest" not in text
        executors = next(yaml.safe_load_all(text))["deploymentSpec"]["executors"]
        for name, executor in executors.items():
            container = executor["container"]
            assert container["image"] == COMPONENT_IMAGE, name
            assert container["image"].endswith(f":{__version__}")
            command = " ".join(container.get("command", []) + container.get("args", []))
            assert "pip install" not in command, f"{name} installs packages at run time"


def test_train_and_rollout_fans_out_and_in(tmp_path: Path) -> None:
    (path,) = [p for p in compile_all(tmp_path) if p.stem == "train_and_rollout"]
    spec = next(yaml.safe_load_all(path.read_text()))
    dag = spec["root"]["dag"]["tasks"]
    assert {"validate", "featurize", "compare"} <= set(dag)
    loops = [t for t in dag.values() if "parameterIterator" in t]
    assert len(loops) == 1, "the model matrix fans out in one dsl.ParallelFor"
    compare_inputs = dag["compare"]["inputs"]["artifacts"]["candidates"]
    # dsl.Collected compiles to an artifact taken from the loop's output.
    assert "taskOutputArtifact" in compare_inputs
    default_matrix = spec["root"]["inputDefinitions"]["parameters"]["model_matrix"]["defaultValue"]
    assert 6 <= len(default_matrix) <= 8
    assert {c["family"] for c in default_matrix} >= {"xgboost", "lightgbm", "sklearn_logreg"}
