"""A Telco bundle trained once for the batch scoring tests (validate -> featurize -> train, the
project's executors on the bundled CSV), and the CSV's rows with a few broken ones."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from tests.fixtures.datasets import Spine, fast_candidate, telco_spine


@pytest.fixture(scope="session")
def spine(telco_csv: Path, tmp_path_factory: pytest.TempPathFactory) -> Spine:
    return telco_spine(telco_csv, tmp_path_factory.mktemp("batch_spine"))


@pytest.fixture(scope="session")
def bundle(spine: Spine) -> Path:
    """An xgboost bundle whose schema records the CSV null tokens validate read with."""
    return spine.train(fast_candidate("xgboost"))


def telco_text(telco_csv: Path) -> pd.DataFrame:
    """The Telco CSV as the text it holds, cell by cell."""
    return pd.read_csv(telco_csv, dtype=str, keep_default_na=False)


@pytest.fixture
def broken_csv(telco_csv: Path, tmp_path: Path) -> Path:
    """Telco with four broken rows (a word for a number, an overflowing number, a short line)
    and one category never seen in training (scored, counted)."""
    frame = telco_text(telco_csv)
    frame.loc[3, "tenure"] = "abc"  # data row 4
    frame.loc[5, "MonthlyCharges"] = "1e999"  # data row 6
    frame.loc[9, "SeniorCitizen"] = "maybe"  # data row 10: not a boolean token -> scored
    frame.loc[7, "Contract"] = "Three year"  # data row 8: unseen category -> scored
    path = tmp_path / "broken.csv"
    text = frame.to_csv(index=False)
    lines = text.splitlines(keepends=True)
    lines.insert(101, "only,three,fields\n")  # becomes data row 101 (line 102)
    path.write_text("".join(lines))
    return path
