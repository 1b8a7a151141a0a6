"""The featurize step's parameters: the split fractions and the featurizer's options."""

from __future__ import annotations

from dataclasses import dataclass

from components._shared.config import ComponentConfig, param
from components._shared.errors import ConfigError, expected_got
from components.featurize.split import MAX_FOLDS, check_fractions


@dataclass(frozen=True)
class FeaturizeConfig(ComponentConfig):
    """How rows are split and what the featurizer builds (fitted on the train split only)."""

    component = "featurize"

    valid_fraction: float = param(
        0.15, "Share of rows in the validation split (model selection, early stopping)."
    )
    test_fraction: float = param(
        0.15, "Share of rows in the test split (the gate's unbiased judge)."
    )
    seed: int = param(42, "Seed of the stratified split.")
    min_category_count: int = param(
        10, "Categories rarer than this in train go to the unknown bucket."
    )
    interactions: list = param([], "Named feature interactions: {name, op, left, right}.")
    rolling: list = param([], "Rolling aggregates per entity over time windows.")
    cv_below_rows: int = param(
        2000,
        "Below this many rows, evaluate by stratified k-fold cross-validation instead of a "
        "holdout; 0 never does.",
    )
    cv_folds: int = param(5, "Folds of that cross-validation (3 to 20).")

    def problems(self) -> list[str]:
        """Fractions in (0, 1) summing below 1; specs as lists of objects."""
        found = []
        try:
            check_fractions(self.valid_fraction, self.test_fraction)
        except ConfigError as exc:
            found.append(str(exc))
        if isinstance(self.cv_below_rows, bool) or self.cv_below_rows < 0:
            found.append(expected_got("cv_below_rows", "an integer >= 0", repr(self.cv_below_rows)))
        if isinstance(self.cv_folds, bool) or not 3 <= self.cv_folds <= MAX_FOLDS:
            found.append(
                expected_got("cv_folds", f"an integer in 3..{MAX_FOLDS}", repr(self.cv_folds))
            )
        for name in ("interactions", "rolling"):
            specs = getattr(self, name)
            if not all(isinstance(spec, dict) for spec in specs):
                found.append(f"{name}: expected a list of objects, got {specs!r}")
        return found
