"""Telco split in two random halves: a real bundle whose profile is the first half, and the
second half as current data (no drift), plus a shifted copy (drift)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from components._shared import keys
from components._shared.profile import compute_profile
from components._shared.schema import Schema
from tests.fixtures.datasets import fast_candidate, prepare, telco, train_bundle


@dataclass
class TelcoDrift:
    bundle: Path
    schema: Schema
    reference: pd.DataFrame
    current: pd.DataFrame
    current_csv: Path
    shifted_csv: Path


def shift(frame: pd.DataFrame, seed: int = 0) -> pd.DataFrame:
    """Contract mix moved to month-to-month (70% of rows), MonthlyCharges scaled by 1.3."""
    out = frame.copy()
    rng = np.random.default_rng(seed)
    out["Contract"] = np.where(rng.random(len(out)) < 0.7, "Month-to-month", out["Contract"])
    out["MonthlyCharges"] = out["MonthlyCharges"] * 1.3
    return out


@pytest.fixture(scope="session")
def telco_drift(telco_csv: Path, tmp_path_factory: pytest.TempPathFactory) -> TelcoDrift:
    root = tmp_path_factory.mktemp("drift")
    frame, schema = telco(telco_csv)
    order = np.random.default_rng(7).permutation(len(frame))
    half = len(frame) // 2
    reference = frame.iloc[order[:half]].reset_index(drop=True)
    current = frame.iloc[order[half:]].reset_index(drop=True)
    prepared = prepare(root / "prep", reference, schema)
    reference_path = root / "reference.parquet"
    reference.to_parquet(reference_path, index=False)
    source = {"uri": str(reference_path), "sha256": "0" * 64, "rows": len(reference)}
    prepared.profile.write_text(json.dumps(compute_profile(reference, schema, source=source)))
    bundle = train_bundle(prepared, root / "bundle", fast_candidate("lightgbm", name="drift"))
    current_csv, shifted_csv = root / "current.csv", root / "shifted.csv"
    current.to_csv(current_csv, index=False)
    shift(current).to_csv(shifted_csv, index=False)
    assert (bundle / keys.PROFILE_FILE).exists()
    return TelcoDrift(bundle, schema, reference, current, current_csv, shifted_csv)
