"""The ``kubernetes`` target: patch the canary's traffic, wait the window, query Prometheus, act.

Each step sets the InferenceService's canary traffic (:mod:`patches`), waits ``window_seconds``
and asks Prometheus (:mod:`prometheus`) what each side did in that window; the side's series are
found by the pods regex and workload name :func:`selectors` derives from the revisions
(Knative) or the predictor names (Standard). Promotion and rollback are a last merge patch.

A SeldonDeployment (the record's ``platform: seldon``) is read and patched the same way: its
canary predictor's ``traffic`` per step; each side's series are its predictor's Deployment
(``<deployment>-<predictor>``, the name deploy gives its componentSpec) and that Deployment's
pods.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from components._shared import keys, kubernetes
from components._shared.errors import ConfigError
from components.rollout import analysis, patches, prometheus
from components.rollout.analysis import Bounds, SideWindow
from components.rollout.config import RolloutConfig
from components.rollout.prometheus import SCORE_BOUNDS
from components.rollout.record import canary_predictor, side_of
from components.rollout.trail import step_record, walk

SIDES = (keys.DEPLOY_ROLE_STABLE, keys.DEPLOY_ROLE_CANARY)


def roll_out(
    record: dict[str, Any], config: RolloutConfig, trail: dict[str, Any], *, api: Any = None
) -> tuple[bool, list[str], dict[str, Any]]:
    """Steps on a cluster, each recorded in ``trail``; then promote or roll back.

    ``api`` is a CustomObjectsApi (or a double); by default the in-cluster or kube-config one.
    Returns whether every step passed, the reasons, and the action taken.
    """
    if not config.prometheus_url:
        raise ConfigError(
            "rollout on kubernetes: prometheus_url is required (the analysis reads it)"
        )
    api = api if api is not None else kubernetes.custom_objects_api()
    token = (
        Path(config.prometheus_token_file).read_text().strip()
        if config.prometheus_token_file
        else ""
    )
    client = prometheus.PrometheusClient(config.prometheus_url, token=token)
    try:
        steps = ClusterSteps(
            api, client, prometheus.queries_with_defaults(config.prometheus_queries), record, config
        )
        passed, reasons = walk(config.percents, steps.step, trail)
    finally:
        client.close()
    return passed, reasons, act(api, record, passed)


@dataclass
class ClusterSteps:
    """The steps' shared state: the API, Prometheus, the queries and stable's windows so far."""

    api: Any
    client: prometheus.PrometheusClient
    queries: dict[str, str]
    record: dict[str, Any]
    config: RolloutConfig
    stable_windows: list[SideWindow] = field(default_factory=list)

    def step(self, percent: int) -> dict[str, Any]:
        """Set the canary's traffic to ``percent``, wait the window, compare the sides."""
        api, record, config = self.api, self.record, self.config
        namespace, name = record[keys.DEPLOY_NAMESPACE], record[keys.DEPLOY_NAME]
        isvc = patches.read(api, namespace, name, kind_of(record))
        patches.apply(
            api,
            namespace,
            isvc,
            patches.set_traffic(isvc, percent, canary_name=canary_predictor(record)),
        )
        time.sleep(config.window_seconds)
        isvc = patches.read(api, namespace, name, kind_of(record))
        chosen = selectors(isvc, record, config)
        windows = {
            side: prometheus.cluster_window(
                self.client,
                self.queries,
                side,
                {
                    "namespace": namespace,
                    "window": f"{int(config.window_seconds)}s",
                    **chosen[side],
                },
                SCORE_BOUNDS,
            )
            for side in SIDES
        }
        stable, canary = windows[keys.DEPLOY_ROLE_STABLE], windows[keys.DEPLOY_ROLE_CANARY]
        self.stable_windows.append(stable)
        baseline = analysis.merge(keys.DEPLOY_ROLE_STABLE, self.stable_windows)
        checks = analysis.analyse_step(baseline, canary, Bounds.of(config))
        return step_record(percent, stable, baseline, canary, checks, {"selectors": chosen})


