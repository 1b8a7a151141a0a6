"""The train step's parameters: the candidate of the model matrix and the learner's seed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from components._shared.config import ComponentConfig, param
from components._shared.errors import ConfigError
from components.train.matrix import check_candidate


@dataclass(frozen=True)
class TrainConfig(ComponentConfig):
    """Which candidate to train (one ``dsl.ParallelFor`` item of the model matrix), and the seed."""

    component = "train"

    candidate: dict = param(help="One candidate of the model matrix: {name, family, params}.")
    seed: int = param(42, "Seed of the learner.")
    tracking_uri: str = param(
        "",
        'MLflow tracking URI; "" reads MLFLOW_TRACKING_URI (tracking is off when both are empty).',
    )
    run_id: str = param("", "Pipeline run id: the key of the MLflow parent run steps nest under.")

    def problems(self) -> list[str]:
        """The candidate's keys, name, family and params (``matrix.check_candidate``)."""
        try:
            check_candidate(self.candidate)
        except ConfigError as exc:
            return [str(exc)]
        return []

    def checked_candidate(self) -> dict[str, Any]:
        """A clean copy ``{"name", "family", "params"}`` of the candidate, params checked."""
        return check_candidate(self.candidate)
