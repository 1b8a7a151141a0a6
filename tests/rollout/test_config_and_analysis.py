"""Rollout's pure parts without servers: the config's checks, the bounds derived from it, the
A/B test, one step's analysis and the trail's walk over the steps."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from components._shared import keys
from components._shared.errors import ConfigError, DataError
from components.rollout import analysis, trail
from components.rollout.analysis import AB_TEST, Bounds, SideWindow
from components.rollout.config import RolloutConfig
from components.rollout.executor import roll_out


def test_defaults_are_valid_and_bounds_come_from_the_config() -> None:
    config = RolloutConfig(max_psi=0.3, alpha=0.01)
    bounds = Bounds.of(config)
    assert bounds.max_psi == 0.3 and bounds.alpha == 0.01
    assert bounds.max_latency_ratio == RolloutConfig().max_latency_ratio


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (
            {"steps": [50, 10, 100]},
            "steps: expected increasing percents in 1..100, got [50, 10, 100]",
        ),
        ({"steps": []}, "steps: expected increasing percents in 1..100"),
        ({"steps": [10, 10.5, 100]}, "steps: expected increasing percents in 1..100"),
        ({"steps": [10, 50]}, "steps: expected a last step of 100 (full traffic), got [10, 50]"),
        (
            {"window_requests": 0},
            "window_requests / window_seconds / concurrency: expected positive, got (0, 60.0, 4)",
        ),
    ],
)
def test_config_problems_name_the_parameter(values: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match="rollout config: ") as caught:
        RolloutConfig(**values)
    assert message in str(caught.value)


def test_config_reports_every_problem_at_once() -> None:
    with pytest.raises(ConfigError) as caught:
        RolloutConfig(steps=[10, 50], concurrency=0)
    assert "last step of 100" in str(caught.value) and "concurrency" in str(caught.value)


def test_steps_as_kfp_doubles_are_whole_percents() -> None:
    config = RolloutConfig.from_parameters({"steps": [10.0, 50.0, 100.0]})
    assert config.percents == [10, 50, 100]
    recorded = trail.config_record(config)
    assert recorded["steps"] == [10, 50, 100]
    assert recorded["thresholds"] == Bounds.of(config).to_dict()
    assert list(recorded)[-1] == "thresholds" and "alpha" not in recorded


def _window(side: str, scores: np.ndarray, errors: int = 0) -> SideWindow:
    return SideWindow(
        side=side,
        requests=scores.size + errors,
        errors=errors,
        latencies_ms=np.full(scores.size + errors, 2.0),
        latency_source="client-observed",
        scores=scores,
    )


def test_analyse_step_passes_a_twin_and_fails_errors() -> None:
    rng = np.random.default_rng(0)
    bounds = Bounds.of(RolloutConfig())
    stable = _window(keys.DEPLOY_ROLE_STABLE, rng.beta(2, 5, 400))
    twin = _window(keys.DEPLOY_ROLE_CANARY, rng.beta(2, 5, 400))
    checks = {c.name: c for c in analysis.analyse_step(stable, twin, bounds)}
    assert checks[analysis.ERROR_RATE].passed and checks[analysis.LATENCY_P95].passed
    assert checks[analysis.SCORE_KS].passed
    failing = _window(keys.DEPLOY_ROLE_CANARY, rng.beta(2, 5, 380), errors=20)
    (error_rate, *_) = analysis.analyse_step(stable, failing, bounds)
    assert error_rate.passed is False and error_rate.reason.startswith("error_rate: canary 0.0500")


def _arm(rng: np.random.Generator, rows: int, accuracy: float) -> tuple[np.ndarray, np.ndarray]:
    """Labels and scores of a model right on about ``accuracy`` of the rows."""
    labels = rng.integers(0, 2, rows)
    confident = np.where(labels == 1, rng.uniform(0.6, 0.9, rows), rng.uniform(0.1, 0.4, rows))
    return labels, np.where(rng.random(rows) < accuracy, confident, 1 - confident)


def test_ab_test_blocks_only_a_significant_accuracy_loss() -> None:
    rng = np.random.default_rng(1)
    bounds = Bounds.of(RolloutConfig())
    stable = _arm(rng, 6000, 0.85)
    same = analysis.ab_test(*stable, *_arm(rng, 6000, 0.85), bounds)
    assert same.name == AB_TEST and same.passed is True
    assert same.numbers["recommendation"].startswith("promote: no significant difference")
    worse = analysis.ab_test(*stable, *_arm(rng, 6000, 0.6), bounds)
    assert worse.passed is False
    assert worse.numbers["recommendation"] == "roll back: canary accuracy significantly lower"
    assert list(worse.numbers) == [
        "stable_n",
        "canary_n",
        "stable_accuracy",
        "canary_accuracy",
        "accuracy_difference",
        "accuracy_ci",
        "chi2",
        "chi2_p_value",
        "log_loss_difference",
        "log_loss_ci",
        "welch_t",
        "welch_p_value",
        "required_per_arm",
        "recommendation",
    ]
    few = analysis.ab_test(stable[0][:1], stable[1][:1], stable[0][:5], stable[1][:5], bounds)
    assert few.passed is None and "nothing to test" in few.reason


def test_walk_stops_at_the_first_failed_step() -> None:
    def step(percent: int) -> dict[str, Any]:
        ok = percent < 50
        checks = [{"name": "error_rate", "passed": ok, "reason": f"error_rate at {percent}"}]
        return {"percent": percent, "checks": checks, "passed": ok}

    record: dict[str, Any] = {"steps": []}
    assert trail.walk([10, 50, 100], step, record) == (False, ["step 50%: error_rate at 50"])
    assert [s["percent"] for s in record["steps"]] == [10, 50]
    record = {"steps": []}
    assert trail.walk([10, 20], step, record) == (
        True,
        ["step 10%: error_rate at 10", "step 20%: error_rate at 20"],
    )


def test_a_strategy_without_canary_has_nothing_to_roll_out() -> None:
    record = {
        keys.DEPLOY_TARGET: keys.DEPLOY_TARGET_LOCAL,
        keys.DEPLOY_STRATEGY: keys.DEPLOY_STRATEGY_DIRECT,
        keys.DEPLOY_SIDES: [],
    }
    result = roll_out(record, RolloutConfig())
    assert result["decision"] == keys.DECISION_NONE and result["steps"] == []
    assert result["reasons"] == [f"strategy {keys.DEPLOY_STRATEGY_DIRECT!r}: no canary; no rollout"]


def test_local_canary_needs_the_splits() -> None:
    record = {keys.DEPLOY_TARGET: keys.DEPLOY_TARGET_LOCAL, keys.DEPLOY_STRATEGY: "canary"}
    with pytest.raises(ConfigError, match="the splits input"):
        roll_out(record, RolloutConfig())


def test_unknown_target_is_a_data_error() -> None:
    with pytest.raises(DataError, match="deployment record target"):
        roll_out({keys.DEPLOY_TARGET: "mars", keys.DEPLOY_STRATEGY: "canary"}, RolloutConfig())
