"""scikit-learn families: logistic regression, histogram gradient boosting, random forest.

Saved with skops and loaded with an explicit list of trusted type names per family, so a bundle
that smuggles in any other type is refused instead of executed. Never pickle or joblib.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import sklearn
import skops
import skops.io as sio
from sklearn.base import ClassifierMixin
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from skops.io.exceptions import UntrustedTypesFoundException
from threadpoolctl import threadpool_limits

from components._shared import keys
from components._shared.errors import BundleError, ConfigError, expected_got
from components._shared.families import _base

ESTIMATORS: dict[str, type[ClassifierMixin]] = {
    "sklearn_logreg": LogisticRegression,
    "sklearn_hgb": HistGradientBoostingClassifier,
    "sklearn_rf": RandomForestClassifier,
}
# The types skops does not trust by default, found with skops.io.get_untrusted_types on a
# trained model of each family, plus the estimator itself for the record. Anything else in a
# file is refused by skops.io.load.
TRUSTED_TYPES: dict[str, list[str]] = {
    "sklearn_logreg": ["sklearn.linear_model._logistic.LogisticRegression"],
    "sklearn_hgb": [
        "sklearn.ensemble._hist_gradient_boosting.gradient_boosting.HistGradientBoostingClassifier",
        "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
    ],
    "sklearn_rf": [
        "sklearn.ensemble._forest.RandomForestClassifier",
        "sklearn.tree._classes.DecisionTreeClassifier",
        "sklearn.tree._tree.Tree",
    ],
}
# Sensible defaults the candidate may override (logistic regression on ~50 features needs more
# than lbfgs's default 100 iterations to converge).
DEFAULTS: dict[str, dict[str, Any]] = {
    "sklearn_logreg": {"max_iter": 2000},
    "sklearn_hgb": {"max_iter": 1000, "early_stopping": True, "n_iter_no_change": 20},
    "sklearn_rf": {"n_estimators": 300},
}
RESERVED = frozenset({"random_state", "n_jobs", "class_weight"})


class SklearnPredictor:
    """A fitted scikit-learn classifier; column 1 of ``predict_proba`` is the positive class."""

    def __init__(self, family: str, estimator: Any, info: dict[str, Any] | None = None) -> None:
        self.family = family
        self.estimator = estimator
        self._info = dict(info or {})
        self.validation_features: np.ndarray | None = None

    def predict_proba(self, features: np.ndarray) -> np.ndarray:
        """P(positive) from the estimator's ``predict_proba``."""
        out = self.estimator.predict_proba(_base.as_matrix(features))[:, 1]
        return np.asarray(out, dtype=np.float64)

    def save(self, directory: Path) -> str:
        """Write the estimator with ``skops.io.dump``."""
        name = keys.MODEL_FILES[self.family]
        sio.dump(self.estimator, Path(directory) / name)
        return name

    def info(self) -> dict[str, Any]:
        """Iterations or trees used, when the estimator has them."""
        return dict(self._info)


def check_params(family: str, params: Mapping[str, Any]) -> None:
    """Constructor keyword arguments of the family's estimator (plus ``class_weighting``)."""
    _base.check_scalar_params(family, params)
    _base.reject_reserved(family, params, RESERVED)
    known = set(ESTIMATORS[family]().get_params())
    unknown = sorted(set(params) - known - {keys.PARAM_CLASS_WEIGHTING})
    if unknown:
        raise ConfigError(
            f"{family} params {unknown} are not parameters of "
            f"{ESTIMATORS[family].__name__}; known: {sorted(known - RESERVED)}"
        )


def fit(
    family: str,
    params: Mapping[str, Any],
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_valid: np.ndarray,
    y_valid: np.ndarray,
    *,
    seed: int,
    n_jobs: int,
) -> SklearnPredictor:
    """Fit the estimator; HGB early-stops on the given valid split rather than a train holdout."""
    kwargs = {**DEFAULTS[family], **params}
    kwargs.pop(keys.PARAM_CLASS_WEIGHTING, None)
    kwargs["random_state"] = seed
    if _base.class_weighting(params) == "balanced":
        kwargs["class_weight"] = "balanced"
    if family == "sklearn_rf":
        kwargs["n_jobs"] = n_jobs
    estimator = ESTIMATORS[family](**kwargs)
    fit_kwargs: dict[str, Any] = {}
    if family == "sklearn_hgb" and kwargs.get("early_stopping") is not False:
        # Since scikit-learn 1.4 HGB accepts an explicit validation set: it early-stops on our
        # valid split instead of carving validation_fraction out of train.
        fit_kwargs = {"X_val": _base.as_matrix(x_valid), "y_val": y_valid}
    # HGB and the liblinear/lbfgs BLAS calls use OpenMP/BLAS pools sized by the host, not by
    # the cores this process was given.
    with threadpool_limits(limits=n_jobs):
        estimator.fit(_base.as_matrix(x_train), y_train, **fit_kwargs)
    info: dict[str, Any] = {}
    if family == "sklearn_rf":
        # One request is one or a few rows: a thread pool per call costs more than it saves.
        estimator.n_jobs = None
        info["trees"] = len(estimator.estimators_)
    elif family == "sklearn_hgb":
        info["iterations"] = int(estimator.n_iter_)
    else:
        info["iterations"] = int(np.max(estimator.n_iter_))
    return SklearnPredictor(family, estimator, info)


def load(family: str, directory: Path) -> SklearnPredictor:
    """Load with skops, trusting exactly the family's listed types; BundleError otherwise."""
    path = Path(directory) / keys.MODEL_FILES[family]
    try:
        estimator = sio.load(path, trusted=TRUSTED_TYPES[family])
    except UntrustedTypesFoundException as exc:
        untrusted = sio.get_untrusted_types(file=path)
        extra = sorted(set(untrusted) - set(TRUSTED_TYPES[family]))
        raise BundleError(
            f"{path.name}: refusing to load types not trusted for {family}: {extra or exc}"
        ) from None
    expected = ESTIMATORS[family]
    if type(estimator) is not expected:
        raise BundleError(
            expected_got(
                f"{path.name} estimator for {family}", expected.__name__, type(estimator).__name__
            )
        )
    return SklearnPredictor(family, estimator)


def library_versions() -> dict[str, str]:
    """scikit-learn and skops versions, for the manifest."""
    return {"scikit-learn": sklearn.__version__, "skops": skops.__version__}
