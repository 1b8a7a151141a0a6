"""The drift step's parameters: what to compare, how each column is tested, the retrain trigger."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from components._shared.config import ComponentConfig, param
from components._shared.errors import ConfigError, expected_got
from components._shared.payload_log import parse_time
from components.drift.current import AUTO, SOURCE_KINDS
from components.drift.verdicts import ColumnTests

MISSING_ERROR: Final = "error"
MISSING_REPORT: Final = "report"
MISSING_POLICIES: Final = (MISSING_ERROR, MISSING_REPORT)


@dataclass(frozen=True)
class DriftConfig(ComponentConfig):
    """One drift run: the bundle and current data, the tests, the report sample, the trigger.

    ``""`` and ``0`` for a method or threshold mean Evidently's default for the column; the
    resolved per-column tests are :meth:`ColumnTests.from_config`.
    """

    component = "drift"

    bundle_uri: str = param(
        help="The deployed model bundle (local path or gs://), or a registry URI "
        "models:/<name>@champion resolved when the step runs."
    )
    current_uri: str = param(
        help="A CSV/Parquet dataset (file or folder), or a prefix of KServe payload-logger output."
    )
    current_format: str = param(AUTO, 'What current_uri holds: "auto", "dataset" or "logger".')
    window_start: str = param("", 'Only events at or after this ISO 8601 time ("" = open).')
    window_end: str = param("", 'Only events before this ISO 8601 time ("" = open).')
    columns: list = param(
        [], "Feature columns to test; [] = every numeric, integer, categorical and boolean feature."
    )
    num_method: str = param(
        "",
        'Test for numeric columns ("" = Evidently\'s default: ks, wasserstein, chisquare, z, '
        "jensenshannon by size; or psi).",
    )
    cat_method: str = param(
        "", 'Test for categorical columns ("" = default: chisquare, z, jensenshannon).'
    )
    num_threshold: float = param(0.0, "Threshold for numeric columns (0 = the test's default).")
    cat_threshold: float = param(0.0, "Threshold for categorical columns (0 = the test's default).")
    per_column_method: dict = param({}, "{column: method}, overriding num_method and cat_method.")
    per_column_threshold: dict = param(
        {}, "{column: threshold}, overriding num_threshold and cat_threshold."
    )
    drift_share: float = param(0.5, "Share of drifted columns at which the dataset drifts.")
    missing_columns: str = param(
        MISSING_ERROR,
        'Monitored columns absent from the current data: "error" (fail naming them) or '
        '"report" (test the others).',
    )
    sample_rows: int = param(2000, "Rows of the Evidently report's samples.")
    chunk_rows: int = param(100_000, "Rows per chunk (the unit of memory).")
    reference_data_uri: str = param(
        "", 'Reference rows for prediction drift ("" = the bundle\'s training data).'
    )
    max_auc_drop: float = param(
        0.05, "AUC drop on labelled current rows that counts as performance drift."
    )
    kfp_host: str = param(
        "", "Kubeflow Pipelines API; when set and drift is found, submit a retrain run."
    )
    retrain_pipeline_uri: str = param(
        "", 'Compiled train_and_rollout YAML ("" = the one in the image).'
    )
    retrain_experiment: str = param("drift-retrain", "Experiment of the retrain run.")
    kfp_namespace: str = param(
        "", 'Kubeflow namespace of the retrain run ("" in single-user mode).'
    )
    pushgateway_url: str = param(
        "", 'Prometheus Pushgateway the verdicts are pushed to as metrics ("" = none).'
    )
    model_name: str = param(
        "kfp-tabular", "model_name label of the pushed metrics: the served model's name."
    )
    model_namespace: str = param(
        "", 'namespace label of the pushed metrics ("" = none): the served model\'s namespace.'
    )
    tracking_uri: str = param(
        "",
        'MLflow tracking URI for a models:/ bundle_uri; "" reads MLFLOW_TRACKING_URI.',
    )

    def __post_init__(self) -> None:
        for name in ("bundle_uri", "current_uri"):  # pasted URIs often carry a stray space
            value = getattr(self, name)
            if isinstance(value, str):
                object.__setattr__(self, name, value.strip())
        super().__post_init__()

    def problems(self) -> list[str]:
        """Known methods, thresholds > 0, a share in (0, 1], sizes, policies and ISO times."""
        found = ColumnTests.from_config(self).problems()
        if self.sample_rows < 0:
            found.append(expected_got("sample_rows", "an integer >= 0", repr(self.sample_rows)))
        if self.chunk_rows < 1:
            found.append(expected_got("chunk_rows", "a positive integer", repr(self.chunk_rows)))
        if self.current_format not in SOURCE_KINDS:
            found.append(
                expected_got(
                    "current_format", f"one of {list(SOURCE_KINDS)}", repr(self.current_format)
                )
            )
        if self.missing_columns not in MISSING_POLICIES:
            found.append(
                expected_got("missing_columns", list(MISSING_POLICIES), repr(self.missing_columns))
            )
        if self.pushgateway_url and not self.model_name:
            found.append(expected_got("model_name", "a name for the pushed metrics", "''"))
        for name in ("window_start", "window_end"):
            try:
                parse_time(name, getattr(self, name))
            except ConfigError as exc:
                found.append(str(exc))
        return found
