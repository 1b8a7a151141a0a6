"""Mesh-free shadow comparison: the challenger's answers to the champion's logged traffic.

The champion's payload-logger output gives requests and the champion's responses. The
challenger's responses come from its own logger output (a shadow behind an Istio mirror logs the
same request ids) or, without a mesh, from replaying the logged requests to the challenger's URL.
Paired row by row, they give: label agreement, the distribution of score differences
(challenger - champion: mean, mean |d|, p50/p95/max |d|), and latency on each side. Pass/fail
against configurable bounds; Metrics, Markdown and a JSON result are written.

``main`` is what the KFP component calls; ``run(inputs, outputs, config)`` reads both sides
(:func:`read_sides`), compares them (:func:`agreement`, the part that only sees exchanges) and
``write`` writes every output last, each atomically.
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
from components._shared.entry import sort_arguments
from components._shared.errors import ConfigError, DataError, DataReadError, expected_got
from components._shared.payload_log import response_scores
from components.shadow.config import ShadowConfig
from components.shadow.logged import Exchange, read_exchanges

__all__ = [
    "Comparison",
    "ShadowInputs",
    "ShadowOutputs",
    "Sides",
    "agreement",
    "challenger_from_record",
    "main",
    "read_sides",
    "run",
    "write",
]

RESULT_FORMAT: Final = "kfp-tabular-shadow/1"
# The numbers the Markdown report lists, in order.
REPORTED: Final = (
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
HISTOGRAM_EDGES: Final = np.linspace(-1, 1, 21)


@dataclass(frozen=True)
class ShadowInputs:
    """Deploy's deployment record, optional: where the shadow side serves (the logs are URIs)."""

    deployment: ArtifactLike | None = None


@dataclass(frozen=True)
class ShadowOutputs:
    """The JSON result, the Markdown report, the metrics and the pass flag."""

    result: ArtifactLike
    report: ArtifactLike
    metrics: MetricsLike
    passed: str  # an OutputPath: "true" or "false"


@dataclass(frozen=True)
class Sides:
    """Both sides' exchanges by request id, and where the challenger's came from."""

    champion: dict[str, Exchange]
    challenger: dict[str, Exchange]
    source: dict[str, Any]  # challenger_source, what was read or replayed


@dataclass(frozen=True)
class Comparison:
    """Every number and check of one comparison; ``to_dict`` is the JSON result."""

    numbers: dict[str, Any]
    checks: list[dict[str, Any]]
    config: ShadowConfig

    @property
    def passed(self) -> bool:
        """Every check holds (too few pairs is a check that fails)."""
        return all(c["passed"] for c in self.checks)

    def to_dict(self) -> dict[str, Any]:
        return {
            "numbers": self.numbers,
            "checks": self.checks,
            "passed": self.passed,
            "result_format": RESULT_FORMAT,
            "config": self.config.to_dict(),
        }


def main(arguments: dict[str, Any]) -> None:
    """The component's entry: its arguments sorted into inputs, outputs and config.

    Given a deployment record and neither ``shadow_uri`` nor ``challenger_url``, the challenger
    is the record's shadow side (:func:`challenger_from_record`).
    """
    deployment = arguments.get("deployment")
    if deployment is not None and not (
        arguments.get("shadow_uri") or arguments.get("challenger_url")
    ):
        url, model_name = challenger_from_record(deployment.path)
        arguments = {**arguments, "challenger_url": url}
        arguments["model_name"] = arguments.get("model_name") or model_name
    run(*sort_arguments(arguments, ShadowInputs, ShadowOutputs, ShadowConfig))


