"""The default model matrix and the candidate check."""

from __future__ import annotations

import pytest

from components._shared import keys
from components._shared.errors import ConfigError
from components.train.matrix import DEFAULT_MODEL_MATRIX, check_candidate, check_matrix


def test_default_matrix_is_valid_and_covers_the_families() -> None:
    checked = check_matrix(DEFAULT_MODEL_MATRIX)
    assert 6 <= len(checked) <= 8
    assert {c["family"] for c in checked} == set(keys.FAMILIES)
    assert checked == DEFAULT_MODEL_MATRIX


def test_check_candidate_returns_a_clean_copy() -> None:
    candidate = {
        "name": "lr",
        "family": "sklearn_logreg",
        "params": {"C": 1.0, "class_weighting": "balanced"},
    }
    checked = check_candidate(candidate)
    assert checked == candidate
    checked["params"]["C"] = 2.0
    assert candidate["params"]["C"] == 1.0
    assert check_candidate({"name": "x", "family": "xgboost"})["params"] == {}


@pytest.mark.parametrize(
    ("candidate", "message"),
    [
        ("xgboost", "candidate: expected a dict {name, family, params}, got str"),
        (
            {"name": "a", "family": "catboost", "params": {}},
            r"candidate 'a' family: expected one of \['xgboost', .*\], got 'catboost'",
        ),
        (
            {"name": "a", "family": "xgboost", "params": "eta=0.1"},
            "candidate 'a' params: expected a dict, got str",
        ),
        (
            {"name": "a", "family": "xgboost", "params": {}, "seed": 1},
            r"candidate has unknown key\(s\) \['seed'\]",
        ),
        ({"family": "xgboost"}, r"candidate is missing \['name'\]"),
        (
            {"name": "has space", "family": "xgboost"},
            "candidate name: expected 1-63 letters.*got 'has space'",
        ),
        (
            {"name": "rf", "family": "sklearn_rf", "params": {"n_trees": 10}},
            r"candidate 'rf': sklearn_rf params \['n_trees'\] are not parameters of RandomForestClassifier",
        ),
        (
            {"name": "lr", "family": "sklearn_logreg", "params": {"class_weighting": "yes"}},
            r"candidate 'lr': params\['class_weighting'\]: expected None or",
        ),
        (
            {"name": "x", "family": "xgboost", "params": {"seed": 3}},
            r"candidate 'x': xgboost params \['seed'\] are set by the train step",
        ),
    ],
)
def test_check_candidate_names_the_bad_key(candidate: object, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        check_candidate(candidate)


def test_check_matrix_refuses_duplicate_names_and_empty() -> None:
    with pytest.raises(ConfigError, match=r"model matrix names \['a'\] more than once"):
        check_matrix([{"name": "a", "family": "xgboost"}, {"name": "a", "family": "lightgbm"}])
    with pytest.raises(ConfigError, match="model matrix: expected a non-empty list"):
        check_matrix([])
