"""gRPC messages to and from the V2 JSON bodies, without a server: the same codec decides."""

from __future__ import annotations

import numpy as np
import pytest
from kserve.protocol.grpc import grpc_predict_v2_pb2 as pb

from components._shared.oip import v2_output
from serving.codec import RequestError, binary
from serving.grpc_messages import request_body, response_message
from serving.scoring import Scorer
from tests.serving.clients import input_arrays
from tests.serving.conftest import Trained


@pytest.fixture(scope="module")
def scorer(trained: Trained) -> Scorer:
    return Scorer(trained.bundle, name="m")


def message(trained: Trained, n: int, *, raw: bool) -> pb.ModelInferRequest:
    request = pb.ModelInferRequest(model_name="m", id="r-1")
    request.parameters["content_type"].string_param = "pd"
    for name, datatype, values in input_arrays(trained, n):
        tensor = request.inputs.add(name=name, datatype=datatype, shape=[n])
        if raw:
            as_list = list(values)
            chunk = binary.bytes_tensor(as_list) if datatype == "BYTES" else values.tobytes()
            request.raw_input_contents.append(chunk)
        elif datatype == "BYTES":
            tensor.contents.bytes_contents.extend(v.encode() for v in values)
        else:
            field = {"FP64": "fp64_contents", "INT64": "int64_contents", "BOOL": "bool_contents"}
            getattr(tensor.contents, field[datatype]).extend(values.tolist())
    return request


@pytest.mark.parametrize("raw", [False, True], ids=["contents", "raw"])
def test_contents_and_raw_requests_decode_to_the_same_prediction(
    raw: bool, scorer: Scorer, trained: Trained
) -> None:
    n = 200  # row 149 misses TotalCharges: NaN in both forms, a missing value
    body = request_body(message(trained, n, raw=raw))
    assert body["id"] == "r-1" and body["parameters"] == {"content_type": "pd"}
    response = scorer.predict_v2(body)
    np.testing.assert_array_equal(
        v2_output(response, "probability"),
        trained.served_proba(trained.test_rows.head(n)),
    )
    reply = response_message(response, raw=raw)
    assert [o.name for o in reply.outputs] == ["probability", "label"]
    assert len(reply.raw_output_contents) == (2 if raw else 0)
    if raw:
        scores = np.frombuffer(reply.raw_output_contents[0], dtype="<f8")
        assert binary.bytes_elements("label", reply.raw_output_contents[1])[0] in ("Yes", "No")
    else:
        scores = np.array(reply.outputs[0].contents.fp64_contents)
    np.testing.assert_array_equal(scores, v2_output(response, "probability"))


def test_malformed_messages_are_request_errors_naming_the_field(trained: Trained) -> None:
    request = message(trained, 2, raw=True)
    del request.raw_input_contents[-1]
    with pytest.raises(RequestError, match=r"raw_input_contents: expected one entry per input"):
        request_body(request)
    request = message(trained, 2, raw=True)
    request.inputs[0].contents.bytes_contents.append(b"x")
    with pytest.raises(RequestError, match=r"inputs\[0\] \('gender'\)\.contents: expected none"):
        request_body(request)
    request = message(trained, 2, raw=False)
    request.inputs[0].contents.bytes_contents[0] = b"\xff\xfe"
    with pytest.raises(RequestError, match=r"inputs\[0\] \('gender'\)\.contents: expected UTF-8"):
        request_body(request)
    request = message(trained, 2, raw=False)
    request.inputs[4].datatype = "FP16"
    with pytest.raises(RequestError, match=r"\('tenure'\)\.datatype: .*FP16 only in raw"):
        request_body(request)
