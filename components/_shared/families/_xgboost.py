"""XGBoost: ``xgb.train`` with early stopping on valid, saved as UBJSON, predicted in place."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import xgboost as xgb

from components._shared import keys
from components._shared.families import _base

FAMILY = "xgboost"
MODEL_FILE = keys.MODEL_FILES[FAMILY]
RESERVED = frozenset({"objective", "nthread", "n_jobs", "seed", "random_state", "scale_pos_weight"})


class XGBoostPredictor(_base.BoosterPredictor):
    """An xgboost Booster holding only the trees up to the best validation round."""

    family = FAMILY
    model_file = MODEL_FILE

    def predict_proba(self, features: np.ndarray) -> np.ndarray:
        """P(positive): ``inplace_predict`` skips the DMatrix copy, which dominates on one row."""
        out = self.booster.inplace_predict(_base.as_matrix(features), predict_type="value")
        return np.asarray(out, dtype=np.float64).reshape(-1)


def check_params(params: Mapping[str, Any]) -> None:
    """Booster params plus ``num_boost_round`` / ``early_stopping_rounds``."""
    _base.check_scalar_params(FAMILY, params)
    _base.reject_reserved(FAMILY, params, RESERVED)


def fit(
    params: Mapping[str, Any],
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_valid: np.ndarray,
    y_valid: np.ndarray,
    *,
    seed: int,
    n_jobs: int,
) -> XGBoostPredictor:
    """Train until validation log loss stops improving, then keep the best rounds only."""
    booster_params, loop = _base.split_boosting_params(params)
    booster_params = {
        "tree_method": "hist",
        "eval_metric": "logloss",
        **booster_params,
        "objective": "binary:logistic",
        "nthread": n_jobs,
        "seed": seed,
    }
    if _base.class_weighting(params) == "balanced":
        booster_params["scale_pos_weight"] = _base.scale_pos_weight(y_train)
    dtrain = xgb.DMatrix(_base.as_matrix(x_train), label=y_train, nthread=n_jobs)
    dvalid = xgb.DMatrix(_base.as_matrix(x_valid), label=y_valid, nthread=n_jobs)
    booster = xgb.train(
        booster_params,
        dtrain,
        num_boost_round=loop["num_boost_round"],
        evals=[(dvalid, "valid")],
        early_stopping_rounds=loop["early_stopping_rounds"],
        verbose_eval=False,
    )
    best = int(booster.best_iteration)
    # Slice off the rounds after the best one: the saved model then predicts exactly what
    # early stopping chose, with no iteration_range to remember at serving time.
    best_booster = booster[: best + 1]
    return XGBoostPredictor(best_booster, {"best_iteration": best, "trees": best + 1})


def load(directory: Path) -> XGBoostPredictor:
    """Load ``model.ubj`` from ``directory``."""
    booster = xgb.Booster()
    booster.load_model(str(Path(directory) / MODEL_FILE))
    return XGBoostPredictor(booster, {"trees": booster.num_boosted_rounds()})


def library_versions() -> dict[str, str]:
    """The model library's version, for the manifest."""
    return {"xgboost": xgb.__version__}
