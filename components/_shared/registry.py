"""The model registry in MLflow: blessed bundles as versions, the champion alias, approvals, audit.

- The gate registers a blessed bundle as a new version of the registered model, tagged with the
  bundle's manifest sha256, the gate decision, the lineage record URI and the bundle URI serving
  reads, and gives it the alias ``challenger``.
- A promotion (rollout promotes, or a first deploy with nothing to roll out against) moves the
  alias ``champion`` to that version; a rollback leaves ``champion`` where it was and records
  itself. ``models:/<name>@champion`` then resolves to the champion's bundle URI, so the next
  pipeline run compares against what is live without anyone typing it.
- Approval: a person sets the tag ``approval`` (``approved`` or ``rejected``) on a version, in the
  MLflow UI or with :meth:`Registry.approve`; deploy waits for it (or refuses without it).
- The audit trail: every event (registered, approved, rejected, deploy allowed, promoted, rolled
  back) is a version tag ``audit.<UTC time>.<event>`` whose value is JSON (who, when, version,
  event, decision, detail), read back in time order by :meth:`Registry.audit_trail`.

Nothing here imports MLflow at module import; :func:`open_registry` returns None when no
tracking URI is configured.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from components._shared.errors import ConfigError, KfpTabularError, expected_got

if TYPE_CHECKING:
    from mlflow.entities.model_registry import ModelVersion
    from mlflow.tracking import MlflowClient

ALIAS_CHAMPION = "champion"
ALIAS_CHALLENGER = "challenger"

TAG_BUNDLE_SHA256 = "bundle_sha256"
TAG_GATE_DECISION = "gate_decision"
TAG_LINEAGE_URI = "lineage_uri"
TAG_BUNDLE_URI = "bundle_uri"
TAG_KFP_RUN_ID = "kfp.run_id"
TAG_APPROVAL = "approval"
TAG_APPROVAL_BY = "approval_by"
TAG_ROLLOUT = "rollout"
AUDIT_PREFIX = "audit."

APPROVED = "approved"
REJECTED = "rejected"
APPROVAL_DECISIONS = (APPROVED, REJECTED)

EVENT_REGISTERED = "registered"
EVENT_DEPLOY_ALLOWED = "deploy_allowed"
EVENT_PROMOTED = "promoted"
EVENT_ROLLED_BACK = "rolled_back"

MODELS_SCHEME = "models:/"
DEFAULT_WHO = "kfp-tabular"


class ApprovalError(KfpTabularError):
    """A deploy found no approval (within its wait) or a rejection on the model version."""


@dataclass(frozen=True)
class ModelVersionRef:
    """One registered model version and the bundle URI serving reads."""

    name: str
    version: str
    bundle_uri: str


@dataclass(frozen=True)
class AuditEntry:
    """One event in a model version's history."""

    when: str  # ISO 8601, UTC
    who: str
    version: str
    event: str
    decision: str = ""
    detail: str = ""

    def to_dict(self) -> dict[str, str]:
        """The entry as a JSON-ready dict (the tag's value)."""
        return asdict(self)


def who_default() -> str:
    """Who acts when nobody is named: ``$USER`` or "kfp-tabular"."""
    return os.environ.get("USER") or DEFAULT_WHO


def open_registry(configured_uri: str = "") -> Registry | None:
    """A :class:`Registry` when a tracking URI is configured (parameter or environment), else None."""
    from components._shared import tracking

    uri = tracking.tracking_uri(configured_uri)
    return Registry(tracking.client(uri)) if uri else None


def parse_models_uri(uri: str) -> tuple[str, str, str]:
    """``models:/<name>@<alias>`` or ``models:/<name>/<version>`` as (name, alias, version)."""
    rest = uri[len(MODELS_SCHEME) :] if uri.startswith(MODELS_SCHEME) else ""
    if "@" in rest:
        name, alias = rest.rsplit("@", 1)
        if name and alias and "/" not in name:
            return name, alias, ""
    elif rest.count("/") == 1:
        name, version = rest.split("/")
        if name and version.isdigit():
            return name, "", version
    raise ConfigError(
        expected_got("model URI", "models:/<name>@<alias> or models:/<name>/<version>", repr(uri))
    )


