"""KFP wrapper of the drift step; the work is in :mod:`components.drift.executor`."""

from kfp import dsl
from kfp.dsl import HTML, Artifact, Markdown, Metrics, Output, OutputPath

from components._image import COMPONENT_IMAGE


@dsl.component(base_image=COMPONENT_IMAGE, install_kfp_package=False)
def drift(
    bundle_uri: str,
    current_uri: str,
    metrics: Output[Metrics],
    report_html: Output[HTML],
    snapshot: Output[Artifact],
    result: Output[Artifact],
    summary: Output[Markdown],
    drift_detected: OutputPath(bool),  # type: ignore[valid-type]
    current_format: str = "auto",
    window_start: str = "",
    window_end: str = "",
    columns: list = [],  # noqa: B006 - KFP reads the default from the signature
    num_method: str = "",
    cat_method: str = "",
    num_threshold: float = 0.0,
    cat_threshold: float = 0.0,
    per_column_method: dict = {},  # noqa: B006
    per_column_threshold: dict = {},  # noqa: B006
    drift_share: float = 0.5,
    missing_columns: str = "error",
    sample_rows: int = 2000,
    chunk_rows: int = 100000,
    reference_data_uri: str = "",
    max_auc_drop: float = 0.05,
    kfp_host: str = "",
    retrain_pipeline_uri: str = "",
    retrain_experiment: str = "drift-retrain",
    kfp_namespace: str = "",
    pushgateway_url: str = "",
    model_name: str = "kfp-tabular",
    model_namespace: str = "",
    tracking_uri: str = "",
):
    """Compare current data with the deployed bundle's reference profile; report drift.

    Verdicts use every current row in one chunked pass (Evidently 0.7's default tests, computed
    from the profile); Evidently's own HTML report runs on a bounded sample.

    Args:
        bundle_uri: The deployed model bundle (local path or gs://), or a registry URI
            models:/<name>@champion resolved when the step runs.
        current_uri: A CSV/Parquet dataset (file or folder), or a prefix of KServe
            payload-logger output (CloudEvents JSON, or batched CSV/Parquet).
        current_format: What current_uri holds: "auto", "dataset" or "logger" ("auto": logger
            when any .json/.jsonl file is under it).
        window_start: Only events at or after this ISO 8601 time ("" = open).
        window_end: Only events before this ISO 8601 time ("" = open).
        columns: Feature columns to test; [] = every numeric, integer, categorical and
            boolean feature.
        num_method: Test for numeric columns ("" = Evidently's default: ks, wasserstein,
            chisquare, z, jensenshannon by size; or psi).
        cat_method: Test for categorical columns ("" = default: chisquare, z, jensenshannon).
        num_threshold: Threshold for numeric columns (0 = the test's default).
        cat_threshold: Threshold for categorical columns (0 = the test's default).
        per_column_method: {column: method}, overriding num_method and cat_method.
        per_column_threshold: {column: threshold}, overriding num_threshold and cat_threshold.
        drift_share: Share of drifted columns at which the dataset drifts.
        missing_columns: Monitored columns absent from the current data: "error" (fail naming
            them) or "report" (test the others).
        sample_rows: Rows of the Evidently report's samples.
        chunk_rows: Rows per chunk (the unit of memory).
        reference_data_uri: Reference rows for prediction drift ("" = the bundle's training data).
        max_auc_drop: AUC drop on labelled current rows that counts as performance drift.
        kfp_host: Kubeflow Pipelines API; when set and drift is found, submit a retrain run.
        retrain_pipeline_uri: Compiled train_and_rollout YAML ("" = the one in the image).
        retrain_experiment: Experiment of the retrain run.
        kfp_namespace: Kubeflow namespace of the retrain run ("" in single-user mode).
        pushgateway_url: Prometheus Pushgateway the verdicts are pushed to as metrics ("" =
            none). The push replaces the model's group; a failed push fails the step before
            anything is written (components/drift/push.py lists the metrics).
        model_name: model_name label of the pushed metrics: the served model's name.
        model_namespace: namespace label of the pushed metrics ("" = none): the served model's
            namespace.
        tracking_uri: MLflow tracking URI for a models:/ bundle_uri; "" reads
            MLFLOW_TRACKING_URI.

    Returns:
        metrics: dataset_drift, drift_share, drifted/tested columns, per-column scores,
            prediction and performance drift.
        report_html: Evidently's DataDriftPreset report (on the samples).
        snapshot: Evidently's snapshot JSON.
        result: Every verdict, what was read and skipped, the retrain run (JSON).
        summary: The verdicts for the UI (Markdown).
        drift_detected: True when data, prediction or performance drift was found.
    """
    arguments = dict(locals())  # every parameter by name, before anything else is bound
    from components.drift.executor import main

    main(arguments)
