"""Closed-loop canary rollout: step traffic, analyse each window, promote or roll back, and do it.

Reads deploy's deployment record. ``local``: stable and canary are local ``python -m serving``
processes; each step replays test rows split between them (:mod:`traffic`) and reads their
``/metrics`` before and after (:mod:`prometheus`). ``kubernetes``: each step patches the
InferenceService's canary traffic (:mod:`patches`), waits the window and queries Prometheus.
``render`` (or a strategy without a canary) has nothing to roll out: that is recorded and the
step succeeds. The first failed check stops the rollout and rolls back; all steps passing
promotes. Everything is written to the decision trail (JSON) and its Markdown rendering.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

import numpy as np
import pandas as pd

from components._shared import keys, kubernetes, local_serving
from components._shared.artifacts import (
    ArtifactLike,
    MetricsLike,
    set_display_name,
    write_text_atomic,
)
from components._shared.bundle import json_record
from components._shared.errors import ConfigError, DataError, DataReadError, expected_got
from components._shared.schema import Schema
from components._shared.tables import read_table
from components.rollout import analysis, patches, prometheus, report, traffic
from components.rollout.analysis import Check, SideWindow, Thresholds

TRAIL_FORMAT: Final = "kfp-tabular-rollout/1"
SCORE_BOUNDS: Final = np.array([*(round(0.05 * k, 2) for k in range(1, 21)), np.inf])


@dataclass(frozen=True)
class RolloutConfig:
    """Everything a rollout is told (component parameters, typed)."""

    steps: tuple[int, ...] = (10, 50, 100)
    thresholds: Thresholds = field(default_factory=Thresholds)
    window_requests: int = 300
    window_seconds: float = 60.0
    concurrency: int = 4
    request_timeout_s: float = 5.0
    seed: int = 42
    feedback_uri: str = ""
    stop_replaced: bool = True
    prometheus_url: str = ""
    prometheus_queries: dict[str, str] = field(default_factory=dict)
    prometheus_selectors: dict[str, dict[str, str]] = field(default_factory=dict)
    prometheus_token_file: str = ""

    def __post_init__(self) -> None:
        steps = list(self.steps)
        if not steps or any(not 0 < s <= 100 for s in steps) or steps != sorted(set(steps)):
            raise ConfigError(expected_got("steps", "increasing percents in 1..100", steps))
        if steps[-1] != 100:
            raise ConfigError(expected_got("steps", "a last step of 100 (full traffic)", steps))
        if self.window_requests < 1 or self.window_seconds <= 0 or self.concurrency < 1:
            raise ConfigError(
                expected_got(
                    "window_requests / window_seconds / concurrency",
                    "positive",
                    (self.window_requests, self.window_seconds, self.concurrency),
                )
            )

    def to_dict(self) -> dict[str, Any]:
        out = {k: v for k, v in self.__dict__.items() if k != "thresholds"}
        out["steps"] = list(self.steps)
        out["thresholds"] = self.thresholds.to_dict()
        return out


# --- the deployment record ------------------------------------------------------------------


def read_record(deployment: ArtifactLike) -> dict[str, Any]:
    """Deploy's record (JSON file at the artifact's path); DataReadError naming the path."""
    path = Path(deployment.path)
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise DataReadError(
            f"deployment record {str(path)!r}: cannot read it as JSON: {exc}"
        ) from None
    if not isinstance(record, dict):
        raise DataError(expected_got("deployment record", "a JSON object", type(record).__name__))
    return record


def side_of(record: dict[str, Any], role: str) -> dict[str, Any]:
    """The record's side with ``role``; DataError listing the roles present."""
    sides = record.get(keys.DEPLOY_SIDES) or []
    for side in sides:
        if side.get(keys.DEPLOY_SIDE_ROLE) == role:
            return dict(side)
    roles = [s.get(keys.DEPLOY_SIDE_ROLE) for s in sides]
    raise DataError(expected_got("deployment record sides", f"a side with role {role!r}", roles))


def _schema_of(bundle_uri: str) -> Schema:
    from components._shared import io

    manifest = io.read_json(io.join(bundle_uri, keys.MANIFEST_FILE))
    return Schema.from_dict(manifest[keys.MANIFEST_SCHEMA])


