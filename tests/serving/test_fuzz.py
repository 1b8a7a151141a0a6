"""Fuzz the runtime's REST API from its own OpenAPI document: no request may get a 5xx.

schemathesis reads /openapi.json from the running server and generates requests for every
operation, both valid ones (from the bundle's column types) and invalid ones (negative mode:
wrong types, missing fields, out-of-schema values). A client's mistake must be a 4xx, and the
server must still be up afterwards. Bounded: a fixed number of examples per operation.

The OpenAPI document cannot say which column a tensor names, so schemathesis rarely builds a V2
request that is well-formed but for one header field. A second test starts from a real request
and gives its header fields (a tensor's name, shape, datatype, data, parameters; the id, the
parameters and the outputs) values of the wrong JSON type, or removes them: always a 400.
"""

from __future__ import annotations

import copy
from typing import Any

import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode

from components._shared.oip import OUTPUTS, v2_request
from tests.serving.conftest import Runtime, Trained

EXAMPLES_PER_OPERATION = {GenerationMode.POSITIVE: 40, GenerationMode.NEGATIVE: 60}


def test_fuzzed_requests_never_get_a_server_error(runtime: Runtime) -> None:
    schema = schemathesis.openapi.from_url(f"{runtime.url}/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == 8
    failures: list[str] = []
    for mode, examples in EXAMPLES_PER_OPERATION.items():
        for operation in operations:
            is_post = operation.method.upper() == "POST"
            if mode is GenerationMode.NEGATIVE and not is_post:
                continue  # a GET without parameters has nothing to make invalid
            budget = examples if is_post else 5

            @settings(
                max_examples=budget,
                deadline=None,
                database=None,
                derandomize=True,
                suppress_health_check=list(HealthCheck),
            )
            @given(case=operation.as_strategy(generation_mode=mode))
            def call(case: schemathesis.Case) -> None:
                response = case.call(base_url=runtime.url, timeout=10)
                if response.status_code >= 500:
                    failures.append(
                        f"{case.method} {case.formatted_path} -> {response.status_code}: "
                        f"{response.text[:300]} (body {str(case.body)[:300]})"
                    )

            call()
    assert not failures, "\n".join(failures[:10])
    assert runtime.alive()


class _Drop:
    """The field is removed."""

    def __repr__(self) -> str:
        return "<removed>"


_DROP = _Drop()
# Values that have broken a header field before (unhashable, null, 2.0 == 2, True == 1), then any.
_TRICKY = st.sampled_from((None, True, 0, 2, 2.0, -1, "", "shoe_size", "INT64", "BYTES")) | (
    st.sampled_from(([], [2], [2.0], [True], [2, 1], ["x"], [None], {}, {"name": "label"}))
)
_JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=6,
)
_VALUE = _TRICKY | _JSON
_OUTPUT = _VALUE | st.fixed_dictionaries(
    {"name": st.sampled_from(OUTPUTS) | _VALUE}, optional={"parameters": _VALUE}
)
# A tensor's fields removed or replaced: a name the schema lacks, a null datatype, any JSON value.
_FIELD_VALUES = {
    "name": st.sampled_from(("shoe_size", "tenure")) | _VALUE,
    "datatype": st.sampled_from((None, "BYTES", "FP64", "BOOL")) | _VALUE,
    "shape": _VALUE,
    "data": _VALUE,
    "parameters": _VALUE,
}
# Some fields of one tensor; half the time its name and datatype together (a renamed tensor):
# the fast path matches a tensor to its column by that pair.
_TENSOR_EDIT = (
    st.just(("name", "datatype"))
    | st.lists(st.sampled_from(list(_FIELD_VALUES)), min_size=1, max_size=3, unique=True)
).flatmap(
    lambda keys: st.fixed_dictionaries({key: st.just(_DROP) | _FIELD_VALUES[key] for key in keys})
)
_ENVELOPE_EDIT = st.dictionaries(
    st.sampled_from(["id", "parameters", "outputs"]),
    _VALUE | st.lists(_OUTPUT, min_size=1, max_size=2),
    max_size=1,
)


def _edit(target: dict[str, Any], edit: dict[str, Any]) -> None:
    for key, value in edit.items():
        if value is _DROP:
            target.pop(key, None)
        else:
            target[key] = value


def test_v2_header_fields_of_any_type_get_a_400_never_a_server_error(
    runtime: Runtime, trained: Trained
) -> None:
    columns = trained.bundle.featurizer.input_columns_  # no ids: the fast path's request
    valid = v2_request(trained.records(2), trained.bundle.schema, columns=columns)
    width = len(valid["inputs"])
    failures: list[str] = []

    @settings(
        max_examples=150,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    @given(
        tensors=st.dictionaries(st.integers(0, width - 1), _TENSOR_EDIT, min_size=1, max_size=2),
        envelope=_ENVELOPE_EDIT,
    )
    def call(tensors: dict[int, dict[str, Any]], envelope: dict[str, Any]) -> None:
        body = copy.deepcopy(valid)
        for j, edit in tensors.items():
            _edit(body["inputs"][j], edit)
        _edit(body, envelope)
        response = runtime.client.post(f"/v2/models/{runtime.name}/infer", json=body)
        if response.status_code not in (200, 400) or (
            response.status_code == 400 and not response.json().get("error")
        ):
            failures.append(
                f"{response.status_code}: {response.text[:300]} (edits {tensors} {envelope})"
            )

    call()
    assert not failures, "\n".join(failures[:10])
    assert runtime.alive()
