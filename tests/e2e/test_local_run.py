"""The whole local run (`make run`): train_and_rollout on the bundled Telco data with kfp.local,
the default model matrix, and the printed summary."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from components._shared.bundle import load_bundle
from kfp_tabular import local_run

pytestmark = pytest.mark.slow


def test_make_run_on_telco(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert local_run.main(["--preset", "telco", "--quiet", "--output", str(tmp_path)]) == 0
    printed = capsys.readouterr().out
    assert "7,043 rows x 21 columns checked: 0 errors" in printed
    assert "11 cells coerced" in printed
    assert "challenger" in printed

    record = json.loads((tmp_path / "last_run.json").read_text())
    board = record["leaderboard"]
    # The seven candidates of the matrix, and compare's weighted ensemble of the top three.
    assert len(board) == 8 and [row["rank"] for row in board] == list(range(1, 9))
    assert sum(row["family"] == "ensemble" for row in board) == 1
    assert board[0]["test"]["auc"] > 0.83  # FLAML's 120 s AutoML reaches 0.847 on Telco
    assert {"validate", "featurize", "compare"} <= set(record["step_seconds"])
    assert record["step_runs"]["train"] == 7

    challenger = load_bundle(record["artifacts"]["compare"]["challenger"]["uri"])
    assert challenger.manifest["candidate"] == board[0]["name"]
    # validate, featurize, 7 x train, compare, gate, deploy and rollout, each to the end.
    assert (tmp_path / "run.log").read_text().count("Wrote executor output file") == 13
    assert "gate        blessed" in printed
    assert "deploy      direct (render, Knative)" in printed  # first deployment: no champion


def test_run_refuses_data_without_target(capsys: pytest.CaptureFixture[str]) -> None:
    assert local_run.main(["--data", "some.csv"]) == 2
    assert "target (STRING, --target)" in capsys.readouterr().err


def test_run_reports_a_failing_step(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    telco = Path(local_run.PRESETS["telco"]["data_uri"])
    status = local_run.main(
        ["--data", str(telco), "--target", "Churn", "--positive-label", "Maybe", "--quiet",
         "--output", str(tmp_path)]
    )  # fmt: skip
    # Bad input: exit 2, the component's own message on stderr (no traceback), and the log path.
    assert status == 2
    err = capsys.readouterr().err
    assert "run failed at step validate (bad input): ValidationFailed" in err
    assert "positive_label" in err and "Traceback" not in err
    assert str(tmp_path / "run.log") in err
    assert "positive_label" in (tmp_path / "run.log").read_text()
