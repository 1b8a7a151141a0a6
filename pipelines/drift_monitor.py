"""``drift_monitor``: watch a deployed bundle, recurring (a KFP recurring run or the CronJob).

    drift (bundle profile vs logged requests) -> Evidently report, verdicts, optional retrain

The compiled YAML is ``compiled/drift_monitor.yaml``; README "Drift monitoring" shows how to
schedule it.
"""

from kfp import dsl

from components.catalog import drift
from components.drift.config import DriftConfig
from pipelines import tasks
from pipelines.tasks import RESOURCES, credentials, size, step

# The defaults of the parameters forwarded to drift are its config's, read here once
# (tests/test_component_shape.py checks the compiled YAML against every config).
DRIFT = {parameter.name: parameter.default for parameter in DriftConfig.parameters()}
DATA = RESOURCES["data"]

PIPELINE_NAME = "drift-monitor"


@dsl.pipeline(
    name=PIPELINE_NAME,
    description="Compare logged requests (or a dataset) with a deployed bundle's reference profile: "
    "Evidently report, per-column verdicts, prediction and performance drift, optional retrain.",
)
def drift_monitor(
    bundle_uri: str,
    current_uri: str,
    current_format: str = DRIFT["current_format"],
    window_start: str = DRIFT["window_start"],
    window_end: str = DRIFT["window_end"],
    columns: list = DRIFT["columns"],
    num_method: str = DRIFT["num_method"],
    cat_method: str = DRIFT["cat_method"],
    num_threshold: float = DRIFT["num_threshold"],
    cat_threshold: float = DRIFT["cat_threshold"],
    drift_share: float = DRIFT["drift_share"],
    missing_columns: str = DRIFT["missing_columns"],
    sample_rows: int = DRIFT["sample_rows"],
    reference_data_uri: str = DRIFT["reference_data_uri"],
    max_auc_drop: float = DRIFT["max_auc_drop"],
    kfp_host: str = DRIFT["kfp_host"],
    retrain_experiment: str = DRIFT["retrain_experiment"],
    kfp_namespace: str = DRIFT["kfp_namespace"],
    pushgateway_url: str = DRIFT["pushgateway_url"],
    model_name: str = DRIFT["model_name"],
    model_namespace: str = DRIFT["model_namespace"],
    tracking_uri: str = DRIFT["tracking_uri"],
    cpu_request: str = DATA.cpu_request,
    cpu_limit: str = DATA.cpu_limit,
    memory_request: str = DATA.memory_request,
    memory_limit: str = DATA.memory_limit,
    credentials_secret: str = tasks.CREDENTIALS_SECRET,
) -> bool:
    """Run the drift step on one window of current data.

    Args:
        bundle_uri: The deployed bundle (gs://), or models:/<name>@champion: the registry's
            champion when the run starts.
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
        pushgateway_url: Prometheus Pushgateway for the verdicts as metrics ("" = none).
        model_name: model_name label of the pushed metrics (the served model's name).
        model_namespace: namespace label of the pushed metrics ("" = none).
        tracking_uri: MLflow tracking URI for a models:/ bundle_uri ("" = MLFLOW_TRACKING_URI).
        cpu_request: CPU request of the drift step.
        cpu_limit: CPU limit of the drift step.
        memory_request: Memory request of the drift step.
        memory_limit: Memory limit of the drift step (the window is read in memory).
        credentials_secret: Optional Secret mounted in the step: key
            application_default_credentials.json (a key file for gs://), key project.

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
        pushgateway_url=pushgateway_url,
        model_name=model_name,
        model_namespace=model_namespace,
        tracking_uri=tracking_uri,
    )
    size(step(checked, "drift"), cpu_request, cpu_limit, memory_request, memory_limit)
    credentials(checked, credentials_secret)
    return checked.outputs["drift_detected"]
