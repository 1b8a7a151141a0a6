"""Every capability of train_and_rollout reached through its parameters, each in a real local run.

A small matrix of `kfp-tabular run -f <params file>` runs (kfp.local, SubprocessRunner, the
bundled Telco data, one fast candidate), each parameter file what a user would submit:

    first     featurizer interactions; the first deployment (render, direct); its blessed
              bundle becomes the champion and its schema the contract of the runs below
    ab        the contract URI; a local canary rolled out with a feedback table (the A/B test
              on labelled outcomes)
    shadow    a local shadow deploy, then the shadow step replaying the champion's logged
              requests (KServe's logger format) to the challenger
    rendered  shadow rendered with payload-logger settings, mirror percent and deploy's
              storage URI override (the shadow step does not run: nothing is serving)
    breach    a contract the data does not meet: validate fails, naming the column

Each local server started here is stopped from its deployment record.
"""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pandas as pd
import pytest
import yaml

from components._shared import keys
from components._shared.local_serving import stop_all
from kfp_tabular import local_run
from tests.shadow.test_shadow import REQUESTS, write_logs

pytestmark = pytest.mark.slow

FAST = [{"name": "logreg", "family": "sklearn_logreg", "params": {"C": 0.1}}]
RATIO = {"name": "charge_per_month", "op": "ratio", "left": "TotalCharges", "right": "tenure"}
COMMON: dict[str, Any] = {
    "model_matrix": FAST,
    "interactions": [RATIO],
    "gate_bootstrap_resamples": 200,
}


def run(folder: Path, name: str, parameters: dict[str, Any]) -> dict[str, Any]:
    """``kfp-tabular run -f <name>.yaml`` into ``folder/name``; the run record and the summary."""
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump({**COMMON, **parameters}))
    output = folder / name
    try:
        status = local_run.main(["-f", str(path), "--output", str(output), "--quiet"])
    finally:
        stop_all(str(output))
    record = json.loads((output / "last_run.json").read_text()) if status == 0 else {}
    return {"status": status, "output": output, **record}


def uri(record: dict[str, Any], task: str, output: str) -> Path:
    return Path(record["artifacts"][task][output]["uri"])


def read_json(path: Path) -> Any:
    return json.loads(path.read_text())


@pytest.fixture(scope="module")
def matrix(tmp_path_factory: pytest.TempPathFactory, telco_csv: Path) -> dict[str, dict[str, Any]]:
    folder = tmp_path_factory.mktemp("reach")
    runs = {"first": run(folder, "first", {})}
    first = runs["first"]
    champion = str(uri(first, "gate", "blessed_bundle"))
    contract = str(uri(first, "validate", "schema"))

    raw = pd.read_csv(telco_csv)
    feedback = folder / "feedback.parquet"
    raw[["customerID", "Churn"]].rename(
        columns={"customerID": keys.FEEDBACK_REQUEST_ID, "Churn": keys.FEEDBACK_LABEL}
    ).to_parquet(feedback)
    runs["ab"] = run(
        folder,
        "ab",
        {
            "contract_uri": contract,
            "champion_uri": champion,
            "deploy_target": "local",
            "deploy_strategy": "canary",
            "feedback_uri": str(feedback),
            "rollout_window_requests": 60,
        },
    )

    test_rows = pd.read_parquet(uri(first, "featurize", "splits") / keys.split_file(keys.TEST))
    logs = write_logs(
        folder / "champion-logs",
        Path(champion),
        SimpleNamespace(test_rows=test_rows),
        "kfp-tabular",
    )
    runs["shadow"] = run(
        folder,
        "shadow",
        {
            "champion_uri": champion,
            "deploy_target": "local",
            "deploy_strategy": "shadow",
            "shadow_champion_log_uri": str(logs),
        },
    )
    runs["rendered"] = run(
        folder,
        "rendered",
        {
            "champion_uri": champion,
            "deploy_strategy": "shadow",
            "mirror_percent": 50.0,
            "deploy_storage_uri": "gs://models/churn/v2",
            "logger_url": "http://payload-logger.kfp-tabular.svc.cluster.local",
            "logger_mode": "all",
            "shadow_champion_log_uri": str(logs),
        },
    )
    schema = read_json(Path(contract))
    schema["columns"].append({**schema["columns"][-1], "name": "loyalty_tier"})
    (folder / "contract.json").write_text(json.dumps(schema))
    runs["breach"] = run(folder, "breach", {"contract_uri": str(folder / "contract.json")})
    return runs


