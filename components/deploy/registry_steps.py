"""The model registry's part of a deploy: an approval before anything acts, the champion after.

With a registered model named (``registered_model_name``) and tracking on, deploy finds the
registered version of the bundle it was handed by the manifest sha256 the gate tagged it with:

- ``approval_timeout_s`` >= 0: before anything is rendered, applied or started, deploy waits that
  long for the tag ``approval=approved`` a person sets on the version (``kfp-tabular approve`` or
  the MLflow UI), and refuses on ``rejected`` or on none in time (``ApprovalError`` naming the
  model, the version and what to do);
- a direct deploy that really serves (target kubernetes or local; render serves nothing) moves the
  alias ``champion`` to that version. A canary's champion moves when rollout promotes it; a
  shadow never replaces the champion.

What happened is the deployment record's ``registry`` entry, the lineage's deploy part beside
``deployed_revision``; each event is also in the version's audit trail in the registry.
"""

from __future__ import annotations

from typing import Any

from components._shared import keys, registry
from components._shared.errors import ConfigError
from components.deploy.config import NO_APPROVAL, DeployConfig

WHO = "kfp-tabular deploy"


def check_registered(config: DeployConfig, manifest_sha256: str) -> str | None:
    """The bundle's registered version, before anything acts; None when the registry is off.

    Raises:
        ConfigError: approval is required but tracking is off, or the bundle is not registered.
    """
    on = registry.enabled(config.tracking_uri, config.registered_model_name)
    if config.approval_timeout_s != NO_APPROVAL and not on:
        raise ConfigError(
            f"approval_timeout_s={config.approval_timeout_s:g} requires the model registry, but "
            "no tracking URI is configured (tracking_uri or MLFLOW_TRACKING_URI): refusing to "
            "deploy without the approval step"
        )
    if not on:
        return None
    found = registry.version_of(config.tracking_uri, config.registered_model_name, manifest_sha256)
    return None if found is None else found[1]


def approve(config: DeployConfig, manifest_sha256: str) -> dict[str, Any] | None:
    """Wait for (or refuse without) the version's approval; the audit entry, None when off.

    Raises:
        ApprovalError: the version was rejected, or no approval came within the timeout.
    """
    if config.approval_timeout_s == NO_APPROVAL:
        return None
    entry = registry.approve_deploy(
        config.tracking_uri,
        config.registered_model_name,
        manifest_sha256,
        timeout_s=config.approval_timeout_s,
        who=WHO,
    )
    return None if entry is None else entry.to_dict()


def promote_if_serving(
    config: DeployConfig, strategy: str, manifest_sha256: str
) -> dict[str, Any] | None:
    """A direct deploy that serves makes the version the champion; what was recorded, or None."""
    serving = config.target != keys.DEPLOY_TARGET_RENDER
    if strategy != keys.DEPLOY_STRATEGY_DIRECT or not serving:
        return None
    if not registry.enabled(config.tracking_uri, config.registered_model_name):
        return None
    was = registry.record_promotion(
        config.tracking_uri,
        config.registered_model_name,
        manifest_sha256,
        who=WHO,
        reason=f"direct deploy on target {config.target}",
    )
    return {"event": registry.EVENT_PROMOTED, "previous_champion_version": was}


def record_entry(
    config: DeployConfig,
    version: str | None,
    approval: dict[str, Any] | None,
    promotion: dict[str, Any] | None,
) -> dict[str, Any] | None:
    """The deployment record's ``registry`` entry; None when no registered model is in use."""
    if version is None:
        return None
    return {
        "model": config.registered_model_name,
        "version": version,
        "approval": approval,
        "promotion": promotion,
    }
