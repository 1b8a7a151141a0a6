"""Rollout of a SeldonDeployment (deploy's platform seldon): the pure traffic, promotion and
rollback functions on the object deploy renders, each schema- and webhook-valid; and the
kubernetes target's steps with a recording CustomObjectsApi double (not a cluster) and the stub
Prometheus HTTP API of test_kubernetes_target.py (Istio's metrics cannot be produced here)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from components._shared import keys
from components._shared.errors import ConfigError
from components._shared.manifests import ManifestError, validate_manifest
from components.deploy import examples, seldon
from components.rollout import cluster, patches
from components.rollout.config import RolloutConfig
from components.rollout.executor import roll_out
from tests.rollout.test_kubernetes_target import PrometheusStub
from tests.rollout.test_patches import RecordingCustomObjectsApi

STABLE = seldon.predictor_name(examples.CHAMPION)
CANARY = seldon.predictor_name(examples.CHALLENGER)


def sdep(strategy: str = "canary") -> dict[str, Any]:
    """The SeldonDeployment deploy renders, as the API server returns it (status, uid)."""
    (doc,) = examples.deploy_example(keys.DEPLOY_PLATFORM_SELDON, "Knative", strategy)
    doc = copy.deepcopy(doc)
    doc["metadata"].update({"uid": "1234", "generation": 3, "resourceVersion": "77"})
    doc["status"] = {"state": "Available"}
    return doc


def traffic(obj: dict[str, Any]) -> list[tuple[str, int, bool]]:
    return [(p["name"], p["traffic"], bool(p.get("shadow"))) for p in obj["spec"]["predictors"]]


def test_traffic_promotion_and_rollback_move_the_predictors_traffic() -> None:
    before = sdep()
    assert traffic(patches.set_traffic(before, 50)) == [(STABLE, 50, False), (CANARY, 50, False)]
    assert traffic(patches.set_traffic(before, 100, canary_name=CANARY)) == [
        (STABLE, 0, False),
        (CANARY, 100, False),
    ]
    promoted = patches.promote(before, canary_name=CANARY)
    assert traffic(promoted) == [(CANARY, 100, False)]
    assert "status" not in promoted and "uid" not in promoted["metadata"]
    rolled_back = patches.rollback(before, canary_name=CANARY)
    assert traffic(rolled_back) == [(STABLE, 100, False)]
    # The promoted predictor is unchanged but for its traffic: its pods keep running.
    assert {**promoted["spec"]["predictors"][0], "traffic": 10} == before["spec"]["predictors"][1]
    patch = patches.merge_patch(patches._cleaned(before), promoted)
    assert patches.apply_merge_patch(patches._cleaned(before), patch) == promoted
    assert before == sdep()  # pure
    for patched in (promoted, rolled_back, patches.set_traffic(before, 30)):
        validate_manifest(patched)
    assert patches.deployment_mode(before) == patches.MODE_SELDON


def test_a_shadow_predictor_is_left_alone_and_bad_input_is_refused() -> None:
    shadow = sdep("shadow")
    with pytest.raises(ConfigError, match="live predictors"):
        patches.promote(shadow)  # one live predictor: nothing to promote
    with pytest.raises(ConfigError, match="live predictors"):
        patches.set_traffic(sdep(), 20, canary_name="bundle-00000000")
    typo = sdep()
    typo["spec"]["predictors"][0]["trafic"] = 1
    with pytest.raises(ManifestError, match="trafic"):
        patches.rollback(typo)
    with pytest.raises(ConfigError, match=r"0\.\.100"):
        patches.set_traffic(sdep(), 101)


def test_apply_patches_the_seldon_resource_with_declared_calls_only() -> None:
    api = RecordingCustomObjectsApi(sdep())
    before = patches.read(api, "kfp-tabular", "churn", patches.SELDON_KIND)
    patches.apply(api, "kfp-tabular", before, patches.promote(before))
    group, version, plural = patches.RESOURCES[patches.SELDON_KIND]
    assert [args[:5] for _, args in api.calls] == [
        (group, version, "kfp-tabular", plural, "churn"),
        (group, version, "kfp-tabular", plural, "churn"),
    ]
    assert {(group, plural, verb) for verb, _ in api.calls} <= patches.API_CALLS
    assert traffic(api.isvc) == [(CANARY, 100, False)]


def record(canary: str | None = CANARY) -> dict[str, Any]:
    """The record deploy's kubernetes target writes for a Seldon canary."""
    return {
        keys.DEPLOY_TARGET: keys.DEPLOY_TARGET_KUBERNETES,
        keys.DEPLOY_PLATFORM: keys.DEPLOY_PLATFORM_SELDON,
        keys.DEPLOY_STRATEGY: keys.DEPLOY_STRATEGY_CANARY,
        keys.DEPLOY_MODE: "Knative",
        keys.DEPLOY_NAMESPACE: "kfp-tabular",
        keys.DEPLOY_NAME: "churn",
        keys.DEPLOY_SIDES: [
            {
                keys.DEPLOY_SIDE_ROLE: keys.DEPLOY_ROLE_STABLE,
                keys.DEPLOY_SIDE_PREDICTOR_NAME: STABLE,
            },
            {
                keys.DEPLOY_SIDE_ROLE: keys.DEPLOY_ROLE_CANARY,
                keys.DEPLOY_SIDE_PREDICTOR_NAME: canary,
            },
        ],
    }


def test_selectors_are_each_predictors_deployment() -> None:
    chosen = cluster.selectors(sdep(), record(), RolloutConfig())
    assert chosen == {
        "stable": {"workload": f"churn-{STABLE}", "pods": f"churn-{STABLE}-.*"},
        "canary": {"workload": f"churn-{CANARY}", "pods": f"churn-{CANARY}-.*"},
    }
    assert cluster.kind_of(record()) == patches.SELDON_KIND


class SeldonPrometheusStub(PrometheusStub):
    """The stub, told which side a query is for by the canary predictor's workload name."""

    def answer(self, query: str) -> dict:
        return super().answer(query.replace(f"churn-{CANARY}", "challenger"))


@pytest.mark.parametrize(("error_rate", "promoted"), [(0.0, True), (0.2, False)])
def test_kubernetes_rollout_steps_the_canary_then_promotes_or_rolls_back(
    error_rate: float, promoted: bool
) -> None:
    stub = SeldonPrometheusStub(canary_error_rate=error_rate)
    try:
        api = RecordingCustomObjectsApi(sdep())
        config = RolloutConfig(
            window_seconds=0.01, prometheus_url=stub.url, prometheus_queries={"preset": "istio"}
        )
        trail = roll_out(record(), config, api=api)
    finally:
        stub.close()
    assert trail["promoted"] is promoted
    sent = [args[-1] for verb, args in api.calls if verb == "patch"]
    assert sent[0] == {}  # deploy rendered the first step's 10% already: nothing to change
    if promoted:
        assert [s["percent"] for s in trail["steps"]] == [10, 50, 100]
        second = sent[1]["spec"]["predictors"]  # a list: merge patch sends it whole
        assert [(p["name"], p["traffic"]) for p in second] == [(STABLE, 50), (CANARY, 50)]
        assert traffic(api.isvc) == [(CANARY, 100, False)]
    else:
        assert trail["decision"] == keys.DECISION_ROLLBACK
        assert traffic(api.isvc) == [(STABLE, 100, False)]
    assert any(f'destination_workload=~"churn-{CANARY}"' in q for q in stub.queries)