@dataclass
class Registry:
    """The registered models of one MLflow server."""

    client: MlflowClient

    # --- versions and aliases -------------------------------------------------------------------
    def register_bundle(
        self,
        name: str,
        *,
        source: str,
        run_id: str,
        bundle_uri: str,
        bundle_sha256: str,
        decision: str,
        lineage_uri: str,
        kfp_run_id: str,
        who: str,
    ) -> ModelVersionRef:
        """A new version of ``name`` (created if new) from ``source``, alias ``challenger``."""
        self._ensure_model(name)
        tags = {
            TAG_BUNDLE_URI: bundle_uri,
            TAG_BUNDLE_SHA256: bundle_sha256,
            TAG_GATE_DECISION: decision,
            TAG_LINEAGE_URI: lineage_uri,
            TAG_KFP_RUN_ID: kfp_run_id,
        }
        created = self.client.create_model_version(
            name, source, run_id=run_id, tags={k: v for k, v in tags.items() if v}
        )
        version = str(created.version)
        self.client.set_registered_model_alias(name, ALIAS_CHALLENGER, version)
        self._audit(name, version, EVENT_REGISTERED, who, decision, f"bundle {bundle_uri}")
        return ModelVersionRef(name, version, bundle_uri)

    def _ensure_model(self, name: str) -> None:
        from mlflow.exceptions import MlflowException

        try:
            self.client.create_registered_model(name)
        except MlflowException as exc:
            if exc.error_code != "RESOURCE_ALREADY_EXISTS":
                raise

    def version_by_alias(self, name: str, alias: str) -> ModelVersion | None:
        """The version ``alias`` points at; None when the model or the alias does not exist."""
        from mlflow.exceptions import MlflowException

        try:
            return self.client.get_model_version_by_alias(name, alias)
        except MlflowException as exc:
            if exc.error_code in ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE"):
                return None
            raise

    def champion(self, name: str) -> ModelVersionRef | None:
        """The version with the alias ``champion``, or None."""
        found = self.version_by_alias(name, ALIAS_CHAMPION)
        return None if found is None else _ref(found)

    def resolve(self, uri: str) -> str:
        """The bundle URI of a ``models:/`` URI; any other URI unchanged.

        Raises:
            ConfigError: a ``models:/`` URI whose model, alias or version does not exist.
        """
        if not uri.startswith(MODELS_SCHEME):
            return uri
        name, alias, version = parse_models_uri(uri)
        found = (
            self.version_by_alias(name, alias)
            if alias
            else self.client.get_model_version(name, version)
        )
        if found is None:
            raise ConfigError(
                f"{uri}: registered model {name!r} has no version with alias {alias!r}"
            )
        return _ref(found).bundle_uri

    def promote(self, name: str, version: str, *, who: str, reason: str = "") -> str | None:
        """Move ``champion`` to ``version``; the version it left (None if there was none)."""
        previous = self.version_by_alias(name, ALIAS_CHAMPION)
        self.client.set_registered_model_alias(name, ALIAS_CHAMPION, str(version))
        self.client.set_model_version_tag(name, str(version), TAG_ROLLOUT, EVENT_PROMOTED)
        was = None if previous is None else str(previous.version)
        detail = f"champion was version {was}" if was else "first champion"
        self._audit(name, str(version), EVENT_PROMOTED, who, EVENT_PROMOTED, _join(detail, reason))
        return was

    def record_rollback(self, name: str, version: str, *, who: str, reason: str = "") -> None:
        """Record that ``version`` was rolled back; ``champion`` stays where it is."""
        self.client.set_model_version_tag(name, str(version), TAG_ROLLOUT, EVENT_ROLLED_BACK)
        self._audit(name, str(version), EVENT_ROLLED_BACK, who, EVENT_ROLLED_BACK, reason)

    def version_for_bundle(self, name: str, bundle_sha256: str) -> str | None:
        """The newest version of ``name`` registered for the bundle with ``bundle_sha256``."""
        versions = [
            int(found.version)
            for found in self.client.search_model_versions(f"name = '{name}'")
            if dict(found.tags or {}).get(TAG_BUNDLE_SHA256) == bundle_sha256
        ]
        return str(max(versions)) if versions else None

    # --- approval -------------------------------------------------------------------------------
    def approve(
        self, name: str, version: str, *, who: str, decision: str = APPROVED, note: str = ""
    ) -> None:
        """Set the approval tag (``approved`` or ``rejected``) on a version, with who and why."""
        if decision not in APPROVAL_DECISIONS:
            raise ConfigError(expected_got("approval decision", APPROVAL_DECISIONS, repr(decision)))
        # The audit entry first: a deploy polling for the tag must never record its own entry
        # before the approval it acts on (the trail is ordered by time).
        self._audit(name, str(version), decision, who, decision, note)
        self.client.set_model_version_tag(name, str(version), TAG_APPROVAL_BY, who)
        self.client.set_model_version_tag(name, str(version), TAG_APPROVAL, decision)

    def await_approval(
        self,
        name: str,
        version: str,
        *,
        timeout_s: float,
        poll_s: float = 5.0,
        who: str = DEFAULT_WHO,
        sleep: Callable[[float], None] = time.sleep,
    ) -> AuditEntry:
        """Wait up to ``timeout_s`` (0: do not wait) for the version's approval tag.

        Returns the audit entry recorded for the allowed deploy (who approved, as the tag
        ``approval_by`` names them, or "unknown" when the tag was set by hand without it).

        Raises:
            ApprovalError: the version was rejected, or no approval came within ``timeout_s``.
        """
        deadline = time.monotonic() + max(0.0, timeout_s)
        while True:
            tags = dict(self.client.get_model_version(name, str(version)).tags)
            decision = tags.get(TAG_APPROVAL, "")
            approver = tags.get(TAG_APPROVAL_BY, "unknown")
            if decision == REJECTED:
                raise ApprovalError(
                    f"model {name!r} version {version}: rejected by {approver}; not deploying"
                )
            if decision == APPROVED:
                detail = f"approved by {approver}"
                return self._audit(name, str(version), EVENT_DEPLOY_ALLOWED, who, APPROVED, detail)
            if time.monotonic() >= deadline:
                raise ApprovalError(
                    f"model {name!r} version {version}: no approval within {timeout_s:g} s; "
                    f"set the tag {TAG_APPROVAL}={APPROVED} on the version (MLflow UI, "
                    f"or Registry.approve) and run again"
                )
            sleep(min(poll_s, max(0.0, deadline - time.monotonic())))

    # --- audit trail ----------------------------------------------------------------------------
    def _audit(
        self, name: str, version: str, event: str, who: str, decision: str = "", detail: str = ""
    ) -> AuditEntry:
        now = datetime.now(UTC)
        entry = AuditEntry(
            now.isoformat(timespec="microseconds"), who, version, event, decision, detail
        )
        key = f"{AUDIT_PREFIX}{now.strftime('%Y%m%dT%H%M%S.%fZ')}.{event}"
        self.client.set_model_version_tag(name, version, key, json.dumps(entry.to_dict()))
        return entry

    def audit_trail(self, name: str, version: str | None = None) -> list[AuditEntry]:
        """Every audit entry of ``version`` (or of every version of ``name``), oldest first."""
        if version is not None:
            versions = [self.client.get_model_version(name, str(version))]
        else:
            versions = list(self.client.search_model_versions(f"name = '{name}'"))
        entries = [
            AuditEntry(**json.loads(value))
            for found in versions
            for key, value in dict(found.tags).items()
            if key.startswith(AUDIT_PREFIX)
        ]
        return sorted(entries, key=lambda entry: (entry.when, entry.event))


