"""Small data: a candidate's out-of-fold predictions, and the parameters of its refit on all rows.

When featurize assigned folds (``keys.FOLDS_FILE``), :func:`out_of_fold` evaluates the candidate
by k-fold cross-validation, fold by fold, with nothing of the held-out fold inside:

- the featurizer is refit on the fold's training rows (the other k-1 folds), with featurize's own
  parameters, then applied to every row (a rolling aggregate's history may be any earlier row,
  as in featurize);
- a family that early-stops (xgboost, lightgbm, HistGradientBoosting) fits on k-2 of those folds
  and early-stops on the next fold (``(i + 1) mod k``); the others fit on all k-1;
- the fitted model predicts the held-out fold: every row gets one honest prediction.

The deployed bundle is then refit on every row (featurize's featurizer, fitted on all rows), with
no early-stopping rows left to hold out: boosting runs the median of the folds' early-stopped
rounds (:func:`refit_params`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from components._shared import families, keys
from components._shared.featurizer import Featurizer
from components._shared.schema import Schema

__all__ = ["OutOfFold", "early_stops", "out_of_fold", "refit_params"]

BOOSTING = frozenset({"xgboost", "lightgbm"})


@dataclass(frozen=True)
class OutOfFold:
    """Every row's prediction by the fold model that never saw it, and what each fold learnt."""

    proba: np.ndarray  # P(positive) per row, in the train split's row order
    folds: np.ndarray  # the fold of every row
    fold_info: list[dict[str, Any]]  # each fold model's info() (rounds, iterations, trees)
    fold_fit_rows: list[int]  # rows each fold model was fitted on

    @property
    def k(self) -> int:
        """Number of folds."""
        return int(self.folds.max()) + 1


def early_stops(family: str, params: Mapping[str, Any]) -> bool:
    """Whether the family stops early on the valid rows it is given (and so needs some)."""
    if family in BOOSTING:
        return True
    return family == "sklearn_hgb" and params.get("early_stopping", True) is not False


def out_of_fold(
    rows: pd.DataFrame,
    labels: np.ndarray,
    folds: np.ndarray,
    *,
    schema: Schema,
    featurizer: Featurizer,
    candidate: Mapping[str, Any],
    seed: int,
) -> OutOfFold:
    """Fit the candidate k times, each time without one fold, and predict that fold."""
    family = str(candidate[keys.CANDIDATE_FAMILY])
    params = dict(candidate[keys.CANDIDATE_PARAMS])
    k = int(folds.max()) + 1
    proba = np.full(len(rows), np.nan)
    infos, fit_rows = [], []
    for fold in range(k):
        held = folds == fold
        stop = folds == (fold + 1) % k
        learn = ~held & ~stop if early_stops(family, params) else ~held
        fold_featurizer = Featurizer(
            min_category_count=featurizer.min_category_count,
            interactions=featurizer.interactions,
            rolling=featurizer.rolling,
        ).fit(rows.iloc[np.flatnonzero(~held)], schema)
        x = fold_featurizer.transform_frame(rows)
        model = families.fit(
            family, params, x[learn], labels[learn], x[stop], labels[stop], seed=seed
        )
        proba[held] = model.predict_proba(x[held])
        infos.append(model.info())
        fit_rows.append(int(learn.sum()))
    return OutOfFold(proba, folds, infos, fit_rows)


def refit_params(
    family: str, params: Mapping[str, Any], fold_info: list[dict[str, Any]]
) -> dict[str, Any]:
    """The candidate's params for the refit on every row: boosting runs a fixed number of rounds.

    The refit has no rows left to early-stop on, so a boosting family runs the median of the
    rounds its fold models early-stopped at (it is given its own training rows as "valid", and a
    patience as long as the run, so it stops nowhere else).
    """
    refit = dict(params)
    if family in BOOSTING:
        rounds = _median_rounds(fold_info, "trees")
        refit.update({"num_boost_round": rounds, "early_stopping_rounds": rounds})
    elif family == "sklearn_hgb" and early_stops(family, params):
        refit.update({"max_iter": _median_rounds(fold_info, "iterations"), "early_stopping": False})
    return refit


def _median_rounds(fold_info: list[dict[str, Any]], key: str) -> int:
    values = [int(info[key]) for info in fold_info if key in info]
    return max(1, round(float(np.median(values)))) if values else 1