def challenger_from_record(path: str) -> tuple[str, str]:
    """(URL, model name) of the shadow side of deploy's deployment record at ``path``.

    Raises:
        DataReadError: the record cannot be read as JSON.
        ConfigError: the record has no shadow side with a URL (not a shadow deployment, or
            nothing serving: a rendered one).
    """
    try:
        record = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise DataReadError(f"deployment record {path!r}: cannot read it as JSON: {exc}") from None
    record = record if isinstance(record, dict) else {}
    found = record.get(keys.DEPLOY_SIDES)
    sides: list[dict[str, Any]] = found if isinstance(found, list) else []
    for side in sides:
        if side.get(keys.DEPLOY_SIDE_ROLE) == keys.DEPLOY_ROLE_SHADOW and side.get(
            keys.DEPLOY_SIDE_URL
        ):
            return str(side[keys.DEPLOY_SIDE_URL]), str(side.get(keys.DEPLOY_SIDE_MODEL_NAME) or "")
    raise ConfigError(
        expected_got(
            f"deployment record {path!r}",
            "a shadow side with a URL (strategy shadow, target kubernetes or local)",
            f"strategy {record.get(keys.DEPLOY_STRATEGY)!r}, target "
            f"{record.get(keys.DEPLOY_TARGET)!r}, roles "
            f"{[s.get(keys.DEPLOY_SIDE_ROLE) for s in sides]}",
        )
    )


def run(inputs: ShadowInputs, outputs: ShadowOutputs, config: ShadowConfig) -> Comparison:
    """Read both sides, compare them, write every output.

    Raises:
        ConfigError: a bad parameter, naming it.
        DataError: the champion's logs hold no scored responses.
        DataReadError: no log files under a URI.
    """
    del inputs  # the deployment record, if any, was read into the config by main()
    comparison = agreement(read_sides(config), config)
    write(comparison, outputs)
    return comparison


# --- the two sides ----------------------------------------------------------------------------


def read_sides(config: ShadowConfig) -> Sides:
    """The champion's logged exchanges, and the challenger's from its logs or a replay."""
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
    return Sides(champion, challenger, {**source, "champion_read": champion_counts.__dict__})


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
            answered = _ask(client, base, request_id, request, config.model_name)
            if answered is None:
                failed += 1
            else:
                out[request_id] = answered
    return out, {"replayed": len(out) + failed, "failed": failed, "url": base}


def _ask(
    client: httpx.Client, base: str, request_id: str, request: Any, model_name: str
) -> Exchange | None:
    """The challenger's answer to one logged request, timed; None when it gave none."""
    v2 = isinstance(request, dict) and "inputs" in request
    url = f"{base}/v2/models/{model_name}/infer" if v2 else f"{base}/v1/models/{model_name}:predict"
    start = time.perf_counter()
    try:
        response = client.post(url, json=request, headers={"x-request-id": request_id})
        elapsed = (time.perf_counter() - start) * 1000.0
        if response.status_code != 200:
            return None
        scores, labels = response_scores(response.json())
    except (httpx.HTTPError, ValueError, KeyError):
        return None
    return Exchange(request_id, request, scores=scores, labels=labels, client_latency_ms=elapsed)


# --- the comparison ---------------------------------------------------------------------------


def agreement(sides: Sides, config: ShadowConfig) -> Comparison:
    """Pair the two sides by request id and row; every number and the checks against the bounds."""
    pairs, mismatched = _pairs(sides.champion, sides.challenger)
    numbers: dict[str, Any] = {
        "champion_exchanges": len(sides.champion),
        "champion_responses": sum(1 for e in sides.champion.values() if e.scores is not None),
        "challenger_responses": sum(1 for e in sides.challenger.values() if e.scores is not None),
        "paired_requests": len(pairs),
        "row_count_mismatches": mismatched,
        **sides.source,
    }
    if len(pairs) < config.min_pairs:
        reason = f"paired_requests: {len(pairs)} < {config.min_pairs}: too few to compare"
        check = _check("paired_requests", False, len(pairs), config.min_pairs, reason)
        return Comparison(numbers, [check], config)
    numbers.update(differences(pairs, config.threshold))
    return Comparison(numbers, bound_checks(numbers, config), config)


def _pairs(
    champion: dict[str, Exchange], challenger: dict[str, Exchange]
) -> tuple[list[tuple[Exchange, Exchange]], int]:
    """Scored exchanges on both sides with the same id and rows; how many differ in rows."""
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
    return pairs, mismatched


