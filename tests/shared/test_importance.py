"""Feature importance on real Telco rows: booster gain and grouped permutation importance."""

from __future__ import annotations

import numpy as np
import pytest

from components._shared import families, importance
from tests.fixtures.datasets import FAST_PARAMS, Prepared, feature_arrays

SEED = 3


def _fit(prepared: Prepared, family: str) -> families.Predictor:
    x_train, y_train = feature_arrays(prepared, "train")
    x_valid, y_valid = feature_arrays(prepared, "valid")
    return families.fit(family, FAST_PARAMS[family], x_train, y_train, x_valid, y_valid, seed=SEED)


def _importance(prepared: Prepared, family: str) -> importance.Importance:
    featurizer = prepared.featurizer_obj
    x_valid, y_valid = feature_arrays(prepared, "valid")
    return importance.candidate_importance(
        _fit(prepared, family),
        featurizer.feature_names_,
        featurizer.to_dict(),
        x_valid,
        y_valid,
        seed=SEED,
    )


def test_every_feature_maps_to_a_real_input_column(telco_prepared: Prepared) -> None:
    featurizer = telco_prepared.featurizer_obj
    sources = importance.feature_sources(featurizer.to_dict())
    assert len(sources) == len(featurizer.feature_names_)
    assert set(sources) == set(featurizer.input_columns_)
    # the one-hot buckets of Contract all map back to Contract
    contract = [
        n for n, s in zip(featurizer.feature_names_, sources, strict=True) if s == "Contract"
    ]
    assert len(contract) >= 3 and all(n.startswith("Contract") for n in contract)


def test_an_unknown_featurizer_layout_falls_back_to_one_group_per_feature() -> None:
    names = ["a", "b"]
    assert importance.column_groups(names, {"numeric": []}) == names
    assert importance.column_groups(names, {}) == names


@pytest.mark.parametrize("family", ["xgboost", "lightgbm"])
def test_booster_gain_per_input_column(telco_prepared: Prepared, family: str) -> None:
    found = _importance(telco_prepared, family)
    inputs = set(telco_prepared.featurizer_obj.input_columns_)
    assert found.method == importance.METHOD_GAIN
    assert set(found.columns) <= inputs
    assert sum(found.columns.values()) == pytest.approx(1.0)
    assert all(value >= 0 for value in found.columns.values())
    assert list(found.columns.values()) == sorted(found.columns.values(), reverse=True)
    # Telco churn is driven by the contract term, tenure and the internet service.
    top = [name for name, _ in found.top(4)]
    assert {"Contract", "tenure", "InternetService"} & set(top), top
    # per feature: the raw gains, one per featurizer output column, summing to the columns' total
    assert set(found.features) == set(telco_prepared.featurizer_obj.feature_names_)
    assert sum(found.features.values()) > 0


@pytest.mark.parametrize("family", ["sklearn_logreg", "sklearn_rf"])
def test_permutation_importance_for_scikit_learn(telco_prepared: Prepared, family: str) -> None:
    found = _importance(telco_prepared, family)
    inputs = set(telco_prepared.featurizer_obj.input_columns_)
    assert found.method == importance.METHOD_PERMUTATION
    assert set(found.columns) == inputs
    assert sum(found.columns.values()) == pytest.approx(1.0)
    top = [name for name, _ in found.top(4)]
    assert {"Contract", "tenure", "InternetService"} & set(top), top
    # a mean AUC drop per feature is bounded by the AUC's range
    assert all(-0.5 <= v <= 0.5 for v in found.features.values())


def test_permutation_importance_is_seeded_and_bounded(telco_prepared: Prepared) -> None:
    model = _fit(telco_prepared, "sklearn_logreg")
    x_valid, y_valid = feature_arrays(telco_prepared, "valid")
    groups = importance.column_groups(
        telco_prepared.featurizer_obj.feature_names_, telco_prepared.featurizer_obj.to_dict()
    )
    calls: list[int] = []

    def counted(features: np.ndarray) -> np.ndarray:
        calls.append(features.shape[0])
        return model.predict_proba(features)

    first = importance.permutation_drop(counted, x_valid, y_valid, groups, seed=1, rows=200)
    second = importance.permutation_drop(
        model.predict_proba, x_valid, y_valid, groups, seed=1, rows=200
    )
    assert first == second
    assert max(calls) == 200
    assert len(calls) == 1 + len(set(groups)) * importance.PERMUTATION_REPEATS


def test_shares_ignore_negative_scores() -> None:
    assert importance.shares({"a": 3.0, "b": 1.0, "c": -0.5}) == {"a": 0.75, "b": 0.25, "c": 0.0}
    assert importance.shares({"a": -1.0}) == {"a": 0.0}


def test_markdown_chart_shows_the_top_columns(telco_prepared: Prepared) -> None:
    found = _importance(telco_prepared, "lightgbm")
    chart = importance.render_markdown(found, "lightgbm_fast", top=5)
    first, share = found.top(1)[0]
    assert chart.startswith("# Feature importance: lightgbm_fast")
    assert f"| `{first}` | {share:.1%} | {'█' * importance.CHART_WIDTH} |" in chart
    assert chart.count("\n| `") == 5
