"""The model bundle: manifest, sha256 verification, atomic writing, the model card."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import components
from components._shared import families, keys
from components._shared.bundle import (
    BUNDLE_FORMAT,
    Bundle,
    json_record,
    load_bundle,
    render_model_card,
    sha256_file,
    single_row_latency_ms,
    write_bundle,
)
from components._shared.errors import BundleError
from tests.fixtures.datasets import FAST_PARAMS, Prepared, feature_arrays, prepare, telco

METRICS = {keys.METRIC_AUC: 0.84, keys.METRIC_LOG_LOSS: 0.42}


@pytest.fixture(scope="module")
def prepared(telco_csv: Path, tmp_path_factory: pytest.TempPathFactory) -> Prepared:
    frame, schema = telco(telco_csv, rows=2000)
    return prepare(tmp_path_factory.mktemp("bundle"), frame, schema)


@pytest.fixture(scope="module")
def trained(prepared: Prepared) -> dict[str, families.Predictor]:
    (xt, yt), (xv, yv) = feature_arrays(prepared, keys.TRAIN), feature_arrays(prepared, keys.VALID)
    return {
        family: families.fit(family, FAST_PARAMS[family], xt, yt, xv, yv, seed=1, n_jobs=2)
        for family in ("sklearn_logreg", "xgboost")
    }


def _write(out: Path, prepared: Prepared, model: families.Predictor) -> dict[str, Any]:
    candidate = {
        "name": f"{model.family}_test",
        "family": model.family,
        "params": FAST_PARAMS[model.family],
    }
    training_data = {
        "source": {"uri": "data/telco.csv", "sha256": "ab" * 32, "rows": 2000},
        "train_rows": 1200,
        "train_features_sha256": sha256_file(prepared.features / keys.split_file(keys.TRAIN)),
        "positive_rate": 0.265,
    }
    card = render_model_card(
        family=model.family,
        candidate=candidate,
        schema=prepared.schema_obj,
        metrics=METRICS,
        training_data=training_data,
        n_features=len(prepared.featurizer_obj.feature_names_),
    )
    return write_bundle(
        out,
        family=model.family,
        model=model,
        featurizer=prepared.featurizer_obj,
        schema=prepared.schema_obj,
        profile=json.loads(prepared.profile.read_text()),
        candidate=candidate,
        metrics=METRICS,
        training_data=training_data,
        model_card=card,
    )


@pytest.fixture()
def bundle_dir(tmp_path: Path, prepared: Prepared, trained: dict) -> Path:
    out = tmp_path / "bundle"
    _write(out, prepared, trained["sklearn_logreg"])
    return out


def test_manifest_records_everything_the_contract_lists(
    bundle_dir: Path, prepared: Prepared
) -> None:
    manifest = json.loads((bundle_dir / keys.MANIFEST_FILE).read_text())
    assert manifest[keys.MANIFEST_BUNDLE_FORMAT] == BUNDLE_FORMAT
    assert manifest[keys.MANIFEST_FAMILY] == "sklearn_logreg"
    assert manifest[keys.MANIFEST_CANDIDATE] == "sklearn_logreg_test"
    assert manifest[keys.MANIFEST_PARAMS] == FAST_PARAMS["sklearn_logreg"]
    assert {"python", "numpy", "scikit-learn", "skops"} <= set(
        manifest[keys.MANIFEST_LIBRARY_VERSIONS]
    )
    assert manifest[keys.MANIFEST_SCHEMA] == prepared.schema_obj.to_dict()
    assert manifest[keys.MANIFEST_TARGET] == "Churn"
    assert manifest[keys.MANIFEST_POSITIVE_LABEL] == "Yes"
    assert manifest[keys.MANIFEST_CLASS_LABELS] == ["No", "Yes"]
    assert manifest[keys.MANIFEST_METRICS] == METRICS
    assert manifest[keys.MANIFEST_TRAINING_DATA]["source"]["rows"] == 2000
    assert manifest[keys.MANIFEST_CODE_VERSION] == components.__version__
    assert manifest[keys.MANIFEST_CREATED_AT].endswith("+00:00")
    files = manifest[keys.MANIFEST_FILES]
    assert sorted(files) == sorted(
        [
            keys.FEATURIZER_FILE,
            keys.PROFILE_FILE,
            keys.MODEL_CARD_FILE,
            keys.MODEL_FILES["sklearn_logreg"],
        ]
    )
    assert all(files[name] == sha256_file(bundle_dir / name) for name in files)
    assert sorted(p.name for p in bundle_dir.iterdir()) == sorted([*files, keys.MANIFEST_FILE])


def test_model_card_says_what_data_metrics_and_gate(bundle_dir: Path) -> None:
    card = (bundle_dir / keys.MODEL_CARD_FILE).read_text()
    for text in (
        "Family: `sklearn_logreg`",
        "data/telco.csv",
        "positive rate 26.50%",
        "| auc | 0.8400 |",
        "features after the featurizer",
        "Gate decision: pending (gate runs after compare)",
        "## Limits",
    ):
        assert text in card


@pytest.mark.parametrize("family", ["sklearn_logreg", "xgboost"])
def test_loaded_bundle_predicts_like_the_trained_model(
    family: str, tmp_path: Path, prepared: Prepared, trained: dict
) -> None:
    _write(tmp_path / "b", prepared, trained[family])
    bundle = load_bundle(str(tmp_path / "b"))
    assert (
        isinstance(bundle, Bundle) and bundle.family == family and bundle.name == f"{family}_test"
    )
    assert bundle.schema == prepared.schema_obj
    valid = prepared.frames[keys.VALID]
    features = prepared.featurizer_obj.transform_frame(valid)
    expected = trained[family].predict_proba(features)
    np.testing.assert_allclose(bundle.predict_features(features), expected, rtol=0, atol=1e-12)
    np.testing.assert_allclose(bundle.predict_proba_frame(valid), expected, rtol=0, atol=1e-12)
    columns = {c: valid[c].to_numpy() for c in valid.columns}
    np.testing.assert_allclose(bundle.predict_proba(columns), expected, rtol=0, atol=1e-12)
    records = [json_record(r) for r in valid.head(5).to_dict("records")]
    np.testing.assert_allclose(
        bundle.predict_proba_records(records), expected[:5], rtol=0, atol=1e-12
    )
    assert single_row_latency_ms(bundle, records, calls=20) > 0
    # file:// URIs load too.
    assert load_bundle(f"file://{tmp_path / 'b'}").family == family


def test_changed_byte_is_refused_naming_the_file_and_digests(bundle_dir: Path) -> None:
    model = bundle_dir / keys.MODEL_FILES["sklearn_logreg"]
    expected = sha256_file(model)
    data = bytearray(model.read_bytes())
    data[len(data) // 2] ^= 0x01
    model.write_bytes(bytes(data))
    actual = sha256_file(model)
    with pytest.raises(
        BundleError,
        match=rf"model\.skops: sha256 mismatch \(expected {expected}, actual {actual}\)",
    ):
        load_bundle(str(bundle_dir))


def test_an_edited_manifest_is_refused_when_its_digest_is_required(bundle_dir: Path) -> None:
    # The manifest guards every other file; its own digest, recorded by the gate and handed on
    # by deploy, guards the manifest: a one-byte edit of the positive label is refused.
    manifest_path = bundle_dir / keys.MANIFEST_FILE
    blessed = sha256_file(manifest_path)
    assert load_bundle(str(bundle_dir), manifest_sha256=blessed).manifest_sha256 == blessed
    text = manifest_path.read_text()
    manifest_path.write_text(text.replace('"positive_label": "Yes"', '"positive_label": "Yez"', 1))
    assert load_bundle(str(bundle_dir)).schema.positive_label == "Yez"  # unprotected without it
    with pytest.raises(BundleError, match=rf"manifest\.json sha256 .*expected {blessed}.*changed"):
        load_bundle(str(bundle_dir), manifest_sha256=blessed)


def test_missing_file_is_refused(bundle_dir: Path) -> None:
    (bundle_dir / keys.PROFILE_FILE).unlink()
    with pytest.raises(
        BundleError, match=r"profile\.json: listed in manifest\.json but missing from the bundle"
    ):
        load_bundle(str(bundle_dir))


def test_unlisted_model_file_is_refused(bundle_dir: Path) -> None:
    (bundle_dir / "model.pkl").write_bytes(b"\x80\x04not really a pickle")
    with pytest.raises(
        BundleError, match=r"model\.pkl: present in the bundle but not listed in manifest\.json"
    ):
        load_bundle(str(bundle_dir))


def test_manifest_pointing_outside_the_bundle_is_refused(bundle_dir: Path) -> None:
    manifest = json.loads((bundle_dir / keys.MANIFEST_FILE).read_text())
    manifest[keys.MANIFEST_FILES]["../secret"] = "00" * 32
    (bundle_dir / keys.MANIFEST_FILE).write_text(json.dumps(manifest))
    with pytest.raises(BundleError, match=r"\.\./secret: manifest lists a path"):
        load_bundle(str(bundle_dir))


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            lambda m: m.update({keys.MANIFEST_BUNDLE_FORMAT: 99}),
            r"manifest\.json bundle_format: expected 1\.\.1, got 99",
        ),
        (
            lambda m: m.update({keys.MANIFEST_FAMILY: "catboost"}),
            r"manifest\.json family: expected .*got 'catboost'",
        ),
        (
            lambda m: m.pop(keys.MANIFEST_FILES),
            r"manifest\.json: 'files' must map file names to sha256",
        ),
    ],
)
def test_malformed_manifest_is_refused(bundle_dir: Path, edit: Any, message: str) -> None:
    manifest = json.loads((bundle_dir / keys.MANIFEST_FILE).read_text())
    edit(manifest)
    (bundle_dir / keys.MANIFEST_FILE).write_text(json.dumps(manifest))
    with pytest.raises(BundleError, match=message):
        load_bundle(str(bundle_dir))


def test_missing_manifest_or_directory(tmp_path: Path, bundle_dir: Path) -> None:
    with pytest.raises(BundleError, match="is not a directory"):
        load_bundle(str(tmp_path / "nowhere"))
    (bundle_dir / keys.MANIFEST_FILE).unlink()
    with pytest.raises(BundleError, match=r"manifest\.json: missing from bundle"):
        load_bundle(str(bundle_dir))


def test_failed_write_leaves_no_bundle(tmp_path: Path, prepared: Prepared, trained: dict) -> None:
    class Exploding:
        family = "sklearn_logreg"

        def save(self, directory: Path) -> str:
            (Path(directory) / "model.skops").write_bytes(b"half")
            raise OSError("disk full")

    out = tmp_path / "bundle"
    with pytest.raises(OSError, match="disk full"):
        _write(out, prepared, Exploding())  # type: ignore[arg-type]
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []


def test_rewriting_replaces_the_whole_bundle(
    tmp_path: Path, prepared: Prepared, trained: dict
) -> None:
    out = tmp_path / "bundle"
    _write(out, prepared, trained["xgboost"])
    _write(out, prepared, trained["sklearn_logreg"])
    assert not (out / keys.MODEL_FILES["xgboost"]).exists()
    assert load_bundle(str(out)).family == "sklearn_logreg"


def test_gcs_bundle_is_verified_after_download(
    bundle_dir: Path, request: pytest.FixtureRequest
) -> None:
    from components._shared import io

    bucket = request.getfixturevalue("gcs_bucket")
    uri = f"{bucket}/models/bundle"
    io.upload_dir(str(bundle_dir), uri)
    assert load_bundle(uri).family == "sklearn_logreg"
    tampered = bundle_dir.parent / "tampered"
    shutil.copytree(bundle_dir, tampered)
    (tampered / keys.PROFILE_FILE).write_text("{}")
    io.upload_dir(str(tampered), f"{bucket}/models/tampered")
    with pytest.raises(BundleError, match=r"profile\.json: sha256 mismatch"):
        load_bundle(f"{bucket}/models/tampered")