def _test_records(splits: ArtifactLike) -> list[dict[str, Any]]:
    path = Path(splits.path) / keys.split_file(keys.TEST)
    try:
        frame = pd.read_parquet(path)
    except (OSError, ValueError) as exc:
        raise DataReadError(f"test split {str(path)!r}: {exc}") from None
    return [json_record({str(k): v for k, v in r.items()}) for r in frame.to_dict("records")]


def read_feedback(uri: str, schema: Schema) -> dict[str, int]:
    """{request id: 0/1 outcome} from a feedback table (``request_id``, ``label``)."""
    frame = read_table(uri)
    missing = [c for c in (keys.FEEDBACK_REQUEST_ID, keys.FEEDBACK_LABEL) if c not in frame]
    if missing:
        raise DataError(
            f"feedback {uri!r}: expected columns {keys.FEEDBACK_REQUEST_ID!r} and "
            f"{keys.FEEDBACK_LABEL!r}, missing {missing}; got {list(frame.columns)[:10]}"
        )
    labels = frame[keys.FEEDBACK_LABEL]
    positive = labels.astype(str).str.strip().isin({schema.positive_label, "1", "True", "true"})
    return dict(zip(frame[keys.FEEDBACK_REQUEST_ID].astype(str), positive.astype(int), strict=True))


# --- one step -------------------------------------------------------------------------------


def _local_window(
    side: str, window: traffic.ReplayWindow, before: Any, after: Any, model_name: str
) -> SideWindow:
    mine = [e for e in window.exchanges if e.side == side]
    scores = np.array([e.score for e in mine if e.score is not None], dtype=np.float64)
    out = SideWindow(
        side=side,
        requests=len(mine),
        errors=sum(1 for e in mine if e.score is None),
        latencies_ms=np.array([e.latency_ms for e in mine], dtype=np.float64),
        latency_source="client-observed",
        score_bounds=SCORE_BOUNDS,
        scores=scores,
        error_examples=[f"HTTP {e.status or 'no answer'} {e.error}"[:160] for e in mine if e.error][
            :3
        ],
    )
    if before is not None and after is not None:
        d = prometheus.delta(before, after, model_name)
        if d.score_counts.size == SCORE_BOUNDS.size:
            out.score_counts = d.score_counts
        out.extra = {
            "metrics_source": "/metrics delta",
            "server_predictions": int(d.predictions),
            # KServe's request_predict_seconds buckets start at 5 ms, so this interpolated p95
            # cannot tell sub-millisecond models apart; the client's p95 decides locally.
            "server_latency_p95_ms": None
            if d.latency_p95_ms is None
            else round(d.latency_p95_ms, 4),
        }
    else:
        out.extra = {"metrics_source": "/metrics unreachable (scrape failed)"}
    if out.score_counts is None and scores.size and before is not None and after is not None:
        out.score_counts = analysis.bucket_counts(scores, SCORE_BOUNDS)
    return out


@dataclass
class Ledger:
    """Every scored prediction so far: (side, request id, score), for the labelled A/B test."""

    sides: list[str] = field(default_factory=list)
    ids: list[str] = field(default_factory=list)
    scores: list[float] = field(default_factory=list)

    def add(self, window: traffic.ReplayWindow) -> None:
        for e in window.exchanges:
            if e.score is not None:
                self.sides.append(e.side)
                self.ids.append(e.request_id)
                self.scores.append(e.score)

    def ab(self, feedback: dict[str, int], t: Thresholds) -> Check:
        """The A/B test on every prediction whose request id has an outcome in ``feedback``.

        A replayed row (id ``<row id>#<cycle>``) is the same customer again, so it takes its
        row's outcome when the feedback has no entry for the replay's own id.
        """
        arms = {}
        for side in (keys.DEPLOY_ROLE_STABLE, keys.DEPLOY_ROLE_CANARY):
            pairs = []
            for d, request_id, score in zip(self.sides, self.ids, self.scores, strict=True):
                label = feedback.get(request_id, feedback.get(request_id.split("#")[0]))
                if d == side and label is not None:
                    pairs.append((label, score))
            arms[side] = (
                np.array([p[0] for p in pairs], dtype=np.int64),
                np.array([p[1] for p in pairs], dtype=np.float64),
            )
        s_labels, s_scores = arms[keys.DEPLOY_ROLE_STABLE]
        c_labels, c_scores = arms[keys.DEPLOY_ROLE_CANARY]
        return analysis.ab_test(s_labels, s_scores, c_labels, c_scores, t)


