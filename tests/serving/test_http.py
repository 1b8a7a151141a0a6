"""The runtime through real HTTP: round trips, training parity, metadata, health, bad input.

Every request goes to the real ``python -m serving`` process (tests/serving/conftest.py) serving
a bundle trained in this session from the Telco data.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import numpy as np
import pytest

from components._shared.oip import v2_output, v2_request
from tests.serving.conftest import Runtime, Trained
from tests.serving.test_codec import BAD_V2_FIELDS, bad_v2_body

OIP = Path(__file__).resolve().parents[2] / "components/_shared/crd_schemas/oip"
PARITY_ROWS = 250  # ~150 kB of V1 JSON: under the 200 kB limit the fixture sets


def oip_schema(name: str) -> dict:
    return json.loads((OIP / f"{name}.json").read_text())


def v1(runtime: Runtime, body: Any) -> Any:
    return runtime.client.post(f"/v1/models/{runtime.name}:predict", json=body)


def v2(runtime: Runtime, body: Any) -> Any:
    return runtime.client.post(f"/v2/models/{runtime.name}/infer", json=body)


def v1_scores(response: Any) -> np.ndarray:
    assert response.status_code == 200, response.text
    return np.array([p["probability"] for p in response.json()["predictions"]])


def test_v1_objects_predict_exactly_what_training_predicts(
    runtime: Runtime, trained: Trained
) -> None:
    records = trained.records(PARITY_ROWS)  # ids and the target ride along and are ignored
    expected = trained.served_proba(trained.test_rows.head(PARITY_ROWS))
    response = v1(runtime, {"instances": records})
    np.testing.assert_array_equal(v1_scores(response), expected)
    predictions = response.json()["predictions"]
    labels = [p["label"] for p in predictions]
    assert labels == ["Yes" if p >= 0.5 else "No" for p in expected]
    assert set(predictions[0]) == {"probability", "label"}


def test_v1_lists_in_schema_order_and_class_probabilities(
    runtime: Runtime, trained: Trained
) -> None:
    inputs = trained.bundle.featurizer.input_columns_
    records = trained.records(20)
    rows = [[r[c] for c in inputs] for r in records]
    body = {"instances": rows, "parameters": {"class_probabilities": True}}
    response = v1(runtime, body)
    expected = trained.served_proba(trained.test_rows.head(20))
    np.testing.assert_array_equal(v1_scores(response), expected)
    first = response.json()["predictions"][0]
    assert first["class_probabilities"] == pytest.approx(
        {"No": 1 - expected[0], "Yes": expected[0]}
    )


def test_v2_pandas_convention_predicts_exactly_what_training_predicts(
    runtime: Runtime, trained: Trained
) -> None:
    records = trained.records(PARITY_ROWS)
    expected = trained.served_proba(trained.test_rows.head(PARITY_ROWS))
    body = v2_request(records, trained.bundle.schema, request_id="parity-1")
    assert body["parameters"] == {"content_type": "pd"}
    response = v2(runtime, body)
    assert response.status_code == 200, response.text
    payload = response.json()
    jsonschema.validate(payload, oip_schema("inference_response"))
    assert payload["model_name"] == runtime.name and payload["id"] == "parity-1"
    assert [o["name"] for o in payload["outputs"]] == ["probability", "label"]
    np.testing.assert_array_equal(v2_output(payload, "probability"), expected)
    assert list(v2_output(payload, "label")) == ["Yes" if p >= 0.5 else "No" for p in expected]


def test_v2_nested_data_and_all_class_probabilities(runtime: Runtime, trained: Trained) -> None:
    body = v2_request(
        trained.records(5),
        trained.bundle.schema,
        outputs=["class_probabilities", "probability"],
    )
    for tensor in body["inputs"]:  # row-major [[v], [v], ...] with shape [n, 1]
        tensor["shape"] = [5, 1]
        tensor["data"] = [[v] for v in tensor["data"]]
    response = v2(runtime, body)
    assert response.status_code == 200, response.text
    payload = response.json()
    both = v2_output(payload, "class_probabilities")
    p = v2_output(payload, "probability")
    assert both.shape == (5, 2)
    np.testing.assert_allclose(both[:, 1], p)
    np.testing.assert_allclose(both.sum(axis=1), 1.0)
    assert payload["outputs"][0]["parameters"]["class_labels"] == "No,Yes"


def test_model_metadata_lists_the_bundle_inputs(runtime: Runtime, trained: Trained) -> None:
    response = runtime.client.get(f"/v2/models/{runtime.name}")
    assert response.status_code == 200
    metadata = response.json()
    jsonschema.validate(metadata, oip_schema("metadata_model_response"))
    inputs = {t["name"]: t for t in metadata["inputs"]}
    assert list(inputs) == trained.bundle.featurizer.input_columns_
    assert inputs["tenure"] == {"name": "tenure", "datatype": "INT64", "shape": [-1]}
    assert inputs["MonthlyCharges"]["datatype"] == "FP64"
    assert inputs["Partner"]["datatype"] == "BOOL"
    assert inputs["Contract"]["datatype"] == "BYTES"
    assert {o["name"] for o in metadata["outputs"]} == {
        "probability",
        "label",
        "class_probabilities",
    }
    assert metadata["parameters"]["family"] == "xgboost"
    assert metadata["parameters"]["positive_label"] == "Yes"


def test_health_readiness_and_server_metadata(runtime: Runtime) -> None:
    client, name = runtime.client, runtime.name
    assert client.get("/v2/health/live").json()["live"] is True
    assert client.get("/v2/health/ready").json() == {"ready": True}
    assert client.get(f"/v2/models/{name}/ready").json() == {"name": name, "ready": True}
    assert client.get(f"/v2/models/{name}/versions/1/ready").status_code == 200
    assert client.get(f"/v1/models/{name}").json() == {"name": name, "ready": True}
    assert client.get("/v1/models").json() == {"models": [name]}
    assert client.get("/").status_code == 200
    server = client.get("/v2").json()
    jsonschema.validate(server, oip_schema("metadata_server_response"))
    assert client.get("/openapi.json").json()["openapi"].startswith("3.")


def test_unseen_category_goes_to_the_unknown_bucket_and_is_counted(
    runtime: Runtime, trained: Trained
) -> None:
    def unseen_count() -> float:
        text = runtime.client.get("/metrics").text
        for line in text.splitlines():
            if line.startswith("kfp_tabular_unseen_values_total") and 'column="Contract"' in line:
                return float(line.rsplit(" ", 1)[1])
        return 0.0

    before = unseen_count()
    frame = trained.test_rows.head(3).copy()
    frame["Contract"] = "Ten-year"  # never seen in training
    records = trained.records(3)
    for record in records:
        record["Contract"] = "Ten-year"
    scores = v1_scores(v1(runtime, {"instances": records}))
    np.testing.assert_array_equal(scores, trained.served_proba(frame))
    assert unseen_count() == before + 3
    metrics = runtime.client.get("/metrics").text
    assert 'kfp_tabular_prediction_score_count{model_name="churn"}' in metrics
    assert "request_predict_seconds" in metrics  # KServe's own metric, kept


def _record(trained: Trained, **changes: Any) -> dict:
    record = trained.records(1)[0]
    for key, value in changes.items():
        if value is _DROP:
            del record[key]
        else:
            record[key] = value
    return record


_DROP = object()
Case = Callable[[Trained], tuple[str, Any]]


def _v2_body(trained: Trained, edit: Callable[[dict], None]) -> dict:
    body = v2_request(trained.records(2), trained.bundle.schema)
    edit(body)
    return body


def _tensor(body: dict, name: str) -> dict:
    return next(t for t in body["inputs"] if t["name"] == name)


BAD_INPUTS: dict[str, tuple[Case, int, list[str]]] = {
    "v1 wrong type": (
        lambda t: ("v1", {"instances": [_record(t, tenure="twelve")]}),
        400,
        ["instances[0].tenure", "expected a whole number or null", "got str 'twelve'"],
    ),
    "v1 not a whole number": (
        lambda t: ("v1", {"instances": [_record(t, tenure=1.5)]}),
        400,
        ["instances[0].tenure", "whole number", "float 1.5"],
    ),
    "v1 number for a category": (
        lambda t: ("v1", {"instances": [_record(t, Contract=2)]}),
        400,
        ["instances[0].Contract", "expected text or null", "int 2"],
    ),
    "v1 missing column": (
        lambda t: ("v1", {"instances": [_record(t, tenure=_DROP)]}),
        400,
        ["instances[0]", "missing required column(s) ['tenure']"],
    ),
    "v1 infinity": (
        lambda t: (
            "v1-raw",
            # 1e999 is valid JSON text that overflows float64: refused by the parser.
            json.dumps({"instances": [_record(t, MonthlyCharges="X")]}).replace('"X"', "1e999"),
        ),
        400,
        ["invalid JSON", "infinity", "send null for a missing value"],
    ),
    "v1 NaN literal": (
        lambda t: ("v1-raw", json.dumps({"instances": [_record(t, MonthlyCharges=float("nan"))]})),
        400,
        ["not JSON", "send null"],
    ),
    "v1 infinity as text": (
        lambda t: ("v1", {"instances": [_record(t, TotalCharges="Infinity")]}),
        400,
        ["instances[0].TotalCharges", "finite number", "'Infinity'"],
    ),
    "v1 unknown column": (
        lambda t: ("v1", {"instances": [_record(t, shoe_size=42)]}),
        400,
        ["instances[0]", "unknown column(s) ['shoe_size']", "--ignore_unknown_columns"],
    ),
    "v1 empty batch": (lambda t: ("v1", {"instances": []}), 400, ["instances", "empty batch"]),
    "v1 list of wrong width": (
        lambda t: ("v1", {"instances": [[1, 2, 3]]}),
        400,
        ["instances[0]", "expected 19 values in the order", "got 3 values"],
    ),
    "v1 mixed instance forms": (
        lambda t: ("v1", {"instances": [_record(t), [1]]}),
        400,
        ["instances[1]", "an object of column values", "got a list"],
    ),
    "v1 body not an object": (
        lambda t: ("v1", [1, 2]),
        400,
        ["request body", "expected a JSON object", "got a list"],
    ),
    "v1 invalid JSON": (lambda t: ("v1-raw", "{'instances': "), 400, ["invalid JSON"]),
    "v1 empty body": (lambda t: ("v1-raw", ""), 400, ["empty body"]),
    "v2 mismatched shapes": (
        lambda t: ("v2", _v2_body(t, lambda b: _tensor(b, "tenure").update(shape=[1], data=[3]))),
        400,
        ["mismatched shapes", "'tenure': 1"],
    ),
    "v2 shape does not match data": (
        lambda t: ("v2", _v2_body(t, lambda b: _tensor(b, "tenure").update(shape=[3]))),
        400,
        ["inputs[", "('tenure').data", "3 values for shape [3]", "got 2 values"],
    ),
    "v2 two-column tensor": (
        lambda t: ("v2", _v2_body(t, lambda b: _tensor(b, "tenure").update(shape=[1, 2]))),
        400,
        ["('tenure').shape", "[n] or [n, 1]", "[1, 2]"],
    ),
    "v2 wrong datatype": (
        lambda t: (
            "v2",
            _v2_body(t, lambda b: _tensor(b, "tenure").update(datatype="BYTES", data=["1", "2"])),
        ),
        400,
        ["('tenure').datatype", "expected INT64 for a integer column", "BYTES"],
    ),
    "v2 value not of its datatype": (
        lambda t: (
            "v2",
            _v2_body(t, lambda b: _tensor(b, "MonthlyCharges").update(data=[True, 3.5])),
        ),
        400,
        ["('MonthlyCharges').data[0]", "a FP64 value or null", "bool True"],
    ),
    "v2 unknown input": (
        lambda t: (
            "v2",
            _v2_body(
                t,
                lambda b: b["inputs"].append(
                    {"name": "shoe_size", "shape": [2], "datatype": "FP64", "data": [1, 2]}
                ),
            ),
        ),
        400,
        ["('shoe_size')", "unknown column(s) ['shoe_size']"],
    ),
    "v2 missing input": (
        lambda t: (
            "v2",
            _v2_body(
                t, lambda b: b.update(inputs=[i for i in b["inputs"] if i["name"] != "tenure"])
            ),
        ),
        400,
        ["missing required column(s) ['tenure']"],
    ),
    "v2 empty batch": (
        lambda t: (
            "v2",
            _v2_body(t, lambda b: [i.update(shape=[0], data=[]) for i in b["inputs"]]),
        ),
        400,
        ["0 rows (empty batch)"],
    ),
    "v2 content type not pandas": (
        lambda t: ("v2", _v2_body(t, lambda b: b.update(parameters={"content_type": "np"}))),
        400,
        ["parameters.content_type", "'pd'", "str 'np'"],
    ),
    "v2 unknown output": (
        lambda t: ("v2", _v2_body(t, lambda b: b.update(outputs=[{"name": "shap"}]))),
        400,
        ["outputs[0].name", "one of ['probability'", "str 'shap'"],
    ),
    "v2 no inputs": (lambda t: ("v2", {"inputs": []}), 400, ["inputs", "non-empty list"]),
    "v2 int beyond float64": (
        lambda t: (
            "v2-raw",
            # orjson refuses it as it does 1e999; in-process, the codec names it (test_codec).
            json.dumps(_v2_body(t, lambda b: _tensor(b, "tenure").update(data=["X", 1]))).replace(
                '"X"', "1" + "0" * 400
            ),
        ),
        400,
        ["invalid JSON", "infinity", "send null for a missing value"],
    ),
    # Header fields of the wrong JSON type (a list for a name, an object for a datatype...).
    **{
        f"v2 {case}": (
            lambda t, case=case: ("v2", bad_v2_body(t, case)),
            400,
            fragments,
        )
        for case, (_, fragments) in BAD_V2_FIELDS.items()
    },
    "body over the configured size": (
        lambda t: ("v1", {"instances": [_record(t)] * 1000}),
        413,
        ["expected at most 200000 bytes", "--max_body_bytes"],
    ),
    "unknown model": (lambda t: ("other-model", {"instances": []}), 404, ["does not exist"]),
}


@pytest.mark.parametrize("case", list(BAD_INPUTS), ids=list(BAD_INPUTS))
def test_bad_input_gets_a_4xx_naming_the_field_and_the_server_stays_up(
    case: str, runtime: Runtime, trained: Trained
) -> None:
    build, status, fragments = BAD_INPUTS[case]
    route, body = build(trained)
    client, name = runtime.client, runtime.name
    if route == "v1":
        response = client.post(f"/v1/models/{name}:predict", json=body)
    elif route in ("v1-raw", "v2-raw"):
        path = f"/v1/models/{name}:predict" if route == "v1-raw" else f"/v2/models/{name}/infer"
        response = client.post(
            path, content=body.encode(), headers={"content-type": "application/json"}
        )
    elif route == "v2":
        response = client.post(f"/v2/models/{name}/infer", json=body)
    else:
        response = client.post(f"/v1/models/{route}:predict", json=body)
    assert response.status_code == status, response.text[:500]
    message = response.json()["error"]
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in {message!r}"
    assert runtime.alive()


def test_v2_bad_header_fields_leave_the_server_answering_correctly(
    runtime: Runtime, trained: Trained
) -> None:
    for case in BAD_V2_FIELDS:
        assert v2(runtime, bad_v2_body(trained, case)).status_code == 400, case
    body = v2_request(trained.records(20), trained.bundle.schema)
    response = v2(runtime, body)
    assert response.status_code == 200, response.text
    expected = trained.served_proba(trained.test_rows.head(20))
    np.testing.assert_array_equal(v2_output(response.json(), "probability"), expected)
    assert runtime.alive()


def test_wrong_method_and_unknown_path_are_4xx(runtime: Runtime) -> None:
    client = runtime.client
    assert client.get(f"/v2/models/{runtime.name}/infer").status_code == 405
    assert client.get("/v3/anything").status_code == 404
    assert client.post("/v2/health/ready").status_code == 405
    assert runtime.alive()
