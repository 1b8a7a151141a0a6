"""The featurize step's parameters: the split fractions and the featurizer's options."""

from __future__ import annotations

from dataclasses import dataclass

from components._shared.config import ComponentConfig, param
from components._shared.errors import ConfigError
from components.featurize.split import check_fractions


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

    def problems(self) -> list[str]:
        """Fractions in (0, 1) summing below 1; specs as lists of objects."""
        found = []
        try:
            check_fractions(self.valid_fraction, self.test_fraction)
        except ConfigError as exc:
            found.append(str(exc))
        for name in ("interactions", "rolling"):
            specs = getattr(self, name)
            if not all(isinstance(spec, dict) for spec in specs):
                found.append(f"{name}: expected a list of objects, got {specs!r}")
        return found
