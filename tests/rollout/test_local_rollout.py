"""The closed loop on real local servers: a good canary is promoted, bad ones are rolled back
with the metric that caused it, and a render has nothing to roll out."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from kfp import dsl

from components._shared import keys, local_serving
from components.rollout.analysis import ERROR_RATE, SCORE_PSI
from components.rollout.config import RolloutConfig
from components.rollout.executor import RolloutInputs, RolloutOutputs, run
from components.rollout.prometheus import PREDICT_METRIC, scrape
from tests.rollout.conftest import Starter, Telco, deployment_record

# Small windows keep the test quick; still 150 canary requests per step. The latency slack is
# wide because two servers and the client share a 2-core machine with other work: a few ms of
# queueing there is noise, not a regression (the default slack is 5 ms).
FAST = {
    "window_requests": 150,
    "window_seconds": 20.0,
    "concurrency": 2,
    "request_timeout_s": 3.0,
    "min_latency_delta_ms": 25.0,
}


def _outputs(tmp: Path) -> RolloutOutputs:
    return RolloutOutputs(
        trail=dsl.Artifact(name="trail", uri=str(tmp / "trail.json")),
        report=dsl.Markdown(name="report", uri=str(tmp / "report.md")),
        metrics=dsl.Metrics(name="metrics", uri=str(tmp / "metrics")),
        promoted=str(tmp / "promoted"),
    )


def _run(record: dsl.Artifact, telco: Telco, tmp: Path, **config: Any) -> dict[str, Any]:
    outputs = _outputs(tmp)
    result = run(
        RolloutInputs(deployment=record, splits=telco.splits),
        outputs,
        RolloutConfig(**{**FAST, **config}),
    )
    assert json.loads(Path(outputs.trail.path).read_text())["decision"] == result["decision"]
    assert Path(outputs.promoted).read_text() == str(result["promoted"]).lower()
    assert "# Rollout of `churn`" in Path(outputs.report.path).read_text()
    print(
        json.dumps(
            {
                "decision": result["decision"],
                "reasons": result["reasons"],
                "seconds": result["seconds"],
            },
            indent=1,
        )
    )
    return result


def test_good_canary_is_promoted_and_the_old_stable_stopped(
    telco_bundles: Telco, start_servers: Starter, tmp_path: Path
) -> None:
    stable, canary = start_servers(telco_bundles.good, telco_bundles.good)
    record = deployment_record(tmp_path / "deployment", stable, canary)
    trail = _run(record, telco_bundles, tmp_path, feedback_uri=str(telco_bundles.feedback))
    assert trail["promoted"] and trail["decision"] == keys.DECISION_PROMOTE
    assert [s["percent"] for s in trail["steps"]] == [10, 50, 100]
    for step in trail["steps"]:
        assert step["canary"]["requests"] == 150 and step["canary"]["errors"] == 0
        names = {c["name"] for c in step["checks"]}
        assert {"error_rate", "latency_p95", "score_psi", "score_ks", "ab_test"} <= names
        assert step["canary"]["metrics_source"] == "/metrics delta"
    ab = trail["steps"][-1]["checks"][-1]["numbers"]
    assert ab["required_per_arm"] > 0 and ab["stable_n"] > 0 and ab["canary_n"] > 0
    assert trail["action"]["stopped_pid"] == stable.pid
    assert not local_serving.is_ready(stable.url) and local_serving.is_ready(canary.url)


def test_shifted_canary_is_rolled_back_on_score_psi(
    telco_bundles: Telco, start_servers: Starter, tmp_path: Path
) -> None:
    stable, canary = start_servers(telco_bundles.good, telco_bundles.shifted)
    record = deployment_record(tmp_path / "deployment", stable, canary)
    trail = _run(record, telco_bundles, tmp_path)
    assert not trail["promoted"] and trail["decision"] == keys.DECISION_ROLLBACK
    assert len(trail["steps"]) == 1  # stopped at the first step
    failed = [c for c in trail["steps"][0]["checks"] if c["passed"] is False]
    assert SCORE_PSI in {c["name"] for c in failed}
    assert any(r.startswith("step 10%: score_psi:") for r in trail["reasons"])
    assert trail["action"]["stopped_pid"] == canary.pid and local_serving.is_ready(stable.url)


def _kill_when_serving(
    canary: local_serving.LocalServer, after: int, stop: threading.Event
) -> None:
    """Stop the canary once it has answered ``after`` predictions (mid-window)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not stop.is_set():
        samples = scrape(canary.url, timeout=1.0) or {}
        served = sum(v for (name, _), v in samples.items() if name == f"{PREDICT_METRIC}_count")
        if served >= after:
            local_serving.stop_server(canary)
            return
        time.sleep(0.02)


def test_canary_killed_mid_rollout_is_rolled_back_on_error_rate(
    telco_bundles: Telco, start_servers: Starter, tmp_path: Path
) -> None:
    stable, canary = start_servers(telco_bundles.good, telco_bundles.good)
    record = deployment_record(tmp_path / "deployment", stable, canary)
    stop = threading.Event()
    killer = threading.Thread(target=_kill_when_serving, args=(canary, 40, stop), daemon=True)
    killer.start()
    try:
        trail = _run(record, telco_bundles, tmp_path)
    finally:
        stop.set()
        killer.join(timeout=35)
    assert not trail["promoted"] and trail["decision"] == keys.DECISION_ROLLBACK
    last = trail["steps"][-1]
    failed = {c["name"] for c in last["checks"] if c["passed"] is False}
    assert ERROR_RATE in failed
    assert any(": error_rate: canary" in r for r in trail["reasons"])
    assert last["canary"]["errors"] > 0 and last["canary"]["metrics_source"].startswith(
        "/metrics unreachable"
    )
    with pytest.raises(httpx.HTTPError):
        httpx.get(f"{canary.url}/v2/health/live", timeout=1)


def test_render_target_has_nothing_to_roll_out(telco_bundles: Telco, tmp_path: Path) -> None:
    path = tmp_path / "deployment"
    path.write_text(
        json.dumps(
            {
                keys.DEPLOY_TARGET: keys.DEPLOY_TARGET_RENDER,
                keys.DEPLOY_STRATEGY: keys.DEPLOY_STRATEGY_CANARY,
                keys.DEPLOY_NAME: "churn",
                keys.DEPLOY_SIDES: [],
            }
        )
    )
    trail = _run(dsl.Artifact(name="deployment", uri=str(path)), telco_bundles, tmp_path)
    assert trail["decision"] == keys.DECISION_NONE and not trail["promoted"]
    assert trail["reasons"] == ["rendered; no rollout (target render: nothing is serving)"]
