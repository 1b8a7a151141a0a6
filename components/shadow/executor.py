"""Mesh-free shadow comparison: the challenger's answers to the champion's logged traffic.

The champion's payload-logger output gives requests and the champion's responses. The
challenger's responses come from its own logger output (a shadow behind an Istio mirror logs the
same request ids) or, without a mesh, from replaying the logged requests to the challenger's URL.
Paired row by row, they give: label agreement, the distribution of score differences
(challenger - champion: mean, mean |d|, p50/p95/max |d|), and latency on each side. Pass/fail
against configurable bounds; Metrics, Markdown and a JSON result are written.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import httpx
import numpy as np

from components._shared import keys
from components._shared.artifacts import (
    ArtifactLike,
    MetricsLike,
    markdown_table,
    set_display_name,
    write_text_atomic,
)
from components._shared.errors import ConfigError, DataError, expected_got
from components.shadow.logged import Exchange, read_exchanges, response_scores

RESULT_FORMAT: Final = "kfp-tabular-shadow/1"


@dataclass(frozen=True)
class ShadowConfig:
    """Where the two sides' answers come from, and the bounds of a pass."""

    champion_uri: str
    shadow_uri: str = ""
    challenger_url: str = ""
    model_name: str = ""
    threshold: float = 0.5
    min_pairs: int = 50
    min_label_agreement: float = 0.95
    max_mean_abs_diff: float = 0.05
    max_p95_abs_diff: float = 0.2
    max_latency_ratio: float = 3.0
    max_requests: int = 10_000
    request_timeout_s: float = 5.0
    max_seconds: float = 300.0

    def __post_init__(self) -> None:
        if bool(self.shadow_uri) == bool(self.challenger_url):
            raise ConfigError(
                expected_got(
                    "shadow_uri / challenger_url",
                    "exactly one of them",
                    (self.shadow_uri, self.challenger_url),
                )
            )
        if self.challenger_url and not self.model_name:
            raise ConfigError("shadow: model_name is required to replay to challenger_url")


def _replay(
    champion: dict[str, Exchange], config: ShadowConfig
) -> tuple[dict[str, Exchange], dict[str, Any]]:
    """Send each logged request, as logged (V1 or V2), to the challenger; bounded in count and time."""
    base = config.challenger_url.rstrip("/")
    out: dict[str, Exchange] = {}
    failed, deadline = 0, time.monotonic() + config.max_seconds
    with httpx.Client(timeout=config.request_timeout_s) as client:
        for request_id in sorted(champion)[: config.max_requests]:
            request = champion[request_id].request
            if request is None or time.monotonic() > deadline:
                continue
            v2 = isinstance(request, dict) and "inputs" in request
            url = (
                f"{base}/v2/models/{config.model_name}/infer"
                if v2
                else f"{base}/v1/models/{config.model_name}:predict"
            )
            start = time.perf_counter()
            try:
                response = client.post(url, json=request, headers={"x-request-id": request_id})
                elapsed = (time.perf_counter() - start) * 1000.0
                scores, labels = (
                    response_scores(response.json())
                    if response.status_code == 200
                    else (None, None)
                )
            except (httpx.HTTPError, ValueError, KeyError):
                scores, labels, elapsed = None, None, (time.perf_counter() - start) * 1000.0
            if scores is None:
                failed += 1
                continue
            out[request_id] = Exchange(
                request_id, request, scores=scores, labels=labels, client_latency_ms=elapsed
            )
    return out, {"replayed": len(out) + failed, "failed": failed, "url": base}


def _latency(exchanges: list[Exchange]) -> float | None:
    known = [e.latency_ms for e in exchanges if e.latency_ms is not None]
    return float(np.percentile(known, 95)) if known else None


def compare(
    champion: dict[str, Exchange],
    challenger: dict[str, Exchange],
    config: ShadowConfig,
    source: dict[str, Any],
) -> dict[str, Any]:
    """Pair the two sides by request id and row; every number and the verdict."""
    pairs: list[tuple[Exchange, Exchange]] = []
    mismatched = 0
    for key in sorted(champion):
        a_side, b_side = champion[key], challenger.get(key)
        if b_side is None or a_side.scores is None or b_side.scores is None:
            continue
        if a_side.scores.size == b_side.scores.size:
            pairs.append((a_side, b_side))
        else:
            mismatched += 1  # counted, not compared: rows cannot be paired
    numbers: dict[str, Any] = {
        "champion_exchanges": len(champion),
        "champion_responses": sum(1 for e in champion.values() if e.scores is not None),
        "challenger_responses": sum(1 for e in challenger.values() if e.scores is not None),
        "paired_requests": len(pairs),
        "row_count_mismatches": mismatched,
        **source,
    }
    checks: list[dict[str, Any]] = []
    if len(pairs) < config.min_pairs:
        checks.append(
            {
                "name": "paired_requests",
                "passed": False,
                "value": len(pairs),
                "bound": config.min_pairs,
                "reason": f"paired_requests: {len(pairs)} < {config.min_pairs}: too few to compare",
            }
        )
        return {"numbers": numbers, "checks": checks, "passed": False}
    a = np.concatenate([p[0].scores for p in pairs if p[0].scores is not None])
    b = np.concatenate([p[1].scores for p in pairs if p[1].scores is not None])
    diff = b - a
    agree = (a >= config.threshold) == (b >= config.threshold)
    abs_diff = np.abs(diff)
    lat_a, lat_b = _latency([p[0] for p in pairs]), _latency([p[1] for p in pairs])
    numbers.update(
        rows=int(a.size),
        label_agreement=float(agree.mean()),
        mean_diff=float(diff.mean()),
        mean_abs_diff=float(abs_diff.mean()),
        p50_abs_diff=float(np.percentile(abs_diff, 50)),
        p95_abs_diff=float(np.percentile(abs_diff, 95)),
        max_abs_diff=float(abs_diff.max()),
        diff_histogram={
            "edges": np.linspace(-1, 1, 21).round(2).tolist(),
            "counts": np.histogram(diff, bins=np.linspace(-1, 1, 21))[0].tolist(),
        },
        champion_mean_score=float(a.mean()),
        challenger_mean_score=float(b.mean()),
        champion_latency_p95_ms=lat_a,
        challenger_latency_p95_ms=lat_b,
    )

    def bound(name: str, value: float, limit: float, upper: bool) -> None:
        ok = value <= limit if upper else value >= limit
        sign = ("<=" if ok else ">") if upper else (">=" if ok else "<")
        checks.append(
            {
                "name": name,
                "passed": bool(ok),
                "value": value,
                "bound": limit,
                "reason": f"{name}: {value:.4f} {sign} {limit}",
            }
        )

    bound("label_agreement", numbers["label_agreement"], config.min_label_agreement, upper=False)
    bound("mean_abs_diff", numbers["mean_abs_diff"], config.max_mean_abs_diff, upper=True)
    bound("p95_abs_diff", numbers["p95_abs_diff"], config.max_p95_abs_diff, upper=True)
    if lat_a and lat_b:
        bound("latency_p95_ratio", lat_b / lat_a, config.max_latency_ratio, upper=True)
    return {"numbers": numbers, "checks": checks, "passed": all(c["passed"] for c in checks)}


