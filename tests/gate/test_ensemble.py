"""The gate judges an ensemble challenger like any candidate: the same test statistics, the sha256
check over every member file, leaderboard parity, and the serving self-check through the
runtime's V1 and V2 request paths; the blessed copy is an ensemble bundle that loads."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from kfp import dsl

from components._shared import ensemble, keys
from components._shared.bundle import load_bundle
from components.compare import executor as compare
from components.compare.config import CompareConfig
from components.gate.decision import CHECK_INFRA
from tests.fixtures.datasets import Prepared, fast_candidate, train_bundle
from tests.gate.conftest import run_gate


def test_an_ensemble_challenger_passes_the_infra_checks_and_is_judged(
    telco_prepared_full: Prepared, bundles: dict[str, Path], tmp_path: Path
) -> None:
    xgb = train_bundle(telco_prepared_full, tmp_path / "xgb", fast_candidate("xgboost", name="xgb"))
    candidates = [bundles["good"], xgb, bundles["weak"]]
    config = CompareConfig(ensemble_members=2)
    contest = compare.read(
        compare.CompareInputs(
            candidates=[dsl.Model(name="bundle", uri=str(p)) for p in candidates],
            splits=dsl.Dataset(name="splits", uri=str(telco_prepared_full.splits)),
        ),
        config,
    )
    ranking = compare.compute(contest, config)
    chosen = next(e for e in ranking.ordered if e.family == ensemble.FAMILY)
    # The gate judges whichever candidate compare names; here it is the ensemble either way.
    board = {**ranking.board, keys.LEADERBOARD_CHALLENGER: chosen.name}
    out = tmp_path / "compare"
    outputs = compare.CompareOutputs(
        challenger=dsl.Model(name="challenger", uri=str(out / "challenger")),
        leaderboard=dsl.Artifact(name="leaderboard", uri=str(out / "leaderboard.json")),
        leaderboard_md=dsl.Markdown(name="leaderboard_md", uri=str(out / "leaderboard.md")),
        leaderboard_html=dsl.HTML(name="leaderboard_html", uri=str(out / "leaderboard.html")),
        metrics=dsl.Metrics(name="metrics", uri=str(out / "metrics")),
    )
    compare.write(replace(ranking, best=chosen, board=board), outputs)

    run = run_gate(
        telco_prepared_full.splits,
        Path(outputs.challenger.path),
        Path(outputs.leaderboard.path),
        tmp_path / "gate",
    )
    infra = {r.name: r for r in run.decision.reasons if r.check == CHECK_INFRA}
    assert {"sha256", "leaderboard", "serving_v2", "serving_v1"} <= set(infra)
    failed = [f"{r.name}: {r.message}" for r in infra.values() if not r.passed]
    assert not failed, failed
    assert "members/" in infra["sha256"].message
    assert run.result.evidence is not None  # judged on the test split like any candidate
    blessed = load_bundle(run.outputs.blessed_bundle.path)
    assert blessed.family == ensemble.FAMILY and blessed.name == chosen.name
    assert (
        "## Gate decision" in (Path(run.outputs.blessed_bundle.path) / "model_card.md").read_text()
    )
    assert run.blessing[keys.BLESSING_CHALLENGER]["family"] == ensemble.FAMILY
