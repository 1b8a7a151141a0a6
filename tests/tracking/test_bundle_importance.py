"""Feature importance travels in the bundle: the manifest's ``training_data.feature_importance``
and the model card's section, for a booster (gain) and a scikit-learn family (permutation), by
the real train executor on real Telco rows. No MLflow needed: importance is there with tracking
off too."""

from __future__ import annotations

from pathlib import Path

import pytest

from components._shared import importance, keys
from components._shared.bundle import load_bundle
from tests.fixtures.datasets import Prepared, fast_candidate, train_bundle


@pytest.mark.parametrize(
    ("family", "method"),
    [("xgboost", importance.METHOD_GAIN), ("sklearn_logreg", importance.METHOD_PERMUTATION)],
)
def test_the_bundle_records_its_importance(
    telco_prepared: Prepared,
    tmp_path: Path,
    family: str,
    method: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    out = train_bundle(telco_prepared, tmp_path / family, fast_candidate(family))
    bundle = load_bundle(str(out))
    entry = bundle.manifest[keys.MANIFEST_TRAINING_DATA][importance.MANIFEST_KEY]
    assert entry["method"] == method
    shares = list(entry["columns"].values())
    assert 0 < len(shares) <= importance.MANIFEST_TOP and entry["of_columns"] >= len(shares)
    assert shares == sorted(shares, reverse=True) and 0 < sum(shares) <= 1 + 1e-6
    assert "tenure" in entry["columns"] or "Contract" in entry["columns"]  # Telco's strongest
    card = (out / keys.MODEL_CARD_FILE).read_text()
    assert "## Feature importance" in card
    top_column, top_share = next(iter(entry["columns"].items()))
    assert f"| `{top_column}` | {top_share:.1%} |" in card
    assert importance.describe(method) in card