def execute(config: ShadowConfig) -> dict[str, Any]:
    """Read, replay or read the shadow's logs, compare: the result (nothing written here)."""
    champion, champion_counts = read_exchanges(config.champion_uri)
    if not any(e.scores is not None for e in champion.values()):
        raise DataError(
            f"champion logs {config.champion_uri!r}: no response events or scores "
            "(the champion's logger needs mode 'all')"
        )
    if config.shadow_uri:
        challenger, shadow_counts = read_exchanges(config.shadow_uri)
        source = {
            "challenger_source": f"shadow logs {config.shadow_uri}",
            "shadow_read": shadow_counts.__dict__,
        }
    else:
        challenger, replay = _replay(champion, config)
        source = {"challenger_source": f"replay to {config.challenger_url}", "replay": replay}
    result = compare(
        champion, challenger, config, {**source, "champion_read": champion_counts.__dict__}
    )
    result.update(result_format=RESULT_FORMAT, config=dict(config.__dict__))
    return result


def render(result: dict[str, Any]) -> str:
    """Markdown for the KFP UI."""
    n = result["numbers"]
    lines = [
        f"# Shadow comparison: {'PASS' if result['passed'] else 'FAIL'}",
        "",
        f"Challenger answers from {n.get('challenger_source')}; {n['paired_requests']} paired "
        f"requests ({n.get('rows', 0)} rows).",
        "",
        markdown_table(
            ["check", "value", "bound", "result"],
            [
                [c["name"], c["value"], c["bound"], "pass" if c["passed"] else "**FAIL**"]
                for c in result["checks"]
            ],
        ),
    ]
    keep = (
        "label_agreement",
        "mean_diff",
        "mean_abs_diff",
        "p50_abs_diff",
        "p95_abs_diff",
        "max_abs_diff",
        "champion_mean_score",
        "challenger_mean_score",
        "champion_latency_p95_ms",
        "challenger_latency_p95_ms",
    )
    lines.append(markdown_table(["number", "value"], [[k, n[k]] for k in keep if k in n]))
    return "\n".join(lines)


def run(
    *,
    config: ShadowConfig,
    result_artifact: ArtifactLike,
    report_md: ArtifactLike,
    metrics: MetricsLike,
    passed_path: str,
) -> dict[str, Any]:
    """Run the comparison and write the component's outputs (each atomically)."""
    result = execute(config)
    write_text_atomic(result_artifact.path, json.dumps(result, indent=2, default=str))
    write_text_atomic(report_md.path, render(result))
    Path(passed_path).parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(passed_path, "true" if result["passed"] else "false")
    n = result["numbers"]
    metrics.log_metric(keys.METRIC_SHADOW_PASSED, float(result["passed"]))
    metrics.log_metric(keys.METRIC_SHADOW_PAIRS, float(n["paired_requests"]))
    for name in ("label_agreement", "mean_abs_diff", "p95_abs_diff", "mean_diff"):
        if name in n:
            metrics.log_metric(name, float(n[name]))
    for artifact, name in (
        (result_artifact, "shadow comparison"),
        (report_md, "shadow report"),
        (metrics, "shadow metrics"),
    ):
        set_display_name(artifact, name)
        artifact.metadata[keys.META_PASSED] = result["passed"]
    return result


def run_component(
    *,
    result_artifact: ArtifactLike,
    report_md: ArtifactLike,
    metrics: MetricsLike,
    passed_path: str,
    **parameters: Any,
) -> dict[str, Any]:
    """The component's entry: flat parameters to :class:`ShadowConfig`, then :func:`run`."""
    return run(
        config=ShadowConfig(**parameters),
        result_artifact=result_artifact,
        report_md=report_md,
        metrics=metrics,
        passed_path=passed_path,
    )
