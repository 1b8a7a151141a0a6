"""The deploy step's parameters, checked once, each error naming the parameter."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Final

from components._shared import keys
from components._shared.errors import ConfigError, expected_got

# Kubernetes resource quantities as the API server parses them (cpu "500m" / "1", memory "1Gi").
_QUANTITY = re.compile(r"^[0-9]+(\.[0-9]+)?(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$")
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
# KServe derives `{name}-{predictor}-predictor` (and `{name}-shadow-...`) from the name, and
# Knative adds the namespace to host labels; 40 characters leaves room within a 63-character
# DNS label for those suffixes.
MAX_NAME_LENGTH: Final = 40
LOGGER_MODES: Final = ("all", "request", "response")
DEFAULT_SERVICE_ACCOUNT: Final = "kfp-tabular-serving"


def _choice(name: str, value: str, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise ConfigError(expected_got(f"deploy: {name}", f"one of {list(allowed)}", repr(value)))
    return value


def _dns_label(name: str, value: str, max_length: int = 63) -> str:
    if not _DNS_LABEL.match(value) or len(value) > max_length:
        raise ConfigError(
            expected_got(
                f"deploy: {name}",
                f"a DNS-1123 label (lower case letters, digits, '-'; at most {max_length} "
                "characters)",
                repr(value),
            )
        )
    return value


def _quantity(name: str, value: str) -> str:
    if not isinstance(value, str) or not _QUANTITY.match(value):
        raise ConfigError(
            expected_got(
                f"deploy: {name}",
                'a Kubernetes quantity string such as "1", "500m" or "1Gi"',
                repr(value),
            )
        )
    return value


@dataclass(frozen=True)
class LoggerSpec:
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
class DeploySpec:
    """Everything the manifests and the local servers are built from."""

    target: str
    strategy: str
    requested_strategy: str
    mode: str
    namespace: str
    name: str
    storage_uri: str
    champion_storage_uri: str
    canary_percent: int
    mirror_percent: float
    service_account: str
    cpu: str
    memory: str
    logger: LoggerSpec
    ready_timeout_s: float
    notes: tuple[str, ...] = ()

    @property
    def shadow_name(self) -> str:
        """The challenger's own InferenceService in shadow mode."""
        return f"{self.name}-shadow"


def build_spec(
    *,
    target: str,
    strategy: str,
    deployment_mode: str,
    namespace: str,
    name: str,
    storage_uri: str,
    champion_storage_uri: str,
    canary_percent: int,
    mirror_percent: float,
    service_account: str,
    cpu: str,
    memory: str,
    logger_mode: str,
    logger_url: str,
    logger_storage_path: str,
    logger_storage_key: str,
    logger_storage_parameters: dict[str, Any] | None,
    ready_timeout_s: float,
) -> DeploySpec:
    """Check every parameter and resolve the effective strategy.

    A canary or shadow needs a champion (the stable side). With none (the first deployment)
    the strategy becomes ``direct`` and a note says so: KServe itself gives the latest revision
    100% on a first Knative deploy, so nothing else would be meaningful.

    Raises:
        ConfigError: naming the parameter, what was expected and what came in.
    """
    _choice("target", target, keys.DEPLOY_TARGETS)
    _choice("strategy", strategy, keys.DEPLOY_STRATEGIES)
    _choice("deployment_mode", deployment_mode, keys.DEPLOY_MODES)
    _dns_label("namespace", namespace)
    _dns_label("inference_service_name", name, MAX_NAME_LENGTH)
    _dns_label("service_account", service_account, 253)
    _quantity("cpu", cpu)
    _quantity("memory", memory)
    _choice("logger_mode", logger_mode, LOGGER_MODES)
    if not storage_uri:
        raise ConfigError("deploy: storage_uri: expected the bundle's URI, got an empty string")
    if (
        isinstance(canary_percent, bool)
        or not isinstance(canary_percent, int)
        or not 1 <= canary_percent <= 99
    ):
        raise ConfigError(
            expected_got("deploy: canary_percent", "an integer in 1..99", repr(canary_percent))
        )
    if not 0 < float(mirror_percent) <= 100:
        raise ConfigError(
            expected_got("deploy: mirror_percent", "a number in (0, 100]", repr(mirror_percent))
        )
    if ready_timeout_s <= 0:
        raise ConfigError(
            expected_got("deploy: ready_timeout_s", "seconds > 0", repr(ready_timeout_s))
        )
    parameters = {str(k): str(v) for k, v in (logger_storage_parameters or {}).items()}
    if logger_storage_path and not (logger_storage_key and parameters):
        # KServe's webhook rejects a storage logger without all three (KSERVE_FACTS section 5).
        raise ConfigError(
            "deploy: logger_storage_path is set, so logger_storage_key and "
            "logger_storage_parameters are required too (KServe rejects a storage logger without "
            f"path, key and parameters); got key={logger_storage_key!r}, parameters={parameters!r}"
        )
    logger = LoggerSpec(
        logger_mode, logger_url, logger_storage_path, logger_storage_key, parameters
    )
    notes: list[str] = []
    effective = strategy
    if strategy != keys.DEPLOY_STRATEGY_DIRECT and not champion_storage_uri:
        effective = keys.DEPLOY_STRATEGY_DIRECT
        notes.append(
            f"strategy {strategy} needs a champion (champion_storage_uri) as the stable side; "
            "none given (first deployment), so the challenger is deployed direct"
        )
    if (
        effective == keys.DEPLOY_STRATEGY_SHADOW
        and target != keys.DEPLOY_TARGET_LOCAL
        and not logger.configured
    ):
        raise ConfigError(
            "deploy: strategy shadow compares the two sides' logged responses, so it needs a "
            "payload logger: set logger_url (a CloudEvents sink) or logger_storage_path"
        )
    return DeploySpec(
        target=target,
        strategy=effective,
        requested_strategy=strategy,
        mode=deployment_mode,
        namespace=namespace,
        name=name,
        storage_uri=storage_uri,
        champion_storage_uri=champion_storage_uri,
        canary_percent=int(canary_percent),
        mirror_percent=float(mirror_percent),
        service_account=service_account,
        cpu=cpu,
        memory=memory,
        logger=logger,
        ready_timeout_s=float(ready_timeout_s),
        notes=tuple(notes),
    )
