"""The binary tensor data extension on its own: raw tensors in and out, and every way to get it wrong."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import orjson
import pytest

from components._shared.oip import v2_output, v2_request
from serving.codec import RequestError, binary
from serving.scoring import Scorer
from tests.serving.clients import input_arrays
from tests.serving.conftest import Runtime, Trained


@pytest.fixture(scope="module")
def scorer(trained: Trained) -> Scorer:
    return Scorer(trained.bundle, name="m")


def binary_body(
    trained: Trained, n: int, edit: Callable[[dict, list[bytes]], None] | None = None
) -> tuple[bytes, int]:
    """A binary request for the first ``n`` test rows (every input raw), optionally edited."""
    inputs, chunks = [], []
    for name, datatype, values in input_arrays(trained, n):
        raw = binary.bytes_tensor(list(values)) if datatype == "BYTES" else values.tobytes()
        inputs.append(
            {
                "name": name,
                "shape": [n],
                "datatype": datatype,
                "parameters": {"binary_data_size": len(raw)},
            }
        )
        chunks.append(raw)
    header = {"id": "b-1", "model_name": "m", "inputs": inputs}
    if edit is not None:
        edit(header, chunks)
    head = orjson.dumps(header)
    return head + b"".join(chunks), len(head)


def split_response(body: bytes, header_length: int | None) -> tuple[dict, bytes]:
    if header_length is None:
        return orjson.loads(body), b""
    return orjson.loads(body[:header_length]), body[header_length:]


def test_raw_tensors_decode_as_their_json_and_nan_is_null(scorer: Scorer, trained: Trained) -> None:
    n = 200  # test row 149 misses TotalCharges: NaN in the raw FP64 tensor
    body, length = binary_body(trained, n)
    response, rest = split_response(*scorer.predict_v2_rest(body, length))
    assert rest == b"" and response["id"] == "b-1"
    json_request = v2_request(trained.records(n), trained.bundle.schema)
    expected = scorer.predict_v2(json_request)
    np.testing.assert_array_equal(
        v2_output(response, "probability"), v2_output(expected, "probability")
    )


def test_binary_outputs_follow_the_json_header(scorer: Scorer, trained: Trained) -> None:
    def ask(header: dict, _: list[bytes]) -> None:
        header["parameters"] = {"binary_data_output": True}
        header["outputs"] = [
            {"name": "probability"},
            {"name": "label", "parameters": {"binary_data": False}},
        ]

    body, length = binary_body(trained, 5, ask)
    header_length = scorer.predict_v2_rest(body, length)[1]
    response, rest = split_response(*scorer.predict_v2_rest(body, length))
    assert header_length is not None
    probability, label = response["outputs"]
    assert probability["parameters"] == {"binary_data_size": 40} and "data" not in probability
    expected = trained.served_proba(trained.test_rows.head(5))
    np.testing.assert_array_equal(np.frombuffer(rest, dtype="<f8"), expected)
    assert label["data"] == ["Yes" if p >= 0.5 else "No" for p in expected]


def test_bytes_tensors_are_length_prefixed() -> None:
    raw = binary.bytes_tensor(["Yes", "", "Ünïcode"])
    assert raw[:7] == b"\x03\x00\x00\x00Yes"
    assert binary.bytes_elements("x", raw) == ["Yes", "", "Ünïcode"]


def _input(header: dict, name: str) -> dict:
    return next(t for t in header["inputs"] if t["name"] == name)


def _set_chunk(header: dict, chunks: list[bytes], name: str, raw: bytes) -> None:
    k = next(k for k, t in enumerate(header["inputs"]) if t["name"] == name)
    chunks[k] = raw
    header["inputs"][k]["parameters"]["binary_data_size"] = len(raw)


BAD_BINARY: dict[str, tuple[Callable[[dict, list[bytes]], None], list[str]]] = {
    "size beyond the body": (
        lambda h, c: _input(h, "tenure")["parameters"].update(binary_data_size=10**6),
        ["('tenure').parameters.binary_data_size", "bytes left in the body", "got 1000000"],
    ),
    "bytes left over": (
        lambda h, c: c.append(b"\x00" * 3),
        ["request body: expected", "every input's binary_data_size", "3 bytes"],
    ),
    "size not a number": (
        lambda h, c: _input(h, "tenure")["parameters"].update(binary_data_size="16"),
        ["('tenure').parameters.binary_data_size: expected a byte count, got str '16'"],
    ),
    "fewer values than the shape": (
        lambda h, c: _set_chunk(h, c, "MonthlyCharges", np.zeros(1).tobytes()),
        [
            "('MonthlyCharges').parameters.binary_data_size",
            "16 bytes (2 FP64 values",
            "got 8 bytes",
        ],
    ),
    "a cut BYTES element": (
        lambda h, c: _set_chunk(h, c, "Contract", b"\x09\x00\x00\x00Month"),
        ["('Contract').data[0]: expected 9 bytes", "got 5 bytes"],
    ),
    "BYTES not UTF-8": (
        lambda h, c: _set_chunk(
            h, c, "Contract", binary.bytes_tensor(["a"]) + b"\x02\x00\x00\x00\xff\xfe"
        ),
        ["('Contract').data[1]: expected UTF-8 text"],
    ),
    "BYTES count not the shape": (
        lambda h, c: _set_chunk(h, c, "Contract", binary.bytes_tensor(["a"])),
        ["('Contract').data: expected 2 BYTES elements", "got 1"],
    ),
    "data and binary data": (
        lambda h, c: _input(h, "tenure").update(data=[1, 2]),
        ["('tenure'): expected either data or parameters.binary_data_size, got both"],
    ),
    "infinity": (
        lambda h, c: _set_chunk(h, c, "MonthlyCharges", np.array([1.0, np.inf]).tobytes()),
        ["('MonthlyCharges').data[1]", "finite number", "inf"],
    ),
    "unknown datatype": (
        lambda h, c: _input(h, "tenure").update(datatype="INT128"),
        ["('tenure').datatype: expected one of ['BOOL', 'BYTES'", "'INT128'"],
    ),
    "binary_data_output not a boolean": (
        lambda h, c: h.update(parameters={"binary_data_output": "yes"}),
        ["parameters.binary_data_output: expected true or false, got str 'yes'"],
    ),
    "unknown input": (
        lambda h, c: (
            h["inputs"].append(
                {
                    "name": "shoe_size",
                    "shape": [2],
                    "datatype": "FP64",
                    "parameters": {"binary_data_size": 16},
                }
            ),
            c.append(np.zeros(2).tobytes()),
        ),
        ["('shoe_size'): unknown column(s) ['shoe_size']"],
    ),
}


@pytest.mark.parametrize("case", list(BAD_BINARY))
def test_bad_binary_request_is_a_request_error_naming_the_field(
    case: str, scorer: Scorer, trained: Trained
) -> None:
    edit, fragments = BAD_BINARY[case]
    body, length = binary_body(trained, 2, edit)
    with pytest.raises(RequestError) as raised:
        scorer.predict_v2_rest(body, length)
    for fragment in fragments:
        assert fragment in str(raised.value), f"{fragment!r} not in {str(raised.value)!r}"


def test_unknown_top_level_fields_are_ignored_as_kserve_does(
    scorer: Scorer, trained: Trained
) -> None:
    body = v2_request(trained.records(3), trained.bundle.schema)
    plain = scorer.predict_v2(body)
    body.update(model_name="anything", model_version="7", trace={"a": 1})
    assert scorer.predict_v2(body)["outputs"] == plain["outputs"]


def test_binary_request_over_http_and_its_header_errors(runtime: Runtime, trained: Trained) -> None:
    body, length = binary_body(trained, 3)
    path = f"/v2/models/{runtime.name}/infer"
    headers = {"content-type": "application/octet-stream"}
    response = runtime.client.post(
        path, content=body, headers={**headers, "Inference-Header-Content-Length": str(length)}
    )
    assert response.status_code == 200, response.text
    expected = trained.served_proba(trained.test_rows.head(3))
    np.testing.assert_array_equal(v2_output(response.json(), "probability"), expected)
    for value, fragment in [("ten", "got 'ten'"), (str(len(body) + 1), "a length between 1")]:
        response = runtime.client.post(
            path, content=body, headers={**headers, "Inference-Header-Content-Length": value}
        )
        assert response.status_code == 400
        assert "Inference-Header-Content-Length header" in response.json()["error"]
        assert fragment in response.json()["error"]
    assert runtime.alive()
