"""main() and compute(): the featurize step on real Telco files with real KFP artifacts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from kfp import dsl

from components._shared import keys
from components._shared.errors import ConfigError
from components._shared.featurizer import Featurizer
from components._shared.schema import Schema
from components.featurize.executor import main
from tests.fixtures.datasets import TELCO, typed

PARAMS: dict[str, Any] = {
    "valid_fraction": 0.15,
    "test_fraction": 0.15,
    "seed": 42,
    "min_category_count": 10,
    "interactions": [],
    "rolling": [],
}


def _inputs(tmp_path: Path, frame: pd.DataFrame, schema: Schema) -> dict[str, Any]:
    data = tmp_path / "in" / "dataset.parquet"
    data.parent.mkdir()
    frame.to_parquet(data, index=False)
    (tmp_path / "in" / keys.SCHEMA_FILE).write_text(schema.to_json(), encoding="utf-8")
    return {
        "dataset": dsl.Dataset(name="dataset", uri=str(data)),
        "schema": dsl.Artifact(name="schema", uri=str(tmp_path / "in" / keys.SCHEMA_FILE)),
    }


def _outputs(tmp_path: Path) -> dict[str, Any]:
    out = tmp_path / "out"
    return {
        "featurizer": dsl.Artifact(name="featurizer", uri=str(out / "featurizer")),
        "features": dsl.Dataset(name="features", uri=str(out / "features")),
        "splits": dsl.Dataset(name="splits", uri=str(out / "splits")),
        "summary": dsl.Markdown(name="summary", uri=str(out / "summary")),
    }


def test_run_writes_featurizer_features_splits_and_summary(
    tmp_path: Path, telco: pd.DataFrame, telco_contract: Schema
) -> None:
    outputs = _outputs(tmp_path)
    main({**_inputs(tmp_path, telco, telco_contract), **PARAMS, **outputs})

    featurizer = Featurizer.from_json(Path(outputs["featurizer"].path).read_text())
    names = featurizer.feature_names_
    rows = {}
    for split in keys.SPLITS:
        table = pd.read_parquet(Path(outputs["features"].path) / keys.split_file(split))
        raw = pd.read_parquet(Path(outputs["splits"].path) / keys.split_file(split))
        assert list(table.columns) == [*names, keys.LABEL_COLUMN]
        assert (table[names].dtypes == np.float64).all()
        assert table[keys.LABEL_COLUMN].dtype == np.int8
        assert list(raw.columns) == list(telco.columns)  # ids, target: every column kept
        assert len(raw) == len(table)
        assert (table[keys.LABEL_COLUMN] == (raw["Churn"] == "Yes")).all()
        # The saved featurizer on the raw rows gives the saved features: parity by construction.
        assert np.array_equal(featurizer.transform_frame(raw), table[names].to_numpy())
        rows[split] = len(raw)
    assert sum(rows.values()) == len(telco)
    assert featurizer.to_dict()["train_rows"] == rows[keys.TRAIN]

    features, splits = outputs["features"], outputs["splits"]
    assert features.metadata[keys.META_N_FEATURES] == len(names)
    assert features.metadata[keys.META_TRAIN_ROWS] == rows[keys.TRAIN]
    assert splits.metadata[keys.META_TEST_ROWS] == rows[keys.TEST]
    assert splits.metadata[keys.META_SPLIT_METHOD] == keys.SPLIT_STRATIFIED
    for artifact in outputs.values():
        assert artifact.metadata[keys.META_DISPLAY_NAME]
    summary = Path(outputs["summary"].path).read_text()
    assert "positive rate" in summary and "unknown in test" in summary
    assert f"| {keys.TRAIN} | {rows[keys.TRAIN]} |" in summary


def test_run_by_time_with_interactions_and_rolling(tmp_path: Path, telco: pd.DataFrame) -> None:
    rows = telco.iloc[:1500].copy()
    rows["signup"] = pd.Timestamp("2023-01-01") + pd.to_timedelta(
        np.random.default_rng(1).integers(0, 24 * 365, size=len(rows)), unit="h"
    )
    rows["region"] = np.where(np.arange(len(rows)) % 3 == 0, "north", "south")
    rows, schema = typed(rows, TELCO, time_column="signup")
    outputs = _outputs(tmp_path)
    params = PARAMS | {
        "interactions": [
            {"name": "charge_per_month", "op": "ratio", "left": "TotalCharges", "right": "tenure"}
        ],
        "rolling": [
            {"name": "region_mean_charges_7d", "entity": "region", "time": "signup"}
            | {"value": "MonthlyCharges", "window": "7D", "agg": "mean"}
        ],
    }
    main({**_inputs(tmp_path, rows, schema), **params, **outputs})

    names = Featurizer.from_json(Path(outputs["featurizer"].path).read_text()).feature_names_
    assert "charge_per_month" in names and "region_mean_charges_7d" in names
    train = pd.read_parquet(Path(outputs["splits"].path) / keys.split_file(keys.TRAIN))
    test = pd.read_parquet(Path(outputs["splits"].path) / keys.split_file(keys.TEST))
    assert train["signup"].max() <= test["signup"].min()
    assert outputs["features"].metadata[keys.META_SPLIT_METHOD] == keys.SPLIT_TIME


def test_bad_parameter_writes_nothing(
    tmp_path: Path, telco: pd.DataFrame, telco_contract: Schema
) -> None:
    outputs = _outputs(tmp_path)
    inputs = _inputs(tmp_path, telco.iloc[:200], telco_contract)
    with pytest.raises(ConfigError, match="test_fraction"):
        main({**inputs, **PARAMS, "test_fraction": 1.0, **outputs})
    bad_rolling = [{"name": "r", "entity": "gender", "time": "tenure", "value": "tenure"}]
    with pytest.raises(ConfigError, match=r"rolling\[0\] keys"):
        main({**inputs, **PARAMS, "rolling": bad_rolling, **outputs})
    assert not (tmp_path / "out").exists() or list((tmp_path / "out").iterdir()) == []
