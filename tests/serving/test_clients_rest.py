"""Open Inference Protocol clients nobody here wrote, against the real lean server, over REST.

KServe's ``InferenceRESTClient`` (protocol v2, JSON and binary tensor modes) and Triton's
``tritonclient.http`` (JSON and binary inputs, binary and JSON outputs, requested outputs), used as
their documentation shows; every answer is compared with the bundle's own predictions.
"""

from __future__ import annotations

import asyncio
import zlib

import httpx
import numpy as np
import pytest
import tritonclient.http as triton_http
from kserve import InferenceRESTClient, InferInput, InferRequest, RESTConfig
from kserve.protocol.infer_type import InferResponse, RequestedOutput
from tritonclient.utils import InferenceServerException

from tests.serving.clients import expected_labels, expected_scores, input_arrays
from tests.serving.conftest import Runtime, Trained

ROWS = 200  # the test rows include one with a missing TotalCharges (NaN in binary tensors)
JSON_ROWS = 100  # none missing: Python's json writes NaN, which is not JSON, and is refused


def kserve_request(
    trained: Trained, n: int, *, binary: bool, outputs: list[RequestedOutput] | None = None
) -> InferRequest:
    inputs = []
    for name, datatype, values in input_arrays(trained, n):
        tensor = InferInput(name=name, shape=list(values.shape), datatype=datatype)
        tensor.set_data_from_numpy(values, binary_data=binary)
        inputs.append(tensor)
    return InferRequest(
        model_name="churn", infer_inputs=inputs, request_id="kserve-1", request_outputs=outputs
    )


def kserve_infer(
    runtime: Runtime, request: InferRequest, headers: dict[str, str] | None = None
) -> InferResponse:
    async def call() -> InferResponse:
        client = InferenceRESTClient(RESTConfig(protocol="v2", retries=0))
        try:
            assert await client.is_server_ready(runtime.url)
            assert await client.is_model_ready(runtime.url, runtime.name)
            return await client.infer(
                runtime.url, request, model_name=runtime.name, response_headers=headers
            )
        finally:
            await client.close()

    return asyncio.run(call())


def kserve_output(response: InferResponse, name: str) -> np.ndarray:
    (output,) = [o for o in response.outputs if o.name == name]
    return output.as_numpy()


@pytest.mark.parametrize("binary", [False, True], ids=["json", "binary"])
def test_kserve_rest_client_gets_the_bundles_predictions(
    binary: bool, runtime: Runtime, trained: Trained
) -> None:
    # The client puts model_name in the body (ignored, as KServe ignores it) and, in binary
    # mode, sends a JSON header of Inference-Header-Content-Length bytes and raw tensors.
    response = kserve_infer(runtime, kserve_request(trained, ROWS, binary=binary))
    assert response.model_name == runtime.name and response.id == "kserve-1"
    np.testing.assert_array_equal(
        kserve_output(response, "probability"), expected_scores(trained, ROWS)
    )
    assert list(kserve_output(response, "label")) == expected_labels(trained, ROWS)


def test_kserve_rest_client_requested_outputs_in_binary(runtime: Runtime, trained: Trained) -> None:
    outputs = [
        RequestedOutput("class_probabilities", parameters={"binary_data": True}),
        RequestedOutput("label", parameters={"binary_data": True}),
    ]
    request = kserve_request(trained, ROWS, binary=True, outputs=outputs)
    headers: dict[str, str] = {}
    response = kserve_infer(runtime, request, headers)
    assert int(headers["inference-header-content-length"]) > 0  # raw outputs follow the JSON
    assert [o.name for o in response.outputs] == ["class_probabilities", "label"]
    both = kserve_output(response, "class_probabilities")
    assert both.shape == (ROWS, 2)
    np.testing.assert_array_equal(both[:, 1], expected_scores(trained, ROWS))
    labels = [v.decode() if isinstance(v, bytes) else v for v in kserve_output(response, "label")]
    assert labels == expected_labels(trained, ROWS)


def test_kserve_rest_client_unknown_input_is_a_clear_400(
    runtime: Runtime, trained: Trained
) -> None:
    request = kserve_request(trained, 2, binary=True)
    extra = InferInput(name="shoe_size", shape=[2], datatype="FP64")
    extra.set_data_from_numpy(np.array([42.0, 43.0]), binary_data=True)
    request.inputs.append(extra)
    with pytest.raises(httpx.HTTPStatusError, match=r"unknown column\(s\) \['shoe_size'\]"):
        kserve_infer(runtime, request)
    assert runtime.alive()


# --- Triton's client ---------------------------------------------------------------------------
def triton_inputs(trained: Trained, n: int, *, binary: bool) -> list[triton_http.InferInput]:
    inputs = []
    for name, datatype, values in input_arrays(trained, n):
        tensor = triton_http.InferInput(name, list(values.shape), datatype)
        tensor.set_data_from_numpy(values, binary_data=binary)
        inputs.append(tensor)
    return inputs


