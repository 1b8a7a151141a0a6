"""Deploy a blessed bundle: render, validate, then apply to KServe, write, or serve locally.

Like TFX's pusher (``CheckBlessing``) it reads the blessing artifact and refuses a bundle that is
not blessed, whatever branch it runs in. Then, for every target:

1. the parameters are checked (:mod:`components.deploy.config`);
2. the manifests are built and validated against the strict CRD schemas
   (:mod:`components.deploy.render`) and written to the ``manifests`` output: an invalid
   document fails the step here, before anything is applied or started;
3. ``kubernetes``: created or replaced and waited on (:mod:`components.deploy.apply`);
   ``render``: nothing more; ``local``: the sides run as local servers
   (:mod:`components.deploy.local`);
4. the deployment record (JSON) and a Markdown summary are written.
"""

from __future__ import annotations

import json
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
from components._shared.errors import DataReadError
from components.deploy import apply, local, render
from components.deploy.config import DeploySpec, build_spec


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


def _cluster_sides(spec: DeploySpec, documents: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Record sides for the kubernetes/render targets: which InferenceService serves what."""

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

    if spec.strategy == keys.DEPLOY_STRATEGY_DIRECT:
        return [side(keys.DEPLOY_ROLE_STABLE, spec.storage_uri, spec.name)]
    if spec.strategy == keys.DEPLOY_STRATEGY_CANARY:
        canary_name = None
        if spec.mode == keys.DEPLOY_MODE_STANDARD:
            canary_name = documents[0]["spec"]["canary"][0]["predictor"]["name"]
        return [
            side(keys.DEPLOY_ROLE_STABLE, spec.champion_storage_uri, spec.name),
            side(keys.DEPLOY_ROLE_CANARY, spec.storage_uri, spec.name, canary_name),
        ]
    return [
        side(keys.DEPLOY_ROLE_STABLE, spec.champion_storage_uri, spec.name),
        side(keys.DEPLOY_ROLE_SHADOW, spec.storage_uri, spec.shadow_name),
    ]


def _summary_markdown(record: dict[str, Any]) -> str:
    sides = record[keys.DEPLOY_SIDES]
    lines = [
        f"# deploy: {record[keys.DEPLOY_STRATEGY]} on {record[keys.DEPLOY_TARGET]}",
        "",
        f"InferenceService `{record[keys.DEPLOY_NAME]}` in namespace "
        f"`{record[keys.DEPLOY_NAMESPACE]}`, mode **{record[keys.DEPLOY_MODE]}**"
        + (
            f", canary {record[keys.DEPLOY_CANARY_PERCENT]}%"
            if record[keys.DEPLOY_STRATEGY] == keys.DEPLOY_STRATEGY_CANARY
            else ""
        )
        + (
            f", mirror {record[keys.DEPLOY_MIRROR_PERCENT]:g}%"
            if record[keys.DEPLOY_STRATEGY] == keys.DEPLOY_STRATEGY_SHADOW
            else ""
        )
        + ".",
        "",
        markdown_table(
            ["role", "bundle", "url", "pid", "InferenceService / predictor"],
            [
                [
                    s[keys.DEPLOY_SIDE_ROLE],
                    f"`{s[keys.DEPLOY_SIDE_BUNDLE_URI]}`",
                    s.get(keys.DEPLOY_SIDE_URL) or "-",
                    s.get(keys.DEPLOY_SIDE_PID) or "-",
                    "/".join(
                        str(x)
                        for x in (
                            s.get(keys.DEPLOY_SIDE_INFERENCE_SERVICE),
                            s.get(keys.DEPLOY_SIDE_PREDICTOR_NAME),
                        )
                        if x
                    )
                    or "-",
                ]
                for s in sides
            ],
        ),
        f"Manifests (validated against the strict CRD schemas): "
        f"{', '.join(f'`{m}`' for m in record[keys.DEPLOY_MANIFESTS])}.",
    ]
    if record.get(keys.DEPLOY_CLUSTER_STATUS):
        lines += ["", "## Cluster status", ""]
        for status in record[keys.DEPLOY_CLUSTER_STATUS]:
            lines.append(f"- `{status['name']}` ready={status['ready']} url={status.get('url')}")
            for t in status.get("traffic") or []:
                latest = " (latest)" if t.get("latestRevision") else ""
                tag = f" tag {t['tag']}" if t.get("tag") else ""
                lines.append(
                    f"  - revision `{t.get('revisionName')}` {t.get('percent')}%{latest}{tag}"
                )
            for c in status.get("canary_statuses") or []:
                lines.append(
                    f"  - canary `{c.get('name')}` ready={c.get('ready')} "
                    f"traffic={c.get('trafficPercent')}%"
                )
    if record.get(keys.DEPLOY_NOTES):
        lines += ["", "## Notes", "", *(f"- {n}" for n in record[keys.DEPLOY_NOTES])]
    if record[keys.DEPLOY_TARGET] == keys.DEPLOY_TARGET_LOCAL:
        lines += ["", "Stop the local servers with `make stop`."]
    return "\n".join(lines) + "\n"


def run(
    *,
    bundle: ArtifactLike,
    blessing: ArtifactLike,
    deployment: ArtifactLike,
    manifests: ArtifactLike,
    summary: ArtifactLike,
    target: str = keys.DEPLOY_TARGET_RENDER,
    strategy: str = keys.DEPLOY_STRATEGY_CANARY,
    deployment_mode: str = keys.DEPLOY_MODE_KNATIVE,
    namespace: str = "kfp-tabular",
    inference_service_name: str = "kfp-tabular",
    canary_percent: int = 10,
    mirror_percent: float = 100.0,
    service_account: str = "kfp-tabular-serving",
    storage_uri: str = "",
    champion_storage_uri: str = "",
    logger_mode: str = "all",
    logger_url: str = "",
    logger_storage_path: str = "",
    logger_storage_key: str = "",
    logger_storage_parameters: dict[str, Any] | None = None,
    cpu: str = "1",
    memory: str = "1Gi",
    ready_timeout_s: float = 600.0,
    custom_objects_api: Any = None,
    poll_s: float = apply.POLL_INTERVAL_S,
) -> dict[str, Any]:
    """Deploy the blessed bundle; returns the deployment record (also written to ``deployment``).

    ``custom_objects_api`` replaces the kubernetes client (tests pass a recording double);
    ``None`` loads the in-cluster or kube-config credentials when the target is kubernetes.

    Raises:
        NotBlessedError: the blessing does not say blessed.
        ConfigError: a parameter is wrong (named).
        ManifestError: a generated manifest fails its schema (document and field named).
        DeployError: the cluster refused a document or it was not ready in time.
        LocalServingError: a local server did not start.
    """
    verdict = read_blessing(blessing)
    spec = build_spec(
        target=target,
        strategy=strategy,
        deployment_mode=deployment_mode,
        namespace=namespace,
        name=inference_service_name,
        storage_uri=storage_uri or bundle.uri or bundle.path,
        champion_storage_uri=champion_storage_uri,
        canary_percent=canary_percent,
        mirror_percent=mirror_percent,
        service_account=service_account,
        cpu=cpu,
        memory=memory,
        logger_mode=logger_mode,
        logger_url=logger_url,
        logger_storage_path=logger_storage_path,
        logger_storage_key=logger_storage_key,
        logger_storage_parameters=logger_storage_parameters,
        ready_timeout_s=ready_timeout_s,
    )
    documents = render.render(spec)
    files = render.write_documents(documents, manifests.path)
    notes = list(spec.notes)
    cluster_status: list[dict[str, Any]] | None = None
    applied: list[dict[str, Any]] | None = None
    deployed_revision: str | None = None

    if spec.target == keys.DEPLOY_TARGET_LOCAL:
        sides = local.start_sides(
            spec,
            challenger_dir=bundle.path,
            work_dir=Path(deployment.path).parent / "local-servers",
            ready_timeout_s=min(spec.ready_timeout_s, 120.0),
        )
    else:
        sides = _cluster_sides(spec, documents)
        if spec.target == keys.DEPLOY_TARGET_KUBERNETES:
            api = (
                custom_objects_api
                if custom_objects_api is not None
                else kubernetes.custom_objects_api()
            )
            applied = apply.apply_documents(api, documents)
            if (
                spec.strategy == keys.DEPLOY_STRATEGY_CANARY
                and spec.mode == keys.DEPLOY_MODE_KNATIVE
                and applied[0]["action"] == "created"
            ):
                notes.append(
                    f"InferenceService {spec.name} did not exist: on a first Knative deploy KServe "
                    "ignores canaryTrafficPercent and the challenger gets 100% (no champion "
                    "revision to split with)"
                )
            cluster_status = apply.wait_ready(
                api, documents, timeout_s=spec.ready_timeout_s, poll_s=poll_s
            )
            main = cluster_status[0]
            deployed_revision = main.get("latest_ready_revision") or spec.name
            for side in sides:
                status = next(
                    (
                        s
                        for s in cluster_status
                        if s["name"] == side[keys.DEPLOY_SIDE_INFERENCE_SERVICE]
                    ),
                    None,
                )
                side[keys.DEPLOY_SIDE_URL] = status.get("url") if status else None
        else:
            notes.append("render target: manifests written, nothing applied")

    record: dict[str, Any] = {
        keys.DEPLOY_RECORD_FORMAT: keys.DEPLOY_RECORD_FORMAT_VERSION,
        keys.DEPLOY_TARGET: spec.target,
        keys.DEPLOY_STRATEGY: spec.strategy,
        keys.DEPLOY_REQUESTED_STRATEGY: spec.requested_strategy,
        keys.DEPLOY_MODE: spec.mode,
        keys.DEPLOY_NAMESPACE: spec.namespace,
        keys.DEPLOY_NAME: spec.name,
        keys.DEPLOY_CANARY_PERCENT: spec.canary_percent,
        keys.DEPLOY_MIRROR_PERCENT: spec.mirror_percent,
        keys.DEPLOY_SIDES: sides,
        keys.DEPLOY_MANIFESTS: files,
        "manifests_uri": manifests.uri,
        "applied": applied,
        keys.DEPLOY_CLUSTER_STATUS: cluster_status,
        keys.LINEAGE_DEPLOYED_REVISION: deployed_revision,
        keys.DEPLOY_NOTES: notes,
        keys.DEPLOY_DEPLOYED_AT: datetime.now(UTC).isoformat(timespec="seconds"),
        "blessing": {
            keys.BLESSING_VERDICT: verdict.get(keys.BLESSING_VERDICT),
            keys.BLESSING_RULE_VERSION: verdict.get(keys.BLESSING_RULE_VERSION),
            keys.BLESSING_SUMMARY: verdict.get(keys.BLESSING_SUMMARY),
        },
    }
    write_text_atomic(deployment.path, json.dumps(record, indent=2) + "\n")
    urls = {s[keys.DEPLOY_SIDE_ROLE]: s.get(keys.DEPLOY_SIDE_URL) or "" for s in sides}
    deployment.metadata.update(
        {
            keys.META_DEPLOY_TARGET: spec.target,
            keys.META_DEPLOY_STRATEGY: spec.strategy,
            keys.META_DEPLOY_MODE: spec.mode,
            keys.META_DEPLOY_URLS: urls,
        }
    )
    set_display_name(deployment, f"deployment record ({spec.strategy}, {spec.target})")
    manifests.metadata[keys.META_DEPLOY_DOCUMENTS] = len(documents)
    set_display_name(manifests, f"manifests ({len(documents)} validated documents)")
    write_text_atomic(summary.path, _summary_markdown(record))
    set_display_name(summary, "deployment summary")
    return record