def _step_record(
    percent: int,
    stable: SideWindow,
    baseline: SideWindow,
    canary: SideWindow,
    checks: list[Check],
    extra: dict[str, Any],
) -> dict[str, Any]:
    return {
        "percent": percent,
        **extra,
        "stable": stable.summary(),
        "stable_baseline": baseline.summary(),
        "canary": canary.summary(),
        "checks": [c.to_dict() for c in checks],
        "passed": all(c.passed is not False for c in checks),
    }


# --- local ----------------------------------------------------------------------------------


def _local_rollout(
    record: dict[str, Any], splits: ArtifactLike, config: RolloutConfig, trail: dict[str, Any]
) -> tuple[bool, list[str]]:
    stable_side = side_of(record, keys.DEPLOY_ROLE_STABLE)
    canary_side = side_of(record, keys.DEPLOY_ROLE_CANARY)
    stable = traffic.Endpoint(
        keys.DEPLOY_ROLE_STABLE,
        traffic.check_local(stable_side["url"]),
        stable_side[keys.DEPLOY_SIDE_MODEL_NAME],
    )
    canary = traffic.Endpoint(
        keys.DEPLOY_ROLE_CANARY,
        traffic.check_local(canary_side["url"]),
        canary_side[keys.DEPLOY_SIDE_MODEL_NAME],
    )
    schema = _schema_of(stable_side[keys.DEPLOY_SIDE_BUNDLE_URI])
    records = _test_records(splits)
    source = traffic.ReplaySource(records, traffic.row_ids(records, schema), config.seed)
    rng = np.random.default_rng(config.seed)
    feedback = read_feedback(config.feedback_uri, schema) if config.feedback_uri else None
    ledger, stable_windows = Ledger(), []
    for percent in config.steps:
        started = time.perf_counter()
        before = {e.side: prometheus.scrape(e.url) for e in (stable, canary)}
        # The canary gets window_requests at every step, whatever its share: each step judges it
        # on the same evidence (at 10%, 300 canary requests mean ~3,000 in all).
        total = int(np.ceil(config.window_requests * 100 / percent))
        window = traffic.replay(
            source,
            schema,
            stable,
            canary,
            canary_percent=percent,
            requests=total,
            max_seconds=config.window_seconds,
            concurrency=config.concurrency,
            timeout_s=config.request_timeout_s,
            rng=rng,
        )
        after = {e.side: prometheus.scrape(e.url) for e in (stable, canary)}
        windows = {
            e.side: _local_window(e.side, window, before[e.side], after[e.side], e.model_name)
            for e in (stable, canary)
        }
        stable_windows.append(windows[stable.side])
        baseline = analysis.merge(stable.side, stable_windows)
        checks = analysis.compare(
            baseline, windows[canary.side], config.thresholds, same_window=windows[stable.side]
        )
        ledger.add(window)
        if feedback is not None:
            checks.append(ledger.ab(feedback, config.thresholds))
        extra = {
            "traffic": {
                "sent": len(window.exchanges),
                "planned": total,
                "stopped_by": window.stopped_by,
                "seconds": round(window.seconds, 3),
            }
        }
        step = _step_record(
            percent, windows[stable.side], baseline, windows[canary.side], checks, extra
        )
        step["seconds"] = round(time.perf_counter() - started, 3)
        trail["steps"].append(step)
        if not step["passed"]:
            return False, [f"step {percent}%: {c.reason}" for c in checks if c.passed is False]
    return True, _pass_reasons(trail)


def _pass_reasons(trail: dict[str, Any]) -> list[str]:
    return [f"step {s['percent']}%: {c['reason']}" for s in trail["steps"] for c in s["checks"]]