def act(api: Any, record: dict[str, Any], promote: bool) -> dict[str, Any]:
    """Promote (the canary takes all traffic) or roll back, as one merge patch; what was sent."""
    namespace, name = record[keys.DEPLOY_NAMESPACE], record[keys.DEPLOY_NAME]
    canary_name = canary_predictor(record)
    isvc = patches.read(api, namespace, name, kind_of(record))
    after = (
        patches.promote(isvc, canary_name=canary_name)
        if promote
        else patches.rollback(isvc, canary_name=canary_name)
    )
    patches.apply(api, namespace, isvc, after)
    return {
        "kind": "promote" if promote else "rollback",
        "mode": patches.deployment_mode(isvc),
        "patch": patches.merge_patch(patches._cleaned(isvc), after),
    }


def kind_of(record: dict[str, Any]) -> str:
    """The kind deploy applied: a SeldonDeployment for platform seldon, else InferenceService."""
    if record.get(keys.DEPLOY_PLATFORM) == keys.DEPLOY_PLATFORM_SELDON:
        return patches.SELDON_KIND
    return "InferenceService"


def selectors(
    isvc: dict[str, Any], record: dict[str, Any], config: RolloutConfig
) -> dict[str, dict[str, str]]:
    """Per side: the pods regex and workload name its Prometheus series carry."""
    mode = patches.deployment_mode(isvc)
    if mode == patches.MODE_SELDON:
        workloads = _seldon_workloads(isvc, record)
    elif mode == keys.DEPLOY_MODE_KNATIVE:
        workloads = _knative_workloads(isvc)
    else:
        workloads = _standard_workloads(isvc, record)
    out = {}
    for side, workload in workloads.items():
        chosen = {"workload": workload, "pods": f"{workload}-.*"}
        chosen.update(config.prometheus_selectors.get(side, {}))
        out[side] = chosen
    return out


def _seldon_workloads(sdep: dict[str, Any], record: dict[str, Any]) -> dict[str, str]:
    """Seldon: each side's Deployment is its predictor's componentSpec (named by deploy)."""
    canary = canary_predictor(record)
    live = [p for p in sdep["spec"]["predictors"] if not p.get("shadow")]
    names = {
        p.get("name"): ((p.get("componentSpecs") or [{}])[0].get("metadata") or {}).get("name")
        or f"{sdep['metadata']['name']}-{p.get('name')}"
        for p in live
    }
    canary = canary if canary in names else (list(names)[-1] if names else None)
    stable = next((n for n in names if n != canary), canary)
    return {keys.DEPLOY_ROLE_STABLE: names[stable], keys.DEPLOY_ROLE_CANARY: names[canary]}


def _knative_workloads(isvc: dict[str, Any]) -> dict[str, str]:
    """Knative: the previous revision serves stable, the latest the canary."""
    name = isvc["metadata"]["name"]
    traffic_list = (
        ((isvc.get("status") or {}).get("components") or {}).get("predictor", {}).get("traffic", [])
    )
    prev = next((t.get("revisionName") for t in traffic_list if t.get("tag") == "prev"), None)
    latest = next((t.get("revisionName") for t in traffic_list if t.get("latestRevision")), None)
    return {
        keys.DEPLOY_ROLE_STABLE: f"{prev or name + '-predictor'}-deployment",
        keys.DEPLOY_ROLE_CANARY: f"{latest or name + '-predictor'}-deployment",
    }


def _standard_workloads(isvc: dict[str, Any], record: dict[str, Any]) -> dict[str, str]:
    """Standard: each side's Deployment is named after the service and its predictor."""
    name = isvc["metadata"]["name"]
    stable_name = (isvc["spec"]["predictor"] or {}).get("name")
    canary_name = side_of(record, keys.DEPLOY_ROLE_CANARY).get(keys.DEPLOY_SIDE_PREDICTOR_NAME) or (
        isvc["spec"].get("canary") or [{}]
    )[0].get("predictor", {}).get("name")
    return {
        keys.DEPLOY_ROLE_STABLE: f"{name}-{stable_name}-predictor"
        if stable_name
        else f"{name}-predictor",
        keys.DEPLOY_ROLE_CANARY: f"{name}-{canary_name}-predictor",
    }
