"""Raw CSV rows of every bundled dataset score through V1 and V2 exactly as the pipeline scored
them: the missing-value tokens the reader used at training (``?`` in Adult, recorded in the
contract as ``null_tokens``) are missing at serving too, not a category of their own.

A client here is the one a user writes: it reads the CSV as text with the ``csv`` module, sends
numeric cells as numbers when they parse, and every other cell as the raw text, tokens included.
A numeric cell that does not parse (blank, a token) goes as its raw text in V1 and as null in V2,
whose FP64 tensors carry only numbers.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from components._shared.bundle import load_bundle
from components._shared.schema import DEFAULT_NULL_TOKENS
from components._shared.tables import read_table
from components.validate.validation import validate_frame
from serving.selfcheck import predict_via_v1, predict_via_v2
from tests.fixtures.datasets import (
    ADULT,
    LIMITS,
    TELCO,
    adult,
    fast_candidate,
    prepare,
    telco,
    train_bundle,
)


def client_record(row: dict[str, str], numeric: set[str], *, typed: bool) -> dict[str, Any]:
    """A raw CSV row as a JSON client sends it (``typed``: for V2's typed tensors)."""
    record: dict[str, Any] = {}
    for name, text in row.items():
        if name in numeric:
            try:
                number = float(text)
                record[name] = int(number) if number.is_integer() and "." not in text else number
            except ValueError:
                record[name] = None if typed else text  # V1: the server decides
        else:
            record[name] = text
    return record


@pytest.mark.parametrize(
    ("dataset", "spec", "loader"),
    [("telco", TELCO, telco), ("adult", ADULT, adult)],
)
def test_raw_csv_rows_score_through_v1_and_v2_as_the_pipeline_scored_them(
    dataset: str,
    spec: dict[str, Any],
    loader: Any,
    telco_csv: Path,
    adult_csv: Path,
    tmp_path: Path,
) -> None:
    csv_path = telco_csv if dataset == "telco" else adult_csv
    frame, schema = loader(csv_path, rows=3000)
    bundle_dir = train_bundle(
        prepare(tmp_path / "prep", frame, schema), tmp_path / "bundle", fast_candidate("lightgbm")
    )
    bundle = load_bundle(str(bundle_dir))

    # The pipeline's view of the whole file: read and typed against the bundle's contract.
    checked = validate_frame(
        read_table(str(csv_path)), expected=bundle.schema, time_column="", **spec, **LIMITS
    )
    with csv_path.open(newline="", encoding="utf-8") as handle:
        raw_rows = list(csv.DictReader(handle))
    assert len(raw_rows) == len(checked.frame)
    # Every row holding a missing-value token, and a spread of the others.
    recorded = bundle.schema.null_tokens
    tokens = set(DEFAULT_NULL_TOKENS if recorded is None else recorded)
    with_tokens = [i for i, r in enumerate(raw_rows) if tokens & set(r.values()) - {""}]
    picked = sorted(
        set(with_tokens[:400]) | set(range(0, len(raw_rows), max(1, len(raw_rows) // 300)))
    )
    numeric = {c.name for c in bundle.schema.columns if c.kind in ("numeric", "integer")}
    v1_records = [client_record(raw_rows[i], numeric, typed=False) for i in picked]
    v2_records = [client_record(raw_rows[i], numeric, typed=True) for i in picked]
    expected = bundle.predict_proba_frame(checked.frame.iloc[picked].reset_index(drop=True))

    v1 = predict_via_v1(str(bundle_dir), v1_records)
    v2 = predict_via_v2(str(bundle_dir), v2_records)
    assert np.array_equal(v1, expected), (
        f"{dataset}: V1 differs on {int((v1 != expected).sum())} rows"
    )
    assert np.array_equal(v2, expected), (
        f"{dataset}: V2 differs on {int((v2 != expected).sum())} rows"
    )
    if dataset == "adult":
        assert len(with_tokens) > 100  # the case this test exists for: '?' cells
