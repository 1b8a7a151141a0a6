"""What every model family shares: the predictor protocol, core counting and class weights."""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from components._shared import keys
from components._shared.errors import ConfigError, expected_got

CLASS_WEIGHTINGS = ("balanced",)


class Predictor(Protocol):
    """A trained or loaded model of one family.

    ``predict_proba`` takes the featurizer's float64 matrix and returns P(positive) as a float64
    1-D array by calling the library's booster or estimator directly: no pandas, no wrappers,
    cheap on one row, because the serving runtime calls it per request.
    """

    family: str
    # The valid split's feature rows, kept by :func:`families.fit` (never saved with the model):
    # the bundle writer checks the compiled evaluation against the model on them.
    validation_features: np.ndarray | None

    def predict_proba(self, features: np.ndarray) -> np.ndarray: ...

    def save(self, directory: Path) -> str:
        """Write the model file (the library's own safe format) into ``directory``; its name."""
        ...

    def info(self) -> dict[str, Any]:
        """Facts learnt in training worth recording (trees kept, best iteration, ...)."""
        ...


def available_cores() -> int:
    """Cores this process may use: its CPU affinity, capped by a cgroup v2 CPU quota.

    Kubernetes CPU limits are a cgroup quota, not an affinity mask: a pod limited to 2 CPUs on a
    64-core node still sees 64 cores in its affinity, and 64 threads on 2 CPUs thrash.
    """
    cores = len(os.sched_getaffinity(0))
    try:
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()[:2]
        if quota != "max":
            cores = min(cores, max(1, math.ceil(int(quota) / int(period))))
    except (OSError, ValueError):
        pass
    return max(1, cores)


def class_weighting(params: Mapping[str, Any]) -> str | None:
    """The candidate's ``class_weighting`` value (None or "balanced"), checked."""
    value = params.get(keys.PARAM_CLASS_WEIGHTING)
    if value is not None and value not in CLASS_WEIGHTINGS:
        raise ConfigError(
            expected_got(
                f"params[{keys.PARAM_CLASS_WEIGHTING!r}]",
                f"None or {CLASS_WEIGHTINGS}",
                repr(value),
            )
        )
    return value


def scale_pos_weight(labels: np.ndarray) -> float:
    """negatives / positives: the boosting libraries' equivalent of class_weight="balanced"."""
    positives = int(np.count_nonzero(labels))
    negatives = int(labels.shape[0]) - positives
    if positives == 0 or negatives == 0:
        raise ConfigError(
            expected_got(
                "training labels",
                "both classes present",
                f"{positives} positive(s), {negatives} negative(s)",
            )
        )
    return negatives / positives


def reject_reserved(family: str, params: Mapping[str, Any], reserved: frozenset[str]) -> None:
    """Refuse params the family sets itself (threads, seed, objective): the matrix may not."""
    clash = sorted(set(params) & reserved)
    if clash:
        raise ConfigError(
            f"{family} params {clash} are set by the train step (seed, threads, objective); "
            "remove them from the candidate"
        )


def check_scalar_params(family: str, params: Mapping[str, Any]) -> None:
    """Library params must be JSON scalars: they go into manifest.json and the KFP UI as-is."""
    for name, value in params.items():
        if not isinstance(name, str):
            raise ConfigError(expected_got(f"{family} param name", "a string", repr(name)))
        if value is not None and not isinstance(value, bool | int | float | str):
            raise ConfigError(
                expected_got(
                    f"{family} param {name!r}",
                    "a number, string, bool or null",
                    type(value).__name__,
                )
            )


def as_matrix(features: np.ndarray) -> np.ndarray:
    """C-contiguous float64 2-D view (copy only when needed), the layout every library reads fastest."""
    array = np.asarray(features, dtype=np.float64)
    if array.ndim != 2:
        raise ConfigError(expected_got("feature matrix", "2 dimensions", f"shape {array.shape}"))
    return np.ascontiguousarray(array)


# Training-loop settings of the boosting families, which are not booster params: an upper bound
# on rounds (early stopping on valid picks the real number) and the patience.
BOOSTING_LOOP_DEFAULTS: dict[str, int] = {"num_boost_round": 2000, "early_stopping_rounds": 50}


def split_boosting_params(params: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, int]]:
    """``(booster params, loop settings)`` of a boosting candidate's params.

    ``class_weighting`` is ours, not the library's, so it goes into neither; the caller turns it
    into ``scale_pos_weight``.
    """
    loop = {k: int(params.get(k, v)) for k, v in BOOSTING_LOOP_DEFAULTS.items()}
    booster = {
        k: v
        for k, v in params.items()
        if k not in BOOSTING_LOOP_DEFAULTS and k != keys.PARAM_CLASS_WEIGHTING
    }
    return booster, loop


class BoosterPredictor:
    """What the xgboost and LightGBM predictors share: a booster that saves itself to
    ``model_file`` in the library's own format, and the facts training recorded."""

    family: str
    model_file: str

    def __init__(self, booster: Any, info: dict[str, Any] | None = None) -> None:
        self.booster = booster
        self._info = dict(info or {})
        self.validation_features: np.ndarray | None = None

    def save(self, directory: Path) -> str:
        """Write the booster to ``directory / model_file``; the file name."""
        self.booster.save_model(str(Path(directory) / self.model_file))
        return self.model_file

    def info(self) -> dict[str, Any]:
        """Best iteration and trees kept."""
        return dict(self._info)
