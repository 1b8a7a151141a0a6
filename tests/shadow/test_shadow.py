"""Shadow comparison on logged CloudEvents in KServe's logger format (request and response
events sharing the request id, structured mode, the logger's extensions), written here from
real Telco rows scored by real bundles: the same model agrees, a different one fails; and a
replay to a real local challenger server."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from kfp import dsl

from components._shared import keys
from components._shared.bundle import json_record, load_bundle
from components._shared.errors import ConfigError
from components._shared.payload_log import REQUEST_EVENT, RESPONSE_EVENT
from components.shadow import executor
from components.shadow.config import ShadowConfig
from components.shadow.executor import ShadowInputs, ShadowOutputs, Sides, agreement
from components.shadow.logged import Exchange
from tests.rollout.conftest import Starter, Telco

ROWS_PER_REQUEST = 2
REQUESTS = 120


def _event(request_id: str, kind: str, data: dict, second: int, service: str) -> dict[str, Any]:
    """One CloudEvent as KServe's logger stores it (pkg/logger/worker.go: id, type, source,
    time, data; extensions inferenceservicename, namespace, component, endpoint)."""
    return {
        "specversion": "1.0",
        "id": request_id,
        "type": kind,
        "source": "http://localhost:9081/",
        "time": f"2026-03-01T10:00:{second:02d}.{'1' if kind == RESPONSE_EVENT else '0'}00Z",
        "datacontenttype": "application/json",
        "inferenceservicename": service,
        "namespace": "ml",
        "component": "predictor",
        "endpoint": "",
        "data": data,
    }


def write_logs(folder: Path, bundle_dir: Path, telco: Telco, service: str) -> Path:
    """The logger output of ``service`` answering Telco test rows with ``bundle_dir``'s model
    (V1 requests; the runtime's V1 response body)."""
    bundle = load_bundle(str(bundle_dir))
    frame = telco.test_rows.head(REQUESTS * ROWS_PER_REQUEST)
    scores = bundle.predict_proba_frame(frame)
    folder.mkdir(parents=True, exist_ok=True)
    lines = []
    for i in range(REQUESTS):
        part = slice(i * ROWS_PER_REQUEST, (i + 1) * ROWS_PER_REQUEST)
        records = [
            json_record(r) for r in frame.iloc[part].drop(columns=["Churn"]).to_dict("records")
        ]
        predictions = [
            {"probability": float(p), "label": "Yes" if p >= 0.5 else "No"} for p in scores[part]
        ]
        request_id = f"req-{i:04d}"
        lines.append(_event(request_id, REQUEST_EVENT, {"instances": records}, i % 60, service))
        lines.append(
            _event(request_id, RESPONSE_EVENT, {"predictions": predictions}, i % 60, service)
        )
    path = folder / "events-0001.jsonl"
    path.write_text("\n".join(json.dumps(e) for e in lines) + "\n")
    return folder


def _outputs(tmp: Path) -> ShadowOutputs:
    return ShadowOutputs(
        result=dsl.Artifact(name="result", uri=str(tmp / "result.json")),
        report=dsl.Markdown(name="report", uri=str(tmp / "report.md")),
        metrics=dsl.Metrics(name="metrics", uri=str(tmp / "metrics")),
        passed=str(tmp / "passed"),
    )


def test_same_model_in_shadow_agrees_and_passes(telco_bundles: Telco, tmp_path: Path) -> None:
    champion = write_logs(tmp_path / "champion", telco_bundles.good, telco_bundles, "churn")
    shadow = write_logs(tmp_path / "shadow", telco_bundles.good, telco_bundles, "churn-shadow")
    outputs = _outputs(tmp_path)
    # The component's own entry: every parameter by name, as component.py hands them over.
    executor.main({"champion_uri": str(champion), "shadow_uri": str(shadow), **vars(outputs)})
    result = json.loads((tmp_path / "result.json").read_text())
    n = result["numbers"]
    assert (
        result["passed"]
        and n["paired_requests"] == REQUESTS
        and n["rows"] == REQUESTS * ROWS_PER_REQUEST
    )
    assert n["label_agreement"] == 1.0 and n["max_abs_diff"] == 0.0
    assert n["champion_latency_p95_ms"] == pytest.approx(100.0)  # response event 100 ms later
    assert result["config"]["min_pairs"] == 50 and result["result_format"] == "kfp-tabular-shadow/1"
    assert (tmp_path / "passed").read_text() == "true"
    assert "# Shadow comparison: PASS" in (tmp_path / "report.md").read_text()
    assert outputs.metrics.metadata[keys.META_PASSED] is True


def test_shifted_challenger_in_shadow_fails_naming_the_bounds(
    telco_bundles: Telco, tmp_path: Path
) -> None:
    champion = write_logs(tmp_path / "champion", telco_bundles.good, telco_bundles, "churn")
    shadow = write_logs(tmp_path / "shadow", telco_bundles.shifted, telco_bundles, "churn-shadow")
    config = ShadowConfig(champion_uri=str(champion), shadow_uri=str(shadow))
    result = executor.run(ShadowInputs(), _outputs(tmp_path), config)
    failed = {c["name"] for c in result.checks if not c["passed"]}
    assert not result.passed and {"mean_abs_diff", "p95_abs_diff"} <= failed
    assert result.numbers["mean_abs_diff"] > 0.05
    assert (tmp_path / "passed").read_text() == "false"
    print(
        json.dumps(
            {k: result.numbers[k] for k in ("label_agreement", "mean_abs_diff", "p95_abs_diff")}
        )
    )


def test_replay_to_a_local_challenger_matches_the_logged_champion(
    telco_bundles: Telco, start_servers: Starter, tmp_path: Path
) -> None:
    champion = write_logs(tmp_path / "champion", telco_bundles.good, telco_bundles, "churn")
    (challenger,) = start_servers(telco_bundles.good)
    config = ShadowConfig(
        champion_uri=str(champion),
        challenger_url=challenger.url,
        model_name=challenger.model_name,
    )
    result = executor.run(ShadowInputs(), _outputs(tmp_path), config)
    n = result.numbers
    assert result.passed, result.checks
    assert n["replay"]["replayed"] == REQUESTS and n["replay"]["failed"] == 0
    # the challenger evaluates compiled trees: within 1e-6 of the booster that logged
    assert n["max_abs_diff"] <= 1e-6 and n["label_agreement"] == 1.0
    assert n["challenger_latency_p95_ms"] > 0


def test_too_few_pairs_is_a_fail_not_a_pass(telco_bundles: Telco, tmp_path: Path) -> None:
    champion = write_logs(tmp_path / "champion", telco_bundles.good, telco_bundles, "churn")
    shadow = tmp_path / "shadow"
    shadow.mkdir()
    (shadow / "events.jsonl").write_text(
        json.dumps(_event("other", RESPONSE_EVENT, {"predictions": [0.1]}, 0, "x")) + "\n"
    )
    config = ShadowConfig(champion_uri=str(champion), shadow_uri=str(shadow))
    result = agreement(executor.read_sides(config), config)
    assert not result.passed and result.checks[0]["name"] == "paired_requests"
    assert np.isclose(result.numbers["paired_requests"], 0)


# --- the pure part and the config, without files ---------------------------------------------


def _side(scores: dict[str, list[float]], latency_ms: float) -> dict[str, Exchange]:
    return {
        key: Exchange(key, {"instances": []}, scores=np.array(s), client_latency_ms=latency_ms)
        for key, s in scores.items()
    }


def test_agreement_pairs_rows_by_id_and_checks_every_bound() -> None:
    champion = _side({f"r{i}": [0.2, 0.8] for i in range(4)}, latency_ms=10.0)
    challenger = _side({f"r{i}": [0.25, 0.4] for i in range(3)}, latency_ms=40.0)
    challenger["r3"] = Exchange("r3", scores=np.array([0.1]))  # a row count that differs
    config = ShadowConfig(champion_uri="c", shadow_uri="s", min_pairs=3)
    result = agreement(Sides(champion, challenger, {"challenger_source": "test"}), config)
    n = result.numbers
    assert (n["paired_requests"], n["row_count_mismatches"], n["rows"]) == (3, 1, 6)
    assert n["label_agreement"] == 0.5 and n["max_abs_diff"] == pytest.approx(0.4)
    assert n["mean_diff"] == pytest.approx((0.05 - 0.4) / 2)
    by_name = {c["name"]: c for c in result.checks}
    assert not by_name["label_agreement"]["passed"]
    assert by_name["latency_p95_ratio"]["value"] == pytest.approx(4.0)
    assert by_name["latency_p95_ratio"]["reason"] == "latency_p95_ratio: 4.0000 > 3.0"
    assert not result.passed and result.to_dict()["config"]["min_pairs"] == 3


def test_config_wants_exactly_one_challenger_source() -> None:
    with pytest.raises(ConfigError, match="shadow_uri / challenger_url: expected exactly one"):
        ShadowConfig(champion_uri="c")
    with pytest.raises(ConfigError, match="shadow_uri / challenger_url: expected exactly one"):
        ShadowConfig(champion_uri="c", shadow_uri="s", challenger_url="http://x")
    with pytest.raises(ConfigError, match="model_name is required to replay"):
        ShadowConfig(champion_uri="c", challenger_url="http://x")


def _record(tmp: Path, sides: list[dict[str, Any]], strategy: str = "shadow") -> dsl.Artifact:
    path = tmp / "deployment.json"
    path.write_text(json.dumps({"target": "local", "strategy": strategy, "sides": sides}))
    return dsl.Artifact(name="deployment", uri=str(path))


def test_a_deployment_record_names_the_challenger_to_replay_to(
    telco_bundles: Telco, start_servers: Starter, tmp_path: Path
) -> None:
    """How the pipeline runs shadow after deploy: the record's shadow side is the challenger."""
    champion = write_logs(tmp_path / "champion", telco_bundles.good, telco_bundles, "churn")
    (challenger,) = start_servers(telco_bundles.good)
    deployment = _record(
        tmp_path,
        [
            {"role": "stable", "url": "http://127.0.0.1:9", "model_name": "churn"},
            {"role": "shadow", "url": challenger.url, "model_name": challenger.model_name},
        ],
    )
    outputs = _outputs(tmp_path)
    executor.main({"champion_uri": str(champion), "deployment": deployment, **vars(outputs)})
    result = json.loads((tmp_path / "result.json").read_text())
    assert result["passed"] and result["numbers"]["replay"]["url"] == challenger.url
    assert result["config"]["model_name"] == challenger.model_name


def test_a_record_without_a_serving_shadow_is_a_config_error(tmp_path: Path) -> None:
    canary = _record(
        tmp_path, [{"role": "stable", "url": "u"}, {"role": "canary", "url": "v"}], "canary"
    )
    with pytest.raises(
        ConfigError, match=r"expected a shadow side with a URL .*got strategy 'canary'"
    ):
        executor.challenger_from_record(canary.path)
    rendered = _record(tmp_path, [{"role": "shadow", "url": None}])
    with pytest.raises(ConfigError, match=r"roles \['shadow'\]"):
        executor.challenger_from_record(rendered.path)
