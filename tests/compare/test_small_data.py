"""Small data: compare ranks candidates on their out-of-fold predictions (paired with their bundles
by manifest digest), scores the champion on the same rows, and names the evaluation."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from kfp import dsl

from components._shared import keys
from components._shared.bundle import load_bundle
from components._shared.errors import DataError
from components._shared.metrics import classification_metrics
from components.compare import executor
from components.compare.config import CompareConfig
from tests.fixtures.datasets import (
    Prepared,
    Spine,
    fast_candidate,
    small_telco_spine,
    train_bundle,
    train_with_oof,
)

EVALUATION = "stratified 5-fold cross-validation on 1000 rows"


@pytest.fixture(scope="module")
def contest(
    telco_csv: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Spine, dict[str, tuple[dsl.Model, dsl.Dataset]]]:
    spine = small_telco_spine(telco_csv, tmp_path_factory.mktemp("small_compare"))
    candidates = [
        fast_candidate("lightgbm", name="good"),
        fast_candidate("sklearn_logreg", name="linear"),
        fast_candidate("sklearn_logreg", name="weak", C=1e-5),
    ]
    return spine, {c["name"]: train_with_oof(spine, c) for c in candidates}


def _outputs(out: Path) -> dict:
    return {
        "challenger": dsl.Model(name="challenger", uri=str(out / "challenger")),
        "leaderboard": dsl.Artifact(name="leaderboard", uri=str(out / "leaderboard.json")),
        "leaderboard_md": dsl.Markdown(name="leaderboard_md", uri=str(out / "leaderboard.md")),
        "leaderboard_html": dsl.HTML(name="leaderboard_html", uri=str(out / "leaderboard.html")),
        "metrics": dsl.Metrics(name="metrics", uri=str(out / "metrics")),
        "challenger_oof": dsl.Dataset(name="challenger_oof", uri=str(out / "challenger_oof")),
    }


def _run(
    splits: dsl.Dataset,
    trained: list[tuple[dsl.Model, dsl.Dataset]],
    out: Path,
    champion: str = "",
    oof: list[dsl.Dataset] | None = None,
) -> dict:
    outputs = _outputs(out)
    executor.run(
        executor.CompareInputs(
            candidates=[bundle for bundle, _ in trained],
            splits=splits,
            oof_predictions=[o for _, o in trained] if oof is None else oof,
        ),
        executor.CompareOutputs(**outputs),
        CompareConfig(champion_uri=champion),
    )
    outputs["board"] = json.loads(Path(outputs["leaderboard"].path).read_text())
    return outputs


def test_candidates_are_ranked_on_out_of_fold_predictions_and_the_champion_on_the_same_rows(
    contest: tuple[Spine, dict], tmp_path: Path
) -> None:
    spine, trained = contest
    champion = tmp_path / "champion"
    shutil.copytree(trained["linear"][0].path, champion)  # any bundle that reads these columns
    outputs = _run(spine.splits, list(trained.values()), tmp_path / "out", champion=str(champion))
    board = outputs["board"]
    assert board[keys.LEADERBOARD_EVALUATION] == EVALUATION
    assert board["selection_split"] == "out_of_fold" and board[keys.META_FOLDS] == 5
    rows = pd.read_parquet(Path(spine.splits.path) / keys.split_file(keys.TRAIN))
    labels = (rows["Churn"] == "Yes").to_numpy()
    by_name = {(r["name"], r["role"]): r for r in board[keys.LEADERBOARD_ROWS]}
    for name, (_, oof) in trained.items():
        table = pd.read_parquet(Path(oof.path) / keys.OOF_FILE)
        expected = classification_metrics(labels, table[keys.OOF_PROBA].to_numpy())
        row = by_name[(name, keys.ROLE_CANDIDATE)]
        assert row["valid"] == pytest.approx(expected) and row["test"] == row["valid"]
    champion_row = by_name[(load_bundle(str(champion)).name, keys.ROLE_CHAMPION)]
    in_sample = load_bundle(str(champion)).predict_proba_frame(rows)
    assert champion_row["test"] == pytest.approx(classification_metrics(labels, in_sample))

    aucs = [r["valid"]["auc"] for r in board[keys.LEADERBOARD_ROWS]]
    assert aucs == sorted(aucs, reverse=True)
    assert board[keys.LEADERBOARD_CHALLENGER] != "weak"
    best = board[keys.LEADERBOARD_CHALLENGER]
    copied = pd.read_parquet(Path(outputs["challenger_oof"].path) / keys.OOF_FILE)
    source = pd.read_parquet(Path(trained[best][1].path) / keys.OOF_FILE)
    assert np.array_equal(copied[keys.OOF_PROBA], source[keys.OOF_PROBA])
    assert outputs["challenger_oof"].metadata[keys.META_EVALUATION] == EVALUATION
    markdown = Path(outputs["leaderboard_md"].path).read_text()
    assert f"Evaluation: {EVALUATION}" in markdown and "out-of-fold auc" in markdown
    # No ensemble under cross-validation, and the leaderboard says so.
    assert "cross-validation" in board["ensemble"]["skipped"]
    assert all(r["family"] != "ensemble" for r in board[keys.LEADERBOARD_ROWS])
    assert "Ensemble: none (cross-validation" in markdown
    assert EVALUATION in Path(outputs["leaderboard_html"].path).read_text()


def test_predictions_that_belong_to_no_candidate_are_refused(
    contest: tuple[Spine, dict], tmp_path: Path
) -> None:
    spine, trained = contest
    good, linear = trained["good"], trained["linear"]
    with pytest.raises(DataError, match=r"out-of-fold predictions of candidate 'good'"):
        _run(spine.splits, [good, linear], tmp_path / "out", oof=[linear[1], linear[1]])


def test_holdout_leaderboards_name_the_holdout(telco_prepared: Prepared, tmp_path: Path) -> None:
    bundle = train_bundle(telco_prepared, tmp_path / "b", fast_candidate("sklearn_logreg"))
    outputs = _outputs(tmp_path / "out")
    executor.run(
        executor.CompareInputs(
            candidates=[dsl.Model(name="bundle", uri=str(bundle))],
            splits=dsl.Dataset(name="splits", uri=str(telco_prepared.splits)),
        ),
        executor.CompareOutputs(**outputs),
        CompareConfig(),
    )
    board = json.loads(Path(outputs["leaderboard"].path).read_text())
    assert board[keys.LEADERBOARD_EVALUATION] == keys.EVALUATION_HOLDOUT
    assert board["selection_split"] == keys.VALID and keys.META_FOLDS not in board
    empty = pd.read_parquet(Path(outputs["challenger_oof"].path) / keys.OOF_FILE)
    assert len(empty) == 0
    assert "Evaluation: holdout" in Path(outputs["leaderboard_md"].path).read_text()
