"""The Open Inference Protocol (V2) as both sides speak it: output names, datatypes, and the client.

The server's codec (``serving/codec.py``) decodes requests with these names; the rollout's replay
client, the shadow replay, the gate's self-check, the tests and the benchmarks build requests and
read responses with :func:`v2_request` and :func:`v2_output`. One module, so a client and the
server cannot drift apart on a name.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

import numpy as np

from components._shared.errors import DataError, expected_got
from components._shared.schema import Schema

# Output tensors (V2) and prediction fields (V1).
OUTPUT_PROBABILITY: Final = "probability"  # P(positive label), FP64 [n]
OUTPUT_LABEL: Final = "label"  # the predicted class label, BYTES [n]
OUTPUT_CLASS_PROBABILITIES: Final = "class_probabilities"  # FP64 [n, 2] in class_labels order
OUTPUTS: Final = (OUTPUT_PROBABILITY, OUTPUT_LABEL, OUTPUT_CLASS_PROBABILITIES)
DEFAULT_OUTPUTS: Final = (OUTPUT_PROBABILITY, OUTPUT_LABEL)
# V1 ``parameters`` flag that adds the class probabilities to every prediction.
V1_CLASS_PROBABILITIES: Final = "class_probabilities"
# KServe's pandas convention: request-level ``parameters.content_type == "pd"`` means the inputs
# are the columns of one table (kserve InferRequest.as_dataframe).
CONTENT_TYPE_PANDAS: Final = "pd"
DEFAULT_THRESHOLD: Final = 0.5

# The V2 datatype a client should send for each schema kind (model metadata lists these).
V2_DATATYPE: Final = {
    "numeric": "FP64",
    "integer": "INT64",
    "boolean": "BOOL",
    "categorical": "BYTES",
    "datetime": "BYTES",
    "identifier": "BYTES",
}


def v2_request(
    records: Sequence[Mapping[str, Any]],
    schema: Schema,
    *,
    columns: Sequence[str] | None = None,
    outputs: Sequence[str] | None = None,
    request_id: str | None = None,
) -> dict[str, Any]:
    """An Open Inference Protocol V2 request for raw ``records``: one input per column.

    Args:
        records: Raw rows as JSON-like dicts (:func:`components._shared.bundle.json_record`):
            numbers, text, booleans, ISO datetimes, None for missing.
        schema: The bundle's schema; it gives each column's datatype (:data:`V2_DATATYPE`).
        columns: Columns to send; default every schema column except the target that the first
            record holds, in schema order.
        outputs: Output names to ask for (:data:`OUTPUTS`); default the server's default.
        request_id: The request ``id``, echoed in the response.

    Returns:
        ``{"inputs": [...], "parameters": {"content_type": "pd"}, ...}``, ready for orjson.

    Raises:
        DataError: no records, or a record lacks one of ``columns``.
    """
    if not records:
        raise DataError(expected_got("v2_request records", "at least one record", "none"))
    if columns is None:
        columns = [c for c in schema.column_names if c != schema.target and c in records[0]]
    inputs = []
    for name in columns:
        kind = schema.column(name).kind
        try:
            data = [record[name] for record in records]
        except KeyError:
            row = next(i for i, r in enumerate(records) if name not in r)
            raise DataError(f"v2_request: record {row} has no column {name!r}") from None
        datatype = V2_DATATYPE[kind]
        if datatype == "BOOL" and not all(v is None or type(v) is bool for v in data):
            datatype = "BYTES"  # tokens such as "Yes"/"No", as the raw data holds them
            data = [v if v is None or type(v) is str else str(v) for v in data]
        elif datatype == "INT64" and not all(v is None or type(v) is int for v in data):
            datatype = "FP64"
        inputs.append({"name": name, "shape": [len(data)], "datatype": datatype, "data": data})
    request: dict[str, Any] = {
        "parameters": {"content_type": CONTENT_TYPE_PANDAS},
        "inputs": inputs,
    }
    if request_id is not None:
        request["id"] = request_id
    if outputs is not None:
        request["outputs"] = [{"name": name} for name in outputs]
    return request


def v2_output(response: Mapping[str, Any], name: str) -> np.ndarray:
    """The data of output ``name`` of a V2 response, shaped as its ``shape`` says."""
    for output in response.get("outputs", []):
        if output.get("name") == name:
            dtype = object if output.get("datatype") == "BYTES" else np.float64
            return np.asarray(output["data"], dtype=dtype).reshape(output["shape"])
    raise DataError(
        expected_got("V2 response outputs", f"an output named {name!r}", list(response))
    )