def _local_action(record: dict[str, Any], promote: bool, config: RolloutConfig) -> dict[str, Any]:
    """Promotion stops the old stable server (the canary serves on); rollback stops the canary."""
    replaced = side_of(record, keys.DEPLOY_ROLE_STABLE if promote else keys.DEPLOY_ROLE_CANARY)
    serving = side_of(record, keys.DEPLOY_ROLE_CANARY if promote else keys.DEPLOY_ROLE_STABLE)
    action: dict[str, Any] = {
        "kind": "promote: canary serves all traffic"
        if promote
        else "rollback: stable serves all traffic",
        "serving": {k: serving.get(k) for k in (keys.DEPLOY_SIDE_URL, keys.DEPLOY_SIDE_BUNDLE_URI)},
        "replaced": {k: replaced.get(k) for k in (keys.DEPLOY_SIDE_URL, keys.DEPLOY_SIDE_PID)},
    }
    pid = replaced.get(keys.DEPLOY_SIDE_PID)
    if config.stop_replaced and isinstance(pid, int):
        try:
            local_serving.stop_server(pid)
            action["stopped_pid"] = pid
        except local_serving.LocalServingError as exc:
            action["stop_refused"] = str(exc)
    return action


# --- kubernetes -----------------------------------------------------------------------------


def _selectors(
    isvc: dict[str, Any], record: dict[str, Any], config: RolloutConfig
) -> dict[str, dict[str, str]]:
    """Per side: the pods regex and workload name its Prometheus series carry."""
    name = isvc["metadata"]["name"]
    if patches.deployment_mode(isvc) == keys.DEPLOY_MODE_KNATIVE:
        traffic_list = (
            ((isvc.get("status") or {}).get("components") or {})
            .get("predictor", {})
            .get("traffic", [])
        )
        prev = next((t.get("revisionName") for t in traffic_list if t.get("tag") == "prev"), None)
        latest = next(
            (t.get("revisionName") for t in traffic_list if t.get("latestRevision")), None
        )
        workloads = {
            keys.DEPLOY_ROLE_STABLE: f"{prev or name + '-predictor'}-deployment",
            keys.DEPLOY_ROLE_CANARY: f"{latest or name + '-predictor'}-deployment",
        }
    else:
        stable_name = (isvc["spec"]["predictor"] or {}).get("name")
        canary_name = side_of(record, keys.DEPLOY_ROLE_CANARY).get(
            keys.DEPLOY_SIDE_PREDICTOR_NAME
        ) or (isvc["spec"].get("canary") or [{}])[0].get("predictor", {}).get("name")
        workloads = {
            keys.DEPLOY_ROLE_STABLE: f"{name}-{stable_name}-predictor"
            if stable_name
            else f"{name}-predictor",
            keys.DEPLOY_ROLE_CANARY: f"{name}-{canary_name}-predictor",
        }
    out = {}
    for side, workload in workloads.items():
        chosen = {"workload": workload, "pods": f"{workload}-.*"}
        chosen.update(config.prometheus_selectors.get(side, {}))
        out[side] = chosen
    return out


def _canary_name(record: dict[str, Any]) -> str | None:
    try:
        return side_of(record, keys.DEPLOY_ROLE_CANARY).get(keys.DEPLOY_SIDE_PREDICTOR_NAME)
    except DataError:
        return None


