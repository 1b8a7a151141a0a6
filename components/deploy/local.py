"""The ``local`` target: the deployment's sides as real ``python -m serving`` processes.

stable alone (direct), stable + canary, or stable + shadow, each on a free localhost port, all
started at once (each spends seconds importing its libraries) and waited on until ready. Both
sides serve under the same model name, as both revisions of one InferenceService do on KServe,
so a client sends the same request to either.
"""

from __future__ import annotations

import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from components._shared import io, keys
from components._shared.errors import DataReadError
from components._shared.local_serving import LocalServer, start_server, stop_server
from components.deploy.plan import DeployPlan

# (role, which bundle) per strategy: "challenger" is the blessed bundle, "champion" the stable.
SIDES: dict[str, tuple[tuple[str, str], ...]] = {
    keys.DEPLOY_STRATEGY_DIRECT: ((keys.DEPLOY_ROLE_STABLE, "challenger"),),
    keys.DEPLOY_STRATEGY_CANARY: (
        (keys.DEPLOY_ROLE_STABLE, "champion"),
        (keys.DEPLOY_ROLE_CANARY, "challenger"),
    ),
    keys.DEPLOY_STRATEGY_SHADOW: (
        (keys.DEPLOY_ROLE_STABLE, "champion"),
        (keys.DEPLOY_ROLE_SHADOW, "challenger"),
    ),
}


def local_bundle_dir(uri: str, scratch: Path) -> str:
    """A local directory holding the bundle at ``uri`` (downloaded into ``scratch`` for gs://)."""
    if io.is_gcs(uri):
        target = scratch / "champion-bundle"
        if target.exists():
            shutil.rmtree(target)
        io.download_dir(uri, str(target))
        return str(target)
    path = uri.removeprefix("file://")
    if not Path(path).is_dir():
        raise DataReadError(f"deploy (local): bundle {uri!r} is not a directory on this machine")
    return path


def start_sides(
    plan: DeployPlan, *, challenger_dir: str, work_dir: Path, ready_timeout_s: float = 60.0
) -> list[dict[str, Any]]:
    """Start every side of the deployment; the record's ``sides`` entries.

    If any side fails to start, the ones already running are stopped before the error is raised.
    """
    work_dir.mkdir(parents=True, exist_ok=True)
    servers = []
    for role, which in SIDES[plan.strategy]:
        if which == "challenger":
            uri, directory = plan.storage_uri, challenger_dir
        else:
            champion = plan.config.champion_storage_uri
            uri, directory = champion, local_bundle_dir(champion, work_dir)
        servers.append((role, uri, directory))

    def start(item: tuple[str, str, str]) -> LocalServer:
        role, uri, directory = item
        return start_server(
            directory,
            model_name=plan.name,
            log_path=str(work_dir / f"{role}.log"),
            ready_timeout=ready_timeout_s,
            # The challenger's server refuses any manifest but the blessed one, as on a cluster.
            manifest_sha256=plan.manifest_sha256 if uri == plan.storage_uri else "",
        )

    with ThreadPoolExecutor(max_workers=len(servers)) as pool:
        futures = [pool.submit(start, item) for item in servers]
        errors = [f.exception() for f in futures]
    started = [f.result() for f, e in zip(futures, errors, strict=True) if e is None]
    failed = [e for e in errors if e is not None]
    if failed:
        for server in started:
            stop_server(server)
        raise failed[0]
    sides = []
    for (role, uri, _), server in zip(servers, started, strict=True):
        sides.append(
            {
                keys.DEPLOY_SIDE_ROLE: role,
                keys.DEPLOY_SIDE_BUNDLE_URI: uri,
                keys.DEPLOY_SIDE_URL: server.url,
                keys.DEPLOY_SIDE_PID: server.pid,
                keys.DEPLOY_SIDE_PORT: server.port,
                keys.DEPLOY_SIDE_MODEL_NAME: server.model_name,
                keys.DEPLOY_SIDE_LOG_PATH: server.log_path,
            }
        )
    return sides
