"""Each component through kfp.local (SubprocessRunner, use_venv=False): real subprocesses
running the same component code the cluster image runs, on the bundled real data."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from kfp import local

from components import catalog
from components._shared.bundle import load_bundle
from components._shared.local_serving import stop_all
from components._shared.schema import Schema
from pipelines.train_and_rollout import train_and_rollout

pytestmark = pytest.mark.slow

SMALL_MATRIX: list[dict[str, Any]] = [
    {"name": "logreg", "family": "sklearn_logreg", "params": {"C": 0.1}},
    {"name": "xgb_small", "family": "xgboost", "params": {"max_depth": 3, "num_boost_round": 60}},
]


@pytest.fixture()
def kfp_local(tmp_path: Path) -> Path:
    """A fresh kfp.local session writing under ``tmp_path``."""
    root = tmp_path / "pipeline_root"
    local.init(runner=local.SubprocessRunner(use_venv=False), pipeline_root=str(root))
    return root


def test_validate_component_types_and_profiles_telco(kfp_local: Path, telco_csv: Path) -> None:
    task = catalog.validate(
        data_uri=str(telco_csv), target="Churn", positive_label="Yes", id_columns=["customerID"]
    )
    metrics = task.outputs["metrics"].metadata
    assert metrics["rows"] == 7043
    assert metrics["coerced_cells"] == 11  # TotalCharges blank cells, counted not dropped
    schema = Schema.from_json(Path(task.outputs["schema"].path).read_text())
    assert schema.column("TotalCharges").kind == "numeric"
    assert schema.column("customerID").role == "id"
    assert task.outputs["report"].metadata["display_name"]


def test_validate_component_fails_on_missing_target_and_writes_nothing(
    kfp_local: Path, telco_csv: Path
) -> None:
    with pytest.raises(RuntimeError, match="validate"):
        catalog.validate(data_uri=str(telco_csv), target="churned", positive_label="Yes")
    written = [p for p in kfp_local.rglob("*") if p.is_file() and p.name != "executor_output.json"]
    assert written == [], f"a failed validate left {written}"


def test_pipeline_spine_with_small_matrix(kfp_local: Path, telco_csv: Path) -> None:
    """validate -> featurize -> train x2 (ParallelFor) -> compare (Collected) -> gate ->
    dsl.If(blessed) -> deploy (render) -> rollout, for real; then a second run with the first
    run's blessed bundle as champion, deployed as a local canary and rolled out for real."""
    train_and_rollout(
        data_uri=str(telco_csv),
        target="Churn",
        positive_label="Yes",
        id_columns=["customerID"],
        model_matrix=SMALL_MATRIX,
    )
    (run_dir,) = [p for p in kfp_local.iterdir() if p.name.startswith("train-and-rollout")]
    outputs = {
        f.parent.name: json.loads(f.read_text())["artifacts"]
        for f in run_dir.rglob("executor_output.json")
    }
    assert {"validate", "featurize", "compare"} <= set(outputs)
    board_uri = outputs["compare"]["leaderboard"]["artifacts"][0]["uri"]
    board = json.loads(Path(board_uri).read_text())
    # Both candidates, and the weighted ensemble of the two that compare scores beside them.
    names = sorted(row["name"] for row in board["rows"])
    assert names == ["ensemble_top2", "logreg", "xgb_small"]
    challenger_uri = outputs["compare"]["challenger"]["artifacts"][0]["uri"]
    bundle = load_bundle(challenger_uri)  # verifies every sha256
    assert bundle.manifest["candidate"] == board["rows"][0]["name"]
    assert board["rows"][0]["test"]["auc"] > 0.8

    # gate -> dsl.If(blessed) -> deploy (render) -> rollout, in the same run.
    assert {"gate", "deploy", "rollout"} <= set(outputs)
    blessing = json.loads(Path(outputs["gate"]["blessing"]["artifacts"][0]["uri"]).read_text())
    assert blessing["blessed"] is True, blessing["summary"]
    assert blessing["rule_version"] == "gate-rule/1"
    assert any(r["name"] == "serving_v2" and r["passed"] for r in blessing["reasons"])
    blessed_uri = outputs["gate"]["blessed_bundle"]["artifacts"][0]["uri"]
    blessed = load_bundle(blessed_uri)
    assert blessed.manifest["candidate"] == board["rows"][0]["name"]
    lineage = json.loads(Path(outputs["gate"]["lineage"]["artifacts"][0]["uri"]).read_text())
    assert lineage["run"]["name"].startswith("train-and-rollout")
    assert [c["name"] for c in lineage["candidates"]] == [r["name"] for r in board["rows"]]
    record = json.loads(Path(outputs["deploy"]["deployment"]["artifacts"][0]["uri"]).read_text())
    assert record["target"] == "render" and record["strategy"] == "direct"  # no champion yet
    manifests = Path(outputs["deploy"]["manifests"]["artifacts"][0]["uri"])
    assert any(manifests.rglob("*.yaml"))
    trail = json.loads(Path(outputs["rollout"]["trail"]["artifacts"][0]["uri"]).read_text())
    assert trail["decision"] == "none"

    # Second run: the blessed bundle is now the champion; the new challenger goes out as a
    # local canary (two real serving processes) and the rollout replays the test split to them.
    second = kfp_local / "second"
    local.init(runner=local.SubprocessRunner(use_venv=False), pipeline_root=str(second))
    try:
        train_and_rollout(
            data_uri=str(telco_csv),
            target="Churn",
            positive_label="Yes",
            id_columns=["customerID"],
            model_matrix=SMALL_MATRIX,
            champion_uri=blessed_uri,
            deploy_target="local",
            rollout_window_requests=60,
        )
    finally:
        stopped = stop_all(str(second))
    outputs = {
        f.parent.name: json.loads(f.read_text())["artifacts"]
        for f in second.rglob("executor_output.json")
    }
    record = json.loads(Path(outputs["deploy"]["deployment"]["artifacts"][0]["uri"]).read_text())
    assert record["strategy"] == "canary"
    assert {side["role"] for side in record["sides"]} == {"stable", "canary"}
    trail = json.loads(Path(outputs["rollout"]["trail"]["artifacts"][0]["uri"]).read_text())
    # Same data, seed and matrix: the canary is the champion's twin, so it must be promoted.
    assert trail["decision"] == "promote", trail["reasons"]
    assert [step["percent"] for step in trail["steps"]] == [10, 50, 100]
    assert stopped or trail["action"], "the local servers were stopped"
