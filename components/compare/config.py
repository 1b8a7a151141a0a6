"""The compare step's parameters: the metric that ranks, the champion to rank against, and the
ensemble of the top candidates."""

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
    ensemble_members: int = param(
        3,
        "Top candidates combined into an ensemble row (weighted mean of probabilities, "
        "weights fitted on the valid split); 0 turns the ensemble off.",
    )
    tracking_uri: str = param(
        "",
        'MLflow tracking URI; "" reads MLFLOW_TRACKING_URI (tracking is off when both are empty).',
    )
    run_id: str = param("", "Pipeline run id: the key of the MLflow parent run steps nest under.")

    def problems(self) -> list[str]:
        """The primary metric is one of ``keys.CLASSIFICATION_METRICS``; an ensemble has 0
        (off) or at least 2 members."""
        problems = []
        if self.primary_metric not in keys.CLASSIFICATION_METRICS:
            problems.append(
                expected_got(
                    "primary_metric",
                    f"one of {list(keys.CLASSIFICATION_METRICS)}",
                    repr(self.primary_metric),
                )
            )
        members = self.ensemble_members
        if isinstance(members, bool) or not isinstance(members, int) or members == 1 or members < 0:
            problems.append(
                expected_got("ensemble_members", "0 (off) or an integer >= 2", repr(members))
            )
        return problems