def _kubernetes_rollout(
    record: dict[str, Any], config: RolloutConfig, trail: dict[str, Any], api: Any
) -> tuple[bool, list[str], dict[str, Any]]:
    """Steps on a cluster: patch traffic, wait the window, query Prometheus; then act."""
    if not config.prometheus_url:
        raise ConfigError(
            "rollout on kubernetes: prometheus_url is required (the analysis reads it)"
        )
    namespace, name = record[keys.DEPLOY_NAMESPACE], record[keys.DEPLOY_NAME]
    canary_name = _canary_name(record)
    token = (
        Path(config.prometheus_token_file).read_text().strip()
        if config.prometheus_token_file
        else ""
    )
    client = prometheus.PrometheusClient(config.prometheus_url, token=token)
    queries = prometheus.queries_with_defaults(config.prometheus_queries)
    stable_windows: list[SideWindow] = []
    passed, reasons = True, []
    try:
        for percent in config.steps:
            isvc = patches.read(api, namespace, name)
            patches.apply(
                api, namespace, isvc, patches.set_traffic(isvc, percent, canary_name=canary_name)
            )
            time.sleep(config.window_seconds)
            isvc = patches.read(api, namespace, name)
            selectors = _selectors(isvc, record, config)
            windows = {
                side: prometheus.cluster_window(
                    client,
                    queries,
                    side,
                    {
                        "namespace": namespace,
                        "window": f"{int(config.window_seconds)}s",
                        **selectors[side],
                    },
                    SCORE_BOUNDS,
                )
                for side in (keys.DEPLOY_ROLE_STABLE, keys.DEPLOY_ROLE_CANARY)
            }
            stable_windows.append(windows[keys.DEPLOY_ROLE_STABLE])
            baseline = analysis.merge(keys.DEPLOY_ROLE_STABLE, stable_windows)
            checks = analysis.compare(baseline, windows[keys.DEPLOY_ROLE_CANARY], config.thresholds)
            step = _step_record(
                percent,
                windows[keys.DEPLOY_ROLE_STABLE],
                baseline,
                windows[keys.DEPLOY_ROLE_CANARY],
                checks,
                {"selectors": selectors},
            )
            trail["steps"].append(step)
            if not step["passed"]:
                passed = False
                reasons = [f"step {percent}%: {c.reason}" for c in checks if c.passed is False]
                break
    finally:
        client.close()
    if passed:
        reasons = _pass_reasons(trail)
    isvc = patches.read(api, namespace, name)
    after = (
        patches.promote(isvc, canary_name=canary_name)
        if passed
        else patches.rollback(isvc, canary_name=canary_name)
    )
    patches.apply(api, namespace, isvc, after)
    action = {
        "kind": "promote" if passed else "rollback",
        "mode": patches.deployment_mode(isvc),
        "patch": patches.merge_patch(patches._cleaned(isvc), after),
    }
    return passed, reasons, action


# --- entry ----------------------------------------------------------------------------------


def execute(
    deployment: ArtifactLike, splits: ArtifactLike | None, config: RolloutConfig, *, api: Any = None
) -> dict[str, Any]:
    """Run the rollout and return the decision trail (nothing written here)."""
    started = time.perf_counter()
    record = read_record(deployment)
    target = record.get(keys.DEPLOY_TARGET)
    strategy = record.get(keys.DEPLOY_STRATEGY)
    trail: dict[str, Any] = {
        "trail_format": TRAIL_FORMAT,
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "target": target,
        "strategy": strategy,
        "mode": record.get(keys.DEPLOY_MODE),
        "namespace": record.get(keys.DEPLOY_NAMESPACE),
        "name": record.get(keys.DEPLOY_NAME),
        "config": config.to_dict(),
        "sides": {
            s.get(keys.DEPLOY_SIDE_ROLE): {
                k: s.get(k)
                for k in (
                    keys.DEPLOY_SIDE_BUNDLE_URI,
                    keys.DEPLOY_SIDE_URL,
                    keys.DEPLOY_SIDE_PID,
                    keys.DEPLOY_SIDE_MODEL_NAME,
                )
            }
            for s in record.get(keys.DEPLOY_SIDES) or []
        },
        "steps": [],
    }
    decision, reasons, action, promoted = keys.DECISION_NONE, [], {"kind": "none"}, False
    if target == keys.DEPLOY_TARGET_RENDER:
        reasons = ["rendered; no rollout (target render: nothing is serving)"]
    elif strategy != keys.DEPLOY_STRATEGY_CANARY:
        reasons = [f"strategy {strategy!r}: no canary; no rollout"]
    elif target == keys.DEPLOY_TARGET_LOCAL:
        if splits is None:
            raise ConfigError(
                "rollout on target local: the splits input (test rows to replay) is required"
            )
        promoted, reasons = _local_rollout(record, splits, config, trail)
        action = _local_action(record, promoted, config)
        decision = keys.DECISION_PROMOTE if promoted else keys.DECISION_ROLLBACK
    elif target == keys.DEPLOY_TARGET_KUBERNETES:
        promoted, reasons, action = _kubernetes_rollout(
            record, config, trail, api if api is not None else kubernetes.custom_objects_api()
        )
        decision = keys.DECISION_PROMOTE if promoted else keys.DECISION_ROLLBACK
    else:
        raise DataError(
            expected_got("deployment record target", list(keys.DEPLOY_TARGETS), repr(target))
        )
    trail.update(
        decision=decision,
        promoted=promoted,
        reasons=reasons,
        action=action,
        seconds=round(time.perf_counter() - started, 3),
    )
    return trail


