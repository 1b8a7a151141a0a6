"""The gate's thresholds, checked once, with errors that name the parameter."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

from components._shared.errors import ConfigError, expected_got


@dataclass(frozen=True)
class GateConfig:
    """Everything the decision depends on besides the data (recorded in blessing and lineage).

    Attributes:
        min_auc: Floor on the challenger's test AUC (its DeLong lower bound must reach it).
        max_log_loss: Ceiling on the challenger's test log loss (its bootstrap upper bound).
        min_accuracy: Floor on test accuracy at threshold 0.5 (bootstrap lower bound); 0 = off.
        auc_margin: Non-inferiority margin: how much AUC the challenger may lose to the champion.
        log_loss_margin: How much log loss may rise versus the champion.
        accuracy_margin: How much accuracy may fall versus the champion.
        require_improvement: Bless only a challenger whose AUC is shown to be better.
        min_auc_improvement: With ``require_improvement``, the AUC gain to be shown (>= 0).
        slice_columns: Raw categorical or boolean columns whose values are checked one by one.
        min_slice_rows: Slices with fewer test rows (or fewer than 5 of either class) are reported
            but not judged.
        max_slice_degradation: A slice fails when the challenger's AUC there is lower than the
            champion's by more than this, and significantly lower.
        confidence: Two-sided confidence level of every interval.
        bootstrap_resamples: Paired bootstrap resamples.
        seed: Seed of the bootstrap and of the infra sample.
        min_test_rows: Fewer test rows than this: "cannot decide".
        min_class_rows: Fewer positives or negatives than this: "cannot decide".
        infra_sample_rows: Test rows sent through the serving path.
    """

    min_auc: float = 0.75
    max_log_loss: float = 0.6931
    min_accuracy: float = 0.0
    auc_margin: float = 0.02
    log_loss_margin: float = 0.02
    accuracy_margin: float = 0.02
    require_improvement: bool = False
    min_auc_improvement: float = 0.0
    slice_columns: list[str] = field(default_factory=list)
    min_slice_rows: int = 100
    max_slice_degradation: float = 0.05
    confidence: float = 0.95
    bootstrap_resamples: int = 1000
    seed: int = 42
    min_test_rows: int = 200
    min_class_rows: int = 30
    infra_sample_rows: int = 200

    def __post_init__(self) -> None:
        problems = []

        def check(name: str, ok: bool, expected: str) -> None:
            value = getattr(self, name)
            if not ok:
                problems.append(expected_got(name, expected, repr(value)))

        finite = {
            k: v for k, v in asdict(self).items() if isinstance(v, float) and not math.isfinite(v)
        }
        for name in finite:
            check(name, False, "a finite number")
        check("min_auc", 0.0 <= self.min_auc <= 1.0, "a number in [0, 1]")
        check("max_log_loss", self.max_log_loss > 0.0, "a number > 0")
        check("min_accuracy", 0.0 <= self.min_accuracy <= 1.0, "a number in [0, 1]")
        for name in ("auc_margin", "log_loss_margin", "accuracy_margin", "min_auc_improvement"):
            check(name, getattr(self, name) >= 0.0, "a number >= 0")
        check("max_slice_degradation", self.max_slice_degradation >= 0.0, "a number >= 0")
        check("confidence", 0.5 <= self.confidence < 1.0, "a level in [0.5, 1), e.g. 0.95")
        check("bootstrap_resamples", 200 <= self.bootstrap_resamples <= 100_000, "200..100000")
        check("min_test_rows", self.min_test_rows >= 1, "an integer >= 1")
        check("min_class_rows", self.min_class_rows >= 2, "an integer >= 2")
        check("min_slice_rows", self.min_slice_rows >= 1, "an integer >= 1")
        check("infra_sample_rows", self.infra_sample_rows >= 1, "an integer >= 1")
        columns_ok = isinstance(self.slice_columns, list) and all(
            isinstance(c, str) and c for c in self.slice_columns
        )
        check("slice_columns", columns_ok, "a list of column names")
        if problems:
            raise ConfigError("gate config: " + "; ".join(problems))

    def to_dict(self) -> dict[str, Any]:
        """The thresholds as plain JSON (blessing, lineage)."""
        return asdict(self)
