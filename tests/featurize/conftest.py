"""Fixtures: the typed Telco frame, its schema and a featurizer fitted on it."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from components._shared.featurizer import Featurizer
from components._shared.schema import Schema
from tests.fixtures.datasets import telco as typed_telco


@pytest.fixture(scope="session")
def telco_typed(telco_csv: Path) -> tuple[pd.DataFrame, Schema]:
    """The Telco rows and schema, typed as validate writes them."""
    return typed_telco(telco_csv)


@pytest.fixture(scope="session")
def telco(telco_typed: tuple[pd.DataFrame, Schema]) -> pd.DataFrame:
    """The typed Telco rows (read-only: copy before changing)."""
    return telco_typed[0]


@pytest.fixture(scope="session")
def telco_contract(telco_typed: tuple[pd.DataFrame, Schema]) -> Schema:
    """The Telco schema validate infers."""
    return telco_typed[1]


@pytest.fixture(scope="session")
def telco_featurizer(telco: pd.DataFrame, telco_contract: Schema) -> Featurizer:
    """A featurizer fitted on the first 5,000 Telco rows."""
    return Featurizer().fit(telco.iloc[:5000], telco_contract)
