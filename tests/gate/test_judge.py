"""The gate's pure part and its config, without files or bundles: labels and predictions in,
the decision out; every bad threshold named at once."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from components._shared import keys
from components._shared.errors import ConfigError
from components.gate.config import GateConfig
from components.gate.decision import CHECK_CHAMPION, CHECK_INFRA, Reason
from components.gate.executor import Scores, judge

ROWS = 600


def labelled(rows: int = ROWS, seed: int = 0) -> tuple[np.ndarray, np.ndarray, pd.DataFrame]:
    """Balanced 0/1 labels, an informative P(positive), and raw rows with a slice column."""
    rng = np.random.default_rng(seed)
    y = (np.arange(rows) % 2).astype(np.int8)
    p = np.clip(0.5 + (y - 0.5) * 0.6 + rng.normal(0, 0.2, rows), 0.01, 0.99)
    frame = pd.DataFrame({"plan": np.where(np.arange(rows) % 3 == 0, "basic", "premium")})
    return y, p, frame


def scores(
    challenger: np.ndarray | None, champion: np.ndarray | None = None, **kw: object
) -> Scores:
    infra = [Reason(CHECK_INFRA, "sha256", challenger is not None, "verified or not", {})]
    return Scores(challenger, champion, kw.get("problem"), infra, 0.0)  # type: ignore[arg-type]


def test_a_good_first_challenger_is_blessed_on_the_floors_alone() -> None:
    y, p, frame = labelled()
    evidence, decision = judge(y, frame, scores(p), GateConfig(bootstrap_resamples=200))
    assert decision.blessed and decision.verdict == keys.VERDICT_BLESSED
    assert {r.check for r in decision.reasons} == {"sample", "infra", "floor"}
    assert evidence is not None and evidence.champion is None and evidence.rows == ROWS


def test_a_worse_challenger_than_the_champion_is_refused_and_a_slice_named() -> None:
    y, p, frame = labelled()
    noise = np.random.default_rng(1).uniform(0.3, 0.7, ROWS)
    config = GateConfig(bootstrap_resamples=200, slice_columns=["plan"], min_slice_rows=50)
    evidence, decision = judge(y, frame, scores(noise, p), config)
    assert not decision.blessed and decision.verdict == keys.VERDICT_REFUSED
    failed = {f"{r.check}/{r.name}" for r in decision.failed}
    assert {"versus_champion/auc", "slice/plan=basic", "slice/plan=premium"} <= failed
    assert evidence is not None and evidence.delong is not None and evidence.delong.high < 0


def test_too_few_rows_or_an_unusable_champion_cannot_decide_without_statistics() -> None:
    y, p, frame = labelled(rows=100)
    evidence, decision = judge(y, frame, scores(p), GateConfig())
    assert evidence is None and decision.verdict == keys.VERDICT_CANNOT_DECIDE
    assert [f"{r.check}/{r.name}" for r in decision.failed] == ["sample/test_rows"]

    y, p, frame = labelled()
    problem = Reason(CHECK_CHAMPION, "load", False, "cannot decide: the champion ...", {})
    evidence, decision = judge(y, frame, scores(p, problem=problem), GateConfig())
    assert evidence is None and decision.verdict == keys.VERDICT_CANNOT_DECIDE
    assert decision.failed == [problem]


def test_a_challenger_that_failed_verification_is_refused_without_statistics() -> None:
    y, _, frame = labelled()
    evidence, decision = judge(y, frame, scores(None), GateConfig())
    assert evidence is None and decision.verdict == keys.VERDICT_REFUSED
    assert [f"{r.check}/{r.name}" for r in decision.failed] == ["infra/sha256"]


def test_a_slice_column_the_rows_lack_is_a_config_error() -> None:
    y, p, frame = labelled()
    with pytest.raises(ConfigError, match=r"slice_columns: expected columns of the test split"):
        judge(y, frame, scores(p), GateConfig(slice_columns=["Region"]))


def test_every_bad_threshold_is_named_at_once() -> None:
    with pytest.raises(ConfigError) as caught:
        GateConfig(confidence=1.5, min_auc=2.0, bootstrap_resamples=10, slice_columns=[""])
    message = str(caught.value)
    assert message.startswith("gate config: min_auc: expected a number in [0, 1], got 2.0; ")
    for part in (
        "confidence: expected a level in [0.5, 1), e.g. 0.95, got 1.5",
        "bootstrap_resamples: expected 200..100000, got 10",
        "slice_columns: expected a list of column names, got ['']",
    ):
        assert part in message


def test_kfp_values_are_brought_to_the_declared_types() -> None:
    config = GateConfig.from_parameters({"min_auc": 1, "bootstrap_resamples": 500.0})
    assert config.min_auc == 1.0 and type(config.bootstrap_resamples) is int
    assert "champion_uri" not in config.thresholds() and config.thresholds()["min_auc"] == 1.0
