"""The local target with real servers: stable (champion) and canary (challenger) from real
bundles answer V2 requests; stop_all stops them from the record; pids that are not our servers
are never signalled."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from kfp import dsl

from components._shared import keys
from components._shared.bundle import load_bundle
from components._shared.local_serving import (
    LocalServingError,
    is_ready,
    start_server,
    stop_all,
    stop_server,
)
from components._shared.oip import v2_output, v2_request
from tests.deploy.conftest import Bundles, Outputs, run_deploy


def gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    status = Path(f"/proc/{pid}/status")
    return status.exists() and "\nState:\tZ" in status.read_text()


def test_local_canary_serves_both_bundles_and_stop_all_stops_them(
    bundles: Bundles, outputs: Outputs, blessing: Any
) -> None:
    challenger = dsl.Model(name="blessed_bundle", uri=str(bundles.challenger))
    record = run_deploy(
        outputs,
        challenger,
        blessing,
        target="local",
        strategy="canary",
        inference_service_name="churn",
        champion_storage_uri=str(bundles.champion),
    )
    try:
        assert record == outputs.record()
        assert record[keys.DEPLOY_RECORD_FORMAT] == keys.DEPLOY_RECORD_FORMAT_VERSION
        sides = {s["role"]: s for s in record["sides"]}
        assert set(sides) == {"stable", "canary"}
        assert sides["stable"]["bundle_uri"] == str(bundles.champion)
        assert sides["canary"]["bundle_uri"] == str(bundles.challenger)
        assert outputs.deployment.metadata["urls"] == {r: s["url"] for r, s in sides.items()}
        records = bundles.records(5)
        for role, bundle_dir in (("stable", bundles.champion), ("canary", bundles.challenger)):
            side = sides[role]
            assert side["model_name"] == "churn" and is_ready(side["url"])
            # Detached: the server leads its own session, so it outlives the starting task.
            assert os.getsid(side["pid"]) == side["pid"] != os.getsid(0)
            bundle = load_bundle(str(bundle_dir))
            response = httpx.post(
                f"{side['url']}/v2/models/churn/infer",
                json=v2_request(records, bundle.schema),
                timeout=30,
            )
            assert response.status_code == 200, response.text
            served = v2_output(response.json(), "probability")
            expected = bundle.predict_proba_frame(bundles.test_rows.head(5))
            # each side serves its own bundle (compiled trees: within 1e-6 of the booster)
            assert abs(served - expected).max() <= 1e-6
        summary = Path(outputs.summary.path).read_text()
        assert "make stop" in summary and sides["canary"]["url"] in summary
    finally:
        # stop_all reads the pids from the records under a directory, as `make stop` does.
        stopped = stop_all(Path(outputs.deployment.path).parent)
    assert sorted(stopped) == sorted(s["pid"] for s in record["sides"])
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not all(gone(s["pid"]) for s in record["sides"]):
        time.sleep(0.05)
    assert all(gone(s["pid"]) for s in record["sides"])
    assert not any(is_ready(s["url"]) for s in record["sides"])
    assert stop_all(outputs.deployment.path) == []  # idempotent: nothing left to stop


def test_stop_all_never_signals_a_pid_that_is_not_our_server(tmp_path: Path) -> None:
    stranger = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        record = {
            keys.DEPLOY_RECORD_FORMAT: keys.DEPLOY_RECORD_FORMAT_VERSION,
            keys.DEPLOY_SIDES: [
                {"role": "stable", "pid": stranger.pid, "port": 1, "url": "http://x"}
            ],
        }
        (tmp_path / "deployment").write_text(json.dumps(record))
        assert stop_all(tmp_path) == []
        assert stranger.poll() is None
        with pytest.raises(LocalServingError, match="is not a local kfp-tabular server"):
            stop_server(stranger.pid)
        assert stranger.poll() is None
    finally:
        stranger.kill()
        stranger.wait()


def test_a_server_that_cannot_load_its_bundle_fails_with_its_log(tmp_path: Path) -> None:
    empty = tmp_path / "not-a-bundle"
    empty.mkdir()
    with pytest.raises(
        LocalServingError, match=r"(?s)exited with code 1 before it was ready.*refusing to serve"
    ):
        start_server(
            str(empty), model_name="churn", log_path=str(tmp_path / "server.log"), ready_timeout=60
        )
    with pytest.raises(LocalServingError, match="expected a directory"):
        start_server(str(tmp_path / "missing"), model_name="churn")
