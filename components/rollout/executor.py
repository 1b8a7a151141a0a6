"""Closed-loop canary rollout: step traffic, analyse each window, promote or roll back, and do it.

``main`` is what the KFP component calls; ``run(inputs, outputs, config)`` reads deploy's
deployment record (:mod:`record`) and, for the local target, the test rows to replay;
``roll_out`` walks the steps and returns the decision trail (:mod:`trail`); ``write`` writes the
outputs, each atomically. By the record's target:

- ``local``: stable and canary are local ``python -m serving`` processes (:mod:`local`): each
  step replays test rows split between them and reads their ``/metrics`` before and after;
- ``kubernetes``: each step patches the InferenceService's canary traffic, waits the window and
  queries Prometheus (:mod:`cluster`);
- ``render`` (or a strategy without a canary): nothing to roll out; that is recorded and the step
  succeeds.

The checks of each step are :mod:`analysis`. The first failed check stops the rollout and rolls
back; all steps passing promotes. Everything is written to the decision trail (JSON) and its
Markdown rendering (:mod:`report`). With a registered model named and tracking on, a promotion
moves the registry's ``champion`` alias to the canary's version and a rollback is recorded on it
(:mod:`champion`).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from components._shared import keys
from components._shared.artifacts import (
    ArtifactLike,
    MetricsLike,
    set_display_name,
    write_text_atomic,
)
from components._shared.bundle import json_record
from components._shared.entry import sort_arguments
from components._shared.errors import ConfigError, DataError, DataReadError, expected_got
from components.rollout import champion, cluster, local, report, trail
from components.rollout.config import RolloutConfig
from components.rollout.record import read_record

__all__ = ["RolloutInputs", "RolloutOutputs", "main", "roll_out", "run", "write"]


@dataclass(frozen=True)
class RolloutInputs:
    """Deploy's deployment record, and featurize's split rows (the local target replays them)."""

    deployment: ArtifactLike
    splits: ArtifactLike | None = None


@dataclass(frozen=True)
class RolloutOutputs:
    """The decision trail, its Markdown, the metrics and the ``promoted`` flag's path."""

    trail: ArtifactLike
    report: ArtifactLike
    metrics: MetricsLike
    promoted: str


def main(arguments: dict[str, Any]) -> None:
    """The component's entry: its arguments sorted into inputs, outputs and config."""
    run(*sort_arguments(arguments, RolloutInputs, RolloutOutputs, RolloutConfig))


def run(
    inputs: RolloutInputs, outputs: RolloutOutputs, config: RolloutConfig, *, api: Any = None
) -> dict[str, Any]:
    """Run the rollout and write the component's outputs; the decision trail.

    ``api`` stands in for the kubernetes CustomObjectsApi (tests); by default the cluster's.

    Raises:
        ConfigError: a bad parameter, or an input the record's target needs is missing.
        DataError: an unreadable or malformed deployment record, splits or feedback table.
    """
    record = read_record(inputs.deployment.path)
    rows = None
    if inputs.splits is not None and _replays(record):
        rows = read_test_rows(inputs.splits)
    result = roll_out(record, config, rows=rows, api=api)
    result[keys.LINEAGE_REGISTRY] = champion.record_decision(record, result, config)
    write(result, outputs)
    return result


def roll_out(
    record: dict[str, Any],
    config: RolloutConfig,
    *,
    rows: list[dict[str, Any]] | None = None,
    api: Any = None,
) -> dict[str, Any]:
    """Roll out what ``record`` deployed and return the decision trail (nothing written here).

    ``rows`` are the test rows the local target replays; ``api`` the kubernetes API (a double in
    tests), by default the cluster's.
    """
    started = time.perf_counter()
    result = trail.start(record, config)
    target = record.get(keys.DEPLOY_TARGET)
    strategy = record.get(keys.DEPLOY_STRATEGY)
    decision, reasons, action, promoted = keys.DECISION_NONE, [], {"kind": "none"}, False
    if target == keys.DEPLOY_TARGET_RENDER:
        reasons = ["rendered; no rollout (target render: nothing is serving)"]
    elif strategy != keys.DEPLOY_STRATEGY_CANARY:
        reasons = [f"strategy {strategy!r}: no canary; no rollout"]
    elif target == keys.DEPLOY_TARGET_LOCAL:
        if rows is None:
            raise ConfigError(
                "rollout on target local: the splits input (test rows to replay) is required"
            )
        promoted, reasons = local.roll_out(record, rows, config, result)
        action = local.act(record, promoted, config)
        decision = keys.DECISION_PROMOTE if promoted else keys.DECISION_ROLLBACK
    elif target == keys.DEPLOY_TARGET_KUBERNETES:
        promoted, reasons, action = cluster.roll_out(record, config, result, api=api)
        decision = keys.DECISION_PROMOTE if promoted else keys.DECISION_ROLLBACK
    else:
        raise DataError(
            expected_got("deployment record target", list(keys.DEPLOY_TARGETS), repr(target))
        )
    result.update(
        decision=decision,
        promoted=promoted,
        reasons=reasons,
        action=action,
        seconds=round(time.perf_counter() - started, 3),
    )
    return result


def write(result: dict[str, Any], outputs: RolloutOutputs) -> None:
    """Write the trail, its Markdown, the ``promoted`` flag and the metrics (each atomically)."""
    write_text_atomic(outputs.trail.path, json.dumps(result, indent=2, default=_json_default))
    write_text_atomic(outputs.report.path, report.render(result))
    Path(outputs.promoted).parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(outputs.promoted, "true" if result["promoted"] else "false")
    metrics = outputs.metrics
    metrics.log_metric(keys.METRIC_PROMOTED, float(result["promoted"]))
    metrics.log_metric(keys.METRIC_ROLLOUT_STEPS, float(sum(s["passed"] for s in result["steps"])))
    metrics.log_metric(keys.METRIC_ROLLOUT_SECONDS, float(result["seconds"]))
    for artifact, name in (
        (outputs.trail, "decision trail"),
        (outputs.report, "rollout report"),
        (metrics, "rollout metrics"),
    ):
        set_display_name(artifact, name)
        artifact.metadata[keys.META_DECISION] = result["decision"]


def read_test_rows(splits: ArtifactLike) -> list[dict[str, Any]]:
    """The test split's rows as JSON-ready records (the local target replays them)."""
    path = Path(splits.path) / keys.split_file(keys.TEST)
    try:
        frame = pd.read_parquet(path)
    except (OSError, ValueError) as exc:
        raise DataReadError(f"test split {str(path)!r}: {exc}") from None
    return [json_record({str(k): v for k, v in r.items()}) for r in frame.to_dict("records")]


def _replays(record: dict[str, Any]) -> bool:
    """Whether the record's rollout replays test rows (a canary on the local target)."""
    return (
        record.get(keys.DEPLOY_TARGET) == keys.DEPLOY_TARGET_LOCAL
        and record.get(keys.DEPLOY_STRATEGY) == keys.DEPLOY_STRATEGY_CANARY
    )


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")
