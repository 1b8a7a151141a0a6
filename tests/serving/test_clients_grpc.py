"""The V2 gRPC service of the lean server, through KServe's and Triton's gRPC clients.

``python -m serving`` serves ``inference.GRPCInferenceService`` on ``--grpc_port`` beside HTTP.
KServe's ``InferenceGRPCClient`` (typed contents and raw contents) and ``tritonclient.grpc`` (raw)
(in a process of its own, see triton_grpc_run.py) are used as a user would; answers are compared with the bundle's own predictions, and errors
with the status codes KServe gives them.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, TypeVar

import grpc
import numpy as np
import pytest
from kserve import InferenceGRPCClient, InferInput, InferRequest
from kserve.protocol.infer_type import InferResponse, RequestedOutput

from tests.serving.clients import expected_labels, expected_scores, input_arrays
from tests.serving.conftest import Runtime, Trained

ROWS = 200  # includes a row missing TotalCharges: NaN in FP64 tensors, imputed as in training
T = TypeVar("T")


def kserve_request(
    trained: Trained, n: int, *, raw: bool, outputs: list[RequestedOutput] | None = None
) -> InferRequest:
    inputs = []
    for name, datatype, values in input_arrays(trained, n):
        tensor = InferInput(name=name, shape=list(values.shape), datatype=datatype)
        tensor.set_data_from_numpy(values, binary_data=raw)
        inputs.append(tensor)
    return InferRequest(
        model_name="churn", infer_inputs=inputs, request_id="g-1", request_outputs=outputs
    )


def with_kserve_client(
    runtime: Runtime, call: Callable[[InferenceGRPCClient], Coroutine[Any, Any, T]]
) -> T:
    async def run() -> T:
        async with InferenceGRPCClient(f"127.0.0.1:{runtime.grpc_port}", retries=0) as client:
            return await call(client)

    return asyncio.run(run())


def output(response: InferResponse, name: str) -> np.ndarray:
    (tensor,) = [o for o in response.outputs if o.name == name]
    return tensor.as_numpy()


@pytest.mark.parametrize("raw", [False, True], ids=["contents", "raw"])
def test_kserve_grpc_client_gets_the_bundles_predictions(
    raw: bool, runtime: Runtime, trained: Trained
) -> None:
    async def call(client: InferenceGRPCClient) -> InferResponse:
        assert await client.is_server_live() and await client.is_server_ready()
        assert await client.is_model_ready(runtime.name)
        return await client.infer(kserve_request(trained, ROWS, raw=raw))

    response = with_kserve_client(runtime, call)
    assert response.model_name == runtime.name and response.id == "g-1"
    np.testing.assert_array_equal(output(response, "probability"), expected_scores(trained, ROWS))
    labels = [v.decode() for v in output(response, "label")]
    assert labels == expected_labels(trained, ROWS)


def test_kserve_grpc_client_requested_outputs(runtime: Runtime, trained: Trained) -> None:
    request = kserve_request(
        trained, 10, raw=True, outputs=[RequestedOutput("class_probabilities")]
    )
    response = with_kserve_client(runtime, lambda client: client.infer(request))
    assert [o.name for o in response.outputs] == ["class_probabilities"]
    both = output(response, "class_probabilities")
    np.testing.assert_array_equal(both.reshape(10, 2)[:, 1], expected_scores(trained, 10))
    assert response.outputs[0].parameters["class_labels"].string_param == "No,Yes"


def _status(runtime: Runtime, request: InferRequest) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        with_kserve_client(runtime, lambda client: client.infer(request))
    return raised.value


def test_grpc_errors_carry_kserves_status_codes(runtime: Runtime, trained: Trained) -> None:
    request = kserve_request(trained, 2, raw=False)
    extra = InferInput(name="shoe_size", shape=[2], datatype="FP64")
    extra.set_data_from_numpy(np.array([42.0, 43.0]), binary_data=False)
    request.inputs.append(extra)
    error = _status(runtime, request)
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "('shoe_size'): unknown column(s) ['shoe_size']" in error.details()

    request = kserve_request(trained, 2, raw=True)
    request.inputs[4] = InferInput(name="tenure", shape=[3], datatype="INT64")
    request.inputs[4].set_data_from_numpy(np.array([1, 2, 3]), binary_data=True)
    error = _status(runtime, request)
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "mismatched shapes" in error.details()

    request = kserve_request(trained, 2, raw=True)
    request.model_name = "other"
    error = _status(runtime, request)
    assert error.code() == grpc.StatusCode.NOT_FOUND
    assert error.details() == "Model with name other does not exist."
    assert runtime.alive()


def test_grpc_predictions_count_in_the_same_metrics(runtime: Runtime, trained: Trained) -> None:
    def count(prefix: str) -> float:
        for line in runtime.client.get("/metrics").text.splitlines():
            if line.startswith(prefix):
                return float(line.rsplit(" ", 1)[1])
        return 0.0

    scores = 'kfp_tabular_prediction_score_count{model_name="churn"}'
    latency = "request_predict_seconds_count"
    before = count(scores), count(latency)
    with_kserve_client(runtime, lambda client: client.infer(kserve_request(trained, 7, raw=True)))
    assert count(scores) == before[0] + 7
    assert count(latency) == before[1] + 1


# --- Triton's client (in a process of its own: its protos and KServe's share names) ------------
def test_triton_grpc_client_health_metadata_predictions_and_errors(
    runtime: Runtime, trained: Trained, tmp_path: Path
) -> None:
    spec = [
        {
            "name": name,
            "datatype": datatype,
            "values": [None if v != v else v for v in values.tolist()],
        }
        for name, datatype, values in input_arrays(trained, ROWS)
    ]
    (tmp_path / "inputs.json").write_text(json.dumps(spec))
    completed = subprocess.run(
        [
            sys.executable,
            str(Path(__file__).with_name("triton_grpc_run.py")),
            f"127.0.0.1:{runtime.grpc_port}",
            runtime.name,
            str(tmp_path / "inputs.json"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    report = json.loads(completed.stdout)
    assert report["live"] and report["ready"] and report["model_ready"]
    assert report["input_names"] == trained.bundle.featurizer.input_columns_
    assert report["server_name"] == "kfp-tabular" and report["id"] == "tg-1"
    np.testing.assert_array_equal(report["probability"], expected_scores(trained, ROWS))
    assert report["label"] == expected_labels(trained, ROWS)
    np.testing.assert_array_equal(
        np.array(report["class_probabilities"])[:, 1], expected_scores(trained, 10)
    )
    assert report["requested_only"]
    assert report["unknown_model"]["status"] == "StatusCode.NOT_FOUND"
    assert report["bad_input"]["status"] == "StatusCode.INVALID_ARGUMENT"
    assert "('tenure').data[0]" in report["bad_input"]["message"]
    assert runtime.alive()
