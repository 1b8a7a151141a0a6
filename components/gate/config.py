"""The gate's parameters: the champion, the thresholds of the decision rule, the run's names."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from components._shared.config import ComponentConfig, param
from components._shared.errors import expected_got

# Parameters that say what is judged and which run judges it, not how: left out of the
# ``thresholds`` the blessing, the lineage record and the rationale show.
NOT_THRESHOLDS: Final = frozenset(
    {"champion_uri", "run_name", "run_id", "tracking_uri", "registered_model_name"}
)


@dataclass(frozen=True)
class GateConfig(ComponentConfig):
    """Everything the decision depends on besides the data (recorded in blessing and lineage)."""

    component = "gate"

    champion_uri: str = param(
        "", 'Bundle now serving (local path or gs://), "" for the first deployment.'
    )
    min_auc: float = param(0.75, "Floor on test AUC, met by its DeLong lower bound.")
    max_log_loss: float = param(
        0.6931, "Ceiling on test log loss, met by its bootstrap upper bound."
    )
    min_accuracy: float = param(
        0.0, "Floor on test accuracy at 0.5, met by its lower bound; 0 disables it."
    )
    auc_margin: float = param(
        0.02, "Non-inferiority margin: AUC the challenger may lose to the champion."
    )
    log_loss_margin: float = param(0.02, "Log loss the challenger may add over the champion.")
    accuracy_margin: float = param(0.02, "Accuracy the challenger may lose to the champion.")
    require_improvement: bool = param(
        False, "Bless only a challenger whose AUC gain is shown (lower bound)."
    )
    min_auc_improvement: float = param(
        0.0, "The AUC gain the lower bound must exceed when improvement is required."
    )
    slice_columns: list = param(
        [], "Raw categorical/boolean columns whose values are checked one by one."
    )
    min_slice_rows: int = param(100, "Slices smaller than this are reported, not judged.")
    max_slice_degradation: float = param(
        0.05, "AUC a slice may lose to the champion before it can refuse."
    )
    confidence: float = param(0.95, "Two-sided confidence level of every interval.")
    bootstrap_resamples: int = param(1000, "Paired bootstrap resamples.")
    seed: int = param(42, "Seed of the bootstrap and of the serving sample.")
    min_test_rows: int = param(200, 'Fewer test rows means "cannot decide".')
    min_class_rows: int = param(30, 'Fewer positives or negatives means "cannot decide".')
    infra_sample_rows: int = param(
        200, "Test rows sent through the serving runtime's request path."
    )
    run_name: str = param("", "Pipeline run name, for the lineage record.")
    run_id: str = param("", "Pipeline run id, for the lineage record.")
    tracking_uri: str = param(
        "",
        'MLflow tracking URI; "" reads MLFLOW_TRACKING_URI (tracking is off when both are empty).',
    )
    registered_model_name: str = param(
        "", 'MLflow registered model a blessed bundle joins as alias challenger; "": none.'
    )

    def problems(self) -> list[str]:
        """Every threshold out of its range, and slice columns that are not column names."""
        checks = [
            ("min_auc", 0.0 <= self.min_auc <= 1.0, "a number in [0, 1]"),
            ("max_log_loss", self.max_log_loss > 0.0, "a number > 0"),
            ("min_accuracy", 0.0 <= self.min_accuracy <= 1.0, "a number in [0, 1]"),
            *(
                (name, getattr(self, name) >= 0.0, "a number >= 0")
                for name in ("auc_margin", "log_loss_margin", "accuracy_margin")
            ),
            ("min_auc_improvement", self.min_auc_improvement >= 0.0, "a number >= 0"),
            ("max_slice_degradation", self.max_slice_degradation >= 0.0, "a number >= 0"),
            ("confidence", 0.5 <= self.confidence < 1.0, "a level in [0.5, 1), e.g. 0.95"),
            ("bootstrap_resamples", 200 <= self.bootstrap_resamples <= 100_000, "200..100000"),
            ("min_test_rows", self.min_test_rows >= 1, "an integer >= 1"),
            ("min_class_rows", self.min_class_rows >= 2, "an integer >= 2"),
            ("min_slice_rows", self.min_slice_rows >= 1, "an integer >= 1"),
            ("infra_sample_rows", self.infra_sample_rows >= 1, "an integer >= 1"),
            (
                "slice_columns",
                all(isinstance(c, str) and c for c in self.slice_columns),
                "a list of column names",
            ),
        ]
        return [
            expected_got(name, expected, repr(getattr(self, name)))
            for name, ok, expected in checks
            if not ok
        ]

    def thresholds(self) -> dict[str, Any]:
        """The decision rule's parameters as plain JSON (blessing, lineage, rationale)."""
        return {k: v for k, v in self.to_dict().items() if k not in NOT_THRESHOLDS}
