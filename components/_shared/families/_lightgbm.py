"""LightGBM: ``lgb.train`` with the early-stopping callback on valid, saved as LightGBM text."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np

from components._shared import keys
from components._shared.families import _base

FAMILY = "lightgbm"
MODEL_FILE = keys.MODEL_FILES[FAMILY]
RESERVED = frozenset(
    {
        "objective",
        "num_threads",
        "n_jobs",
        "nthread",
        "num_thread",
        "seed",
        "random_state",
        "scale_pos_weight",
        "num_iterations",
        "n_estimators",
    }
)
# Below this many rows one thread answers faster than waking the OpenMP pool.
SINGLE_THREAD_ROWS = 64


class LightGBMPredictor(_base.BoosterPredictor):
    """A LightGBM Booster holding only the trees up to the best validation round."""

    family = FAMILY
    model_file = MODEL_FILE

    def predict_proba(self, features: np.ndarray) -> np.ndarray:
        """P(positive) from ``Booster.predict`` on the float64 matrix."""
        matrix = _base.as_matrix(features)
        if matrix.shape[0] < SINGLE_THREAD_ROWS:
            out = self.booster.predict(matrix, num_threads=1)
        else:
            out = self.booster.predict(matrix)
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
) -> LightGBMPredictor:
    """Train until validation log loss stops improving; keep the best iterations only."""
    booster_params, loop = _base.split_boosting_params(params)
    booster_params = {
        "metric": "binary_logloss",
        "verbosity": -1,
        **booster_params,
        "objective": "binary",
        "num_threads": n_jobs,
        "seed": seed,
    }
    if _base.class_weighting(params) == "balanced":
        booster_params["scale_pos_weight"] = _base.scale_pos_weight(y_train)
    dtrain = lgb.Dataset(_base.as_matrix(x_train), label=y_train)
    dvalid = lgb.Dataset(_base.as_matrix(x_valid), label=y_valid, reference=dtrain)
    booster = lgb.train(
        booster_params,
        dtrain,
        num_boost_round=loop["num_boost_round"],
        valid_sets=[dvalid],
        callbacks=[lgb.early_stopping(loop["early_stopping_rounds"], verbose=False)],
    )
    best = int(booster.best_iteration) or booster.current_iteration()
    # Rebuild from the text of the best iterations: the in-memory predictor is then the very
    # model that save() writes and load() reads, so their predictions are identical.
    text = booster.model_to_string(num_iteration=best)
    return LightGBMPredictor(lgb.Booster(model_str=text), {"best_iteration": best, "trees": best})


def load(directory: Path) -> LightGBMPredictor:
    """Load ``model.txt`` from ``directory``."""
    booster = lgb.Booster(model_file=str(Path(directory) / MODEL_FILE))
    return LightGBMPredictor(booster, {"trees": booster.current_iteration()})


def library_versions() -> dict[str, str]:
    """The model library's version, for the manifest."""
    return {"lightgbm": lgb.__version__}
