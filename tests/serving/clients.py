"""What a user of an Open Inference Protocol client holds: one numpy array per model input.

The arrays are built from the model metadata's datatypes, as a user reading ``GET
/v2/models/<name>`` would build them: FP64 as float64 (NaN for a missing value: a binary tensor
has no null), INT64 as int64, BOOL as bool, BYTES as an object array of str.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from serving.codec import Codec
from tests.serving.conftest import Trained

NUMPY_DTYPES = {"FP64": np.float64, "INT64": np.int64, "BOOL": np.bool_, "BYTES": object}


def input_arrays(trained: Trained, n: int) -> list[tuple[str, str, np.ndarray]]:
    """``(name, datatype, values)`` of every model input for the first ``n`` test rows."""
    bundle = trained.bundle
    metadata = Codec(bundle.schema, bundle.featurizer.input_columns_).input_metadata()
    records = trained.records(n)
    arrays = []
    for tensor in metadata:
        name, datatype = tensor["name"], tensor["datatype"]
        values: list[Any] = [record[name] for record in records]
        if datatype == "FP64":
            values = [np.nan if v is None else v for v in values]
        arrays.append((name, datatype, np.array(values, dtype=NUMPY_DTYPES[datatype])))
    return arrays


def expected_scores(trained: Trained, n: int) -> np.ndarray:
    """P(positive) of the first ``n`` test rows as the bundle itself predicts them."""
    return trained.served_proba(trained.test_rows.head(n))


def expected_labels(trained: Trained, n: int) -> list[str]:
    """The predicted label of the first ``n`` test rows at the default threshold."""
    return ["Yes" if p >= 0.5 else "No" for p in expected_scores(trained, n)]


def with_missing_values(trained: Trained, n: int) -> int:
    """How many of the first ``n`` test rows miss a numeric value (sent as NaN in binary)."""
    return int(trained.test_rows.head(n)["TotalCharges"].isna().sum())