def _ref(found: ModelVersion) -> ModelVersionRef:
    tags = dict(found.tags or {})
    return ModelVersionRef(
        str(found.name), str(found.version), tags.get(TAG_BUNDLE_URI) or str(found.source or "")
    )


def _join(*parts: str) -> str:
    return "; ".join(p for p in parts if p)


def resolve_champion_uri(
    champion_uri: str, registered_model_name: str, configured_uri: str = ""
) -> str:
    """The champion bundle URI a run should compare against.

    ``champion_uri`` as given when it is a plain URI; resolved through the registry when it is a
    ``models:/`` URI; when it is "", the registry's ``champion`` of ``registered_model_name``
    (or "" when tracking is off, no name is given, or there is no champion yet).
    """
    if champion_uri and not champion_uri.startswith(MODELS_SCHEME):
        return champion_uri
    found = open_registry(configured_uri)
    if champion_uri:
        if found is None:
            raise ConfigError(
                f"champion_uri {champion_uri!r} names the model registry, but no tracking URI "
                "is configured (tracking_uri or MLFLOW_TRACKING_URI)"
            )
        return found.resolve(champion_uri)
    if found is None or not registered_model_name:
        return ""
    champion = found.champion(registered_model_name)
    return "" if champion is None else champion.bundle_uri


