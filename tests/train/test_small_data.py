"""Small data: with featurize's folds, train predicts every row out of fold (featurizer refit per
fold, so nothing of a held-out fold leaks into its prediction) and refits the bundle on all rows."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from kfp import dsl

from components._shared import families, keys
from components._shared.bundle import load_bundle, sha256_file
from components._shared.featurizer import Featurizer
from components._shared.metrics import classification_metrics
from components.featurize.config import FeaturizeConfig
from components.train.crossval import out_of_fold, refit_params
from tests.fixtures.datasets import Spine, fast_candidate, small_telco_spine, telco, train_with_oof


@pytest.fixture(scope="module")
def spine(telco_csv: Path, tmp_path_factory: pytest.TempPathFactory) -> Spine:
    return small_telco_spine(telco_csv, tmp_path_factory.mktemp("small_train"))


def _oof(artifact: dsl.Dataset) -> tuple[pd.DataFrame, dict]:
    path = Path(artifact.path)
    return pd.read_parquet(path / keys.OOF_FILE), json.loads((path / keys.OOF_INFO).read_text())


@pytest.mark.parametrize("family", ["lightgbm", "sklearn_logreg"])
def test_every_row_is_predicted_out_of_fold_and_the_bundle_is_refit_on_all(
    family: str, spine: Spine
) -> None:
    bundle_artifact, oof_artifact = train_with_oof(spine, fast_candidate(family))
    table, info = _oof(oof_artifact)
    folds = pd.read_parquet(Path(spine.splits.path) / keys.FOLDS_FILE)[keys.FOLD_COLUMN]
    assert list(table[keys.OOF_ROW]) == list(range(1000))
    assert np.array_equal(table[keys.FOLD_COLUMN], folds)
    assert table[keys.OOF_PROBA].between(0, 1).all()
    evaluation = "stratified 5-fold cross-validation on 1000 rows"
    assert info[keys.META_EVALUATION] == evaluation and info[keys.META_FOLDS] == 5
    bundle_dir = Path(bundle_artifact.path)
    assert info[keys.OOF_BUNDLE_SHA256] == sha256_file(bundle_dir / keys.MANIFEST_FILE)

    bundle = load_bundle(str(bundle_dir))
    data = bundle.manifest[keys.MANIFEST_TRAINING_DATA]
    assert data["train_rows"] == 1000 and data[keys.META_EVALUATION] == evaluation
    assert [m["fit_rows"] for m in data["fold_models"]] == (
        [600] * 5 if family == "lightgbm" else [800] * 5  # early stopping takes the next fold
    )
    assert bundle.featurizer.to_dict()["train_rows"] == 1000  # refit: featurize's, on all rows
    oof_metrics = classification_metrics(
        table[keys.LABEL_COLUMN].to_numpy(), table[keys.OOF_PROBA].to_numpy()
    )
    assert bundle.manifest[keys.MANIFEST_METRICS] == pytest.approx(oof_metrics)
    assert 0.75 < oof_metrics[keys.METRIC_AUC] < 0.9
    card = (bundle_dir / keys.MODEL_CARD_FILE).read_text()
    assert f"## Metrics (out-of-fold predictions of {evaluation}, threshold 0.5)" in card
    if family == "lightgbm":
        rounds = sorted(m["trees"] for m in data["fold_models"])
        assert 0 < bundle.predictor.info()["trees"] <= rounds[2]  # the median of the folds' rounds


def test_the_featurizer_is_refit_inside_each_fold(telco_csv: Path) -> None:
    """Fold 0's predictions come from a featurizer and a model fitted on folds 1-4 only: the
    same computation by hand gives the same numbers, and a featurizer fitted on every row (fold 0
    included) would have given other ones."""
    frame, schema = telco(telco_csv, rows=1000, seed=3)
    labels = (frame["Churn"] == "Yes").to_numpy().astype(np.int8)
    folds = (np.arange(len(frame)) % 5).astype(np.int8)
    candidate = fast_candidate("sklearn_logreg")
    oof = out_of_fold(
        frame,
        labels,
        folds,
        schema=schema,
        featurizer=Featurizer(min_category_count=10),
        candidate=candidate,
        seed=1,
    )
    held = folds == 0

    def fold_zero(fitted_on: np.ndarray) -> np.ndarray:
        featurizer = Featurizer(min_category_count=10).fit(frame[fitted_on], schema)
        x = featurizer.transform_frame(frame)
        model = families.fit(
            "sklearn_logreg", candidate["params"], x[~held], labels[~held], x[held], labels[held],
            seed=1,
        )  # fmt: skip
        return model.predict_proba(x[held])

    np.testing.assert_allclose(oof.proba[held], fold_zero(~held), rtol=0, atol=1e-12)
    leaky = fold_zero(np.ones(len(frame), dtype=bool))
    assert np.max(np.abs(leaky - oof.proba[held])) > 1e-6
    assert oof.fold_fit_rows == [800] * 5


def test_refit_params_fix_the_rounds_and_leave_other_families_alone() -> None:
    infos = [{"trees": t} for t in (40, 80, 60, 70, 50)]
    assert refit_params("xgboost", {"eta": 0.1}, infos) == {
        "eta": 0.1,
        "num_boost_round": 60,
        "early_stopping_rounds": 60,
    }
    hgb = refit_params("sklearn_hgb", {}, [{"iterations": i} for i in (10, 30, 20)])
    assert hgb == {"max_iter": 20, "early_stopping": False}
    assert refit_params("sklearn_rf", {"n_estimators": 9}, [{"trees": 9}]) == {"n_estimators": 9}


def test_holdout_training_writes_an_empty_out_of_fold_table(
    telco_csv: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    holdout = small_telco_spine(
        telco_csv, tmp_path_factory.mktemp("holdout"), config=FeaturizeConfig(cv_below_rows=0)
    )
    bundle, oof_artifact = train_with_oof(holdout, fast_candidate("sklearn_logreg"))
    table, info = _oof(oof_artifact)
    assert len(table) == 0 and info[keys.META_EVALUATION] == keys.EVALUATION_HOLDOUT
    manifest = load_bundle(bundle.path).manifest
    assert keys.META_EVALUATION not in manifest[keys.MANIFEST_TRAINING_DATA]  # as before
    assert manifest[keys.MANIFEST_TRAINING_DATA]["train_rows"] == 700
