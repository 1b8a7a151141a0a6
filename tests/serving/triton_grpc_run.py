"""Triton's gRPC client in a process of its own, as a Triton user runs it; prints what it got.

``tritonclient.grpc`` and KServe register the same protobuf names (``inference.*``) in the one
default descriptor pool, so a process cannot import both: the test (which imports KServe) runs
this script instead. Usage::

    python tests/serving/triton_grpc_run.py HOST:PORT MODEL INPUTS.json

INPUTS.json is ``[{"name", "datatype", "values"}]`` (null for a missing FP64 value); the script
prints one JSON object: health, metadata, predictions, a requested output, and two errors.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import numpy as np
import tritonclient.grpc as triton_grpc
from tritonclient.utils import InferenceServerException

NUMPY_DTYPES = {"FP64": np.float64, "INT64": np.int64, "BOOL": np.bool_, "BYTES": object}


def tensors(spec: list[dict[str, Any]], rows: int | None = None) -> list[triton_grpc.InferInput]:
    """One raw input tensor per column (NaN for a missing FP64 value)."""
    inputs = []
    for column in spec:
        values = column["values"][:rows]
        if column["datatype"] == "FP64":
            values = [np.nan if v is None else v for v in values]
        array = np.array(values, dtype=NUMPY_DTYPES[column["datatype"]])
        tensor = triton_grpc.InferInput(column["name"], list(array.shape), column["datatype"])
        tensor.set_data_from_numpy(array)
        inputs.append(tensor)
    return inputs


def error(call: Any) -> dict[str, str]:
    """The status and message of a call that must fail."""
    try:
        call()
    except InferenceServerException as exc:
        return {"status": str(exc.status()), "message": str(exc.message())}
    return {"status": "OK", "message": ""}


def main(address: str, model: str, inputs_path: str) -> dict[str, Any]:
    """Every call a Triton gRPC user makes, and what came back."""
    with open(inputs_path) as handle:
        spec = json.load(handle)
    client = triton_grpc.InferenceServerClient(url=address)
    metadata = client.get_model_metadata(model, as_json=True)
    result = client.infer(model, tensors(spec), request_id="tg-1")
    requested = client.infer(
        model, tensors(spec, 10), outputs=[triton_grpc.InferRequestedOutput("class_probabilities")]
    )
    bad = tensors(spec, 2)
    tenure = next(k for k, t in enumerate(bad) if t.name() == "tenure")
    bad[tenure] = triton_grpc.InferInput("tenure", [2], "FP64")
    bad[tenure].set_data_from_numpy(np.array([1.5, 2.0]))
    report = {
        "live": client.is_server_live(),
        "ready": client.is_server_ready(),
        "model_ready": client.is_model_ready(model),
        "input_names": [t["name"] for t in metadata["inputs"]],
        "server_name": client.get_server_metadata().name,
        "id": result.get_response().id,
        "probability": result.as_numpy("probability").tolist(),
        "label": [v.decode() for v in result.as_numpy("label")],
        "class_probabilities": requested.as_numpy("class_probabilities").tolist(),
        "requested_only": requested.as_numpy("probability") is None,
        "unknown_model": error(lambda: client.infer("other", tensors(spec, 1))),
        "bad_input": error(lambda: client.infer(model, bad)),
    }
    client.close()
    return report


if __name__ == "__main__":
    print(json.dumps(main(*sys.argv[1:4])))
