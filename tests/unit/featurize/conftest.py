"""Fixtures: the typed Telco frame, its schema and a featurizer fitted on it."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from components._shared.featurizer import Featurizer
from components._shared.schema import Schema
from tests.unit.featurize.telco import telco_frame, telco_schema


@pytest.fixture(scope="session")
def telco(telco_csv: Path) -> pd.DataFrame:
    """The Telco rows, typed as validate writes them (read-only: copy before changing)."""
    return telco_frame(telco_csv)


@pytest.fixture(scope="session")
def telco_contract(telco: pd.DataFrame) -> Schema:
    """The hand-written Telco schema."""
    return telco_schema(telco)


@pytest.fixture(scope="session")
def telco_featurizer(telco: pd.DataFrame, telco_contract: Schema) -> Featurizer:
    """A featurizer fitted on the first 5,000 Telco rows."""
    return Featurizer().fit(telco.iloc[:5000], telco_contract)
