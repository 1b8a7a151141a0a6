"""Real bundles and real local servers for the closed-loop rollout tests.

The bundles are trained here from the bundled Telco data by the project's executors (validate ->
featurize -> train), as a pipeline run makes them: a good xgboost model, and a *shifted* one,
the same family trained with balanced class weights, whose scores sit much higher for the same
customers (a real served bundle, not a wrapper). Servers are ``python -m serving`` processes
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
from components.featurize import executor as featurize
from components.train import executor as train
from components.validate import executor as validate
from tests.unit.train.datasets import fast_candidate

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
    out = tmp_path_factory.mktemp("rollout_bundles")

    def art(kind: type, name: str) -> dsl.Artifact:
        return kind(name=name, uri=str(out / name))

    dataset, schema, profile = (
        art(dsl.Dataset, "dataset"),
        art(dsl.Artifact, "schema"),
        art(dsl.Artifact, "profile"),
    )
    validate.run(
        data_uri=str(telco_csv),
        target="Churn",
        positive_label="Yes",
        id_columns=["customerID"],
        time_column="",
        expected_schema=None,
        max_null_fraction=0.5,
        min_class_count=10,
        dataset=dataset,
        schema=schema,
        profile=profile,
        report=art(dsl.Markdown, "report"),
        metrics=art(dsl.Metrics, "validate_metrics"),
    )
    featurizer, features, splits = (
        art(dsl.Artifact, "featurizer"),
        art(dsl.Dataset, "features"),
        art(dsl.Dataset, "splits"),
    )
    featurize.run(
        dataset=dataset,
        schema=schema,
        valid_fraction=0.2,
        test_fraction=0.2,
        seed=7,
        min_category_count=10,
        interactions=[],
        rolling=[],
        featurizer=featurizer,
        features=features,
        splits=splits,
        summary=art(dsl.Markdown, "summary"),
    )
    bundles = {}
    for name, table in (("good", features), ("shifted", _shuffled_labels(features, out))):
        bundle = art(dsl.Model, f"bundle_{name}")
        train.run(
            candidate=fast_candidate("xgboost", name=f"xgboost_{name}"),
            features=table,
            splits=splits,
            featurizer=featurizer,
            schema=schema,
            profile=profile,
            seed=7,
            bundle=bundle,
            metrics=art(dsl.Metrics, f"m_{name}"),
            roc=art(dsl.ClassificationMetrics, f"roc_{name}"),
        )
        bundles[name] = Path(bundle.path)
    test_rows = pd.read_parquet(Path(splits.path) / keys.split_file(keys.TEST))
    feedback = out / "feedback.parquet"
    pd.DataFrame(
        {keys.FEEDBACK_REQUEST_ID: test_rows["customerID"], keys.FEEDBACK_LABEL: test_rows["Churn"]}
    ).to_parquet(feedback)
    return Telco(splits, bundles["good"], bundles["shifted"], feedback, test_rows)


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
