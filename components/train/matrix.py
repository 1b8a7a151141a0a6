"""The model matrix: the candidates a pipeline trains by default, and the check of one candidate.

A candidate is ``{"name": str, "family": str, "params": dict}``. ``params`` holds the library's
hyper-parameters plus, optionally, ``"class_weighting": "balanced"``; boosting families also take
``num_boost_round`` (an upper bound: early stopping on valid picks the real number) and
``early_stopping_rounds``.

The defaults were tuned on Telco churn (7k rows, mostly linear) and UCI Adult (49k rows, strong
interactions); see components/train/README.md for the measured AUCs and times. They cover both
regimes: regularised logistic regression, shallow slow-learning boosting with early stopping,
and deeper boosting for data with interactions.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from typing import Any, Final

from components._shared import families, keys
from components._shared.errors import ConfigError, expected_got

# Candidate names become display names, metadata and file names in the UI: keep them plain.
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")

DEFAULT_MODEL_MATRIX: Final[list[dict[str, Any]]] = [
    {
        "name": "logreg_l2",
        "family": "sklearn_logreg",
        "params": {"C": 0.1},
    },
    {
        "name": "lightgbm_shallow",
        "family": "lightgbm",
        "params": {
            "learning_rate": 0.02,
            "num_leaves": 7,
            "min_data_in_leaf": 40,
            "feature_fraction": 0.7,
            "bagging_fraction": 0.8,
            "bagging_freq": 1,
            "lambda_l2": 5.0,
        },
    },
    {
        "name": "lightgbm_wide",
        "family": "lightgbm",
        "params": {
            "learning_rate": 0.03,
            "num_leaves": 15,
            "min_data_in_leaf": 30,
            "feature_fraction": 0.4,
            "lambda_l2": 1.0,
            # Patient: with 40% of the features per tree the valid loss plateaus in steps.
            "early_stopping_rounds": 100,
        },
    },
    {
        "name": "xgboost_shallow",
        "family": "xgboost",
        "params": {
            "eta": 0.03,
            "max_depth": 3,
            "min_child_weight": 5,
            "subsample": 0.8,
            "colsample_bytree": 0.7,
            "lambda": 5.0,
        },
    },
    {
        "name": "xgboost_deep",
        "family": "xgboost",
        "params": {
            "eta": 0.05,
            "max_depth": 6,
            "min_child_weight": 2,
            "subsample": 0.8,
            "colsample_bytree": 0.8,
        },
    },
    {
        "name": "hgb",
        "family": "sklearn_hgb",
        "params": {"learning_rate": 0.1, "max_leaf_nodes": 15, "l2_regularization": 1.0},
    },
    {
        "name": "random_forest",
        "family": "sklearn_rf",
        # Bagging baseline; 100 depth-limited trees keep one-row latency near 10 ms.
        "params": {
            "n_estimators": 100,
            "max_depth": 12,
            "min_samples_leaf": 3,
            "max_features": "sqrt",
        },
    },
]

_KEYS = (keys.CANDIDATE_NAME, keys.CANDIDATE_FAMILY, keys.CANDIDATE_PARAMS)


def check_candidate(candidate: object) -> dict[str, Any]:
    """Check one candidate and return a clean copy ``{"name", "family", "params"}``.

    Raises:
        ConfigError: naming the bad key, family or value (unknown keys, an unknown family,
            params that are not a dict, a param the family does not take, ...).
    """
    if not isinstance(candidate, Mapping):
        raise ConfigError(
            expected_got("candidate", "a dict {name, family, params}", type(candidate).__name__)
        )
    unknown = sorted(set(candidate) - set(_KEYS), key=str)
    if unknown:
        raise ConfigError(f"candidate has unknown key(s) {unknown}; expected only {list(_KEYS)}")
    missing = [k for k in (keys.CANDIDATE_NAME, keys.CANDIDATE_FAMILY) if k not in candidate]
    if missing:
        raise ConfigError(f"candidate is missing {missing}; got keys {sorted(candidate, key=str)}")
    name = candidate[keys.CANDIDATE_NAME]
    if not isinstance(name, str) or not _NAME.match(name):
        raise ConfigError(
            expected_got(
                "candidate name",
                "1-63 letters, digits, '_', '.', '-' (starting with a letter or digit)",
                repr(name),
            )
        )
    family = candidate[keys.CANDIDATE_FAMILY]
    if family not in families.FAMILIES:
        raise ConfigError(
            expected_got(
                f"candidate {name!r} family", f"one of {list(families.FAMILIES)}", repr(family)
            )
        )
    params = candidate.get(keys.CANDIDATE_PARAMS, {})
    if not isinstance(params, Mapping):
        raise ConfigError(
            expected_got(f"candidate {name!r} params", "a dict", type(params).__name__)
        )
    try:
        checked = families.check_params(family, copy.deepcopy(dict(params)))
    except ConfigError as exc:
        raise ConfigError(f"candidate {name!r}: {exc}") from None
    return {
        keys.CANDIDATE_NAME: name,
        keys.CANDIDATE_FAMILY: family,
        keys.CANDIDATE_PARAMS: checked,
    }


def check_matrix(matrix: object) -> list[dict[str, Any]]:
    """Check every candidate of a matrix; names must be unique (they name the bundles)."""
    if not isinstance(matrix, list) or not matrix:
        raise ConfigError(
            expected_got("model matrix", "a non-empty list of candidates", repr(matrix)[:80])
        )
    checked = [check_candidate(c) for c in matrix]
    names = [c[keys.CANDIDATE_NAME] for c in checked]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ConfigError(f"model matrix names {duplicates} more than once; names must be unique")
    return checked