# --- the hooks deploy and rollout call: one line each, no-ops when tracking is off -------------------
def enabled(configured_uri: str, model_name: str) -> bool:
    """Whether the registry is in use: a model is named and a tracking URI is configured."""
    from components._shared import tracking

    return bool(model_name and tracking.tracking_uri(configured_uri))


def version_of(
    configured_uri: str, model_name: str, bundle_sha256: str
) -> tuple[Registry, str] | None:
    """(registry, version) of the bundle with ``bundle_sha256``; None when tracking is off or
    no model is named. ConfigError when the bundle was never registered."""
    found = open_registry(configured_uri) if model_name else None
    if found is None:
        return None
    version = found.version_for_bundle(model_name, bundle_sha256)
    if version is None:
        raise ConfigError(
            f"registered model {model_name!r} has no version for the bundle with manifest "
            f"sha256 {bundle_sha256}: the gate registers blessed bundles (registered_model_name)"
        )
    return found, version


def approve_deploy(
    configured_uri: str,
    model_name: str,
    bundle_sha256: str,
    *,
    timeout_s: float,
    poll_s: float = 5.0,
    who: str = DEFAULT_WHO,
) -> AuditEntry | None:
    """deploy's approval step: wait up to ``timeout_s`` for the version's approval; refuses
    (ApprovalError) on a rejection or none in time. None when tracking or the model is off."""
    found = version_of(configured_uri, model_name, bundle_sha256)
    if found is None:
        return None
    return found[0].await_approval(
        model_name, found[1], timeout_s=timeout_s, poll_s=poll_s, who=who
    )


def record_promotion(
    configured_uri: str, model_name: str, bundle_sha256: str, *, who: str, reason: str = ""
) -> str | None:
    """rollout's promotion (or a first, direct deploy): the bundle's version becomes the
    champion. The version it was promoted over, or None (also when tracking is off)."""
    found = version_of(configured_uri, model_name, bundle_sha256)
    return None if found is None else found[0].promote(model_name, found[1], who=who, reason=reason)


def record_rollback(
    configured_uri: str, model_name: str, bundle_sha256: str, *, who: str, reason: str = ""
) -> None:
    """rollout's rollback: recorded on the bundle's version; the champion stays."""
    found = version_of(configured_uri, model_name, bundle_sha256)
    if found is not None:
        found[0].record_rollback(model_name, found[1], who=who, reason=reason)
