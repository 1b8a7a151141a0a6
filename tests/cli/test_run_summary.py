"""``kfp-tabular run``'s summary names the evaluation actually used and where the champion came
from: under small-data cross-validation the leaderboard and the gate's number are out of fold,
not "valid" and "test"."""

from __future__ import annotations

from typing import Any

from kfp_tabular.local_run import summary_lines

CV = "stratified 5-fold cross-validation on 1000 rows"


def _record(evaluation: str, champion: dict[str, str] | None = None) -> dict[str, Any]:
    record: dict[str, Any] = {
        "arguments": {"data_uri": "small.csv"},
        "artifacts": {
            "gate": {
                "metrics": {
                    "uri": "/runs/gate/metrics",
                    "metadata": {
                        "verdict": "blessed",
                        "rule_version": "gate-rule/1",
                        "test_auc": 0.8631,
                        "test_auc_low": 0.8392,
                        "test_auc_high": 0.8870,
                    },
                },
                "rationale": {"uri": "/runs/gate/rationale"},
            }
        },
        "leaderboard": [
            {
                "rank": 1,
                "name": "lgbm",
                "family": "lightgbm",
                "valid": {"auc": 0.8631},
                "test": {"auc": 0.8631},
                "single_row_predict_ms": 0.2,
            },
        ],
        "primary_metric": "auc",
        "evaluation": evaluation,
        "seconds": 12.0,
        "step_seconds": {},
        "step_runs": {},
    }
    if champion is not None:
        record["champion"] = champion
    return record


def test_cross_validation_is_named_and_its_auc_called_out_of_fold() -> None:
    text = "\n".join(summary_lines(_record(CV)))
    assert f"leaderboard (ranked by out-of-fold auc of {CV}; the gate judges the same" in text
    assert "out-of-fold AUC 0.8631 [0.8392, 0.8870]" in text
    assert "test AUC" not in text and "valid auc" not in text and "test is the gate" not in text


def test_a_holdout_keeps_valid_and_test() -> None:
    text = "\n".join(summary_lines(_record("holdout")))
    assert "leaderboard (ranked by valid auc; test is the gate's judge)" in text
    assert "test AUC 0.8631 [0.8392, 0.8870]" in text


def test_the_champion_line_says_where_it_came_from() -> None:
    source = "registry: models:/churn@champion = version 3"
    record = _record("holdout", {"uri": "/runs/a/blessed_bundle", "source": source})
    record["leaderboard"].append({**record["leaderboard"][0], "rank": 2, "role": "champion"})
    lines = summary_lines(record)
    assert f"champion    {source} -> /runs/a/blessed_bundle" in lines
    assert any(line.startswith("   2  lgbm (champion) ") for line in lines)
    none = {"uri": "", "source": "none (first deployment; no registered model)"}
    assert "champion    none (first deployment; no registered model)" in summary_lines(
        _record("holdout", none)
    )
