"""The compare step's parameters: the metric that ranks, and the champion to rank against."""

from __future__ import annotations

from dataclasses import dataclass

from components._shared import keys
from components._shared.config import ComponentConfig, param
from components._shared.errors import expected_got


@dataclass(frozen=True)
class CompareConfig(ComponentConfig):
    """How bundles are ranked (on the valid split) and which serving bundle joins the ranking."""

    component = "compare"

    primary_metric: str = param(
        "auc", "Metric to rank by: auc, log_loss, accuracy, precision, recall or f1."
    )
    champion_uri: str = param(
        "", 'Bundle now in production (local path or gs://), "" when there is none.'
    )
    tracking_uri: str = param(
        "",
        'MLflow tracking URI; "" reads MLFLOW_TRACKING_URI (tracking is off when both are empty).',
    )
    run_id: str = param("", "Pipeline run id: the key of the MLflow parent run steps nest under.")

    def problems(self) -> list[str]:
        """The primary metric is one of ``keys.CLASSIFICATION_METRICS``."""
        if self.primary_metric not in keys.CLASSIFICATION_METRICS:
            return [
                expected_got(
                    "primary_metric",
                    f"one of {list(keys.CLASSIFICATION_METRICS)}",
                    repr(self.primary_metric),
                )
            ]
        return []
