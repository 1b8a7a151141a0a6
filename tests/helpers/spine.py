"""validate -> featurize on the bundled Telco data with the project's own executors, then as
many train runs as a test needs: real bundles made the way a pipeline run makes them, so that
no test checks in a model. Used by the serving, deploy and rollout fixtures."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from kfp import dsl

from components._shared import keys
from components.featurize import executor as featurize
from components.featurize.config import FeaturizeConfig
from components.train import executor as train
from components.validate import executor as validate

SEED = 7


@dataclass
class Spine:
    """The artifacts of validate and featurize in ``out``; ``train`` adds bundles beside them."""

    out: Path
    schema: dsl.Artifact
    profile: dsl.Artifact
    featurizer: dsl.Artifact
    features: dsl.Dataset
    splits: dsl.Dataset

    def artifact(self, kind: type, name: str) -> Any:
        """A fresh KFP artifact of ``kind`` under ``out``."""
        return kind(name=name, uri=str(self.out / name))

    def train(self, candidate: dict[str, Any], *, features: dsl.Dataset | None = None) -> Path:
        """Train ``candidate`` (on ``features``, default the spine's own) into a bundle dir."""
        name = candidate["name"]
        bundle = self.artifact(dsl.Model, f"bundle_{name}")
        train.run(
            candidate=candidate,
            features=features or self.features,
            splits=self.splits,
            featurizer=self.featurizer,
            schema=self.schema,
            profile=self.profile,
            seed=SEED,
            bundle=bundle,
            metrics=self.artifact(dsl.Metrics, f"metrics_{name}"),
            roc=self.artifact(dsl.ClassificationMetrics, f"roc_{name}"),
        )
        return Path(bundle.path)

    def test_rows(self) -> pd.DataFrame:
        """The raw typed rows of the test split."""
        return pd.read_parquet(Path(self.splits.path) / keys.split_file(keys.TEST))


def telco_spine(telco_csv: Path, out: Path) -> Spine:
    """Validate and featurize the Telco CSV into ``out`` (60/20/20 stratified split)."""
    spine = Spine(
        out=out,
        schema=dsl.Artifact(name="schema", uri=str(out / "schema")),
        profile=dsl.Artifact(name="profile", uri=str(out / "profile")),
        featurizer=dsl.Artifact(name="featurizer", uri=str(out / "featurizer")),
        features=dsl.Dataset(name="features", uri=str(out / "features")),
        splits=dsl.Dataset(name="splits", uri=str(out / "splits")),
    )
    dataset = spine.artifact(dsl.Dataset, "dataset")
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
        schema=spine.schema,
        profile=spine.profile,
        report=spine.artifact(dsl.Markdown, "report"),
        metrics=spine.artifact(dsl.Metrics, "validate_metrics"),
    )
    featurize.run(
        featurize.FeaturizeInputs(dataset=dataset, schema=spine.schema),
        featurize.FeaturizeOutputs(
            featurizer=spine.featurizer,
            features=spine.features,
            splits=spine.splits,
            summary=spine.artifact(dsl.Markdown, "summary"),
        ),
        FeaturizeConfig(valid_fraction=0.2, test_fraction=0.2, seed=SEED),
    )
    return spine
