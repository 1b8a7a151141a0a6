"""Small data: below ``cv_below_rows`` featurize assigns stratified folds instead of a holdout;
at or above it (and with a time column) nothing changes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from kfp import dsl
from sklearn.model_selection import StratifiedKFold

from components._shared import keys
from components._shared.errors import ConfigError, DataError
from components._shared.featurizer import Featurizer
from components._shared.schema import Schema
from components.featurize.config import FeaturizeConfig
from components.featurize.executor import main
from components.featurize.split import kfold_rows

PARAMS: dict[str, Any] = vars(FeaturizeConfig.defaults())


def _run(tmp_path: Path, frame: pd.DataFrame, schema: Schema, **params: Any) -> dict[str, Any]:
    data = tmp_path / "in" / "dataset.parquet"
    data.parent.mkdir(parents=True)
    frame.to_parquet(data, index=False)
    (tmp_path / "in" / keys.SCHEMA_FILE).write_text(schema.to_json(), encoding="utf-8")
    out = tmp_path / "out"
    outputs = {
        "featurizer": dsl.Artifact(name="featurizer", uri=str(out / "featurizer")),
        "features": dsl.Dataset(name="features", uri=str(out / "features")),
        "splits": dsl.Dataset(name="splits", uri=str(out / "splits")),
        "summary": dsl.Markdown(name="summary", uri=str(out / "summary")),
    }
    main(
        {
            "dataset": dsl.Dataset(name="dataset", uri=str(data)),
            "schema": dsl.Artifact(name="schema", uri=str(tmp_path / "in" / keys.SCHEMA_FILE)),
            **PARAMS,
            **params,
            **outputs,
        }
    )
    return outputs


def _table(artifact: dsl.Artifact, name: str) -> pd.DataFrame:
    return pd.read_parquet(Path(artifact.path) / name)


def test_below_the_threshold_every_row_gets_a_stratified_seeded_fold(
    tmp_path: Path, telco: pd.DataFrame, telco_contract: Schema
) -> None:
    rows = telco.iloc[:1000]
    outputs = _run(tmp_path, rows, telco_contract)

    splits = outputs["splits"]
    folds = _table(splits, keys.FOLDS_FILE)[keys.FOLD_COLUMN].to_numpy()
    for name in keys.SPLITS:  # train (the refit), valid and test each hold every row, in order
        pd.testing.assert_frame_equal(_table(splits, keys.split_file(name)), rows)
    labels = (rows["Churn"] == "Yes").to_numpy()
    expected = np.zeros(len(rows), dtype=np.int8)
    seeded = StratifiedKFold(n_splits=5, shuffle=True, random_state=PARAMS["seed"])
    for fold, (_, held) in enumerate(seeded.split(np.zeros(len(rows)), labels.astype(str))):
        expected[held] = fold
    assert np.array_equal(folds, expected)
    for fold in range(5):  # stratified: each fold holds a fifth of each class, to a row
        assert abs(labels[folds == fold].sum() - labels.sum() / 5) <= 1
        assert (folds == fold).sum() == 200

    evaluation = "stratified 5-fold cross-validation on 1000 rows"
    for artifact in (outputs["features"], splits):
        assert artifact.metadata[keys.META_SPLIT_METHOD] == keys.SPLIT_KFOLD
        assert artifact.metadata[keys.META_EVALUATION] == evaluation
        assert artifact.metadata[keys.META_FOLDS] == 5
    fitted = Featurizer.from_json(Path(outputs["featurizer"].path).read_text())
    assert fitted.to_dict()["train_rows"] == 1000  # the refit's featurizer: every row
    summary = Path(outputs["summary"].path).read_text()
    assert evaluation in summary and "refits the featurizer and the model per fold" in summary


def test_at_the_threshold_and_with_cv_off_the_holdout_is_unchanged(
    tmp_path: Path, telco: pd.DataFrame, telco_contract: Schema
) -> None:
    rows = telco.iloc[:2000]
    default = _run(tmp_path / "default", rows, telco_contract)  # 2,000 rows: not below 2,000
    off = _run(tmp_path / "off", telco.iloc[:1000], telco_contract, cv_below_rows=0)
    for outputs in (default, off):
        assert not (Path(outputs["splits"].path) / keys.FOLDS_FILE).exists()
        assert outputs["splits"].metadata[keys.META_SPLIT_METHOD] == keys.SPLIT_STRATIFIED
        assert outputs["splits"].metadata[keys.META_EVALUATION] == keys.EVALUATION_HOLDOUT
    sizes = [len(_table(off["splits"], keys.split_file(n))) for n in keys.SPLITS]
    assert sizes == [700, 150, 150]  # 150 test rows: under the gate's 200-row guard


def test_a_time_column_keeps_the_time_split_below_the_threshold(
    tmp_path: Path, telco: pd.DataFrame, telco_contract: Schema
) -> None:
    rows = telco.iloc[:800].copy()
    rows["tenure_time"] = pd.Timestamp("2024-01-01") + pd.to_timedelta(np.arange(800), unit="D")
    schema = Schema.from_dict({**telco_contract.to_dict(), "time_column": "tenure_time"})
    outputs = _run(tmp_path, rows, schema)
    assert outputs["splits"].metadata[keys.META_SPLIT_METHOD] == keys.SPLIT_TIME
    assert not (Path(outputs["splits"].path) / keys.FOLDS_FILE).exists()


def test_bad_cv_parameters_and_too_small_a_class_are_named(
    telco: pd.DataFrame, telco_contract: Schema
) -> None:
    with pytest.raises(ConfigError) as raised:
        FeaturizeConfig(cv_below_rows=-1, cv_folds=2)
    assert "cv_below_rows" in str(raised.value) and "cv_folds" in str(raised.value)
    few = pd.concat([telco[telco["Churn"] == "No"].iloc[:50], telco[telco["Churn"] == "Yes"][:3]])
    with pytest.raises(DataError, match=r"at least 5.*'Yes': 3"):
        kfold_rows(few.reset_index(drop=True), telco_contract, folds=5, seed=1)
