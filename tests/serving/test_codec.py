"""The codec on its own: the rules a client codes against, without HTTP."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from components._shared.oip import v2_request
from serving.codec import Codec, RequestError, v2
from serving.scoring import Scorer
from tests.serving.conftest import Trained


@pytest.fixture(scope="module")
def scorer(trained: Trained) -> Scorer:
    return Scorer(trained.bundle, name="m")


def test_null_is_imputed_exactly_as_in_training(scorer: Scorer, trained: Trained) -> None:
    frame = trained.test_rows.head(2).copy()
    frame["TotalCharges"] = np.nan
    frame["Contract"] = None
    records = trained.records(2)
    for record in records:
        record["TotalCharges"] = None
        record["Contract"] = None
    scores = [p["probability"] for p in scorer.predict_v1({"instances": records})["predictions"]]
    np.testing.assert_array_equal(scores, trained.served_proba(frame))


def test_text_numbers_only_where_the_schema_stored_them_as_text(
    scorer: Scorer, trained: Trained
) -> None:
    record = trained.records(1)[0]
    as_text = {**record, "TotalCharges": f" {record['TotalCharges']} "}
    same = scorer.predict_v1({"instances": [as_text]})["predictions"][0]["probability"]
    assert same == scorer.predict_v1({"instances": [record]})["predictions"][0]["probability"]
    blank = {**record, "TotalCharges": " "}  # a blank is a missing value there, as in training
    scorer.predict_v1({"instances": [blank]})
    with pytest.raises(RequestError, match=r"instances\[0\]\.MonthlyCharges"):
        scorer.predict_v1({"instances": [{**record, "MonthlyCharges": "29.85"}]})


def test_unknown_columns_can_be_ignored_by_flag(trained: Trained) -> None:
    bundle = trained.bundle
    strict = Codec(bundle.schema, bundle.featurizer.input_columns_)
    lenient = Codec(bundle.schema, bundle.featurizer.input_columns_, ignore_unknown_columns=True)
    body = {"instances": [{**trained.records(1)[0], "shoe_size": 42}]}
    with pytest.raises(RequestError, match="unknown column"):
        strict.decode_v1(body)
    assert lenient.decode_v1(body).rows == 1


def test_fast_and_thorough_v2_paths_decode_alike(scorer: Scorer, trained: Trained) -> None:
    body = v2_request(trained.records(8), trained.bundle.schema, columns=scorer.codec.inputs)
    assert v2._fast(scorer.codec, body["inputs"]) is not None
    fast = scorer.codec.decode_v2(body)
    body["inputs"][0]["parameters"] = {}  # an extra field takes the thorough path
    thorough = scorer.codec.decode_v2(body)
    assert fast.columns.keys() == thorough.columns.keys()
    for name in fast.columns:
        np.testing.assert_array_equal(fast.columns[name], thorough.columns[name])


# --- V2 header fields of the wrong JSON type: a RequestError naming the field, never a crash -----
def _input(body: dict, name: str) -> dict:
    return next(t for t in body["inputs"] if t["name"] == name)


def _unknown_null_datatype(body: dict) -> None:
    # as many inputs as the model has, so the fast path sees it first
    _input(body, "tenure").update(name="shoe_size", datatype=None)


# What each edit of a well-formed two-row V2 request must be answered with (400 via HTTP).
BAD_V2_FIELDS: dict[str, tuple[Callable[[dict], None], list[str]]] = {
    "name a list": (
        lambda b: _input(b, "tenure").update(name=["tenure"]),
        ["].name: expected a column name", "got list ['tenure']"],
    ),
    "name a number": (
        lambda b: _input(b, "tenure").update(name=3),
        ["].name: expected a column name", "got int 3"],
    ),
    "datatype an object": (
        lambda b: _input(b, "tenure").update(datatype={"type": "INT64"}),
        ["('tenure').datatype: expected INT64 for a integer column", "got dict {'type'"],
    ),
    "datatype a list": (
        lambda b: _input(b, "Contract").update(datatype=["BYTES"]),
        ["('Contract').datatype: expected BYTES for a categorical column,", "got list ['BYTES']"],
    ),
    "null datatype on an unknown column": (
        _unknown_null_datatype,
        ["('shoe_size'): unknown column(s) ['shoe_size']"],
    ),
    "shape not a list": (
        lambda b: _input(b, "tenure").update(shape=2),
        ["('tenure').shape: expected [n] or [n, 1]", "got int 2"],
    ),
    "shape of floats": (
        lambda b: _input(b, "tenure").update(shape=[2.0]),
        ["('tenure').shape: expected [n] or [n, 1]", "got list [2.0]"],
    ),
    "shape of booleans": (
        lambda b: _input(b, "tenure").update(shape=[True, True]),
        ["('tenure').shape: expected [n] or [n, 1]", "got list [True, True]"],
    ),
    "data not a list": (
        lambda b: _input(b, "tenure").update(data={"0": 1}),
        ["('tenure').data: expected a list of values, got an object"],
    ),
    "tensor parameters not an object": (
        lambda b: _input(b, "tenure").update(parameters=[1]),
        ["('tenure').parameters: expected an object, got a list"],
    ),
    "input not an object": (
        lambda b: b["inputs"].__setitem__(0, 3),
        ["inputs[0]: expected an input tensor object, got a number"],
    ),
    "request parameters not an object": (
        lambda b: b.update(parameters="pd"),
        ["parameters: expected an object, got a string"],
    ),
    "output not an object": (
        lambda b: b.update(outputs=["probability"]),
        ["outputs[0]: expected an object {'name': ...}, got a string"],
    ),
    "output name a list": (
        lambda b: b.update(outputs=[{"name": ["label"]}]),
        ["outputs[0].name: expected one of ['probability'", "got list ['label']"],
    ),
    "output parameters not an object": (
        lambda b: b.update(outputs=[{"name": "label", "parameters": 1}]),
        ["outputs[0].parameters: expected an object, got a number"],
    ),
    "id not a string": (lambda b: b.update(id=7), ["id: expected a string, got int 7"]),
    "id an object": (lambda b: b.update(id={"a": 1}), ["id: expected a string, got dict"]),
}


def bad_v2_body(trained: Trained, case: str) -> dict:
    """A well-formed two-row V2 request (as the fast path sees it) with one field made wrong."""
    columns = trained.bundle.featurizer.input_columns_
    body = v2_request(trained.records(2), trained.bundle.schema, columns=columns)
    BAD_V2_FIELDS[case][0](body)
    return body


@pytest.mark.parametrize("case", list(BAD_V2_FIELDS))
def test_v2_header_field_of_the_wrong_type_is_a_request_error(
    case: str, scorer: Scorer, trained: Trained
) -> None:
    with pytest.raises(RequestError) as raised:
        scorer.codec.decode_v2(bad_v2_body(trained, case))
    for fragment in BAD_V2_FIELDS[case][1]:
        assert fragment in str(raised.value), f"{fragment!r} not in {str(raised.value)!r}"


@pytest.mark.parametrize("column", ["tenure", "MonthlyCharges"])
def test_an_int_beyond_float64_is_a_request_error_in_process(
    column: str, scorer: Scorer, trained: Trained
) -> None:
    # orjson refuses such a number over HTTP; an in-process caller can still hand one over.
    huge = 10**400
    body = v2_request(trained.records(2), trained.bundle.schema)
    _input(body, column)["data"][0] = huge
    # An INT64 tensor names its range, an FP64 one asks for a finite number.
    expected = "INT64 value in" if column == "tenure" else "finite"
    with pytest.raises(RequestError, match=rf"\('{column}'\)\.data\[0\]: expected a {expected}"):
        scorer.codec.decode_v2(body)
    record = {**trained.records(1)[0], column: huge}
    with pytest.raises(RequestError, match=rf"instances\[0\]\.{column}: expected a finite"):
        scorer.codec.decode_v1({"instances": [record]})


@pytest.mark.parametrize(
    ("datatype", "value"),
    [("UINT8", -1), ("UINT8", 256), ("INT8", 128), ("INT32", 2**31), ("INT64", 2**63)],
)
def test_an_integer_outside_its_datatype_range_is_a_request_error(
    datatype: str, value: int, scorer: Scorer, trained: Trained
) -> None:
    body = v2_request(trained.records(2), trained.bundle.schema)
    tensor = _input(body, "tenure")
    tensor["datatype"] = datatype
    tensor["data"][1] = value
    with pytest.raises(
        RequestError, match=rf"\('tenure'\)\.data\[1\]: expected a {datatype} value in \["
    ):
        scorer.codec.decode_v2(body)
    tensor["data"][1] = 5  # in range: accepted, and the same as sent as INT64
    assert scorer.codec.decode_v2(body).columns["tenure"][1] == 5.0
