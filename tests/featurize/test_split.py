"""The deterministic split: stratified by target, or by time when the schema has a time column."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from components._shared import keys
from components._shared.errors import ConfigError, DataError
from components._shared.schema import Schema
from components.featurize.split import split_rows
from tests.fixtures.datasets import TELCO, typed


def _split(frame: pd.DataFrame, schema: Schema, seed: int = 7, valid: float = 0.15, test=0.15):
    return split_rows(frame, schema, valid_fraction=valid, test_fraction=test, seed=seed)


def test_same_seed_same_split_and_every_row_once(
    telco: pd.DataFrame, telco_contract: Schema
) -> None:
    first, again, other = (_split(telco, telco_contract, seed=s) for s in (7, 7, 8))
    for name in keys.SPLITS:
        assert np.array_equal(first.rows(name), again.rows(name))
    assert not np.array_equal(first.test, other.test)
    every = np.concatenate([first.train, first.valid, first.test])
    assert np.array_equal(np.sort(every), np.arange(len(telco)))
    assert first.method == keys.SPLIT_STRATIFIED
    assert abs(first.test.size - 0.15 * len(telco)) <= 2
    assert abs(first.valid.size - 0.15 * len(telco)) <= 2


def test_positive_rate_is_the_same_in_every_split(
    telco: pd.DataFrame, telco_contract: Schema
) -> None:
    split = _split(telco, telco_contract)
    positive = (telco["Churn"] == "Yes").to_numpy()
    overall = positive.mean()
    for name in keys.SPLITS:
        assert abs(positive[split.rows(name)].mean() - overall) < 0.01, name


def test_time_split_puts_the_oldest_rows_in_train_and_the_newest_in_test(
    telco: pd.DataFrame,
) -> None:
    rows = telco.iloc[:1000].copy()
    rng = np.random.default_rng(0)
    rows["signup"] = pd.Timestamp("2023-01-01") + pd.to_timedelta(
        rng.integers(0, 365 * 24, size=len(rows)), unit="h"
    )
    rows, schema = typed(rows, TELCO, time_column="signup")
    split = _split(rows, schema, valid=0.2, test=0.1)
    times = rows["signup"].to_numpy()

    assert split.method == keys.SPLIT_TIME
    assert (split.train.size, split.valid.size, split.test.size) == (700, 200, 100)
    assert times[split.train].max() <= times[split.valid].min()
    assert times[split.valid].max() <= times[split.test].min()
    assert np.array_equal(_split(rows, schema, 99, 0.2, 0.1).test, split.test)  # no shuffle


@pytest.mark.parametrize(
    ("valid", "test", "message"),
    [
        (0.0, 0.2, "valid_fraction: expected a number in \\(0, 1\\), got 0.0"),
        (0.2, 1.5, "test_fraction: expected a number in \\(0, 1\\), got 1.5"),
        (0.5, 0.5, "valid_fraction \\+ test_fraction: expected less than 1"),
        (float("nan"), 0.2, "valid_fraction"),
    ],
)
def test_bad_fractions_name_the_parameter(
    telco: pd.DataFrame, telco_contract: Schema, valid: float, test: float, message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        _split(telco, telco_contract, valid=valid, test=test)


def test_a_split_that_would_be_empty_is_an_error(
    telco: pd.DataFrame, telco_contract: Schema
) -> None:
    with pytest.raises(DataError, match=r"split\(s\) \['valid', 'test'\] would be empty"):
        _split(telco.iloc[:3], telco_contract, valid=0.1, test=0.1)
