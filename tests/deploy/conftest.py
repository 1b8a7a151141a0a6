"""Deploy test fixtures: blessings, output artifacts, real bundles, and a recording API double.

Two real bundles (champion: xgboost, challenger: LightGBM) are trained in the session by the
project's own executors (validate -> featurize -> train) on the bundled Telco data, as a pipeline
run makes them; nothing is checked in. ``RecordingCustomObjectsApi`` is a test double of
``kubernetes.client.CustomObjectsApi``: it records every request deploy sends and answers from
an in-memory dict whose ``status`` the test scripts. It is not a cluster and runs no controller.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from kfp import dsl
from kubernetes.client.exceptions import ApiException

from components._shared import keys
from components._shared.bundle import json_record
from components.deploy import apply, executor
from components.deploy.config import DeployConfig
from tests.fixtures.datasets import fast_candidate, telco_spine


def write_blessing(
    directory: Path, *, blessed: bool = True, manifest_sha256: str | None = None
) -> dsl.Artifact:
    """A blessing artifact in the gate's layout (components/gate/README.md)."""
    path = directory / "blessing.json"
    verdict = keys.VERDICT_BLESSED if blessed else keys.VERDICT_REFUSED
    path.write_text(
        json.dumps(
            {
                keys.BLESSING_BLESSED: blessed,
                keys.BLESSING_VERDICT: verdict,
                keys.BLESSING_RULE_VERSION: "gate-rule/1",
                keys.BLESSING_SUMMARY: "all 7 checks passed" if blessed else "auc below the floor",
                keys.BLESSING_REASONS: [],
                **(
                    {keys.BLESSING_BUNDLE_MANIFEST_SHA256: manifest_sha256}
                    if manifest_sha256
                    else {}
                ),
            }
        )
    )
    return dsl.Artifact(name="blessing", uri=str(path))


@dataclass
class Outputs:
    """deploy's output artifacts in a temporary directory."""

    deployment: dsl.Artifact
    manifests: dsl.Artifact
    summary: dsl.Markdown

    def kwargs(self) -> dict[str, Any]:
        return {"deployment": self.deployment, "manifests": self.manifests, "summary": self.summary}

    def record(self) -> dict[str, Any]:
        return json.loads(Path(self.deployment.path).read_text())


def run_deploy(
    outputs: Outputs,
    bundle: Any,
    blessing: Any,
    *,
    custom_objects_api: Any = None,
    poll_s: float = apply.POLL_INTERVAL_S,
    **params: Any,
) -> dict[str, Any]:
    """executor.run with the parameters as a DeployConfig; returns the deployment record."""
    return executor.run(
        executor.DeployInputs(bundle=bundle, blessing=blessing),
        executor.DeployOutputs(**outputs.kwargs()),
        DeployConfig(**params),
        custom_objects_api=custom_objects_api,
        poll_s=poll_s,
    )


@pytest.fixture
def outputs(tmp_path: Path) -> Outputs:
    out = tmp_path / "deploy"
    return Outputs(
        deployment=dsl.Artifact(name="deployment", uri=str(out / "deployment")),
        manifests=dsl.Artifact(name="manifests", uri=str(out / "manifests")),
        summary=dsl.Markdown(name="summary", uri=str(out / "summary")),
    )


@pytest.fixture
def blessing(tmp_path: Path) -> dsl.Artifact:
    return write_blessing(tmp_path)


@pytest.fixture
def remote_bundle() -> dsl.Model:
    """A bundle artifact as KFP hands it on a cluster: a gs:// URI (render never reads it)."""
    return dsl.Model(name="blessed_bundle", uri="gs://models-bucket/run-1/gate/blessed_bundle")


@dataclass
class Bundles:
    """Champion and challenger bundle directories and raw test rows (JSON-like records)."""

    champion: Path
    challenger: Path
    test_rows: pd.DataFrame

    def records(self, n: int) -> list[dict[str, Any]]:
        return [
            json_record({str(k): v for k, v in r.items()})
            for r in self.test_rows.head(n).to_dict("records")
        ]


