"""``drift_monitor``: watch a deployed bundle, recurring (a KFP recurring run or the CronJob).

    drift (bundle profile vs logged requests) -> Evidently report, verdicts, optional retrain

The compiled YAML is ``compiled/drift_monitor.yaml``; README "Drift monitoring" shows how to
schedule it.
"""

from kfp import dsl

from components.catalog import drift

PIPELINE_NAME = "drift-monitor"


@dsl.pipeline(
    name=PIPELINE_NAME,
    description="Compare logged requests (or a dataset) with a deployed bundle's reference profile: "
    "Evidently report, per-column verdicts, prediction and performance drift, optional retrain.",
)
def drift_monitor(
    bundle_uri: str,
    current_uri: str,
    current_format: str = "auto",
    window_start: str = "",
    window_end: str = "",
    columns: list = [],  # noqa: B006 - KFP reads the default from the signature
    num_method: str = "",
    cat_method: str = "",
    num_threshold: float = 0.0,
    cat_threshold: float = 0.0,
    drift_share: float = 0.5,
    missing_columns: str = "error",
    sample_rows: int = 2000,
    reference_data_uri: str = "",
    max_auc_drop: float = 0.05,
    kfp_host: str = "",
    retrain_experiment: str = "drift-retrain",
    kfp_namespace: str = "",
) -> bool:
    """Run the drift step on one window of current data.

    Args:
        bundle_uri: The deployed bundle (gs://).
        current_uri: Payload-logger prefix or dataset (gs://).
        current_format: "auto", "dataset" or "logger".
        window_start: ISO 8601 start of the window ("" = open).
        window_end: ISO 8601 end of the window ("" = open).
        columns: Columns to test ([] = all features).
        num_method: Numeric test ("" = Evidently's default).
        cat_method: Categorical test ("" = Evidently's default).
        num_threshold: Numeric threshold (0 = the test's default).
        cat_threshold: Categorical threshold (0 = the test's default).
        drift_share: Share of drifted columns at which the dataset drifts.
        missing_columns: "error" or "report".
        sample_rows: Rows of the Evidently report's samples.
        reference_data_uri: Reference rows for prediction drift ("" = training data).
        max_auc_drop: AUC drop counted as performance drift (labelled data only).
        kfp_host: KFP API for the retrain trigger ("" = no trigger).
        retrain_experiment: Experiment of the retrain run.
        kfp_namespace: Namespace of the retrain run.

    Returns:
        True when drift was found.
    """
    checked = drift(
        bundle_uri=bundle_uri,
        current_uri=current_uri,
        current_format=current_format,
        window_start=window_start,
        window_end=window_end,
        columns=columns,
        num_method=num_method,
        cat_method=cat_method,
        num_threshold=num_threshold,
        cat_threshold=cat_threshold,
        drift_share=drift_share,
        missing_columns=missing_columns,
        sample_rows=sample_rows,
        reference_data_uri=reference_data_uri,
        max_auc_drop=max_auc_drop,
        kfp_host=kfp_host,
        retrain_experiment=retrain_experiment,
        kfp_namespace=kfp_namespace,
    ).set_display_name("drift")
    checked.set_cpu_limit("2").set_memory_limit("4G")
    return checked.outputs["drift_detected"]
