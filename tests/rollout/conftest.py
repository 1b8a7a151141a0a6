"""Real bundles and real local servers for the closed-loop rollout tests.

The bundles are trained here from the bundled Telco data by the project's executors (validate ->
featurize -> train, tests/helpers/spine.py), as a pipeline run makes them: a good xgboost model,
and a *shifted* one, the same family trained on shuffled labels, whose scores bunch around the
base rate instead of spreading (a real served bundle, not a wrapper). Servers are ``python -m serving`` processes
started with ``components._shared.local_serving`` (as deploy's local target starts them) and
always stopped in teardown.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from kfp import dsl

from components._shared import keys, local_serving
from components._shared.local_serving import LocalServer
from tests.fixtures.datasets import fast_candidate, telco_spine

MODEL_NAME = "churn"
READY_TIMEOUT_S = 60.0


@dataclass
class Telco:
    """The splits directory, the good and the shifted bundle, and a feedback table."""

    splits: dsl.Dataset
    good: Path
    shifted: Path
    feedback: Path
    test_rows: pd.DataFrame


@pytest.fixture(scope="session")
def telco_bundles(telco_csv: Path, tmp_path_factory: pytest.TempPathFactory) -> Telco:
    spine = telco_spine(telco_csv, tmp_path_factory.mktemp("rollout_bundles"))
    good = spine.train(fast_candidate("xgboost", name="xgboost_good"))
    shifted = spine.train(
        fast_candidate("xgboost", name="xgboost_shifted"),
        features=_shuffled_labels(spine.features, spine.out),
    )
    test_rows = spine.test_rows()
    feedback = spine.out / "feedback.parquet"
    pd.DataFrame(
        {keys.FEEDBACK_REQUEST_ID: test_rows["customerID"], keys.FEEDBACK_LABEL: test_rows["Churn"]}
    ).to_parquet(feedback)
    return Telco(spine.splits, good, shifted, feedback, test_rows)


def _shuffled_labels(features: dsl.Dataset, out: Path) -> dsl.Dataset:
    """The feature tables with train/valid labels shuffled: a model trained on them has learnt
    nothing, so its scores bunch around the base rate instead of spreading like a real model's."""
    shuffled = dsl.Dataset(name="features_shuffled", uri=str(out / "features_shuffled"))
    Path(shuffled.path).mkdir(parents=True)
    rng = np.random.default_rng(11)
    for split in keys.SPLITS:
        table = pd.read_parquet(Path(features.path) / keys.split_file(split))
        if split != keys.TEST:
            table[keys.LABEL_COLUMN] = rng.permutation(table[keys.LABEL_COLUMN].to_numpy())
        table.to_parquet(Path(shuffled.path) / keys.split_file(split))
    return shuffled


Starter = Callable[..., list[LocalServer]]


@pytest.fixture
def start_servers(tmp_path: Path) -> Iterator[Starter]:
    """Start bundles' servers in parallel (each spends seconds importing); all stopped after."""
    started: list[LocalServer] = []

    def start(*bundles: Path) -> list[LocalServer]:
        def one(i_bundle: tuple[int, Path]) -> LocalServer:
            i, bundle = i_bundle
            return local_serving.start_server(
                str(bundle),
                model_name=MODEL_NAME,
                log_path=str(tmp_path / f"server-{i}.log"),
                ready_timeout=READY_TIMEOUT_S,
            )

        with ThreadPoolExecutor(max_workers=len(bundles)) as pool:
            servers = list(pool.map(one, enumerate(bundles, start=len(started))))
        started.extend(servers)
        return servers

    yield start
    for server in started:
        local_serving.stop_server(server)


def deployment_record(
    path: Path, stable: LocalServer, canary: LocalServer, **fields: object
) -> dsl.Artifact:
    """A deployment record as deploy's local target writes it, as an input artifact."""
    record = {
        keys.DEPLOY_RECORD_FORMAT: keys.DEPLOY_RECORD_FORMAT_VERSION,
        keys.DEPLOY_TARGET: keys.DEPLOY_TARGET_LOCAL,
        keys.DEPLOY_STRATEGY: keys.DEPLOY_STRATEGY_CANARY,
        keys.DEPLOY_MODE: keys.DEPLOY_MODE_KNATIVE,
        keys.DEPLOY_NAMESPACE: "local",
        keys.DEPLOY_NAME: "churn",
        keys.DEPLOY_SIDES: [
            {
                keys.DEPLOY_SIDE_ROLE: role,
                keys.DEPLOY_SIDE_BUNDLE_URI: s.bundle_dir,
                keys.DEPLOY_SIDE_URL: s.url,
                keys.DEPLOY_SIDE_PID: s.pid,
                keys.DEPLOY_SIDE_PORT: s.port,
                keys.DEPLOY_SIDE_MODEL_NAME: s.model_name,
            }
            for role, s in ((keys.DEPLOY_ROLE_STABLE, stable), (keys.DEPLOY_ROLE_CANARY, canary))
        ],
        **fields,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record))
    return dsl.Artifact(name="deployment", uri=str(path))
