"""Deploy a blessed bundle: render, validate, then apply to KServe, write, or serve locally.

Like TFX's pusher (``CheckBlessing``) it reads the blessing artifact and refuses a bundle that is
not blessed, whatever branch it runs in. ``main`` is what the KFP component calls;
``run(inputs, outputs, config)``:

1. reads the blessing (:func:`read_blessing`) and resolves the config into a
   :class:`~components.deploy.plan.DeployPlan` (the effective strategy, the bundle's URI, the
   payload logger);
2. builds the manifests and validates them against the strict CRD schemas
   (:mod:`components.deploy.render`) and writes them to the ``manifests`` output: an invalid
   document fails the step here, before anything is applied or started;
3. deploys to the target (:func:`deploy_to_target`): ``kubernetes``: created or replaced and
   waited on (:mod:`components.deploy.apply`); ``render``: nothing more; ``local``: the sides run
   as local servers (:mod:`components.deploy.local`);
4. writes the deployment record (JSON, :func:`deployment_record`) and a Markdown summary
   (:func:`summary_markdown`) (:func:`write`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from components._shared import keys, kubernetes
from components._shared.artifacts import (
    ArtifactLike,
    markdown_table,
    set_display_name,
    write_text_atomic,
)
from components._shared.bundle import sha256_file
from components._shared.entry import sort_arguments
from components._shared.errors import DataReadError, expected_got
from components.deploy import apply, local, registry_steps, render, seldon
from components.deploy.config import DeployConfig
from components.deploy.plan import DeployPlan, plan

__all__ = [
    "DeployInputs",
    "DeployOutputs",
    "Deployed",
    "NotBlessedError",
    "deploy_to_target",
    "deployment_record",
    "main",
    "read_blessing",
    "run",
    "summary_markdown",
    "write",
]


@dataclass(frozen=True)
class DeployInputs:
    """The gate's blessed bundle and its blessing."""

    bundle: ArtifactLike
    blessing: ArtifactLike


@dataclass(frozen=True)
class DeployOutputs:
    """The deployment record, the validated manifests and the summary."""

    deployment: ArtifactLike
    manifests: ArtifactLike
    summary: ArtifactLike


@dataclass
class Deployed:
    """What the target did: the sides serving, and on kubernetes what was applied and its status."""

    sides: list[dict[str, Any]]
    notes: list[str] = field(default_factory=list)
    applied: list[dict[str, Any]] | None = None
    cluster_status: list[dict[str, Any]] | None = None
    deployed_revision: str | None = None


class NotBlessedError(DataReadError):
    """The blessing does not bless the bundle: deploy refuses to act on it."""


