"""The shadow comparison's parameters: where each side's answers come from, and a pass's bounds."""

from __future__ import annotations

from dataclasses import dataclass

from components._shared.config import ComponentConfig, param
from components._shared.errors import expected_got


@dataclass(frozen=True)
class ShadowConfig(ComponentConfig):
    """The champion's logs, the challenger's logs or URL, the bounds and the replay's limits."""

    component = "shadow"

    champion_uri: str = param(
        help="The champion's payload-logger output (requests and responses; a file or prefix, "
        "local or gs://)."
    )
    shadow_uri: str = param(
        "", "The shadow's logger output (same request ids through the Istio mirror)."
    )
    challenger_url: str = param(
        "", "Without shadow logs: the challenger's base URL to replay requests to."
    )
    model_name: str = param("", "The challenger's model name (with challenger_url).")
    threshold: float = param(0.5, "P(positive) from which a row's label is positive.")
    min_pairs: int = param(50, "Fewest paired requests for a verdict.")
    min_label_agreement: float = param(0.95, "Lowest share of rows with the same label.")
    max_mean_abs_diff: float = param(0.05, "Highest mean |challenger - champion| score.")
    max_p95_abs_diff: float = param(0.2, "Highest 95th percentile of |challenger - champion|.")
    max_latency_ratio: float = param(3.0, "Highest challenger / champion p95 latency.")
    max_requests: int = param(10_000, "Most requests replayed.")
    request_timeout_s: float = param(5.0, "Timeout of one replayed request, in seconds.")
    max_seconds: float = param(300.0, "Longest replay, in seconds.")

    def problems(self) -> list[str]:
        """Exactly one source of challenger answers; a model name to replay to a URL."""
        found = []
        if bool(self.shadow_uri) == bool(self.challenger_url):
            found.append(
                expected_got(
                    "shadow_uri / challenger_url",
                    "exactly one of them",
                    (self.shadow_uri, self.challenger_url),
                )
            )
        if self.challenger_url and not self.model_name:
            found.append("model_name is required to replay to challenger_url")
        return found
