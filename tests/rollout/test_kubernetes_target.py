"""The kubernetes target without a cluster: a recording CustomObjectsApi double stands in for
the API server and a stub Prometheus HTTP API (a real local HTTP server answering canned
vectors) for Prometheus. What is tested is the objects sent and the queries made.

The stub stays for what cannot be produced for real here: Istio's ``istio_requests_total``
(the ``istio`` query preset, including 5xx a crashed pod never answered) and the Standard
deployment mode's selectors. The default queries run on a real Prometheus scraping real servers
in ``test_prometheus_rollout.py``."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import numpy as np
import pytest
from kfp import dsl

from components._shared import keys, kubernetes
from components.rollout import patches
from components.rollout.config import RolloutConfig
from components.rollout.executor import main, roll_out
from components.rollout.prometheus import histogram_quantile, parse_metrics
from tests.rollout.test_patches import RecordingCustomObjectsApi, knative, standard

SCORES = np.linspace(0.05, 1.0, 20)


class PrometheusStub:
    """A local HTTP server speaking Prometheus' /api/v1/query answer format with canned values
    per side (the side is read from the query's workload selector)."""

    def __init__(self, canary_error_rate: float) -> None:
        self.queries: list[str] = []
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                query = parse_qs(urlsplit(self.path).query)["query"][0]
                stub.queries.append(query)
                body = json.dumps({"status": "success", "data": stub.answer(query)}).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.canary_error_rate = canary_error_rate
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def answer(self, query: str) -> dict:
        canary = "canary" in query or "00002" in query or "challenger" in query

        def vector(value: float, **labels: str) -> dict:
            return {"metric": labels, "value": [0, str(value)]}

        if "kfp_tabular_prediction_score_bucket" in query:
            cumulative = np.cumsum(np.full(20, 30.0))  # same spread on both sides
            return {
                "resultType": "vector",
                "result": [
                    vector(c, le=str(b))
                    for b, c in zip([*SCORES[:-1].round(2), "+Inf"], cumulative, strict=True)
                ],
            }
        if "histogram_quantile" in query:
            return {"resultType": "vector", "result": [vector(0.004)]}
        if 'response_code=~"5.."' in query or 'status_class="5xx"' in query:
            return {
                "resultType": "vector",
                "result": [vector(600 * (self.canary_error_rate if canary else 0.0))],
            }
        return {"resultType": "vector", "result": [vector(600.0)]}

    def close(self) -> None:
        self.server.shutdown()


@pytest.fixture
def prometheus_stub() -> Iterator[PrometheusStub]:
    stub = PrometheusStub(canary_error_rate=0.0)
    yield stub
    stub.close()


def _record(mode: str, canary_predictor: str | None = None) -> dict[str, Any]:
    """A deployment record as deploy's kubernetes target writes it."""
    return {
        keys.DEPLOY_TARGET: keys.DEPLOY_TARGET_KUBERNETES,
        keys.DEPLOY_STRATEGY: keys.DEPLOY_STRATEGY_CANARY,
        keys.DEPLOY_MODE: mode,
        keys.DEPLOY_NAMESPACE: "ml",
        keys.DEPLOY_NAME: "churn",
        keys.DEPLOY_SIDES: [
            {keys.DEPLOY_SIDE_ROLE: keys.DEPLOY_ROLE_STABLE},
            {
                keys.DEPLOY_SIDE_ROLE: keys.DEPLOY_ROLE_CANARY,
                keys.DEPLOY_SIDE_PREDICTOR_NAME: canary_predictor,
            },
        ],
    }


def _config(url: str) -> RolloutConfig:
    # Istio's metrics (the stub answers them): a real Istio is not available here. The runtime's
    # own metrics, the default, are tested on a real Prometheus (test_prometheus_rollout.py).
    return RolloutConfig(
        window_seconds=0.01, prometheus_url=url, prometheus_queries={"preset": "istio"}
    )


def test_knative_healthy_canary_steps_traffic_then_promotes(
    prometheus_stub: PrometheusStub,
) -> None:
    api = RecordingCustomObjectsApi(knative(10))
    trail = roll_out(_record("Knative"), _config(prometheus_stub.url), api=api)
    assert trail["promoted"] and [s["percent"] for s in trail["steps"]] == [10, 50, 100]
    sent = [args[-1] for verb, args in api.calls if verb == "patch"]
    assert sent[1:3] == [
        {"spec": {"predictor": {"canaryTrafficPercent": 50}}},
        {"spec": {"predictor": {"canaryTrafficPercent": 100}}},
    ]
    assert sent[-1] == {"spec": {"predictor": {"canaryTrafficPercent": None}}}
    assert "canaryTrafficPercent" not in api.isvc["spec"]["predictor"]
    assert any(
        'destination_workload=~"churn-predictor-00002-deployment"' in q
        for q in prometheus_stub.queries
    )
    assert {(patches.GROUP, patches.PLURAL, v) for v, _ in api.calls} <= patches.API_CALLS


def test_standard_failing_canary_is_rolled_back_deleting_the_canary_entry() -> None:
    stub = PrometheusStub(canary_error_rate=0.2)
    try:
        api = RecordingCustomObjectsApi(standard(10))
        trail = roll_out(_record("Standard", "challenger"), _config(stub.url), api=api)
    finally:
        stub.close()
    assert not trail["promoted"] and trail["decision"] == keys.DECISION_ROLLBACK
    assert re.match(r"step 10%: error_rate: canary 0\.2000 \(120/600\)", trail["reasons"][0])
    assert api.calls[-1][1][-1] == {"spec": {"canary": None}}
    assert "canary" not in api.isvc["spec"] and api.isvc["spec"]["predictor"]["name"] == "champion"


def test_main_takes_the_component_arguments_as_kfp_passes_them(
    prometheus_stub: PrometheusStub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Through ``main``: the artifacts by their KFP names, a list's numbers as doubles."""
    api = RecordingCustomObjectsApi(knative(20))
    monkeypatch.setattr(kubernetes, "custom_objects_api", lambda: api)
    record_path = tmp_path / "deployment"
    record_path.write_text(json.dumps(_record("Knative")))
    arguments = {
        "deployment": dsl.Artifact(name="deployment", uri=str(record_path)),
        "trail": dsl.Artifact(name="trail", uri=str(tmp_path / "trail.json")),
        "report": dsl.Markdown(name="report", uri=str(tmp_path / "report.md")),
        "metrics": dsl.Metrics(name="metrics", uri=str(tmp_path / "metrics")),
        "promoted": str(tmp_path / "outputs" / "promoted"),
        "splits": None,
        "steps": [20.0, 100.0],
        "window_seconds": 0.01,
        "prometheus_url": prometheus_stub.url,
    }
    main(arguments)
    trail = json.loads((tmp_path / "trail.json").read_text())
    assert trail["decision"] == keys.DECISION_PROMOTE
    assert [s["percent"] for s in trail["steps"]] == [20, 100]
    assert trail["config"]["steps"] == [20, 100]
    assert trail["config"]["thresholds"]["max_psi"] == RolloutConfig().max_psi
    assert "max_psi" not in trail["config"]
    assert (tmp_path / "outputs" / "promoted").read_text() == "true"
    assert "# Rollout of `churn`: promote" in (tmp_path / "report.md").read_text()
    assert arguments["metrics"].metadata[keys.META_DECISION] == keys.DECISION_PROMOTE


def test_metrics_text_and_histogram_quantile_match_prometheus() -> None:
    text = (
        "# TYPE request_predict_seconds histogram\n"
        'request_predict_seconds_bucket{model_name="churn",le="0.005"} 90.0\n'
        'request_predict_seconds_bucket{model_name="churn",le="0.01"} 100.0\n'
        'request_predict_seconds_bucket{model_name="churn",le="+Inf"} 100.0\n'
        'request_predict_seconds_count{model_name="churn"} 100.0\n'
        'request_predict_seconds_sum{model_name="churn"} 0.4\n'
    )
    samples = parse_metrics(text)
    assert samples[("request_predict_seconds_count", frozenset({("model_name", "churn")}))] == 100.0
    # rank 95 lies in (0.005, 0.01] holding 10: 0.005 + 0.005 * 5/10, as histogram_quantile says
    assert histogram_quantile(
        0.95, {0.005: 90.0, 0.01: 100.0, float("inf"): 100.0}
    ) == pytest.approx(0.0075)