def read_blessing(blessing: ArtifactLike) -> dict[str, Any]:
    """The blessing JSON, or NotBlessedError unless it says ``blessed: true``."""
    try:
        verdict = json.loads(Path(blessing.path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise DataReadError(
            f"deploy: cannot read the blessing at {blessing.path!r}: {exc}"
        ) from None
    if not isinstance(verdict, dict) or verdict.get(keys.BLESSING_BLESSED) is not True:
        got = verdict.get(keys.BLESSING_BLESSED) if isinstance(verdict, dict) else verdict
        summary = verdict.get(keys.BLESSING_SUMMARY) if isinstance(verdict, dict) else None
        raise NotBlessedError(
            f"deploy: refusing to deploy a bundle that is not blessed: blessing {blessing.path!r} "
            f"expected blessed=true, got {got!r} (verdict "
            f"{verdict.get(keys.BLESSING_VERDICT) if isinstance(verdict, dict) else None!r}: {summary})"
        )
    return verdict


def blessed_digest(bundle_dir: str, verdict: dict[str, Any]) -> str:
    """sha256 of the bundle's manifest.json, which must be the one the gate blessed.

    The blessing records the blessed bundle's digest; a bundle whose manifest differs (edited
    after the gate, or another bundle wired in) is refused. When the bundle's files are not on
    this machine (only its URI is), the gate's digest is what deploy hands on; a blessing from
    before the digest was recorded gives the digest of what is deployed, or none.
    """
    blessed = str(verdict.get(keys.BLESSING_BUNDLE_MANIFEST_SHA256) or "")
    path = Path(bundle_dir) / keys.MANIFEST_FILE
    if not path.is_file():
        return blessed
    digest = sha256_file(path)
    if blessed and blessed != digest:
        raise NotBlessedError(
            expected_got(
                f"deploy: {keys.MANIFEST_FILE} sha256 of bundle {bundle_dir!r}",
                f"{blessed} (the bundle the gate blessed)",
                f"{digest}: refusing to deploy a bundle that is not the blessed one",
            )
        )
    return digest


def cluster_sides(resolved: DeployPlan, documents: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Record sides for the kubernetes/render targets: which InferenceService (or which
    SeldonDeployment predictor) serves what."""

    def side(role: str, uri: str, isvc: str, predictor: str | None = None) -> dict[str, Any]:
        return {
            keys.DEPLOY_SIDE_ROLE: role,
            keys.DEPLOY_SIDE_BUNDLE_URI: uri,
            keys.DEPLOY_SIDE_URL: None,
            keys.DEPLOY_SIDE_PID: None,
            keys.DEPLOY_SIDE_PORT: None,
            keys.DEPLOY_SIDE_MODEL_NAME: isvc,
            keys.DEPLOY_SIDE_INFERENCE_SERVICE: isvc,
            keys.DEPLOY_SIDE_PREDICTOR_NAME: predictor,
        }

    if resolved.config.platform == keys.DEPLOY_PLATFORM_SELDON:
        # One SeldonDeployment; each side is one of its predictors.
        return [
            side(role, uri, resolved.name, predictor)
            for role, uri, predictor in seldon.roles(resolved)
        ]
    champion = resolved.config.champion_storage_uri
    if resolved.strategy == keys.DEPLOY_STRATEGY_DIRECT:
        return [side(keys.DEPLOY_ROLE_STABLE, resolved.storage_uri, resolved.name)]
    if resolved.strategy == keys.DEPLOY_STRATEGY_CANARY:
        canary_name = None
        if resolved.config.deployment_mode == keys.DEPLOY_MODE_STANDARD:
            canary_name = documents[0]["spec"]["canary"][0]["predictor"]["name"]
        return [
            side(keys.DEPLOY_ROLE_STABLE, champion, resolved.name),
            side(keys.DEPLOY_ROLE_CANARY, resolved.storage_uri, resolved.name, canary_name),
        ]
    return [
        side(keys.DEPLOY_ROLE_STABLE, champion, resolved.name),
        side(keys.DEPLOY_ROLE_SHADOW, resolved.storage_uri, resolved.shadow_name),
    ]


def summary_markdown(record: dict[str, Any]) -> str:
    """The Markdown summary artifact: the sides, the manifests, the cluster status, the notes."""
    lines = [
        f"# deploy: {record[keys.DEPLOY_STRATEGY]} on {record[keys.DEPLOY_TARGET]}",
        "",
        _headline(record),
        "",
        _sides_table(record[keys.DEPLOY_SIDES]),
        f"Manifests (validated against the strict CRD schemas): "
        f"{', '.join(f'`{m}`' for m in record[keys.DEPLOY_MANIFESTS])}.",
    ]
    if record.get(keys.DEPLOY_CLUSTER_STATUS):
        lines += ["", "## Cluster status", ""]
        lines += _cluster_status_lines(record[keys.DEPLOY_CLUSTER_STATUS])
    if record.get(keys.DEPLOY_NOTES):
        lines += ["", "## Notes", "", *(f"- {n}" for n in record[keys.DEPLOY_NOTES])]
    if record.get(keys.LINEAGE_REGISTRY):
        lines += ["", "## Model registry", "", *_registry_lines(record[keys.LINEAGE_REGISTRY])]
    if record[keys.DEPLOY_TARGET] == keys.DEPLOY_TARGET_LOCAL:
        lines += ["", "Stop the local servers with `make stop`."]
    return "\n".join(lines) + "\n"


def _registry_lines(entry: dict[str, Any]) -> list[str]:
    lines = [f"- Model `{entry['model']}` version {entry['version']}."]
    if entry.get("approval"):
        approval = entry["approval"]
        lines.append(f"- Approval: {approval['decision']} ({approval['detail']}).")
    if entry.get("promotion"):
        was = entry["promotion"].get("previous_champion_version")
        lines.append(f"- Now the champion (was: {'version ' + was if was else 'none'}).")
    return lines


def _headline(record: dict[str, Any]) -> str:
    strategy = record[keys.DEPLOY_STRATEGY]
    what = (
        f"SeldonDeployment `{record[keys.DEPLOY_NAME]}` in namespace "
        f"`{record[keys.DEPLOY_NAMESPACE]}` (Seldon Core v1, V2 protocol)"
        if record.get(keys.DEPLOY_PLATFORM) == keys.DEPLOY_PLATFORM_SELDON
        else f"InferenceService `{record[keys.DEPLOY_NAME]}` in namespace "
        f"`{record[keys.DEPLOY_NAMESPACE]}`, mode **{record[keys.DEPLOY_MODE]}**"
    )
    return (
        what
        + (
            f", canary {record[keys.DEPLOY_CANARY_PERCENT]}%"
            if strategy == keys.DEPLOY_STRATEGY_CANARY
            else ""
        )
        + (
            f", mirror {record[keys.DEPLOY_MIRROR_PERCENT]:g}%"
            if strategy == keys.DEPLOY_STRATEGY_SHADOW
            else ""
        )
        + "."
    )


def _sides_table(sides: list[dict[str, Any]]) -> str:
    def where(side: dict[str, Any]) -> str:
        names = (
            side.get(keys.DEPLOY_SIDE_INFERENCE_SERVICE),
            side.get(keys.DEPLOY_SIDE_PREDICTOR_NAME),
        )
        return "/".join(str(x) for x in names if x) or "-"

    return markdown_table(
        ["role", "bundle", "url", "pid", "InferenceService / predictor"],
        [
            [
                s[keys.DEPLOY_SIDE_ROLE],
                f"`{s[keys.DEPLOY_SIDE_BUNDLE_URI]}`",
                s.get(keys.DEPLOY_SIDE_URL) or "-",
                s.get(keys.DEPLOY_SIDE_PID) or "-",
                where(s),
            ]
            for s in sides
        ],
    )


def _cluster_status_lines(statuses: list[dict[str, Any]]) -> list[str]:
    lines = []
    for status in statuses:
        lines.append(f"- `{status['name']}` ready={status['ready']} url={status.get('url')}")
        for t in status.get("traffic") or []:
            if "predictor" in t:  # a SeldonDeployment's predictor
                shadow = " (shadow)" if t.get("shadow") else ""
                lines.append(
                    f"  - predictor `{t['predictor']}` traffic {t.get('percent')}%{shadow}"
                )
                continue
            latest = " (latest)" if t.get("latestRevision") else ""
            tag = f" tag {t['tag']}" if t.get("tag") else ""
            lines.append(f"  - revision `{t.get('revisionName')}` {t.get('percent')}%{latest}{tag}")
        for c in status.get("canary_statuses") or []:
            lines.append(
                f"  - canary `{c.get('name')}` ready={c.get('ready')} "
                f"traffic={c.get('trafficPercent')}%"
            )
    return lines


def main(arguments: dict[str, Any]) -> None:
    """The component's entry: its arguments sorted into inputs, outputs and config."""
    run(*sort_arguments(arguments, DeployInputs, DeployOutputs, DeployConfig))


def run(
    inputs: DeployInputs,
    outputs: DeployOutputs,
    config: DeployConfig,
    *,
    custom_objects_api: Any = None,
    poll_s: float = apply.POLL_INTERVAL_S,
) -> dict[str, Any]:
    """Deploy the blessed bundle; returns the deployment record (also written to ``deployment``).

    ``custom_objects_api`` replaces the kubernetes client (tests pass a recording double);
    ``None`` loads the in-cluster or kube-config credentials when the target is kubernetes.
    ``poll_s`` is the readiness poll interval.

    With a registered model named and tracking on (:mod:`components.deploy.registry_steps`):
    the approval step first, when ``approval_timeout_s`` asks for one, and a direct deploy that
    serves moves the registry's ``champion``; the record's ``registry`` says what happened.

    Raises:
        NotBlessedError: the blessing does not say blessed.
        ApprovalError: the bundle's version was rejected, or not approved in time.
        ConfigError: there is no URI for the bundle; the bundle is not registered, or approval
            is required with tracking off.
        ManifestError: a generated manifest fails its schema (document and field named).
        DeployError: the cluster refused a document or it was not ready in time.
        LocalServingError: a local server did not start.
    """
    verdict = read_blessing(inputs.blessing)
    digest = blessed_digest(inputs.bundle.path, verdict)
    version = registry_steps.check_registered(config, digest)
    approval = registry_steps.approve(config, digest)  # before anything is written or applied
    resolved = plan(
        config, bundle_uri=inputs.bundle.uri or inputs.bundle.path, manifest_sha256=digest
    )
    documents = render.render(resolved)
    files = render.write_documents(documents, outputs.manifests.path)
    deployed = deploy_to_target(
        resolved,
        documents,
        challenger_dir=inputs.bundle.path,
        work_dir=Path(outputs.deployment.path).parent / "local-servers",
        custom_objects_api=custom_objects_api,
        poll_s=poll_s,
    )
    promotion = registry_steps.promote_if_serving(config, resolved.strategy, digest)
    record = deployment_record(resolved, deployed, files, outputs.manifests.uri, verdict)
    record[keys.LINEAGE_REGISTRY] = registry_steps.record_entry(
        config, version, approval, promotion
    )
    write(record, outputs, documents=len(documents))
    return record


def deploy_to_target(
    resolved: DeployPlan,
    documents: list[dict[str, Any]],
    *,
    challenger_dir: str,
    work_dir: Path,
    custom_objects_api: Any = None,
    poll_s: float = apply.POLL_INTERVAL_S,
) -> Deployed:
    """Start the local sides, apply to the cluster and wait, or (render) nothing more."""
    target = resolved.config.target
    if target == keys.DEPLOY_TARGET_LOCAL:
        sides = local.start_sides(
            resolved,
            challenger_dir=challenger_dir,
            work_dir=work_dir,
            ready_timeout_s=min(float(resolved.config.ready_timeout_s), 120.0),
        )
        return Deployed(sides, list(resolved.notes))
    sides = cluster_sides(resolved, documents)
    if target == keys.DEPLOY_TARGET_KUBERNETES:
        api = (
            custom_objects_api
            if custom_objects_api is not None
            else kubernetes.custom_objects_api()
        )
        return _apply(resolved, documents, sides, api, poll_s)
    return Deployed(sides, [*resolved.notes, "render target: manifests written, nothing applied"])


def _apply(
    resolved: DeployPlan,
    documents: list[dict[str, Any]],
    sides: list[dict[str, Any]],
    api: Any,
    poll_s: float,
) -> Deployed:
    """Create or replace the documents, wait until ready, and give each side its URL."""
    notes = list(resolved.notes)
    applied = apply.apply_documents(api, documents)
    if (
        resolved.strategy == keys.DEPLOY_STRATEGY_CANARY
        and resolved.config.platform == keys.DEPLOY_PLATFORM_KSERVE
        and resolved.config.deployment_mode == keys.DEPLOY_MODE_KNATIVE
        and applied[0]["action"] == "created"
    ):
        notes.append(
            f"InferenceService {resolved.name} did not exist: on a first Knative deploy KServe "
            "ignores canaryTrafficPercent and the challenger gets 100% (no champion "
            "revision to split with)"
        )
    cluster_status = apply.wait_ready(
        api, documents, timeout_s=float(resolved.config.ready_timeout_s), poll_s=poll_s
    )
    revision = cluster_status[0].get("latest_ready_revision") or resolved.name
    by_name = {s["name"]: s for s in cluster_status}
    for side in sides:
        status = by_name.get(side[keys.DEPLOY_SIDE_INFERENCE_SERVICE])
        side[keys.DEPLOY_SIDE_URL] = status.get("url") if status else None
    return Deployed(sides, notes, applied, cluster_status, revision)


def deployment_record(
    resolved: DeployPlan,
    deployed: Deployed,
    files: list[str],
    manifests_uri: str,
    verdict: dict[str, Any],
) -> dict[str, Any]:
    """The deployment record (README.md, ``record_format: kfp-tabular-deployment/1``)."""
    config = resolved.config
    return {
        keys.DEPLOY_RECORD_FORMAT: keys.DEPLOY_RECORD_FORMAT_VERSION,
        keys.DEPLOY_TARGET: config.target,
        keys.DEPLOY_PLATFORM: config.platform,
        keys.DEPLOY_STRATEGY: resolved.strategy,
        keys.DEPLOY_REQUESTED_STRATEGY: config.strategy,
        keys.DEPLOY_MODE: config.deployment_mode,
        keys.DEPLOY_NAMESPACE: config.namespace,
        keys.DEPLOY_NAME: resolved.name,
        keys.DEPLOY_CANARY_PERCENT: config.canary_percent,
        keys.DEPLOY_MIRROR_PERCENT: float(config.mirror_percent),
        keys.DEPLOY_SIDES: deployed.sides,
        keys.DEPLOY_MANIFESTS: files,
        "manifests_uri": manifests_uri,
        "applied": deployed.applied,
        keys.DEPLOY_CLUSTER_STATUS: deployed.cluster_status,
        keys.LINEAGE_DEPLOYED_REVISION: deployed.deployed_revision,
        keys.DEPLOY_NOTES: deployed.notes,
        keys.DEPLOY_DEPLOYED_AT: datetime.now(UTC).isoformat(timespec="seconds"),
        keys.DEPLOY_MANIFEST_SHA256: resolved.manifest_sha256,
        "blessing": {
            keys.BLESSING_VERDICT: verdict.get(keys.BLESSING_VERDICT),
            keys.BLESSING_RULE_VERSION: verdict.get(keys.BLESSING_RULE_VERSION),
            keys.BLESSING_SUMMARY: verdict.get(keys.BLESSING_SUMMARY),
        },
    }


def write(record: dict[str, Any], outputs: DeployOutputs, *, documents: int) -> None:
    """Write the record and the summary (the manifests are written before the target acts),
    and describe the three outputs for the UI."""
    deployment, manifests, summary = outputs.deployment, outputs.manifests, outputs.summary
    write_text_atomic(deployment.path, json.dumps(record, indent=2) + "\n")
    sides = record[keys.DEPLOY_SIDES]
    strategy, target = record[keys.DEPLOY_STRATEGY], record[keys.DEPLOY_TARGET]
    deployment.metadata.update(
        {
            keys.META_DEPLOY_TARGET: target,
            keys.META_DEPLOY_STRATEGY: strategy,
            keys.META_DEPLOY_MODE: record[keys.DEPLOY_MODE],
            keys.META_DEPLOY_URLS: {
                s[keys.DEPLOY_SIDE_ROLE]: s.get(keys.DEPLOY_SIDE_URL) or "" for s in sides
            },
        }
    )
    set_display_name(deployment, f"deployment record ({strategy}, {target})")
    manifests.metadata[keys.META_DEPLOY_DOCUMENTS] = documents
    set_display_name(manifests, f"manifests ({documents} validated documents)")
    write_text_atomic(summary.path, summary_markdown(record))
    set_display_name(summary, "deployment summary")
