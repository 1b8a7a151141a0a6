"""The rollout's decision in the model registry: a promotion moves ``champion``, a rollback stays.

Only a rollout that really served (a canary on target local or kubernetes, decided promote or
roll back) touches the registry; a rendered deploy or a strategy without a canary decides
nothing. The canary's registered version is found by its bundle's manifest sha256 (the deployment
record's ``manifest_sha256``, as the gate tagged the version). The registry keeps the event in the
version's audit trail; the decision trail's ``registry`` entry says what was recorded.
"""

from __future__ import annotations

from typing import Any

from components._shared import keys, registry
from components.rollout.config import RolloutConfig

WHO = "kfp-tabular rollout"
# A version tag's value is bounded (tracking.MAX_TAG_VALUE); reasons are cut to this.
MAX_REASON = 1000


def record_decision(
    record: dict[str, Any], result: dict[str, Any], config: RolloutConfig
) -> dict[str, Any] | None:
    """Record a promote or roll-back decision in the registry; what was recorded, or None."""
    decision = result.get("decision")
    if decision not in (keys.DECISION_PROMOTE, keys.DECISION_ROLLBACK):
        return None
    if not registry.enabled(config.tracking_uri, config.registered_model_name):
        return None
    sha256 = str(record.get(keys.DEPLOY_MANIFEST_SHA256) or "")
    reason = "; ".join(str(r) for r in result.get("reasons") or [])[:MAX_REASON]
    name = config.registered_model_name
    if decision == keys.DECISION_PROMOTE:
        was = registry.record_promotion(config.tracking_uri, name, sha256, who=WHO, reason=reason)
        return {"model": name, "event": registry.EVENT_PROMOTED, "previous_champion_version": was}
    registry.record_rollback(config.tracking_uri, name, sha256, who=WHO, reason=reason)
    return {"model": name, "event": registry.EVENT_ROLLED_BACK}
