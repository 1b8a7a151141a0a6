"""Compiled tree evaluation: parity with the booster per family, checked at build and at load.

Real bundles trained on Telco by the train executor (one per family); the compiled engines
(lleaves, treelite GTIL) run for real. Fallback is shown by real causes: another model's engine
(a mismatched compiled form), a tolerance no engine meets, a bundle whose build check did not
pass, a family without trees, and the switch turned off; the runtime's metadata and metrics say
which path serves.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from components._shared import compiled, keys
from components._shared.bundle import Bundle, load_bundle, sha256_file
from components._shared.oip import v2_request
from serving.scoring import Scorer
from tests.fixtures.datasets import fast_candidate, telco_spine
from tests.serving.conftest import Runtime, Trained

TREE_FAMILIES = ("xgboost", "lightgbm", "sklearn_rf", "sklearn_hgb")


class Families:
    """One bundle per family on the same Telco split, and the raw valid rows."""

    def __init__(self, root: Path, telco_csv: Path) -> None:
        spine = telco_spine(telco_csv, root)
        self.paths = {
            family: spine.train(fast_candidate(family, name=f"{family}_compiled"))
            for family in (*TREE_FAMILIES, "sklearn_logreg")
        }
        self.valid_rows = pd.read_parquet(Path(spine.splits.path) / keys.split_file(keys.VALID))

    def bundle(self, family: str) -> Bundle:
        return load_bundle(str(self.paths[family]))


@pytest.fixture(scope="module")
def families(telco_csv: Path, tmp_path_factory: pytest.TempPathFactory) -> Families:
    return Families(tmp_path_factory.mktemp("compiled"), telco_csv)


@pytest.mark.parametrize("family", TREE_FAMILIES)
def test_compiled_matches_the_booster_on_every_valid_row(families: Families, family: str) -> None:
    bundle = families.bundle(family)
    record = bundle.manifest[compiled.MANIFEST_KEY]
    assert record["result"] == compiled.PASSED, record
    assert record["max_abs_diff"] <= compiled.TOLERANCE
    assert record["rows_checked"] == len(families.valid_rows)
    # The rows file is sealed like every other file of the bundle.
    files = bundle.manifest[keys.MANIFEST_FILES]
    assert files[compiled.PARITY_FILE] == sha256_file(families.paths[family] / compiled.PARITY_FILE)
    assert bundle.parity_rows is not None and len(bundle.parity_rows) == compiled.PARITY_ROWS

    scorer = Scorer(bundle, name="churn")
    assert scorer.evaluation.path == compiled.PATH_COMPILED, scorer.evaluation.describe()
    features = bundle.featurizer.transform_frame(families.valid_rows)
    served = scorer.evaluation.predict(features)
    booster = bundle.predictor.predict_proba(features)
    worst = float(np.max(np.abs(served - booster)))
    print(f"{family}: {scorer.evaluation.engine}, max |diff| {worst:.3g} on {len(features)} rows")
    assert worst <= compiled.TOLERANCE
    if family == "lightgbm":  # lleaves sums the trees in LightGBM's order: bit-identical
        np.testing.assert_array_equal(served, booster)
    # One row at a time gives the very values of the whole batch (no batch effect).
    ones = np.concatenate([scorer.evaluation.predict(features[i : i + 1]) for i in range(50)])
    np.testing.assert_array_equal(ones, served[:50])
    metadata = scorer.metadata()["parameters"]
    assert metadata["evaluation"] == "compiled"
    assert metadata["evaluation_engine"] == compiled.engine_name(family)
    assert "parity passed" in metadata["evaluation_reason"]


def test_a_mismatched_compiled_form_falls_back_to_the_booster(families: Families) -> None:
    lightgbm, xgboost = families.bundle("lightgbm"), families.bundle("xgboost")
    foreign = compiled.compile_model(xgboost.predictor)  # a real engine, of another model

    evaluation = compiled.choose(
        lightgbm.predictor,
        lightgbm.manifest,
        lightgbm.parity_rows,
        compile_fn=lambda predictor: foreign,
    )
    assert evaluation.path == compiled.PATH_BOOSTER
    assert evaluation.reason.startswith("parity failed: max |compiled - booster|")
    assert evaluation.max_abs_diff is not None and evaluation.max_abs_diff > 1e-3
    features = lightgbm.featurizer.transform_frame(families.valid_rows.head(20))
    np.testing.assert_array_equal(
        evaluation.predict(features), lightgbm.predictor.predict_proba(features)
    )


def test_an_engine_that_cannot_build_falls_back(families: Families) -> None:
    bundle = families.bundle("xgboost")

    def broken(predictor: object) -> compiled.Engine:
        raise compiled.CompileUnavailable("treelite-gtil: no such engine here")

    evaluation = compiled.choose(
        bundle.predictor, bundle.manifest, bundle.parity_rows, compile_fn=broken
    )
    assert evaluation.path == compiled.PATH_BOOSTER
    assert "compiled form unavailable: treelite-gtil: no such engine here" in evaluation.reason


def test_no_trees_no_rows_and_off_keep_the_booster(families: Families, tmp_path: Path) -> None:
    logreg = families.bundle("sklearn_logreg")
    assert logreg.manifest[compiled.MANIFEST_KEY]["result"] == compiled.UNAVAILABLE
    assert logreg.parity_rows is None
    assert not (families.paths["sklearn_logreg"] / compiled.PARITY_FILE).exists()
    assert Scorer(logreg, name="m").evaluation.path == compiled.PATH_BOOSTER

    bundle = families.bundle("xgboost")
    off = Scorer(bundle, name="m", compiled_evaluation=False).evaluation
    assert off.path == compiled.PATH_BOOSTER and off.reason == "compiled evaluation turned off"
    no_rows = compiled.choose(bundle.predictor, bundle.manifest, None)
    assert no_rows.path == compiled.PATH_BOOSTER and compiled.PARITY_FILE in no_rows.reason

    # A bundle whose build-time check failed is served by its booster, whatever the load says.
    manifest = json.loads((families.paths["xgboost"] / keys.MANIFEST_FILE).read_text())
    manifest[compiled.MANIFEST_KEY]["result"] = compiled.FAILED
    refused = compiled.choose(bundle.predictor, manifest, bundle.parity_rows)
    assert refused.path == compiled.PATH_BOOSTER
    assert "build-time parity check did not pass" in refused.reason


def test_the_runtime_says_which_path_serves(trained: Trained, tmp_path: Path) -> None:
    """A tolerance the compiled xgboost cannot meet (GTIL sums in float32 in its own order):
    the real server falls back to the booster and says so in metadata, metrics and its log."""
    strict = Runtime(trained.path, "--parity_tolerance=1e-15")
    default = Runtime(trained.path)
    try:
        strict.wait_ready()
        default.wait_ready()
        served = default.client.get(f"/v2/models/{default.name}").json()["parameters"]
        assert served["evaluation"] == "compiled"
        assert served["evaluation_engine"].startswith("treelite-gtil")
        fallback = strict.client.get(f"/v2/models/{strict.name}").json()["parameters"]
        assert fallback["evaluation"] == "booster"
        assert fallback["evaluation_reason"].startswith("parity failed")
        metrics = strict.client.get("/metrics").text
        assert 'evaluation="booster"' in metrics and "kfp_tabular_model_info" in metrics
        assert 'evaluation="compiled"' in default.client.get("/metrics").text
        # Both answer the same rows within the tolerance of the issue; the booster exactly.
        records = trained.records(20)
        body = v2_request(records, trained.bundle.schema)
        answers = [
            np.array(
                r.client.post(f"/v2/models/{r.name}/infer", json=body).json()["outputs"][0]["data"]
            )
            for r in (strict, default)
        ]
        np.testing.assert_array_equal(answers[0], trained.bundle.predict_proba_records(records))
        assert float(np.max(np.abs(answers[0] - answers[1]))) <= compiled.TOLERANCE
    finally:
        strict.stop()
        default.stop()
    assert "trees evaluated by booster (treelite-gtil" in strict.log.read_text()
    assert "parity failed" in strict.log.read_text()
    assert (
        "trees evaluated by compiled (treelite-gtil 4.8.1, for requests of up to 8 rows (the "
        "booster above)): parity passed" in default.log.read_text()
    )


@pytest.mark.parametrize("family", ["xgboost", "sklearn_rf", "sklearn_hgb"])
def test_gtil_through_its_c_api_equals_treelites_own_predict(
    families: Families, family: str
) -> None:
    """compiled._gtil calls TreeliteGTILPredict with its configuration prepared once: the values
    are treelite.gtil.predict's, bit for bit (a treelite upgrade that changes the C API shows)."""
    import treelite

    bundle = families.bundle(family)
    model: object = bundle.predictor
    if family == "xgboost":
        imported = treelite.frontend.from_xgboost(model.booster)  # type: ignore[attr-defined]
        dtype: type = np.float32
    else:
        imported = treelite.sklearn.import_model(model.estimator)  # type: ignore[attr-defined]
        dtype = np.float32 if family == "sklearn_rf" else np.float64
    features = bundle.featurizer.transform_frame(families.valid_rows)
    for rows in (features[:1], features[:7], features):  # one thread, and the OpenMP pool
        ours = compiled.compile_model(bundle.predictor).predict(rows)
        theirs = treelite.gtil.predict(imported, rows.astype(dtype), nthread=1)
        np.testing.assert_array_equal(ours, theirs.reshape(len(rows), -1)[:, -1])


def test_flags_and_environment_turn_compiled_trees_and_batching_on_and_off(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from serving.__main__ import BATCH_SIZE_ENV, BATCH_WAIT_ENV, COMPILED_ENV, build_parser

    defaults = build_parser().parse_args([])
    assert defaults.compiled_evaluation == "auto" and defaults.max_batch_size == 32
    assert defaults.parity_tolerance == compiled.TOLERANCE and defaults.max_batch_wait_ms == 0
    monkeypatch.setenv(COMPILED_ENV, "off")
    monkeypatch.setenv(BATCH_SIZE_ENV, "0")
    monkeypatch.setenv(BATCH_WAIT_ENV, "2.5")
    from_env = build_parser().parse_args([])
    assert from_env.compiled_evaluation == "off" and from_env.max_batch_size == 0
    assert from_env.max_batch_wait_ms == 2.5
    flags = build_parser().parse_args(["--compiled_evaluation=auto", "--max_batch_size=16"])
    assert flags.compiled_evaluation == "auto" and flags.max_batch_size == 16
