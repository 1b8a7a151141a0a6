"""train end to end on real Telco rows with real kfp artifact objects (the typed ``run`` and
``main`` as the component calls it), and ``compute`` on arrays without files."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from kfp import dsl

from components._shared import keys
from components._shared.bundle import load_bundle, sha256_file
from components._shared.errors import ConfigError, DataError
from components.train import executor
from components.train.config import TrainConfig
from components.train.executor import TrainInputs, TrainOutputs
from tests.fixtures.datasets import Prepared, fast_candidate, feature_arrays


def _artifacts(prepared: Prepared, out: Path) -> dict:
    return {
        "features": dsl.Dataset(name="features", uri=str(prepared.features)),
        "splits": dsl.Dataset(name="splits", uri=str(prepared.splits)),
        "featurizer": dsl.Artifact(name="featurizer", uri=str(prepared.featurizer)),
        "schema": dsl.Artifact(name="schema", uri=str(prepared.schema)),
        "profile": dsl.Artifact(name="profile", uri=str(prepared.profile)),
        "bundle": dsl.Model(name="bundle", uri=str(out / "bundle")),
        "metrics": dsl.Metrics(name="metrics", uri=str(out / "metrics")),
        "roc": dsl.ClassificationMetrics(name="roc", uri=str(out / "roc")),
    }


def _train(art: dict, candidate: dict, seed: int) -> executor.Trained:
    """The typed entry: the artifacts sorted into inputs and outputs, the config."""
    inputs = TrainInputs(
        **{k: art[k] for k in ("features", "splits", "featurizer", "schema", "profile")}
    )
    outputs = TrainOutputs(bundle=art["bundle"], metrics=art["metrics"], roc=art["roc"])
    return executor.run(inputs, outputs, TrainConfig(candidate=candidate, seed=seed))


@pytest.mark.parametrize("family", ["lightgbm", "sklearn_logreg"])
def test_run_writes_a_verified_bundle_and_logs_metrics(
    family: str, telco_prepared: Prepared, tmp_path: Path
) -> None:
    art = _artifacts(telco_prepared, tmp_path)
    candidate = fast_candidate(family, name=f"{family}_t")
    trained = _train(art, candidate, seed=3)
    assert trained.name == f"{family}_t" and trained.training_data["seed"] == 3

    bundle = load_bundle(art["bundle"].path)
    manifest = bundle.manifest
    assert manifest[keys.MANIFEST_FAMILY] == family
    assert manifest[keys.MANIFEST_CANDIDATE] == f"{family}_t"
    assert manifest[keys.MANIFEST_PARAMS] == candidate["params"]
    data = manifest[keys.MANIFEST_TRAINING_DATA]
    assert data["source"] == json.loads(telco_prepared.profile.read_text())["source"]
    assert data["train_rows"] == len(telco_prepared.frames[keys.TRAIN])
    assert data["train_features_sha256"] == sha256_file(
        telco_prepared.features / keys.split_file(keys.TRAIN)
    )
    assert (Path(art["bundle"].path) / keys.PROFILE_FILE).read_text().strip()
    assert "Gate decision: pending" in (Path(art["bundle"].path) / keys.MODEL_CARD_FILE).read_text()

    logged = art["metrics"].metadata
    for name in (
        *keys.CLASSIFICATION_METRICS,
        keys.METRIC_TRAIN_SECONDS,
        keys.METRIC_BUNDLE_BYTES,
        keys.METRIC_PREDICT_LATENCY_MS,
    ):
        assert name in logged, name
    assert logged[keys.METRIC_AUC] > 0.78
    assert logged[keys.METRIC_AUC] == pytest.approx(
        manifest[keys.MANIFEST_METRICS][keys.METRIC_AUC]
    )
    assert 0 < logged[keys.METRIC_PREDICT_LATENCY_MS] < 50
    # Raw valid rows through the loaded bundle reproduce the feature-table predictions.
    assert logged[keys.METRIC_PARITY_MAX_ABS_DIFF] < 1e-9

    roc = art["roc"].metadata
    assert 2 <= len(roc["confidenceMetrics"]) <= 200
    assert [s["displayName"] for s in roc["confusionMatrix"]["annotationSpecs"]] == ["No", "Yes"]
    counts = np.array([r["row"] for r in roc["confusionMatrix"]["rows"]])
    assert counts.sum() == len(telco_prepared.frames[keys.VALID])

    for name in ("bundle", "metrics", "roc"):
        meta = art[name].metadata
        assert meta[keys.META_FAMILY] == family and meta[keys.META_CANDIDATE] == f"{family}_t"
        assert f"{family}_t" in meta[keys.META_DISPLAY_NAME]
    assert art["bundle"].metadata[keys.META_CONTENT_SHA256] == sha256_file(
        Path(art["bundle"].path) / keys.MANIFEST_FILE
    )


def test_run_never_reads_the_test_split(telco_prepared: Prepared, tmp_path: Path) -> None:
    copy = tmp_path / "inputs"
    shutil.copytree(telco_prepared.features, copy / "features")
    shutil.copytree(telco_prepared.splits, copy / "splits")
    (copy / "features" / keys.split_file(keys.TEST)).unlink()
    (copy / "splits" / keys.split_file(keys.TEST)).unlink()
    art = _artifacts(telco_prepared, tmp_path)
    art["features"] = dsl.Dataset(name="features", uri=str(copy / "features"))
    art["splits"] = dsl.Dataset(name="splits", uri=str(copy / "splits"))
    executor.main({"candidate": fast_candidate("xgboost"), "seed": 1, **art})
    assert load_bundle(art["bundle"].path).family == "xgboost"


def test_bad_candidate_fails_before_writing_anything(
    telco_prepared: Prepared, tmp_path: Path
) -> None:
    art = _artifacts(telco_prepared, tmp_path)
    with pytest.raises(ConfigError, match="candidate 'x' family: expected one of"):
        executor.main({"candidate": {"name": "x", "family": "svm", "params": {}}, "seed": 1, **art})
    with pytest.raises(ConfigError, match="seed: expected an integer"):
        executor.main({"candidate": fast_candidate("xgboost"), "seed": "1", **art})
    assert not Path(art["bundle"].path).exists()


def test_feature_table_from_another_featurizer_is_refused(
    telco_prepared: Prepared, tmp_path: Path
) -> None:
    features = tmp_path / "features"
    shutil.copytree(telco_prepared.features, features)
    import pandas as pd

    table = pd.read_parquet(features / keys.split_file(keys.TRAIN)).drop(columns=["tenure"])
    table.to_parquet(features / keys.split_file(keys.TRAIN))
    art = _artifacts(telco_prepared, tmp_path)
    art["features"] = dsl.Dataset(name="features", uri=str(features))
    with pytest.raises(DataError, match=r"train feature table lacks column\(s\) \['tenure'\]"):
        _train(art, fast_candidate("sklearn_logreg"), seed=1)
    assert not Path(art["bundle"].path).exists()


def test_compute_fits_and_scores_without_files(telco_prepared: Prepared) -> None:
    """The pure part: arrays in, a fitted model and its valid metrics out; nothing written."""
    x_train, y_train = feature_arrays(telco_prepared, keys.TRAIN)
    x_valid, y_valid = feature_arrays(telco_prepared, keys.VALID)
    data = executor.TrainingData(
        schema=telco_prepared.schema_obj,
        featurizer=telco_prepared.featurizer_obj,
        profile={"source": {"uri": "memory://telco"}},
        x_train=x_train,
        y_train=y_train,
        x_valid=x_valid,
        y_valid=y_valid,
        raw_valid=telco_prepared.frames[keys.VALID],
        train_features_sha256="0" * 64,
    )
    config = TrainConfig(candidate=fast_candidate("sklearn_logreg", name="pure"), seed=2)
    trained = executor.compute(data, config)
    assert (trained.name, trained.family) == ("pure", "sklearn_logreg")
    assert trained.valid_proba.shape == (len(y_valid),)
    assert trained.valid_metrics[keys.METRIC_AUC] > 0.78
    importance = trained.training_data.pop("feature_importance")
    assert trained.training_data == {
        "source": {"uri": "memory://telco"},
        "train_rows": len(y_train),
        "train_features_sha256": "0" * 64,
        "positive_rate": pytest.approx(float(np.mean(y_train))),
        "valid_rows": len(y_valid),
        "seed": 2,
    }
    # permutation importance of the logistic model, by input column; two of Telco's strongest
    top = sorted(importance["columns"], key=importance["columns"].get, reverse=True)[:3]
    assert {"tenure", "Contract"} & set(top), top
    assert "pure" in trained.model_card


def test_config_names_every_problem_of_the_candidate() -> None:
    with pytest.raises(
        ConfigError, match=r"train config: candidate has unknown key\(s\) \['nme'\]"
    ):
        TrainConfig(candidate={"nme": "x", "family": "xgboost"})
    with pytest.raises(ConfigError, match="candidate: expected a mapping"):
        TrainConfig.from_parameters({"candidate": ["x"]})
    assert TrainConfig(candidate=fast_candidate("xgboost")).seed == 42
