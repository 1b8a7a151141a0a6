"""The rollout step's parameters: the traffic steps, the window, the checks' bounds, Prometheus."""

from __future__ import annotations

from dataclasses import dataclass
from numbers import Real

from components._shared.config import ComponentConfig, param
from components._shared.errors import expected_got


@dataclass(frozen=True)
class RolloutConfig(ComponentConfig):
    """How the canary's traffic steps up, what each window holds and what the canary must meet."""

    component = "rollout"

    steps: list = param([10, 50, 100], "Canary traffic percents, increasing, the last 100.")
    window_requests: int = param(300, "Requests per step that reach the canary (local replay).")
    window_seconds: float = param(
        60.0, "Longest window per step (local); the wait per step (kubernetes)."
    )
    concurrency: int = param(4, "Parallel requests of the local replay.")
    request_timeout_s: float = param(5.0, "Timeout of one replayed request, in seconds.")
    seed: int = param(42, "Seed of the row order and the traffic split.")
    feedback_uri: str = param(
        "", 'Table of outcomes (request_id, label) for the A/B test ("" = none).'
    )
    stop_replaced: bool = param(
        True, "Local: stop the server that no longer serves (old stable or canary)."
    )
    max_error_rate_increase: float = param(0.01, "Largest canary - stable error rate.")
    max_latency_ratio: float = param(
        1.5, "Largest canary / stable p95 latency (beyond min_latency_delta_ms)."
    )
    min_latency_delta_ms: float = param(
        5.0, "A slower canary within this many ms is not a regression."
    )
    max_psi: float = param(0.2, "Largest PSI of canary vs stable scores.")
    min_ks_p_value: float = param(0.001, "Smallest KS p-value of canary vs stable scores.")
    alpha: float = param(0.05, "Significance level of the A/B test.")
    power: float = param(0.8, "Power the A/B sample size is computed for.")
    min_detectable_effect: float = param(0.02, "Accuracy drop the A/B test must be able to see.")
    prometheus_url: str = param("", "Prometheus HTTP API (kubernetes target).")
    prometheus_queries: dict = param(
        {},
        "PromQL overrides by name (requests, errors, latency_p95_seconds, score_buckets); "
        "preset picks the query set: runtime (default) or istio.",
    )
    prometheus_selectors: dict = param(
        {}, "Per-side overrides of the pods regex and workload name Prometheus series carry."
    )
    prometheus_token_file: str = param("", 'Bearer token file for Prometheus ("" = none).')
    tracking_uri: str = param(
        "",
        'MLflow tracking URI; "" reads MLFLOW_TRACKING_URI (tracking is off when both are empty).',
    )
    registered_model_name: str = param(
        "",
        "MLflow registered model of the canary's bundle: a promotion makes its version the "
        'champion, a rollback is recorded on it; "": none.',
    )

    @property
    def percents(self) -> list[int]:
        """``steps`` as integers (KFP hands a list's numbers over as doubles: 10.0 is 10)."""
        return [int(s) for s in self.steps]

    def problems(self) -> list[str]:
        """Steps increasing in 1..100 ending at 100; a positive window and concurrency."""
        found = []
        whole = all(_whole(s) for s in self.steps)
        steps = self.percents if whole else list(self.steps)
        if (
            not whole
            or not steps
            or any(not 0 < s <= 100 for s in steps)
            or steps != sorted(set(steps))
        ):
            found.append(expected_got("steps", "increasing percents in 1..100", steps))
        elif steps[-1] != 100:
            found.append(expected_got("steps", "a last step of 100 (full traffic)", steps))
        if self.window_requests < 1 or self.window_seconds <= 0 or self.concurrency < 1:
            found.append(
                expected_got(
                    "window_requests / window_seconds / concurrency",
                    "positive",
                    (self.window_requests, self.window_seconds, self.concurrency),
                )
            )
        return found


def _whole(value: object) -> bool:
    """A whole number (an int, or a float such as 10.0), never a bool."""
    return isinstance(value, Real) and not isinstance(value, bool) and float(value).is_integer()
