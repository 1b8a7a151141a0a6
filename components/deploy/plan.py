"""What a deployment does, resolved from the config: the effective strategy, the bundle's URI,
the payload logger, and notes that say why a request was resolved the way it was.

A canary or shadow needs a champion (the stable side). With none (the first deployment) the
strategy becomes ``direct`` and a note says so: KServe itself gives the latest revision 100% on a
first Knative deploy, so nothing else would be meaningful.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from components._shared import keys
from components._shared.errors import ConfigError
from components.deploy.config import DeployConfig


@dataclass(frozen=True)
class PayloadLogger:
    """KServe payload logger: a CloudEvents sink URL and/or blob storage, and what to log."""

    mode: str = "all"
    url: str = ""
    storage_path: str = ""
    storage_key: str = ""
    storage_parameters: dict[str, str] = field(default_factory=dict)

    @property
    def configured(self) -> bool:
        """Whether any sink is configured (url or storage)."""
        return bool(self.url or self.storage_path)

    def to_manifest(self) -> dict[str, Any]:
        """The ``logger`` field of a predictor (KSERVE_FACTS section 5: mode is always set)."""
        out: dict[str, Any] = {"mode": self.mode}
        if self.url:
            out["url"] = self.url
        if self.storage_path:
            out["storage"] = {
                "path": self.storage_path,
                "key": self.storage_key,
                "parameters": dict(self.storage_parameters),
            }
        return out


@dataclass(frozen=True)
class DeployPlan:
    """Everything the manifests and the local servers are built from.

    ``config`` holds the parameters as given; the other fields are what they resolve to.
    """

    config: DeployConfig
    strategy: str  # the effective strategy: direct when a canary or shadow has no champion
    storage_uri: str  # the challenger bundle's URI for KServe's storage initializer
    logger: PayloadLogger
    notes: tuple[str, ...] = ()
    manifest_sha256: str = ""  # the challenger's manifest.json digest, handed to the runtime

    @property
    def name(self) -> str:
        """The InferenceService's name (the champion's, and the canary's)."""
        return self.config.inference_service_name

    @property
    def shadow_name(self) -> str:
        """The challenger's own InferenceService in shadow mode."""
        return f"{self.name}-shadow"


def plan(config: DeployConfig, *, bundle_uri: str, manifest_sha256: str = "") -> DeployPlan:
    """Resolve the config: the bundle's URI (``bundle_uri`` unless ``storage_uri`` is given),
    the payload logger, and the effective strategy.

    Raises:
        ConfigError: there is no URI for the bundle.
    """
    storage_uri = config.storage_uri or bundle_uri
    if not storage_uri:
        raise ConfigError("deploy: storage_uri: expected the bundle's URI, got an empty string")
    logger = PayloadLogger(
        config.logger_mode,
        config.logger_url,
        config.logger_storage_path,
        config.logger_storage_key,
        {str(k): str(v) for k, v in config.logger_storage_parameters.items()},
    )
    notes: list[str] = []
    strategy = config.strategy
    if strategy != keys.DEPLOY_STRATEGY_DIRECT and not config.champion_storage_uri:
        strategy = keys.DEPLOY_STRATEGY_DIRECT
        notes.append(
            f"strategy {config.strategy} needs a champion (champion_storage_uri) as the stable "
            "side; none given (first deployment), so the challenger is deployed direct"
        )
    return DeployPlan(config, strategy, storage_uri, logger, tuple(notes), manifest_sha256)