def differences(pairs: list[tuple[Exchange, Exchange]], threshold: float) -> dict[str, Any]:
    """Label agreement at ``threshold``, score differences (challenger - champion), latency."""
    a = np.concatenate([p[0].scores for p in pairs if p[0].scores is not None])
    b = np.concatenate([p[1].scores for p in pairs if p[1].scores is not None])
    diff = b - a
    abs_diff = np.abs(diff)
    agree = (a >= threshold) == (b >= threshold)
    return {
        "rows": int(a.size),
        "label_agreement": float(agree.mean()),
        "mean_diff": float(diff.mean()),
        "mean_abs_diff": float(abs_diff.mean()),
        "p50_abs_diff": float(np.percentile(abs_diff, 50)),
        "p95_abs_diff": float(np.percentile(abs_diff, 95)),
        "max_abs_diff": float(abs_diff.max()),
        "diff_histogram": {
            "edges": HISTOGRAM_EDGES.round(2).tolist(),
            "counts": np.histogram(diff, bins=HISTOGRAM_EDGES)[0].tolist(),
        },
        "champion_mean_score": float(a.mean()),
        "challenger_mean_score": float(b.mean()),
        "champion_latency_p95_ms": _latency([p[0] for p in pairs]),
        "challenger_latency_p95_ms": _latency([p[1] for p in pairs]),
    }


def bound_checks(numbers: dict[str, Any], config: ShadowConfig) -> list[dict[str, Any]]:
    """Each bound of a pass against its number (latency only when both sides have one)."""
    checks = [
        _bound("label_agreement", numbers["label_agreement"], config.min_label_agreement, False),
        _bound("mean_abs_diff", numbers["mean_abs_diff"], config.max_mean_abs_diff, True),
        _bound("p95_abs_diff", numbers["p95_abs_diff"], config.max_p95_abs_diff, True),
    ]
    lat_a, lat_b = numbers["champion_latency_p95_ms"], numbers["challenger_latency_p95_ms"]
    if lat_a and lat_b:
        checks.append(_bound("latency_p95_ratio", lat_b / lat_a, config.max_latency_ratio, True))
    return checks


def _bound(name: str, value: float, limit: float, upper: bool) -> dict[str, Any]:
    ok = value <= limit if upper else value >= limit
    sign = ("<=" if ok else ">") if upper else (">=" if ok else "<")
    return _check(name, bool(ok), value, limit, f"{name}: {value:.4f} {sign} {limit}")


def _check(name: str, passed: bool, value: float, bound: float, reason: str) -> dict[str, Any]:
    return {"name": name, "passed": passed, "value": value, "bound": bound, "reason": reason}


def _latency(exchanges: list[Exchange]) -> float | None:
    known = [e.latency_ms for e in exchanges if e.latency_ms is not None]
    return float(np.percentile(known, 95)) if known else None


# --- outputs ----------------------------------------------------------------------------------


def write(comparison: Comparison, outputs: ShadowOutputs) -> None:
    """Write the result, the report and the flag (each atomically), log the metrics."""
    passed = comparison.passed
    write_text_atomic(outputs.result.path, json.dumps(comparison.to_dict(), indent=2, default=str))
    write_text_atomic(outputs.report.path, render(comparison))
    Path(outputs.passed).parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(outputs.passed, "true" if passed else "false")
    n = comparison.numbers
    outputs.metrics.log_metric(keys.METRIC_SHADOW_PASSED, float(passed))
    outputs.metrics.log_metric(keys.METRIC_SHADOW_PAIRS, float(n["paired_requests"]))
    for name in ("label_agreement", "mean_abs_diff", "p95_abs_diff", "mean_diff"):
        if name in n:
            outputs.metrics.log_metric(name, float(n[name]))
    for artifact, name in (
        (outputs.result, "shadow comparison"),
        (outputs.report, "shadow report"),
        (outputs.metrics, "shadow metrics"),
    ):
        set_display_name(artifact, name)
        artifact.metadata[keys.META_PASSED] = passed


def render(comparison: Comparison) -> str:
    """Markdown for the KFP UI."""
    n = comparison.numbers
    checks = [
        [c["name"], c["value"], c["bound"], "pass" if c["passed"] else "**FAIL**"]
        for c in comparison.checks
    ]
    return "\n".join(
        [
            f"# Shadow comparison: {'PASS' if comparison.passed else 'FAIL'}",
            "",
            f"Challenger answers from {n.get('challenger_source')}; {n['paired_requests']} paired "
            f"requests ({n.get('rows', 0)} rows).",
            "",
            markdown_table(["check", "value", "bound", "result"], checks),
            markdown_table(["number", "value"], [[k, n[k]] for k in REPORTED if k in n]),
        ]
    )