def test_first_run_uses_the_featurizer_options(matrix: dict[str, dict[str, Any]]) -> None:
    first = matrix["first"]
    assert first["status"] == 0
    featurizer = read_json(uri(first, "featurize", "featurizer"))
    assert "charge_per_month" in json.dumps(featurizer)
    assert read_json(uri(first, "deploy", "deployment"))["strategy"] == "direct"


def test_contract_and_ab_test_with_feedback(matrix: dict[str, dict[str, Any]], capsys) -> None:
    ab = matrix["ab"]
    assert ab["status"] == 0
    assert "checked against the expected schema" in uri(ab, "validate", "report").read_text()
    trail = read_json(uri(ab, "rollout", "trail"))
    tests = [c for step in trail["steps"] for c in step["checks"] if c["name"] == "ab_test"]
    assert tests, "the A/B test ran on the labelled canary and stable predictions"
    labelled = tests[-1]["numbers"]
    print(
        f"\nA/B run: decision {trail['decision']} ({trail['reasons']}); A/B: {tests[-1]['reason']}"
    )
    assert trail["decision"] in ("promote", "rollback")
    assert min(labelled["stable_n"], labelled["canary_n"]) > 0, labelled


def test_shadow_runs_after_a_local_shadow_deploy(matrix: dict[str, dict[str, Any]]) -> None:
    shadowed = matrix["shadow"]
    assert shadowed["status"] == 0
    record = read_json(uri(shadowed, "deploy", "deployment"))
    assert {s["role"] for s in record["sides"]} == {"stable", "shadow"}
    result = read_json(uri(shadowed, "shadow", "result"))
    shadow_side = next(s for s in record["sides"] if s["role"] == "shadow")
    numbers = result["numbers"]
    print(
        f"\nshadow run: passed {result['passed']}; paired {numbers['paired_requests']}, "
        f"label agreement {numbers['label_agreement']}, mean |diff| {numbers['mean_abs_diff']}"
    )
    assert numbers["replay"]["url"] == shadow_side["url"]
    assert numbers["paired_requests"] == REQUESTS
    # Same data, seed and matrix: the challenger is the champion's twin.
    assert result["passed"] and numbers["label_agreement"] == 1.0
    trail = read_json(uri(shadowed, "rollout", "trail"))
    assert trail["decision"] == "none"  # a shadow has no canary to roll out


def test_rendered_shadow_carries_logger_mirror_and_storage_uri(
    matrix: dict[str, dict[str, Any]],
) -> None:
    rendered = matrix["rendered"]
    assert rendered["status"] == 0
    assert "shadow" not in rendered["artifacts"], "nothing serving: no shadow comparison"
    documents = list(
        yaml.safe_load_all((uri(rendered, "deploy", "manifests") / "all.yaml").read_text())
    )
    services = {d["metadata"]["name"]: d for d in documents if d["kind"] == "InferenceService"}
    shadow = services["kfp-tabular-shadow"]["spec"]["predictor"]
    assert shadow["model"]["storageUri"] == "gs://models/churn/v2"
    assert shadow["logger"] == {
        "mode": "all",
        "url": "http://payload-logger.kfp-tabular.svc.cluster.local",
    }
    (mirror,) = [d for d in documents if d["kind"] == "VirtualService"]
    assert mirror["spec"]["http"][0]["mirrorPercentage"] == {"value": 50.0}


def test_a_contract_breach_fails_validate(matrix: dict[str, dict[str, Any]]) -> None:
    breach = matrix["breach"]
    assert breach["status"] == 2  # bad input: the data breaks the contract
    assert "loyalty_tier" in (breach["output"] / "run.log").read_text()


def test_every_output_artifact_has_a_display_name(matrix: dict[str, dict[str, Any]]) -> None:
    unnamed = []
    for name in ("first", "ab", "shadow", "rendered"):
        for task, outputs in matrix[name]["artifacts"].items():
            unnamed += [
                f"{name}:{task}.{o}"
                for o, a in outputs.items()
                if not a["metadata"].get("display_name")
            ]
    assert unnamed == []
