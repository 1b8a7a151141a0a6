"""Model families on real Telco features: train, save in the safe format, load, same predictions."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import skops.io as sio
from sklearn.ensemble import RandomForestClassifier

from components._shared import families, keys
from components._shared.errors import BundleError, ConfigError
from components._shared.families import _sklearn
from tests.fixtures.datasets import FAST_PARAMS, Prepared, feature_arrays, prepare, telco


@pytest.fixture(scope="module")
def data(
    telco_csv: Path, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    frame, schema = telco(telco_csv, rows=2000)
    prepared: Prepared = prepare(tmp_path_factory.mktemp("families"), frame, schema)
    return {split: feature_arrays(prepared, split) for split in keys.SPLITS}


def _fit(family: str, data: dict, **params: object) -> families.Predictor:
    (xt, yt), (xv, yv) = data[keys.TRAIN], data[keys.VALID]
    return families.fit(family, {**FAST_PARAMS[family], **params}, xt, yt, xv, yv, seed=7, n_jobs=2)


@pytest.mark.parametrize("family", families.FAMILIES)
def test_family_round_trip_gives_identical_predictions(
    family: str, data: dict, tmp_path: Path
) -> None:
    model = _fit(family, data)
    x_test = data[keys.TEST][0]
    before = model.predict_proba(x_test)

    written = model.save(tmp_path)
    assert written == keys.MODEL_FILES[family]
    assert sorted(p.name for p in tmp_path.iterdir()) == [written]
    loaded = families.load(family, tmp_path)
    after = loaded.predict_proba(x_test)

    assert before.dtype == after.dtype == np.float64
    assert before.shape == after.shape == (x_test.shape[0],)
    # xgboost predicts in float32 internally; both sides come from the same float32 trees.
    np.testing.assert_allclose(after, before, rtol=0, atol=1e-12)
    assert ((after >= 0) & (after <= 1)).all()
    one = loaded.predict_proba(x_test[:1])
    assert one.shape == (1,) and one[0] == pytest.approx(after[0], abs=1e-12)
    # Better than chance on held-out Telco rows.
    from sklearn.metrics import roc_auc_score

    assert roc_auc_score(data[keys.TEST][1], after) > 0.75


@pytest.mark.parametrize("family", ["xgboost", "lightgbm"])
def test_boosting_stops_early_and_keeps_only_the_best_rounds(
    family: str, data: dict, tmp_path: Path
) -> None:
    model = (
        _fit(family, data, learning_rate=0.5, num_boost_round=500, early_stopping_rounds=5)
        if family == "lightgbm"
        else _fit(family, data, eta=0.5, num_boost_round=500, early_stopping_rounds=5)
    )
    info = model.info()
    assert info["trees"] < 500
    model.save(tmp_path)
    assert families.load(family, tmp_path).info()["trees"] == info["trees"]


@pytest.mark.parametrize("family", families.FAMILIES)
def test_balanced_class_weighting_raises_positive_probabilities(family: str, data: dict) -> None:
    x_valid = data[keys.VALID][0]
    plain = _fit(family, data).predict_proba(x_valid)
    balanced = _fit(family, data, class_weighting="balanced").predict_proba(x_valid)
    # Telco is ~27% positive: weighting the classes equally must shift mass toward positive.
    assert balanced.mean() > plain.mean() + 0.05


def test_sklearn_load_refuses_types_outside_the_trusted_list(data: dict, tmp_path: Path) -> None:
    (xt, yt) = data[keys.TRAIN]
    forest = RandomForestClassifier(n_estimators=2, random_state=0).fit(xt, yt)
    # A forest written where a logistic regression is expected: its tree types are not trusted.
    sio.dump(forest, tmp_path / keys.MODEL_FILES["sklearn_logreg"])
    with pytest.raises(
        BundleError,
        match=r"model\.skops: refusing to load types not trusted for sklearn_logreg: \['sklearn\.tree",
    ):
        families.load("sklearn_logreg", tmp_path)


def test_trusted_lists_are_explicit_and_complete(data: dict, tmp_path: Path) -> None:
    for family in ("sklearn_logreg", "sklearn_hgb", "sklearn_rf"):
        model = _fit(family, data)
        model.save(tmp_path)
        untrusted = sio.get_untrusted_types(file=tmp_path / keys.MODEL_FILES[family])
        assert set(untrusted) <= set(_sklearn.TRUSTED_TYPES[family]), family


def test_load_of_a_missing_or_corrupt_model_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(BundleError, match=r"model\.ubj: model file for xgboost is missing"):
        families.load("xgboost", tmp_path)
    (tmp_path / "model.txt").write_text("not a model")
    with pytest.raises(BundleError, match=r"model\.txt: cannot load lightgbm model"):
        families.load("lightgbm", tmp_path)


@pytest.mark.parametrize(
    ("family", "params", "message"),
    [
        (
            "catboost",
            {},
            r"model family: expected one of \['xgboost', 'lightgbm', 'sklearn_logreg', 'sklearn_hgb', 'sklearn_rf'\], got 'catboost'",
        ),
        ("xgboost", [1, 2], "xgboost params: expected a dict, got list"),
        ("xgboost", {"nthread": 4}, r"xgboost params \['nthread'\] are set by the train step"),
        ("lightgbm", {"seed": 1}, r"lightgbm params \['seed'\] are set by the train step"),
        (
            "sklearn_logreg",
            {"max_depth": 3},
            r"sklearn_logreg params \['max_depth'\] are not parameters of LogisticRegression",
        ),
        (
            "sklearn_rf",
            {"n_estimators": [1]},
            "sklearn_rf param 'n_estimators': expected a number, string, bool or null, got list",
        ),
        (
            "sklearn_hgb",
            {"class_weighting": "inverse"},
            r"params\['class_weighting'\]: expected None or \('balanced',\), got 'inverse'",
        ),
    ],
)
def test_check_params_names_the_bad_value(family: str, params: object, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        families.check_params(family, params)


def test_library_versions_and_cores() -> None:
    versions = families.library_versions("lightgbm")
    assert {"python", "numpy", "lightgbm", "scikit-learn"} <= set(versions)
    assert "xgboost" not in versions
    assert 1 <= families.available_cores() <= len(__import__("os").sched_getaffinity(0))


def test_params_arriving_as_floats_from_kfp_are_made_integers_again() -> None:
    """KFP passes dict parameters as protobuf Structs: every number becomes a double."""
    from components._shared import families

    params = families.check_params(
        "sklearn_rf", {"max_depth": 12.0, "n_estimators": 50.0, "max_features": 1.0}
    )
    assert params["max_depth"] == 12 and isinstance(params["max_depth"], int)
    assert isinstance(params["n_estimators"], int)
    assert isinstance(params["max_features"], float)  # a fraction: 1.0 is not 1
