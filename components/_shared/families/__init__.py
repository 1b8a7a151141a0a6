"""Model families: train, save, load and predict, one module per library.

A family is a library plus an estimator: ``xgboost``, ``lightgbm``, ``sklearn_logreg``,
``sklearn_hgb`` (HistGradientBoostingClassifier) and ``sklearn_rf``. Every family

- trains on the featurizer's float64 matrix with labels 0/1, early-stopping boosting on the valid
  split, weighting classes when ``params["class_weighting"] == "balanced"``, seeded, using every
  core this process may use;
- saves in its library's own safe format (xgboost UBJSON, LightGBM text, scikit-learn via skops
  with an explicit trusted-types list), never pickle;
- loads into a :class:`Predictor` whose ``predict_proba`` calls the booster directly. The serving
  runtime uses this loader, so it must stay free of pandas and kfp.
"""

from __future__ import annotations

import platform
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from components._shared import keys
from components._shared.errors import BundleError, ConfigError, expected_got
from components._shared.families import _base, _lightgbm, _sklearn, _xgboost
from components._shared.families._base import Predictor, available_cores

FAMILIES: tuple[str, ...] = keys.FAMILIES

__all__ = [
    "FAMILIES",
    "Predictor",
    "available_cores",
    "check_params",
    "fit",
    "library_versions",
    "load",
    "model_file",
]


def _check_family(family: object) -> str:
    if family not in FAMILIES:
        raise ConfigError(expected_got("model family", f"one of {list(FAMILIES)}", repr(family)))
    return str(family)


def model_file(family: str) -> str:
    """Name of the family's model file inside a bundle (``keys.MODEL_FILES``)."""
    return keys.MODEL_FILES[_check_family(family)]


# Parameters where an int and a float of the same value mean different things (a fraction of the
# features or rows versus a count): their type is kept exactly as given.
_TYPE_SENSITIVE = frozenset({"max_features", "max_samples"})


def restore_integers(params: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of ``params`` with integral floats turned back into ints.

    KFP carries a ``dict`` parameter as a protobuf Struct, whose only number type is double, so a
    candidate written as ``{"max_depth": 12}`` arrives in the task as ``12.0``; scikit-learn then
    rejects it ("must be an int"). Whole floats are made ints again, except for the parameters in
    ``_TYPE_SENSITIVE`` where 1.0 (a fraction) and 1 (a count) differ.
    """
    return {
        key: int(value)
        if isinstance(value, float) and value.is_integer() and key not in _TYPE_SENSITIVE
        else value
        for key, value in params.items()
    }


def check_params(family: str, params: object) -> dict[str, Any]:
    """Check a candidate's params for ``family``; a copy, or ConfigError naming the bad key."""
    family = _check_family(family)
    if not isinstance(params, Mapping):
        raise ConfigError(expected_got(f"{family} params", "a dict", type(params).__name__))
    params = restore_integers(params)
    _base.class_weighting(params)
    if family == "xgboost":
        _xgboost.check_params(params)
    elif family == "lightgbm":
        _lightgbm.check_params(params)
    else:
        _sklearn.check_params(family, params)
    return params


def fit(
    family: str,
    params: Mapping[str, Any],
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_valid: np.ndarray,
    y_valid: np.ndarray,
    *,
    seed: int,
    n_jobs: int | None = None,
) -> Predictor:
    """Train one model of ``family`` on train, early-stopping on valid where the family can.

    Args:
        family: One of :data:`FAMILIES`.
        params: Library hyper-parameters plus optional ``class_weighting``; boosting families
            also take ``num_boost_round`` and ``early_stopping_rounds``.
        x_train, y_train: Feature matrix (float64) and 0/1 labels of the train split.
        x_valid, y_valid: The same for the valid split (early stopping only; never fitted on).
        seed: Random seed passed to the library.
        n_jobs: Threads; defaults to :func:`available_cores`.

    Returns:
        The trained :class:`Predictor`, holding ``x_valid`` as ``validation_features``.
    """
    params = check_params(family, params)
    threads = n_jobs or available_cores()
    y_train = np.asarray(y_train).astype(np.int32)
    y_valid = np.asarray(y_valid).astype(np.int32)
    model: Predictor
    if family == "xgboost":
        model = _xgboost.fit(params, x_train, y_train, x_valid, y_valid, seed=seed, n_jobs=threads)
    elif family == "lightgbm":
        model = _lightgbm.fit(params, x_train, y_train, x_valid, y_valid, seed=seed, n_jobs=threads)
    else:
        model = _sklearn.fit(
            family, params, x_train, y_train, x_valid, y_valid, seed=seed, n_jobs=threads
        )
    # Kept for the bundle writer's compiled-evaluation parity check (not saved).
    model.validation_features = _base.as_matrix(x_valid)
    return model


def load(family: str, directory: str | Path) -> Predictor:
    """Load the model file of ``family`` from ``directory`` (a bundle); BundleError if unreadable."""
    family = _check_family(family)
    directory = Path(directory)
    path = directory / keys.MODEL_FILES[family]
    if not path.is_file():
        raise BundleError(f"{path.name}: model file for {family} is missing from {directory}")
    try:
        if family == "xgboost":
            return _xgboost.load(directory)
        if family == "lightgbm":
            return _lightgbm.load(directory)
        return _sklearn.load(family, directory)
    except BundleError:
        raise
    except Exception as exc:  # library-specific parse errors: report them uniformly
        raise BundleError(f"{path.name}: cannot load {family} model: {exc}") from exc


def library_versions(family: str) -> dict[str, str]:
    """Versions that matter to reproduce ``family``'s predictions (python, numpy, the library)."""
    family = _check_family(family)
    versions = {"python": platform.python_version(), "numpy": np.__version__}
    if family == "xgboost":
        versions.update(_xgboost.library_versions())
    elif family == "lightgbm":
        versions.update(_lightgbm.library_versions())
    # scikit-learn is recorded for every family: the featurizer and metrics code run on it.
    versions.update(_sklearn.library_versions())
    return versions
