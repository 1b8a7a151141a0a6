"""Ensemble bundles on real Telco members: the combiner (fitted on validation predictions only),
write -> load -> predict, and the manifest's sha256 rule extended to the members' files."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from components._shared import ensemble, keys
from components._shared.bundle import (
    Bundle,
    copy_with_model_card,
    json_record,
    load_bundle,
    sha256_file,
)
from components._shared.errors import BundleError
from tests.fixtures.datasets import Prepared, fast_candidate, train_bundle

FAMILIES = ("xgboost", "lightgbm", "sklearn_logreg")


def make_ensemble(prepared: Prepared, root: Path) -> tuple[Path, list[Bundle], np.ndarray]:
    """Three fast Telco members, weights fitted on their valid predictions, the ensemble bundle
    written under ``root / "ensemble"``: (its directory, the members, the weights)."""
    dirs = [
        train_bundle(prepared, root / family, fast_candidate(family, name=f"{family}_member"))
        for family in FAMILIES
    ]
    members = [load_bundle(d) for d in dirs]
    valid = prepared.frames[keys.VALID]
    schema = members[0].schema
    labels = (valid[schema.target].astype(str) == schema.positive_label).to_numpy().astype(int)
    parts = np.column_stack([m.predict_proba_frame(valid) for m in members])
    weights = ensemble.fit_weights(labels, parts)
    out = root / "ensemble"
    ensemble.write(
        out,
        list(zip(dirs, members, strict=True)),
        weights,
        name="ensemble_top3",
        metrics={"auc": 0.5},
        fitting={"fitted_on": "valid split"},
    )
    return out, members, weights


@pytest.fixture(scope="module")
def built(
    telco_prepared: Prepared, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, list[Bundle], np.ndarray]:
    return make_ensemble(telco_prepared, tmp_path_factory.mktemp("ensemble"))


def test_fit_weights_are_convex_and_prefer_the_informative_member() -> None:
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, 2000)
    informative = np.clip(0.5 + 0.35 * (2 * labels - 1) + rng.normal(0, 0.1, 2000), 0.01, 0.99)
    noise = rng.uniform(0.01, 0.99, 2000)
    weights = ensemble.fit_weights(labels, np.column_stack([noise, informative]))
    assert weights.shape == (2,) and (weights >= 0).all()
    assert weights.sum() == pytest.approx(1.0)
    assert weights[1] > 0.9


def test_cross_fit_predicts_each_row_with_weights_fitted_without_its_fold() -> None:
    rng = np.random.default_rng(1)
    labels = rng.integers(0, 2, 500)
    parts = np.column_stack([rng.uniform(0.01, 0.99, 500) for _ in range(3)])
    out = ensemble.cross_fit(labels, parts, folds=5, seed=0)
    assert out.shape == (500,) and np.isfinite(out).all()
    np.testing.assert_array_equal(out, ensemble.cross_fit(labels, parts, folds=5, seed=0))
    held = np.random.default_rng(0).permutation(500) % 5 == 0
    weights = ensemble.fit_weights(labels[~held], parts[~held])
    np.testing.assert_allclose(out[held], ensemble.combine(weights, list(parts[held].T)))


def test_written_ensemble_loads_and_predicts_the_weighted_mean(
    built: tuple[Path, list[Bundle], np.ndarray], telco_prepared: Prepared
) -> None:
    path, members, weights = built
    loaded = load_bundle(path)
    assert loaded.family == ensemble.FAMILY and loaded.name == "ensemble_top3"
    manifest = loaded.manifest
    entries = manifest[ensemble.MANIFEST_MEMBERS]
    assert [e["name"] for e in entries] == [m.name for m in members]
    for entry in entries:
        listed = f"{entry['path']}/{keys.MANIFEST_FILE}"
        assert manifest[keys.MANIFEST_FILES][listed] == entry["manifest_sha256"]
    assert manifest[ensemble.MANIFEST_COMBINER]["weights"] == weights.tolist()
    assert keys.PROFILE_FILE in manifest[keys.MANIFEST_FILES]
    test = telco_prepared.frames[keys.TEST]
    expected = ensemble.combine(weights, [m.predict_proba_frame(test) for m in members])
    np.testing.assert_array_equal(loaded.predict_proba_frame(test), expected)
    records = [json_record(r) for r in test.head(50).to_dict("records")]
    np.testing.assert_allclose(loaded.predict_proba_records(records), expected[:50], atol=1e-12)
    # One featurizer block: the members share featurize's fitted featurizer.
    assert len(loaded.featurizer.featurizers) == 1  # type: ignore[attr-defined]


def _copy(path: Path, tmp_path: Path) -> Path:
    target = tmp_path / "copy"
    shutil.copytree(path, target)
    return target


def test_a_changed_member_file_is_refused_naming_it(
    built: tuple[Path, list[Bundle], np.ndarray], tmp_path: Path
) -> None:
    copy = _copy(built[0], tmp_path)
    member = copy / ensemble.MEMBERS_DIR / "lightgbm_member"
    (member / keys.MODEL_FILES["lightgbm"]).write_text("tampered\n")
    with pytest.raises(BundleError, match=r"members/lightgbm_member/model\.txt: sha256 mismatch"):
        load_bundle(copy)


def test_an_unlisted_member_file_is_refused(
    built: tuple[Path, list[Bundle], np.ndarray], tmp_path: Path
) -> None:
    copy = _copy(built[0], tmp_path)
    (copy / ensemble.MEMBERS_DIR / "xgboost_member" / "extra.bin").write_bytes(b"x")
    with pytest.raises(BundleError, match=r"members/xgboost_member/extra\.bin: present"):
        load_bundle(copy)


def test_a_member_manifest_resealed_in_the_ensemble_but_not_in_its_entry_is_refused(
    built: tuple[Path, list[Bundle], np.ndarray], tmp_path: Path
) -> None:
    copy = _copy(built[0], tmp_path)
    member_manifest = copy / ensemble.MEMBERS_DIR / "xgboost_member" / keys.MANIFEST_FILE
    data = json.loads(member_manifest.read_text())
    data[keys.MANIFEST_CANDIDATE] = "renamed"
    member_manifest.write_text(json.dumps(data))
    top = json.loads((copy / keys.MANIFEST_FILE).read_text())
    top[keys.MANIFEST_FILES]["members/xgboost_member/manifest.json"] = sha256_file(member_manifest)
    (copy / keys.MANIFEST_FILE).write_text(json.dumps(top))
    with pytest.raises(BundleError, match=r"members/xgboost_member/.*manifest was changed"):
        load_bundle(copy)


def test_a_single_model_bundle_may_not_list_paths(
    built: tuple[Path, list[Bundle], np.ndarray], tmp_path: Path
) -> None:
    member = _copy(built[0] / ensemble.MEMBERS_DIR / "xgboost_member", tmp_path)
    (member / "sub").mkdir()
    (member / "sub" / "x").write_text("x")
    manifest = json.loads((member / keys.MANIFEST_FILE).read_text())
    manifest[keys.MANIFEST_FILES]["sub/x"] = sha256_file(member / "sub" / "x")
    (member / keys.MANIFEST_FILE).write_text(json.dumps(manifest))
    with pytest.raises(BundleError, match="sub/x: manifest lists a path"):
        load_bundle(member)


def test_copy_with_model_card_reseals_an_ensemble(
    built: tuple[Path, list[Bundle], np.ndarray], tmp_path: Path, telco_prepared: Prepared
) -> None:
    out = tmp_path / "sealed"
    sealed = copy_with_model_card(built[0], out, "# card\n")
    assert (out / keys.MODEL_CARD_FILE).read_text() == "# card\n"
    assert any(name.startswith("members/") for name in sealed[keys.MANIFEST_FILES])
    test = telco_prepared.frames[keys.TEST].head(100)
    np.testing.assert_array_equal(
        load_bundle(out).predict_proba_frame(test), load_bundle(built[0]).predict_proba_frame(test)
    )


def test_weights_must_be_convex_one_per_member(
    built: tuple[Path, list[Bundle], np.ndarray],
) -> None:
    members = built[1]
    with pytest.raises(BundleError, match="3 finite weights >= 0 summing to 1"):
        ensemble.assemble(members, [0.5, 0.5], manifest={})
    with pytest.raises(BundleError, match="summing to 1"):
        ensemble.assemble(members, [0.9, 0.9, -0.8], manifest={})
    with pytest.raises(BundleError, match="at least 2"):
        ensemble.assemble(members[:1], [1.0], manifest={})