@pytest.fixture
def triton(runtime: Runtime) -> triton_http.InferenceServerClient:
    client = triton_http.InferenceServerClient(url=f"127.0.0.1:{runtime.port}")
    yield client
    client.close()


def test_triton_http_client_health_and_metadata(
    triton: triton_http.InferenceServerClient, runtime: Runtime, trained: Trained
) -> None:
    assert triton.is_server_live() and triton.is_server_ready()
    assert triton.is_model_ready(runtime.name)
    metadata = triton.get_model_metadata(runtime.name)
    assert [t["name"] for t in metadata["inputs"]] == trained.bundle.featurizer.input_columns_
    assert triton.get_server_metadata()["name"] == "kfp-tabular"


@pytest.mark.parametrize("binary", [False, True], ids=["json-inputs", "binary-inputs"])
def test_triton_http_client_default_outputs_come_back_binary(
    binary: bool, triton: triton_http.InferenceServerClient, runtime: Runtime, trained: Trained
) -> None:
    n = ROWS if binary else JSON_ROWS
    # No outputs named: the client asks for every output as raw bytes (binary_data_output).
    result = triton.infer(runtime.name, triton_inputs(trained, n, binary=binary))
    assert result.get_output("probability")["parameters"] == {"binary_data_size": 8 * n}
    assert "data" not in result.get_output("label")
    np.testing.assert_array_equal(result.as_numpy("probability"), expected_scores(trained, n))
    assert [v.decode() for v in result.as_numpy("label")] == expected_labels(trained, n)


def test_triton_http_client_requested_outputs_json_and_binary(
    triton: triton_http.InferenceServerClient, runtime: Runtime, trained: Trained
) -> None:
    outputs = [
        triton_http.InferRequestedOutput("label", binary_data=False),
        triton_http.InferRequestedOutput("class_probabilities", binary_data=True),
    ]
    result = triton.infer(
        runtime.name, triton_inputs(trained, ROWS, binary=True), outputs=outputs, request_id="t-1"
    )
    response = result.get_response()
    assert response["id"] == "t-1"
    assert [o["name"] for o in response["outputs"]] == ["label", "class_probabilities"]
    assert list(result.as_numpy("label")) == expected_labels(trained, ROWS)
    assert "binary_data_size" in result.get_output("class_probabilities")["parameters"]
    both = result.as_numpy("class_probabilities")
    np.testing.assert_array_equal(both[:, 1], expected_scores(trained, ROWS))
    assert result.as_numpy("probability") is None  # not asked for


def test_triton_http_client_bad_input_raises_the_servers_message(
    triton: triton_http.InferenceServerClient, runtime: Runtime, trained: Trained
) -> None:
    inputs = triton_inputs(trained, 2, binary=True)
    position = next(k for k, t in enumerate(inputs) if t.name() == "tenure")
    inputs[position] = triton_http.InferInput("tenure", [2], "FP64")
    inputs[position].set_data_from_numpy(np.array([1.5, 2.0]), binary_data=True)
    with pytest.raises(InferenceServerException, match=r"\('tenure'\)\.data\[0\]"):
        triton.infer(runtime.name, inputs)
    assert runtime.alive()


@pytest.mark.parametrize("compression", ["gzip", "deflate"])
def test_triton_http_client_compressed_requests(
    compression: str, triton: triton_http.InferenceServerClient, runtime: Runtime, trained: Trained
) -> None:
    result = triton.infer(
        runtime.name,
        triton_inputs(trained, ROWS, binary=True),
        request_compression_algorithm=compression,
        response_compression_algorithm=compression,  # asked for; answered uncompressed
    )
    np.testing.assert_array_equal(result.as_numpy("probability"), expected_scores(trained, ROWS))


def test_compressed_body_limits_and_unknown_encodings(runtime: Runtime) -> None:
    path = f"/v2/models/{runtime.name}/infer"
    bomb = zlib.compress(b" " * 300_000)  # inflates past the fixture's 200 kB limit
    response = runtime.client.post(path, content=bomb, headers={"content-encoding": "deflate"})
    assert response.status_code == 413
    assert "--max_body_bytes" in response.json()["error"]
    response = runtime.client.post(path, content=b"{}", headers={"content-encoding": "br"})
    assert response.status_code == 415
    assert "Content-Encoding header: expected gzip, deflate or identity" in response.json()["error"]
    response = runtime.client.post(path, content=b"{}", headers={"content-encoding": "gzip"})
    assert response.status_code == 400
    assert "expected gzip data" in response.json()["error"]
    assert runtime.alive()
