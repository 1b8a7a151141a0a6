"""The kubernetes target's analysis on a real Prometheus, with its default (runtime) queries.

Real ``python -m serving`` processes play the two revisions (stable ``churn-predictor-00001``,
canary ``churn-predictor-00002``); a real Prometheus scrapes them every second with the pod and
namespace labels a cluster's PodMonitor gives them. The API server is the recording double (no
cluster here), and a client thread plays the Knative router: each request goes to the canary
with the probability the InferenceService's current ``canaryTrafficPercent`` says. The three
scenarios of the local path reach the same decisions:

- good canary (same bundle) -> promote;
- shifted canary (the shuffled-label bundle) -> rollback on score_psi at the first step;
- failing canary (crashed before the window: nothing answers) -> rollback on error_rate.
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from components._shared import keys, local_serving
from components._shared.bundle import json_record
from components._shared.local_serving import LocalServer
from components.rollout.analysis import ERROR_RATE, SCORE_PSI
from components.rollout.config import RolloutConfig
from components.rollout.executor import roll_out
from tests.monitoring.prom import Prometheus
from tests.rollout.conftest import Starter, Telco
from tests.rollout.test_kubernetes_target import _record
from tests.rollout.test_patches import RecordingCustomObjectsApi, knative

STABLE_POD = "churn-predictor-00001-deployment-5d8f7b-abcde"
CANARY_POD = "churn-predictor-00002-deployment-6c9d8e-fghij"
ROWS_PER_REQUEST = 5


@dataclass
class Router:
    """Sends requests to stable or canary by the current canaryTrafficPercent, until stopped."""

    api: RecordingCustomObjectsApi
    stable: str
    canary: str
    rows: list[dict[str, Any]]
    stop: bool = False

    def percent(self) -> int:
        predictor = self.api.isvc["spec"]["predictor"]
        return int(predictor.get("canaryTrafficPercent") or 0)

    def run(self) -> None:
        rng = random.Random(3)
        with httpx.Client(timeout=5) as client:
            while not self.stop:
                url = self.canary if rng.random() * 100 < self.percent() else self.stable
                start = rng.randrange(len(self.rows) - ROWS_PER_REQUEST)
                body = {"instances": self.rows[start : start + ROWS_PER_REQUEST]}
                try:
                    client.post(f"{url}/v1/models/churn:predict", json=body)
                except httpx.HTTPError:
                    time.sleep(0.01)  # a crashed side: the request fails at the client


@pytest.fixture
def prometheus(tmp_path: Path) -> Iterator[Prometheus]:
    server = Prometheus(tmp_path)
    yield server
    server.stop()


def rollout(
    prometheus: Prometheus, telco: Telco, stable: LocalServer, canary: LocalServer, *, crash: bool
) -> dict[str, Any]:
    """Scrape both sides, start the router, roll out on Prometheus' numbers; the trail."""
    prometheus.add_target(stable.url, namespace="ml", pod=STABLE_POD)
    prometheus.add_target(canary.url, namespace="ml", pod=CANARY_POD)
    if crash:
        local_serving.stop_server(canary)
    api = RecordingCustomObjectsApi(knative(10))
    rows = [
        json_record({str(k): v for k, v in r.items()}) for r in telco.test_rows.to_dict("records")
    ]
    router = Router(api, stable.url, canary.url, rows)
    thread = threading.Thread(target=router.run, daemon=True)
    thread.start()
    try:
        config = RolloutConfig(
            window_seconds=10.0, min_latency_delta_ms=25.0, prometheus_url=prometheus.url
        )
        trail = roll_out(_record("Knative"), config, api=api)
    finally:
        router.stop = True
        thread.join(timeout=10)
    print(json.dumps({"decision": trail["decision"], "reasons": trail["reasons"]}, indent=1))
    return trail


def test_good_canary_is_promoted_on_real_prometheus(
    prometheus: Prometheus, telco_bundles: Telco, start_servers: Starter
) -> None:
    stable, canary = start_servers(telco_bundles.good, telco_bundles.good)
    trail = rollout(prometheus, telco_bundles, stable, canary, crash=False)
    assert trail["decision"] == keys.DECISION_PROMOTE, trail["reasons"]
    assert [s["percent"] for s in trail["steps"]] == [10, 50, 100]
    for step in trail["steps"]:
        assert step["canary"]["requests"] > 0 and step["canary"]["errors"] == 0
        assert step["canary"]["source"] == "prometheus" and step["canary"]["scored_rows"] > 0
    assert trail["action"]["kind"] == "promote"


def test_shifted_canary_is_rolled_back_on_score_psi_on_real_prometheus(
    prometheus: Prometheus, telco_bundles: Telco, start_servers: Starter
) -> None:
    stable, canary = start_servers(telco_bundles.good, telco_bundles.shifted)
    trail = rollout(prometheus, telco_bundles, stable, canary, crash=False)
    assert trail["decision"] == keys.DECISION_ROLLBACK
    assert len(trail["steps"]) == 1
    failed = {c["name"] for c in trail["steps"][0]["checks"] if c["passed"] is False}
    assert SCORE_PSI in failed
    assert trail["action"]["kind"] == "rollback"


def test_crashed_canary_is_rolled_back_on_error_rate_on_real_prometheus(
    prometheus: Prometheus, telco_bundles: Telco, start_servers: Starter
) -> None:
    stable, canary = start_servers(telco_bundles.good, telco_bundles.good)
    trail = rollout(prometheus, telco_bundles, stable, canary, crash=True)
    assert trail["decision"] == keys.DECISION_ROLLBACK
    assert any("error_rate: no request reached the canary" in r for r in trail["reasons"])
    failed = {c["name"] for c in trail["steps"][0]["checks"] if c["passed"] is False}
    assert ERROR_RATE in failed