def run(
    *,
    deployment: ArtifactLike,
    splits: ArtifactLike | None,
    config: RolloutConfig,
    trail: ArtifactLike,
    report_md: ArtifactLike,
    metrics: MetricsLike,
    promoted_path: str,
    api: Any = None,
) -> dict[str, Any]:
    """Run the rollout and write the component's outputs (each atomically)."""
    result = execute(deployment, splits, config, api=api)
    write_text_atomic(trail.path, json.dumps(result, indent=2, default=_json_default))
    write_text_atomic(report_md.path, report.render(result))
    Path(promoted_path).parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(promoted_path, "true" if result["promoted"] else "false")
    metrics.log_metric(keys.METRIC_PROMOTED, float(result["promoted"]))
    metrics.log_metric(keys.METRIC_ROLLOUT_STEPS, float(sum(s["passed"] for s in result["steps"])))
    metrics.log_metric(keys.METRIC_ROLLOUT_SECONDS, float(result["seconds"]))
    for artifact, name in (
        (trail, "decision trail"),
        (report_md, "rollout report"),
        (metrics, "rollout metrics"),
    ):
        set_display_name(artifact, name)
        artifact.metadata[keys.META_DECISION] = result["decision"]
    return result


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def make_config(
    *,
    steps: list,
    window_requests: int,
    window_seconds: float,
    concurrency: int,
    request_timeout_s: float,
    seed: int,
    feedback_uri: str,
    stop_replaced: bool,
    max_error_rate_increase: float,
    max_latency_ratio: float,
    min_latency_delta_ms: float,
    max_psi: float,
    min_ks_p_value: float,
    alpha: float,
    power: float,
    min_detectable_effect: float,
    prometheus_url: str,
    prometheus_queries: dict,
    prometheus_selectors: dict,
    prometheus_token_file: str,
) -> RolloutConfig:
    """The component's flat parameters as a :class:`RolloutConfig`."""
    return RolloutConfig(
        steps=tuple(int(s) for s in steps),
        thresholds=Thresholds(
            max_error_rate_increase=max_error_rate_increase,
            max_latency_ratio=max_latency_ratio,
            min_latency_delta_ms=min_latency_delta_ms,
            max_psi=max_psi,
            min_ks_p_value=min_ks_p_value,
            alpha=alpha,
            power=power,
            min_detectable_effect=min_detectable_effect,
        ),
        window_requests=window_requests,
        window_seconds=window_seconds,
        concurrency=concurrency,
        request_timeout_s=request_timeout_s,
        seed=seed,
        feedback_uri=feedback_uri,
        stop_replaced=stop_replaced,
        prometheus_url=prometheus_url,
        prometheus_queries=dict(prometheus_queries),
        prometheus_selectors=dict(prometheus_selectors),
        prometheus_token_file=prometheus_token_file,
    )


def run_component(
    *,
    deployment: ArtifactLike,
    splits: ArtifactLike | None,
    trail: ArtifactLike,
    report_md: ArtifactLike,
    metrics: MetricsLike,
    promoted_path: str,
    **parameters: Any,
) -> dict[str, Any]:
    """The component's entry: flat parameters to :class:`RolloutConfig`, then :func:`run`."""
    return run(
        deployment=deployment,
        splits=splits,
        config=make_config(**parameters),
        trail=trail,
        report_md=report_md,
        metrics=metrics,
        promoted_path=promoted_path,
    )
