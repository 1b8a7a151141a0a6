"""Both pipelines under ``kfp.local.DockerRunner``, every task in the component image, against the
same pipelines under the SubprocessRunner on the same data.

``train_and_rollout`` (Telco, the default matrix, deploy target render) must give the same
leaderboard (every valid and test score within 1e-9), the same challenger and the same gate
decision; ``drift_monitor`` on the blessed bundle the same per-column verdicts. The containers
run as the image's user (UID 10001): what they write is owned by it, with ordinary permissions.
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from kfp import local

from components._image import COMPONENT_IMAGE
from kfp_tabular import local_run
from kfp_tabular.docker_runner import docker_runner
from pipelines.drift_monitor import drift_monitor

pytestmark = pytest.mark.slow

TOLERANCE = 1e-9
TASKS = 13  # validate, featurize, 7 x train, compare, gate, deploy, rollout


def _run(runner: str, output: Path) -> tuple[dict[str, Any], float]:
    started = time.monotonic()
    assert local_run.main(["--runner", runner, "--quiet", "--output", str(output)]) == 0, (
        output / "run.log"
    ).read_text()[-4000:]
    return json.loads((output / "last_run.json").read_text()), time.monotonic() - started


def _scores(row: dict[str, Any]) -> dict[str, float]:
    return {f"{split}.{k}": v for split in ("valid", "test") for k, v in row[split].items()}


def _differences(left: dict[str, Any], right: dict[str, Any], where: str = "") -> list[str]:
    """Paths where two JSON values differ: numbers beyond TOLERANCE, anything else at all."""
    if isinstance(left, dict) and isinstance(right, dict):
        if set(left) != set(right):
            return [f"{where}: keys {sorted(set(left) ^ set(right))}"]
        return [d for k in left for d in _differences(left[k], right[k], f"{where}.{k}")]
    if isinstance(left, list) and isinstance(right, list):
        if len(left) != len(right):
            return [f"{where}: {len(left)} vs {len(right)} items"]
        pairs = enumerate(zip(left, right, strict=True))
        return [d for i, (a, b) in pairs for d in _differences(a, b, f"{where}[{i}]")]
    if isinstance(left, float) and isinstance(right, float | int):
        same = math.isclose(left, right, rel_tol=0, abs_tol=TOLERANCE) or left == right
        return [] if same or (math.isnan(left) and math.isnan(right)) else [f"{where}: {left} vs {right}"]  # fmt: skip
    return [] if left == right else [f"{where}: {left!r} vs {right!r}"]


@pytest.fixture(scope="module")
def runs(component_image: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """train_and_rollout on Telco under each runner (SubprocessRunner first)."""
    found: dict[str, Any] = {}
    for runner in ("subprocess", "docker"):
        record, seconds = _run(runner, tmp_path_factory.mktemp(f"run_{runner}"))
        found[runner] = {"record": record, "seconds": seconds}
    return found


def test_train_and_rollout_same_leaderboard_and_gate_in_the_image(
    runs: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    docker, subprocess = runs["docker"]["record"], runs["subprocess"]["record"]
    with capsys.disabled():
        print(f"\ntrain_and_rollout on Telco: DockerRunner {runs['docker']['seconds']:.1f} s, "
              f"SubprocessRunner {runs['subprocess']['seconds']:.1f} s wall")  # fmt: skip
    assert docker["runner"] == "docker" and subprocess["runner"] == "subprocess"
    board_d, board_s = docker["leaderboard"], subprocess["leaderboard"]
    assert [(r["rank"], r["name"], r["family"]) for r in board_d] == [
        (r["rank"], r["name"], r["family"]) for r in board_s
    ]
    for row_d, row_s in zip(board_d, board_s, strict=True):
        scores_d, scores_s = _scores(row_d), _scores(row_s)
        assert scores_d.keys() == scores_s.keys()
        for key, value in scores_d.items():
            assert value == pytest.approx(scores_s[key], abs=TOLERANCE, rel=0), (row_d["name"], key)
    art_d, art_s = docker["artifacts"], subprocess["artifacts"]
    candidate = art_d["compare"]["challenger"]["metadata"]["candidate"]
    assert candidate == art_s["compare"]["challenger"]["metadata"]["candidate"]
    gate_d, gate_s = art_d["gate"]["metrics"]["metadata"], art_s["gate"]["metrics"]["metadata"]
    assert gate_d["verdict"] == gate_s["verdict"] and gate_d["blessed"] == gate_s["blessed"]
    assert gate_d["test_auc"] == pytest.approx(gate_s["test_auc"], abs=TOLERANCE, rel=0)
    assert gate_d["serving_max_abs_diff"] == 0.0  # the image's serving path, in the image
    deployed = art_d["deploy"]["deployment"]["metadata"]
    assert (deployed["strategy"], deployed["target"]) == ("direct", "render")


def test_every_task_ran_in_the_image_as_its_user(runs: dict[str, Any]) -> None:
    record = runs["docker"]["record"]
    run_dir = Path(record["run_dir"])
    log = (run_dir.parent / "run.log").read_text()
    assert log.count(f"Found image '{COMPONENT_IMAGE}'") == TASKS
    assert log.count("Wrote executor output file") == TASKS
    bundle = Path(record["artifacts"]["gate"]["blessed_bundle"]["uri"])
    for path in [bundle, *bundle.iterdir()]:
        assert path.stat().st_uid == 10001, path
        assert oct(path.stat().st_mode & 0o777) == ("0o755" if path.is_dir() else "0o644"), path


def _drift(runner: Any, root: Path, bundle: str, current: str) -> dict[str, Any]:
    local.init(runner=runner, pipeline_root=str(root))
    drift_monitor(bundle_uri=bundle, current_uri=current, current_format="dataset")
    (result,) = root.glob("drift-monitor-*/drift/result")
    return json.loads(result.read_text())


def test_drift_monitor_same_verdicts_in_the_image(
    runs: dict[str, Any], tmp_path: Path, telco_csv: Path
) -> None:
    bundle = runs["subprocess"]["record"]["artifacts"]["gate"]["blessed_bundle"]["uri"]
    current = tmp_path / "inputs" / "current.csv"
    current.parent.mkdir()
    frame = pd.read_csv(telco_csv).sample(n=3000, random_state=3)
    frame["MonthlyCharges"] = frame["MonthlyCharges"] * 1.3  # one real shift to find
    frame.to_csv(current, index=False)
    arguments = {"bundle_uri": bundle, "current_uri": str(current)}
    docker_root = tmp_path / "docker"
    results = {
        "subprocess": _drift(
            local.SubprocessRunner(use_venv=False), tmp_path / "sub", bundle, str(current)
        ),
        "docker": _drift(docker_runner(arguments, docker_root), docker_root, bundle, str(current)),
    }
    sub, dock = results["subprocess"], results["docker"]
    assert sub["dataset_drift"] is dock["dataset_drift"]
    assert "MonthlyCharges" in sub["drifted_columns"]
    assert sub["drifted_columns"] == dock["drifted_columns"]
    assert _differences(sub["columns"], dock["columns"]) == []
    assert _differences(sub["prediction"], dock["prediction"]) == []
