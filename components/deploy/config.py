"""The deploy step's parameters, checked once, each problem naming the parameter.

:func:`components.deploy.plan.plan` resolves them (the effective strategy, the bundle's URI,
the payload logger) into the :class:`~components.deploy.plan.DeployPlan` the manifests and the
local servers are built from.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from components._shared import keys
from components._shared.config import ComponentConfig, param
from components._shared.errors import expected_got

# Kubernetes resource quantities as the API server parses them (cpu "500m" / "1", memory "1Gi").
_QUANTITY = re.compile(r"^[0-9]+(\.[0-9]+)?(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$")
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
# KServe derives `{name}-{predictor}-predictor` (and `{name}-shadow-...`) from the name, and
# Knative adds the namespace to host labels; 40 characters leaves room within a 63-character
# DNS label for those suffixes.
MAX_NAME_LENGTH: Final = 40
LOGGER_MODES: Final = ("all", "request", "response")
# KServe's storage initializer (the code an InferenceService's init container runs: gs://, s3://,
# https://, ...), run by a SeldonDeployment as its own init container; Seldon Core v1 fetches a
# modelUri only for its prepackaged servers, never for a custom container such as this runtime.
SELDON_STORAGE_INITIALIZER: Final = "kserve/storage-initializer:v0.20.0"
# approval_timeout_s meaning "no approval step".
NO_APPROVAL: Final = -1.0


@dataclass(frozen=True)
class DeployConfig(ComponentConfig):
    """Where and how the blessed bundle is deployed."""

    component = "deploy"

    target: str = param(
        keys.DEPLOY_TARGET_RENDER,
        "Where to deploy: kubernetes (apply, wait until ready), render (write the manifests "
        "only) or local (serve on localhost).",
    )
    platform: str = param(
        keys.DEPLOY_PLATFORM_KSERVE,
        "Serving platform of the manifests: kserve (InferenceService) or seldon "
        "(SeldonDeployment, Seldon Core v1).",
    )
    strategy: str = param(
        keys.DEPLOY_STRATEGY_CANARY,
        "How the challenger meets traffic: direct, canary or shadow (direct when there is no "
        "champion).",
    )
    deployment_mode: str = param(
        keys.DEPLOY_MODE_KNATIVE, "KServe deployment mode: Knative or Standard."
    )
    namespace: str = param("kfp-tabular", "Namespace of the InferenceService(s).")
    inference_service_name: str = param(
        "kfp-tabular", "Name of the InferenceService (DNS label, at most 40 characters)."
    )
    canary_percent: int = param(10, "Traffic share of the canary, 1..99.")
    mirror_percent: float = param(
        100.0, "Share of the champion's requests mirrored to the shadow, (0, 100]."
    )
    service_account: str = param(
        "kfp-tabular-serving", "Service account of the predictor pods (gs:// credentials)."
    )
    storage_uri: str = param(
        "", "The bundle's URI for KServe's storage initializer; \"\" = the artifact's URI."
    )
    champion_storage_uri: str = param(
        "",
        'The champion bundle (the stable side of canary and shadow); "" for a first deployment.',
    )
    logger_mode: str = param("all", "What the payload logger sends: all, request or response.")
    logger_url: str = param("", 'CloudEvents sink of the payload logger ("" = no URL logger).')
    logger_storage_path: str = param("", 'Blob-storage path of the payload logger ("" = none).')
    logger_storage_key: str = param("", "Key of the storage secret of the payload logger.")
    logger_storage_parameters: dict = param(
        {}, "Storage parameters of the payload logger (string values)."
    )
    cpu: str = param("1", "CPU of each predictor (requests = limits).")
    memory: str = param("1Gi", "Memory of each predictor (requests = limits).")
    storage_initializer_image: str = param(
        SELDON_STORAGE_INITIALIZER,
        "Init container that fetches the bundle into /mnt/models (platform seldon).",
    )
    ready_timeout_s: float = param(
        600.0, "Seconds to wait for readiness (kubernetes; local waits at most 120)."
    )
    tracking_uri: str = param(
        "",
        'MLflow tracking URI; "" reads MLFLOW_TRACKING_URI (tracking is off when both are empty).',
    )
    registered_model_name: str = param(
        "",
        "MLflow registered model of the bundle (the gate registers it): a direct deploy that "
        'serves makes its version the champion; "": none.',
    )
    approval_timeout_s: float = param(
        NO_APPROVAL,
        "Seconds to wait for a person's approval of the bundle's registered version before "
        "deploying; -1 = no approval needed, 0 = refuse unless approved already.",
    )

    def problems(self) -> list[str]:
        """Every value out of its range, and the combinations KServe would refuse."""
        found = [
            _choice("target", self.target, keys.DEPLOY_TARGETS),
            _choice("platform", self.platform, keys.DEPLOY_PLATFORMS),
            _choice("strategy", self.strategy, keys.DEPLOY_STRATEGIES),
            _choice("deployment_mode", self.deployment_mode, keys.DEPLOY_MODES),
            _dns_label("namespace", self.namespace),
            _dns_label("inference_service_name", self.inference_service_name, MAX_NAME_LENGTH),
            _dns_label("service_account", self.service_account, 253),
            _quantity("cpu", self.cpu),
            _quantity("memory", self.memory),
            _choice("logger_mode", self.logger_mode, LOGGER_MODES),
            *self._number_problems(),
            self._storage_logger_problem(),
            self._shadow_logger_problem(),
            *self._seldon_problems(),
        ]
        return [problem for problem in found if problem]

    def _number_problems(self) -> list[str]:
        found = []
        if not 1 <= self.canary_percent <= 99:
            found.append(
                expected_got("canary_percent", "an integer in 1..99", repr(self.canary_percent))
            )
        if not 0 < self.mirror_percent <= 100:
            found.append(
                expected_got("mirror_percent", "a number in (0, 100]", repr(self.mirror_percent))
            )
        if self.ready_timeout_s <= 0:
            found.append(expected_got("ready_timeout_s", "seconds > 0", repr(self.ready_timeout_s)))
        if self.approval_timeout_s != NO_APPROVAL and self.approval_timeout_s < 0:
            found.append(
                expected_got(
                    "approval_timeout_s",
                    f"seconds >= 0, or {NO_APPROVAL:g} for no approval",
                    repr(self.approval_timeout_s),
                )
            )
        if self.approval_timeout_s >= 0 and not self.registered_model_name:
            found.append(
                "approval_timeout_s is set, so registered_model_name is required too: a person "
                "approves a version of a registered model (the gate registers the bundle)"
            )
        return found

    def _storage_logger_problem(self) -> str | None:
        """KServe's webhook rejects a storage logger without path, key and parameters."""
        parameters = {str(k): str(v) for k, v in self.logger_storage_parameters.items()}
        if self.logger_storage_path and not (self.logger_storage_key and parameters):
            return (
                "logger_storage_path is set, so logger_storage_key and "
                "logger_storage_parameters are required too (KServe rejects a storage logger "
                f"without path, key and parameters); got key={self.logger_storage_key!r}, "
                f"parameters={parameters!r}"
            )
        return None

    def _shadow_logger_problem(self) -> str | None:
        """A shadow on a cluster is judged from both sides' logs: it needs a payload logger."""
        shadow = self.strategy == keys.DEPLOY_STRATEGY_SHADOW and bool(self.champion_storage_uri)
        logged = bool(self.logger_url or self.logger_storage_path)
        if shadow and self.target != keys.DEPLOY_TARGET_LOCAL and not logged:
            return (
                "strategy shadow compares the two sides' logged responses, so it needs a "
                "payload logger: set logger_url (a CloudEvents sink) or logger_storage_path"
            )
        return None

    def _seldon_problems(self) -> list[str]:
        """What a SeldonDeployment cannot express: an integer traffic share, a URL logger."""
        if self.platform != keys.DEPLOY_PLATFORM_SELDON:
            return []
        found = []
        if (
            self.strategy == keys.DEPLOY_STRATEGY_SHADOW
            and not float(self.mirror_percent).is_integer()
        ):
            found.append(
                expected_got(
                    "mirror_percent",
                    "a whole percent with platform seldon (a predictor's traffic is an integer)",
                    repr(self.mirror_percent),
                )
            )
        if self.logger_storage_path:
            found.append(
                "logger_storage_path: Seldon Core's payload logger sends CloudEvents to a URL "
                "only; with platform seldon set logger_url instead"
            )
        if not self.storage_initializer_image.strip():
            found.append(expected_got("storage_initializer_image", "an image reference", repr("")))
        return found


def _choice(name: str, value: str, allowed: tuple[str, ...]) -> str | None:
    if value in allowed:
        return None
    return expected_got(name, f"one of {list(allowed)}", repr(value))


def _dns_label(name: str, value: str, max_length: int = 63) -> str | None:
    if _DNS_LABEL.match(value) and len(value) <= max_length:
        return None
    return expected_got(
        name,
        f"a DNS-1123 label (lower case letters, digits, '-'; at most {max_length} characters)",
        repr(value),
    )


def _quantity(name: str, value: str) -> str | None:
    if _QUANTITY.match(value):
        return None
    return expected_got(
        name, 'a Kubernetes quantity string such as "1", "500m" or "1Gi"', repr(value)
    )
