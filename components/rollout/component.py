"""KFP wrapper of the rollout step; the work is in :mod:`components.rollout.executor`."""

from kfp import dsl
from kfp.dsl import Artifact, Dataset, Input, Markdown, Metrics, Output, OutputPath

from components._image import COMPONENT_IMAGE


@dsl.component(base_image=COMPONENT_IMAGE, install_kfp_package=False)
def rollout(
    deployment: Input[Artifact],
    trail: Output[Artifact],
    report: Output[Markdown],
    metrics: Output[Metrics],
    promoted: OutputPath(bool),  # type: ignore[valid-type]
    splits: Input[Dataset] = None,  # type: ignore[assignment]
    steps: list = [10, 50, 100],  # noqa: B006 - KFP reads the default from the signature
    window_requests: int = 300,
    window_seconds: float = 60.0,
    concurrency: int = 4,
    request_timeout_s: float = 5.0,
    seed: int = 42,
    feedback_uri: str = "",
    stop_replaced: bool = True,
    max_error_rate_increase: float = 0.01,
    max_latency_ratio: float = 1.5,
    min_latency_delta_ms: float = 5.0,
    max_psi: float = 0.2,
    min_ks_p_value: float = 0.001,
    alpha: float = 0.05,
    power: float = 0.8,
    min_detectable_effect: float = 0.02,
    prometheus_url: str = "",
    prometheus_queries: dict = {},  # noqa: B006
    prometheus_selectors: dict = {},  # noqa: B006
    prometheus_token_file: str = "",
    tracking_uri: str = "",
    registered_model_name: str = "",
):
    """Step canary traffic, compare canary with stable at each step, then promote or roll back.

    Each step's window compares error rate, p95 latency and the predicted-score distribution
    (PSI, KS); with a feedback dataset, an A/B test on labelled predictions. The first failed
    check rolls back; all steps passing promote. Knative: promotion removes
    ``canaryTrafficPercent``, rollback sets it to 0. Standard: promotion moves the canary into
    ``spec.predictor``, rollback deletes the canary entry. Locally, the test split is replayed
    to the two local servers and their ``/metrics`` read; on a cluster, Prometheus is queried.

    Args:
        deployment: Deploy's deployment record (target, strategy, mode, sides).
        splits: Featurize's raw split rows; the test split is replayed (local target).
        steps: Canary traffic percents, increasing, the last 100.
        window_requests: Requests per step that reach the canary (local replay); the total is
            window_requests * 100 / percent.
        window_seconds: Longest window per step (local); the wait per step (kubernetes).
        concurrency: Parallel requests of the local replay.
        request_timeout_s: Timeout of one replayed request, in seconds.
        seed: Seed of the row order and the traffic split.
        feedback_uri: Table of outcomes (request_id, label) for the A/B test ("" = none).
        stop_replaced: Local: stop the server that no longer serves (old stable or canary).
        max_error_rate_increase: Largest canary - stable error rate.
        max_latency_ratio: Largest canary / stable p95 latency (beyond min_latency_delta_ms).
        min_latency_delta_ms: A slower canary within this many ms is not a regression.
        max_psi: Largest PSI of canary vs stable scores.
        min_ks_p_value: Smallest KS p-value of canary vs stable scores.
        alpha: Significance level of the A/B test.
        power: Power the A/B sample size is computed for.
        min_detectable_effect: Accuracy drop the A/B test must be able to see.
        prometheus_url: Prometheus HTTP API (kubernetes target).
        prometheus_queries: PromQL overrides by name (requests, errors, latency_p95_seconds,
            score_buckets); preset picks the query set: runtime (default) or istio. Queries are
            templated with {namespace} {pods} {workload} {window}.
        prometheus_selectors: Per-side overrides of the pods regex and workload name Prometheus
            series carry, e.g. {"canary": {"pods": "churn-predictor-00002-.*", "workload":
            "churn-predictor-00002-deployment"}}.
        prometheus_token_file: Bearer token file for Prometheus ("" = none).
        tracking_uri: MLflow tracking URI; "" reads MLFLOW_TRACKING_URI (tracking is off when
            both are empty).
        registered_model_name: MLflow registered model of the canary's bundle: a promotion makes
            its version the champion, a rollback is recorded on it; "": none. Only a rollout
            that really served (target local or kubernetes) touches the registry.

    Returns:
        trail: The decision trail (JSON): every step, every number, the decision and action.
        report: The trail as Markdown.
        metrics: promoted, steps_completed, rollout_seconds.
        promoted: True when the canary was promoted.
    """
    arguments = dict(locals())  # every parameter by name, before anything else is bound
    from components.rollout.executor import main

    main(arguments)