@pytest.fixture(scope="session")
def bundles(telco_csv: Path, tmp_path_factory: pytest.TempPathFactory) -> Bundles:
    """validate -> featurize -> train xgboost (champion) and LightGBM (challenger), fast params."""
    spine = telco_spine(telco_csv, tmp_path_factory.mktemp("deploy_bundles"))
    champion = spine.train(fast_candidate("xgboost", name="xgboost_champion"))
    challenger = spine.train(fast_candidate("lightgbm", name="lightgbm_challenger"))
    return Bundles(champion, challenger, spine.test_rows())


class RecordingCustomObjectsApi:
    """Records the CustomObjectsApi requests deploy makes; NOT a cluster.

    Objects live in a dict keyed by (plural, namespace, name). ``get`` answers the stored object
    (404 ApiException when absent); ``create`` and ``replace`` store the body with a new
    resourceVersion. ``on_get`` lets a test script the status a controller would write, e.g.
    "Ready after the second poll".
    """

    def __init__(self, objects: list[dict[str, Any]] | None = None) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.objects: dict[tuple[str, str, str], dict[str, Any]] = {}
        self.on_get: Callable[[dict[str, Any], int], None] | None = None
        self._gets = 0
        self._version = 100
        for obj in objects or []:
            plural = {"InferenceService": "inferenceservices", "VirtualService": "virtualservices"}[
                obj["kind"]
            ]
            self._store(plural, obj["metadata"]["namespace"], copy.deepcopy(obj))

    def _store(self, plural: str, namespace: str, body: dict[str, Any]) -> dict[str, Any]:
        self._version += 1
        meta = body.setdefault("metadata", {})
        meta["resourceVersion"] = str(self._version)
        # The API server bumps the generation on every spec change (create and replace here).
        previous = self.objects.get((plural, namespace, meta["name"]), {}).get("metadata", {})
        meta["generation"] = int(previous.get("generation", 0)) + 1
        self.objects[(plural, namespace, body["metadata"]["name"])] = body
        return copy.deepcopy(body)

    def verbs(self) -> list[tuple[str, str]]:
        """(method, plural) of every call, in order."""
        return [(method, args["plural"]) for method, args in self.calls]

    def get_namespaced_custom_object(
        self, group: str, version: str, namespace: str, plural: str, name: str, **kwargs: Any
    ) -> dict[str, Any]:
        self.calls.append(
            (
                "get",
                {
                    "group": group,
                    "version": version,
                    "namespace": namespace,
                    "plural": plural,
                    "name": name,
                    **kwargs,
                },
            )
        )
        obj = self.objects.get((plural, namespace, name))
        if obj is None:
            raise ApiException(status=404, reason="Not Found")
        self._gets += 1
        if self.on_get is not None:
            self.on_get(obj, self._gets)
        return copy.deepcopy(obj)

    def create_namespaced_custom_object(
        self,
        group: str,
        version: str,
        namespace: str,
        plural: str,
        body: dict[str, Any],
        **kwargs: Any,
    ) -> dict[str, Any]:
        self.calls.append(
            (
                "create",
                {
                    "group": group,
                    "version": version,
                    "namespace": namespace,
                    "plural": plural,
                    "body": copy.deepcopy(body),
                    **kwargs,
                },
            )
        )
        return self._store(plural, namespace, copy.deepcopy(body))

    def replace_namespaced_custom_object(
        self,
        group: str,
        version: str,
        namespace: str,
        plural: str,
        name: str,
        body: dict[str, Any],
        **kwargs: Any,
    ) -> dict[str, Any]:
        self.calls.append(
            (
                "replace",
                {
                    "group": group,
                    "version": version,
                    "namespace": namespace,
                    "plural": plural,
                    "name": name,
                    "body": copy.deepcopy(body),
                    **kwargs,
                },
            )
        )
        current = self.objects[(plural, namespace, name)]
        if body["metadata"].get("resourceVersion") != current["metadata"]["resourceVersion"]:
            raise ApiException(status=409, reason="Conflict")
        stored = copy.deepcopy(body)
        if "status" in current:
            stored["status"] = current["status"]
        return self._store(plural, namespace, stored)
