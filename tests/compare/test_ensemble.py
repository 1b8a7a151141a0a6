"""compare's ensemble row on real Telco bundles: the top candidates combined with weights fitted on
valid predictions only, a cross-fitted valid score, test metrics the written bundle reproduces."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from kfp import dsl

from components._shared import ensemble, keys
from components._shared.bundle import load_bundle
from components._shared.errors import ConfigError
from components._shared.metrics import classification_metrics
from components.compare import executor
from components.compare.config import CompareConfig
from tests.fixtures.datasets import Prepared, fast_candidate, train_bundle


@pytest.fixture(scope="module")
def candidates(telco_prepared: Prepared, tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    root = tmp_path_factory.mktemp("ensemble_candidates")
    return [
        train_bundle(telco_prepared, root / name, fast_candidate(family, name=name))
        for name, family in (
            ("gbm", "lightgbm"),
            ("xgb", "xgboost"),
            ("linear", "sklearn_logreg"),
            ("forest", "sklearn_rf"),
        )
    ]


def _inputs(prepared: Prepared, candidates: list[Path]) -> executor.CompareInputs:
    return executor.CompareInputs(
        candidates=[dsl.Model(name="bundle", uri=str(p)) for p in candidates],
        splits=dsl.Dataset(name="splits", uri=str(prepared.splits)),
    )


def _outputs(out: Path) -> executor.CompareOutputs:
    return executor.CompareOutputs(
        challenger=dsl.Model(name="challenger", uri=str(out / "challenger")),
        leaderboard=dsl.Artifact(name="leaderboard", uri=str(out / "leaderboard.json")),
        leaderboard_md=dsl.Markdown(name="leaderboard_md", uri=str(out / "leaderboard.md")),
        leaderboard_html=dsl.HTML(name="leaderboard_html", uri=str(out / "leaderboard.html")),
        metrics=dsl.Metrics(name="metrics", uri=str(out / "metrics")),
    )


def _labels(prepared: Prepared, split: str) -> np.ndarray:
    return (prepared.frames[split]["Churn"].astype(str) == "Yes").to_numpy().astype(np.int8)


def test_the_top_candidates_are_combined_into_a_leaderboard_row(
    telco_prepared: Prepared, candidates: list[Path]
) -> None:
    config = CompareConfig(ensemble_members=3)
    ranking = executor.compute(executor.read(_inputs(telco_prepared, candidates), config), config)
    note = ranking.board[executor.LEADERBOARD_ENSEMBLE]
    singles = [e for e in ranking.ordered if e.family != ensemble.FAMILY]
    top = sorted(singles, key=lambda e: -e.valid["auc"])[:3]
    names = [e.name for e in top]
    # Members with weight 0 are left out of the bundle, in order.
    assert [n for n in names if n in note["members"]] == note["members"]
    assert sorted(note["members"] + note["zero_weight"]) == sorted(names)
    assert note["name"] == "ensemble_top3" and len(note["members"]) >= 2
    weights = np.array(note["weights"])
    assert (weights > 0).all() and weights.sum() == pytest.approx(1.0)
    assert "never test rows" in note["fitted_on"]

    (row,) = [r for r in ranking.board[keys.LEADERBOARD_ROWS] if r["family"] == ensemble.FAMILY]
    assert row["role"] == keys.ROLE_CANDIDATE and row["members"] == note["members"]
    members = [load_bundle(p) for p in candidates]
    by_name = {m.name: m for m in members}
    valid, test = telco_prepared.frames[keys.VALID], telco_prepared.frames[keys.TEST]
    y_valid, y_test = _labels(telco_prepared, keys.VALID), _labels(telco_prepared, keys.TEST)
    valid_parts = np.column_stack([by_name[n].predict_proba_frame(valid) for n in names])
    # Valid: cross-fitted on the valid rows; the weights it carries: fitted on every valid row.
    cross_fitted = ensemble.cross_fit(y_valid, valid_parts)
    assert row["valid"] == pytest.approx(classification_metrics(y_valid, cross_fitted))
    fitted = ensemble.fit_weights(y_valid, valid_parts)
    np.testing.assert_allclose(weights, fitted[fitted > 0])
    test_parts = [by_name[n].predict_proba_frame(test) for n in row["members"]]
    assert row["test"] == pytest.approx(
        classification_metrics(y_test, ensemble.combine(weights, test_parts))
    )


def test_an_ensemble_challenger_is_written_as_one_bundle_that_reproduces_its_row(
    telco_prepared: Prepared, candidates: list[Path], tmp_path: Path
) -> None:
    config = CompareConfig(ensemble_members=2)
    ranking = executor.compute(executor.read(_inputs(telco_prepared, candidates), config), config)
    chosen = next(e for e in ranking.ordered if e.family == ensemble.FAMILY)
    # Whichever ranks first on this data, the write path of an ensemble challenger is tested.
    board = {**ranking.board, keys.LEADERBOARD_CHALLENGER: chosen.name}
    outputs = _outputs(tmp_path)
    executor.write(replace(ranking, best=chosen, board=board), outputs)
    loaded = load_bundle(outputs.challenger.path)
    assert loaded.family == ensemble.FAMILY and loaded.name == "ensemble_top2"
    assert outputs.challenger.metadata[keys.META_FAMILY] == ensemble.FAMILY
    files = loaded.manifest[keys.MANIFEST_FILES]
    assert {f.split("/")[1] for f in files if f.startswith("members/")} == {
        m.name for m in chosen.members or []
    }
    y_test = _labels(telco_prepared, keys.TEST)
    p_test = loaded.predict_proba_frame(telco_prepared.frames[keys.TEST])
    assert classification_metrics(y_test, p_test) == pytest.approx(chosen.test, abs=1e-9)
    markdown = Path(outputs.leaderboard_md.path).read_text()
    assert "Ensemble: ensemble_top2 is the weighted mean" in markdown
    written = json.loads(Path(outputs.leaderboard.path).read_text())
    assert written[keys.LEADERBOARD_CHALLENGER] == "ensemble_top2"


def test_the_ensemble_is_off_at_zero_and_skipped_with_one_candidate(
    telco_prepared: Prepared, candidates: list[Path]
) -> None:
    off = CompareConfig(ensemble_members=0)
    ranking = executor.compute(executor.read(_inputs(telco_prepared, candidates), off), off)
    assert "off" in ranking.board[executor.LEADERBOARD_ENSEMBLE]["skipped"]
    assert all(e.family != ensemble.FAMILY for e in ranking.ordered)
    single = CompareConfig()
    ranking = executor.compute(
        executor.read(_inputs(telco_prepared, candidates[:1]), single), single
    )
    assert "nothing to combine" in ranking.board[executor.LEADERBOARD_ENSEMBLE]["skipped"]


@pytest.mark.parametrize("members", [1, -1, True])
def test_ensemble_members_must_be_zero_or_at_least_two(members: object) -> None:
    with pytest.raises(ConfigError, match="ensemble_members"):
        CompareConfig(ensemble_members=members)  # type: ignore[arg-type]
