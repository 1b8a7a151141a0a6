"""KFP wrapper of the shadow comparison; the work is in :mod:`components.shadow.executor`."""

from kfp import dsl
from kfp.dsl import Artifact, Input, Markdown, Metrics, Output, OutputPath

from components._image import COMPONENT_IMAGE


@dsl.component(base_image=COMPONENT_IMAGE, install_kfp_package=False)
def shadow(
    champion_uri: str,
    result: Output[Artifact],
    report: Output[Markdown],
    metrics: Output[Metrics],
    passed: OutputPath(bool),  # type: ignore[valid-type]
    deployment: Input[Artifact] = None,  # type: ignore[assignment]
    shadow_uri: str = "",
    challenger_url: str = "",
    model_name: str = "",
    threshold: float = 0.5,
    min_pairs: int = 50,
    min_label_agreement: float = 0.95,
    max_mean_abs_diff: float = 0.05,
    max_p95_abs_diff: float = 0.2,
    max_latency_ratio: float = 3.0,
    max_requests: int = 10000,
    request_timeout_s: float = 5.0,
    max_seconds: float = 300.0,
):
    """Compare the challenger's answers with the champion's on the champion's logged traffic.

    Args:
        champion_uri: The champion's payload-logger output (requests and responses; a file or
            prefix, local or gs://): CloudEvents JSON/JSONL, or batched CSV/Parquet.
        deployment: Deploy's deployment record (optional). With neither ``shadow_uri`` nor
            ``challenger_url`` given, the requests are replayed to the record's shadow side
            (its URL and model name): how the pipeline runs this step after a shadow deploy.
        shadow_uri: The shadow's logger output (same request ids through the Istio mirror).
        challenger_url: Without shadow logs: the challenger's base URL to replay requests to.
        model_name: The challenger's model name (with challenger_url).
        threshold: P(positive) from which a row's label is positive.
        min_pairs: Fewest paired requests for a verdict.
        min_label_agreement: Lowest share of rows with the same label.
        max_mean_abs_diff: Highest mean |challenger - champion| score.
        max_p95_abs_diff: Highest 95th percentile of |challenger - champion|.
        max_latency_ratio: Highest challenger / champion p95 latency.
        max_requests: Most requests replayed.
        request_timeout_s: Timeout of one replayed request, in seconds.
        max_seconds: Longest replay, in seconds.

    Returns:
        result: Every number and check (JSON).
        report: The comparison for the UI (Markdown).
        metrics: shadow_passed, paired_requests, label_agreement, score differences.
        passed: True when every bound holds.
    """
    arguments = dict(locals())  # every parameter by name, before anything else is bound
    from components.shadow.executor import main

    main(arguments)
