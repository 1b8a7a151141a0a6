"""Small data end to end: train_and_rollout with kfp.local (``kfp-tabular run``) on a stratified
1,000-row sample of Telco, below ``cv_below_rows``, is decided on out-of-fold evidence.

A 15% test split of 1,000 rows (150) is under the gate's 200-row guard, so before
cross-validation such a run could only end "cannot decide". Here every step follows the
featurize step's folds: each train task predicts every row out of fold, compare ranks those
predictions, the gate judges the challenger's, and the leaderboard, the blessing and the model
card name the evaluation.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from components._shared import keys
from components._shared.bundle import load_bundle
from kfp_tabular import local_run
from tests.fixtures.datasets import telco_sample_csv

pytestmark = pytest.mark.slow

ROWS = 1000
EVALUATION = f"stratified 5-fold cross-validation on {ROWS} rows"


def test_1000_telco_rows_are_decided_on_out_of_fold_evidence(
    telco_csv: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = telco_sample_csv(telco_csv, tmp_path, ROWS)
    status = local_run.main(
        ["--data", str(data), "--target", "Churn", "--positive-label", "Yes",
         "--id-columns", "customerID", "--param", "cv_folds=5", "--param", "cv_below_rows=2000",
         "--quiet", "--output", str(tmp_path / "run")]
    )  # fmt: skip
    printed = capsys.readouterr().out
    assert status in (0, 3), printed  # blessed or refused: decided, never "cannot decide" (4)

    run = tmp_path / "run"
    record = json.loads((run / "last_run.json").read_text())
    artifacts = record["artifacts"]
    board = json.loads(Path(artifacts["compare"]["leaderboard"]["uri"]).read_text())
    assert board[keys.LEADERBOARD_EVALUATION] == EVALUATION
    assert board["selection_split"] == "out_of_fold" and board["test_rows"] == ROWS
    assert len(board[keys.LEADERBOARD_ROWS]) == 7
    markdown = Path(artifacts["compare"]["leaderboard_md"]["uri"]).read_text()
    assert f"Evaluation: {EVALUATION}" in markdown

    blessing = json.loads(Path(artifacts["gate"]["blessing"]["uri"]).read_text())
    assert blessing[keys.BLESSING_EVALUATION] == EVALUATION
    assert blessing[keys.BLESSING_VERDICT] != keys.VERDICT_CANNOT_DECIDE, blessing["summary"]
    evidence = blessing[keys.BLESSING_EVIDENCE]
    assert evidence["rows"] == ROWS  # the guard applies to the out-of-fold rows
    auc = evidence["challenger_auc_delong"]
    assert auc["low"] < auc["estimate"] < auc["high"]
    challenger_row = next(r for r in board["rows"] if r["name"] == board["challenger"])
    assert auc["estimate"] == pytest.approx(challenger_row["test"]["auc"], abs=1e-9)

    bundle = load_bundle(artifacts["gate"]["blessed_bundle"]["uri"])
    assert bundle.manifest[keys.MANIFEST_TRAINING_DATA]["train_rows"] == ROWS  # refit on all
    card = (Path(bundle.uri) / keys.MODEL_CARD_FILE).read_text()
    assert f"out-of-fold predictions of {EVALUATION}" in card
    assert f"Evaluation: {EVALUATION}" in card
    print(  # the observed decision, for the record
        f"\n{ROWS} Telco rows: {blessing['verdict']}, challenger {board['challenger']} "
        f"out-of-fold AUC {auc['estimate']:.4f} [{auc['low']:.4f}, {auc['high']:.4f}]"
    )
