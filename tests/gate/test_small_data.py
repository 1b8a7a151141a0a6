"""Small data: 1,000 Telco rows are decided on the challenger's out-of-fold predictions (the same
rule, guards and champion comparison), where a 15% holdout could only "cannot decide"."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from kfp import dsl

from components._shared import keys
from components.compare import executor as compare
from components.compare.config import CompareConfig
from components.featurize.config import FeaturizeConfig
from components.gate import executor as gate
from components.gate.config import GateConfig
from tests.fixtures.datasets import Spine, fast_candidate, small_telco_spine, train_with_oof
from tests.gate.conftest import GateRun, gate_outputs, gate_result

EVALUATION = "stratified 5-fold cross-validation on 1000 rows"


@pytest.fixture(scope="module")
def contest(
    telco_csv: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Spine, dict[str, tuple[dsl.Model, dsl.Dataset]]]:
    spine = small_telco_spine(telco_csv, tmp_path_factory.mktemp("small_gate"))
    candidates = [
        fast_candidate("lightgbm", name="good"),
        fast_candidate("sklearn_rf", name="weak", n_estimators=2, max_depth=1),
    ]
    return spine, {c["name"]: train_with_oof(spine, c) for c in candidates}


def _compare(spine: Spine, trained: list[tuple[dsl.Model, dsl.Dataset]], out: Path) -> dict:
    outputs = {
        "challenger": dsl.Model(name="challenger", uri=str(out / "challenger")),
        "leaderboard": dsl.Artifact(name="leaderboard", uri=str(out / "leaderboard.json")),
        "leaderboard_md": dsl.Markdown(name="leaderboard_md", uri=str(out / "leaderboard.md")),
        "leaderboard_html": dsl.HTML(name="leaderboard_html", uri=str(out / "leaderboard.html")),
        "metrics": dsl.Metrics(name="metrics", uri=str(out / "compare_metrics")),
        "challenger_oof": dsl.Dataset(name="challenger_oof", uri=str(out / "challenger_oof")),
    }
    compare.run(
        compare.CompareInputs(
            candidates=[b for b, _ in trained],
            splits=spine.splits,
            oof_predictions=[o for _, o in trained],
        ),
        compare.CompareOutputs(**outputs),
        CompareConfig(),
    )
    return outputs


def _gate(spine: Spine, ranked: dict, out: Path, oof: Any = None, **thresholds: Any) -> GateRun:
    outputs = gate_outputs(out)
    result = gate.run(
        gate.GateInputs(
            challenger=ranked["challenger"],
            splits=spine.splits,
            leaderboard=ranked["leaderboard"],
            challenger_oof=ranked["challenger_oof"] if oof is None else oof,
        ),
        outputs,
        GateConfig(bootstrap_resamples=300, **thresholds),
    )
    return gate_result(outputs, result)


def test_the_challenger_is_decided_on_its_out_of_fold_predictions(
    contest: tuple[Spine, dict], tmp_path: Path
) -> None:
    spine, trained = contest
    ranked = _compare(spine, [trained["good"]], tmp_path / "compare")
    run = _gate(spine, ranked, tmp_path / "gate")

    assert run.blessing[keys.BLESSING_VERDICT] == keys.VERDICT_BLESSED, run.failed()
    assert run.blessing[keys.BLESSING_EVALUATION] == EVALUATION
    evidence = run.blessing[keys.BLESSING_EVIDENCE]
    assert evidence["rows"] == 1000 and evidence["positives"] == 265
    reasons = {(r["check"], r["name"]): r for r in run.blessing[keys.BLESSING_REASONS]}
    assert reasons[("sample", "test_rows")]["message"].startswith(
        f"out-of-fold predictions ({EVALUATION}): 1000 rows"
    )
    for check in ("out_of_fold", "leaderboard", "sha256"):
        assert reasons[("infra", check)]["passed"], reasons[("infra", check)]
    served = [r for (c, n), r in reasons.items() if c == "infra" and n.startswith("serving")]
    assert served and all(r["passed"] for r in served)  # the refit bundle serves its own numbers
    assert run.lineage[keys.LINEAGE_TEST_SPLIT][keys.META_EVALUATION] == EVALUATION
    assert "## Out-of-fold metrics" in run.rationale and EVALUATION in run.rationale
    card = (Path(run.outputs.blessed_bundle.path) / keys.MODEL_CARD_FILE).read_text()
    assert f"- Evaluation: {EVALUATION} (too few rows for a test split)" in card
    assert "### Out-of-fold metrics (threshold 0.5)" in card


def test_a_champion_is_compared_on_the_same_rows(
    contest: tuple[Spine, dict], tmp_path: Path
) -> None:
    spine, trained = contest
    champion = tmp_path / "champion"
    shutil.copytree(trained["weak"][0].path, champion)
    ranked = _compare(spine, [trained["good"]], tmp_path / "compare")
    run = _gate(spine, ranked, tmp_path / "gate", champion_uri=str(champion))
    evidence = run.blessing[keys.BLESSING_EVIDENCE]
    assert evidence["champion"] is not None and evidence["delong"]["difference"] > 0
    assert run.blessing[keys.BLESSING_VERDICT] != keys.VERDICT_CANNOT_DECIDE, run.failed()


def test_another_candidates_predictions_are_an_infra_failure(
    contest: tuple[Spine, dict], tmp_path: Path
) -> None:
    spine, trained = contest
    ranked = _compare(spine, [trained["good"]], tmp_path / "compare")
    run = _gate(spine, ranked, tmp_path / "gate", oof=trained["weak"][1])
    assert run.blessing[keys.BLESSING_VERDICT] == keys.VERDICT_REFUSED
    assert "infra/out_of_fold" in run.failed() and "infra/leaderboard" in run.failed()


def test_without_cross_validation_1000_rows_cannot_be_decided(
    telco_csv: Path, tmp_path: Path
) -> None:
    spine = small_telco_spine(
        telco_csv, tmp_path / "spine", config=FeaturizeConfig(cv_below_rows=0)
    )
    ranked = _compare(spine, [train_with_oof(spine, fast_candidate("lightgbm"))], tmp_path / "c")
    run = _gate(spine, ranked, tmp_path / "gate")
    assert run.blessing[keys.BLESSING_VERDICT] == keys.VERDICT_CANNOT_DECIDE
    assert run.blessing[keys.BLESSING_EVALUATION] == keys.EVALUATION_HOLDOUT
    assert "the test split has 150 rows" in run.blessing[keys.BLESSING_SUMMARY]
    assert json.loads(Path(ranked["leaderboard"].path).read_text())["test_rows"] == 150
