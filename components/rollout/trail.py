"""The decision trail: its header, one record per step, and the reasons of the decision.

The trail is the rollout's result and its main output (JSON); :mod:`report` renders it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any, Final

from components._shared import keys
from components.rollout.analysis import Bounds, Check, SideWindow
from components.rollout.config import RolloutConfig

TRAIL_FORMAT: Final = "kfp-tabular-rollout/1"
SIDE_FIELDS: Final = (
    keys.DEPLOY_SIDE_BUNDLE_URI,
    keys.DEPLOY_SIDE_URL,
    keys.DEPLOY_SIDE_PID,
    keys.DEPLOY_SIDE_MODEL_NAME,
)


def start(record: dict[str, Any], config: RolloutConfig) -> dict[str, Any]:
    """A new trail: what is rolled out, where, with which config; no step yet."""
    return {
        "trail_format": TRAIL_FORMAT,
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "target": record.get(keys.DEPLOY_TARGET),
        "strategy": record.get(keys.DEPLOY_STRATEGY),
        "mode": record.get(keys.DEPLOY_MODE),
        "namespace": record.get(keys.DEPLOY_NAMESPACE),
        "name": record.get(keys.DEPLOY_NAME),
        "config": config_record(config),
        "sides": {
            s.get(keys.DEPLOY_SIDE_ROLE): {k: s.get(k) for k in SIDE_FIELDS}
            for s in record.get(keys.DEPLOY_SIDES) or []
        },
        "steps": [],
    }


def config_record(config: RolloutConfig) -> dict[str, Any]:
    """The config as the trail records it: the plain parameters, the checks' bounds nested."""
    bounds = Bounds.of(config).to_dict()
    out = {k: v for k, v in config.to_dict().items() if k not in bounds}
    out["steps"] = config.percents
    out["thresholds"] = bounds
    return out


def step_record(
    percent: int,
    stable: SideWindow,
    baseline: SideWindow,
    canary: SideWindow,
    checks: list[Check],
    extra: dict[str, Any],
) -> dict[str, Any]:
    """One step: both sides' windows, stable's baseline, every check and whether all passed."""
    return {
        "percent": percent,
        **extra,
        "stable": stable.summary(),
        "stable_baseline": baseline.summary(),
        "canary": canary.summary(),
        "checks": [c.to_dict() for c in checks],
        "passed": all(c.passed is not False for c in checks),
    }


def walk(
    percents: Iterable[int], step: Callable[[int], dict[str, Any]], trail: dict[str, Any]
) -> tuple[bool, list[str]]:
    """Run ``step`` at each percent, recording each; the first failed step stops the walk.

    Returns whether every step passed and the reasons: the failed step's failed checks, or
    every check's sentence when all passed.
    """
    for percent in percents:
        record = step(percent)
        trail["steps"].append(record)
        if not record["passed"]:
            failed = [c["reason"] for c in record["checks"] if c["passed"] is False]
            return False, [f"step {percent}%: {reason}" for reason in failed]
    return True, [
        f"step {s['percent']}%: {c['reason']}" for s in trail["steps"] for c in s["checks"]
    ]
