"""Open Inference Protocol (V2): one input tensor per column to a Decoded request, scores to outputs.

A well-formed request takes the fast path (a few numpy calls); anything else, every error
included, goes the thorough way, which checks each tensor and says exactly what is wrong. The
functions take the :class:`~serving.codec.Codec` first: they are its ``decode_v2`` and
``encode_v2`` methods.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any, Final

import numpy as np

from components._shared.errors import expected_got
from components._shared.oip import (
    CONTENT_TYPE_PANDAS,
    DEFAULT_OUTPUTS,
    OUTPUT_LABEL,
    OUTPUT_PROBABILITY,
    OUTPUTS,
    V2_DATATYPE,
)
from serving.codec.columns import Decoded, convert, numeric_block
from serving.codec.json_io import RequestError, describe, json_kind, json_object
from serving.codec.values import NULL

if TYPE_CHECKING:
    from serving.codec import Codec

_INTS = frozenset({"INT8", "INT16", "INT32", "INT64", "UINT8", "UINT16", "UINT32", "UINT64"})
# The values each integer datatype can hold: a UINT8 of -1 or an INT64 of 2**63 is not one.
INT_RANGES: Final = {
    d: (int(np.iinfo(d.lower()).min), int(np.iinfo(d.lower()).max)) for d in sorted(_INTS)
}
_FLOATS = frozenset({"FP16", "FP32", "FP64"})
# What else a column accepts: any number type for numbers; tokens or 0/1 for booleans.
ACCEPTED_DATATYPES: Final = {
    "numeric": _FLOATS | _INTS,
    "integer": _INTS | _FLOATS,
    "boolean": frozenset({"BOOL", "BYTES"}) | _INTS,
    "categorical": frozenset({"BYTES"}),
    "datetime": frozenset({"BYTES"}),
    "identifier": _FLOATS | _INTS | frozenset({"BOOL", "BYTES"}),
}
# The JSON value types each V2 datatype may carry (null is always allowed).
_DATATYPE_VALUES: Final = {
    **{d: (int, float) for d in _FLOATS},
    **{d: (int,) for d in _INTS},
    "BOOL": (bool,),
    "BYTES": (str,),
}
_V2_INPUT_FIELDS: Final = frozenset({"name", "shape", "datatype", "data", "parameters"})
_NOT_A_COLUMN: Final = object()  # no tensor's datatype equals it, null included


def decode_v2(codec: Codec, body: Any) -> Decoded:
    """An OIP inference request with one input per column (``shape`` ``[n]`` or ``[n, 1]``)."""
    request_id, parameters, inputs = _envelope(body)
    binary_default = _binary_flag(parameters, "binary_data_output", "parameters")
    outputs, binary = _requested_outputs(body.get("outputs"), binary_default)
    fast = _fast(codec, inputs)
    columns, n = fast if fast is not None else _thorough(codec, inputs)
    return Decoded(columns, n, outputs, request_id, parameters, binary)


def _envelope(body: Any) -> tuple[str | None, dict[str, Any], list[Any]]:
    """The request's id, parameters and (unchecked) input tensors."""
    if type(body) is not dict:
        raise RequestError(
            expected_got("request body", "a JSON object with 'inputs'", json_kind(body))
        )
    # Other top-level fields (the model_name KServe's client sends, ...) are ignored, as KServe does.
    request_id = body.get("id")
    if request_id is not None and type(request_id) is not str:
        raise RequestError(expected_got("id", "a string", describe(request_id)))
    parameters = json_object(body.get("parameters"), "parameters")
    content_type = parameters.get("content_type", CONTENT_TYPE_PANDAS)
    if content_type != CONTENT_TYPE_PANDAS:
        raise RequestError(
            expected_got(
                "parameters.content_type",
                f"{CONTENT_TYPE_PANDAS!r} (one input per column) or absent",
                describe(content_type),
            )
        )
    inputs = body.get("inputs")
    if type(inputs) is not list or not inputs:
        raise RequestError(
            expected_got("inputs", "a non-empty list of input tensors", json_kind(inputs))
        )
    return request_id, parameters, inputs


def _binary_flag(parameters: dict[str, Any], key: str, where: str, default: bool = False) -> bool:
    """A boolean parameter of the binary tensor extension (``binary_data_output``, ``binary_data``)."""
    value = parameters.get(key, default)
    if type(value) is not bool:
        raise RequestError(expected_got(f"{where}.{key}", "true or false", describe(value)))
    return value


def _requested_outputs(
    outputs: Any, binary_default: bool
) -> tuple[tuple[str, ...], frozenset[str]]:
    """The output names asked for, in order and without repeats (default: probability, label),
    and those to send as raw bytes (an output's ``binary_data``, else ``binary_data_output``)."""
    if outputs is None:
        return DEFAULT_OUTPUTS, frozenset(DEFAULT_OUTPUTS if binary_default else ())
    if type(outputs) is not list or not outputs:
        raise RequestError(
            expected_got("outputs", "a non-empty list of {'name': ...}", json_kind(outputs))
        )
    names = []
    binary = set()
    for k, item in enumerate(outputs):
        if type(item) is not dict:
            raise RequestError(
                expected_got(f"outputs[{k}]", "an object {'name': ...}", json_kind(item))
            )
        name = item.get("name")
        if type(name) is not str or name not in OUTPUTS:
            raise RequestError(
                expected_got(f"outputs[{k}].name", f"one of {list(OUTPUTS)}", describe(name))
            )
        parameters = json_object(item.get("parameters"), f"outputs[{k}].parameters")
        if _binary_flag(parameters, "binary_data", f"outputs[{k}].parameters", binary_default):
            binary.add(name)
        names.append(name)
    return tuple(dict.fromkeys(names)), frozenset(binary)


# --- the fast path ----------------------------------------------------------------------------
def _fast(codec: Codec, inputs: list[Any]) -> tuple[dict[str, np.ndarray], int] | None:
    """The common well-formed request, decoded with a few numpy calls; None otherwise.

    Flat data, every input a required column with its preferred datatype, no nulls, no
    extra fields. Anything else (including every error) goes the thorough way, which says
    exactly what is wrong; this path only ever accepts what that one accepts.
    """
    if len(inputs) != len(codec.inputs):
        return None
    raw: dict[str, list[Any]] = {}
    n = -1
    preferred = codec.preferred_datatypes
    for tensor in inputs:
        if type(tensor) is not dict or len(tensor) != 4:
            return None
        name = tensor.get("name")
        data = tensor.get("data")
        shape = tensor.get("shape")
        if (
            type(name) is not str  # a list is unhashable: the thorough path names it
            or preferred.get(name, _NOT_A_COLUMN) != tensor.get("datatype")
            or name in raw
            or type(data) is not list
            or type(shape) is not list
            or len(shape) != 1
            or type(shape[0]) is not int  # 2.0 == 2, True == 1: the thorough path refuses them
            or shape[0] != len(data)
            or (n != -1 and n != len(data))
        ):
            return None
        n = len(data)
        raw[name] = data
    if n < 1:
        return None
    low, high = INT_RANGES["INT64"]
    for name in codec.integer:  # an INT64 tensor holds ints: 1.0 is for the slow path to refuse
        values = raw[name]
        if not set(map(type, values)) <= {int} or min(values) < low or max(values) > high:
            return None  # a float, a null, text or an out-of-range int: the slow path decides
    columns = numeric_block(codec, raw)
    if columns is None:
        return None
    for name in codec.discrete:
        values = raw[name]
        kinds = set(map(type, values))
        if not kinds <= codec.discrete_types[name]:
            return None
        if str in kinds and not codec.null_tokens.isdisjoint(values):
            return None  # a missing-value token: the thorough path reads it as null
        columns[name] = np.fromiter(values, dtype=object, count=n)
    return columns, n


# --- the thorough path ------------------------------------------------------------------------
def _thorough(codec: Codec, inputs: list[Any]) -> tuple[dict[str, np.ndarray], int]:
    """Every input tensor checked, then every required column converted; the first error raised."""
    raw: dict[str, list[Any]] = {}
    rows: dict[str, int] = {}
    for j, tensor in enumerate(inputs):
        name, values = _tensor(codec, j, tensor)
        if name in raw:
            raise RequestError(f"inputs[{j}]: column {name!r} is sent twice")
        if name in codec.required:
            raw[name] = values
        rows[name] = len(values)
    if len(set(rows.values())) > 1:
        raise RequestError(
            f"inputs: expected the same number of rows in every input (mismatched shapes), "
            f"got {rows}"
        )
    absent = [c for c in codec.inputs if c not in raw]
    if absent:
        raise RequestError(
            f"inputs: missing required column(s) {absent}: expected one input for each of "
            f"the {len(codec.inputs)} input columns of the model metadata (null for a missing value)"
        )
    n = rows[codec.inputs[0]]
    if n == 0:
        raise RequestError(expected_got("inputs", "at least one row", "0 rows (empty batch)"))
    index = {c: j for j, c in enumerate(rows)}
    columns = convert(
        codec, raw, lambda name: lambda i: f"inputs[{index[name]}] ({name!r}).data[{i}]"
    )
    return columns, n


def _tensor(codec: Codec, j: int, tensor: Any) -> tuple[str, list[Any]]:
    """Name and flat values of ``inputs[j]``, with its shape and datatype checked."""
    where = f"inputs[{j}]"
    name = _tensor_name(codec, where, tensor)
    where = f"{where} ({name!r})"
    json_object(tensor.get("parameters"), f"{where}.parameters")
    datatype = tensor["datatype"]
    _check_datatype(codec, where, name, datatype)
    data = _flat_data(where, tensor["shape"], tensor["data"])
    _check_value_types(where, datatype, data)
    return name, data


def _tensor_name(codec: Codec, where: str, tensor: Any) -> str:
    """The column name of an input tensor whose fields are all there and known."""
    if type(tensor) is not dict:
        raise RequestError(expected_got(where, "an input tensor object", json_kind(tensor)))
    missing = [k for k in ("name", "shape", "datatype", "data") if k not in tensor]
    if missing:
        raise RequestError(
            expected_got(where, "the fields name, shape, datatype, data", f"no {missing}")
        )
    extra = tensor.keys() - _V2_INPUT_FIELDS
    if extra:
        raise RequestError(
            expected_got(where, f"only the fields {sorted(_V2_INPUT_FIELDS)}", sorted(extra))
        )
    name = tensor["name"]
    if type(name) is not str:
        raise RequestError(expected_got(f"{where}.name", "a column name", describe(name)))
    if name not in codec.known and not codec.ignore_unknown_columns:
        raise RequestError(codec.unknown_columns(f"{where} ({name!r})", {name}))
    return name


def _check_datatype(codec: Codec, where: str, name: str, datatype: Any) -> None:
    """The tensor's datatype is a V2 datatype, and one its column's schema kind accepts."""
    text = type(datatype) is str  # an object or a list is no datatype (and unhashable)
    if name in codec.rules:
        kind = codec.rules[name].kind
        if not text or datatype not in ACCEPTED_DATATYPES[kind]:
            others = sorted(ACCEPTED_DATATYPES[kind] - {V2_DATATYPE[kind]})
            expected = f"{V2_DATATYPE[kind]} for a {kind} column"
            if others:
                expected += f" (or one of {others})"
            raise RequestError(expected_got(f"{where}.datatype", expected, describe(datatype)))
    if not text or datatype not in _DATATYPE_VALUES:
        raise RequestError(
            expected_got(
                f"{where}.datatype", f"one of {sorted(_DATATYPE_VALUES)}", describe(datatype)
            )
        )


def _flat_data(where: str, shape: Any, data: Any) -> list[Any]:
    """The tensor's values as a flat list, checked against its shape ``[n]`` or ``[n, 1]``."""
    if (
        type(shape) is not list
        or not 1 <= len(shape) <= 2
        or any(type(d) is not int or d < 0 for d in shape)
        or (len(shape) == 2 and shape[1] != 1)
    ):
        raise RequestError(
            expected_got(f"{where}.shape", "[n] or [n, 1] (one input per column)", describe(shape))
        )
    if type(data) is not list:
        raise RequestError(expected_got(f"{where}.data", "a list of values", json_kind(data)))
    if data and type(data[0]) is list:  # row-major nested [[v], [v], ...]
        if not all(type(row) is list and len(row) == 1 for row in data):
            raise RequestError(
                expected_got(f"{where}.data", "a flat list or one value per row", "ragged rows")
            )
        data = [row[0] for row in data]
    if len(data) != shape[0]:
        raise RequestError(
            expected_got(
                f"{where}.data",
                f"{shape[0]} values for shape {shape}",
                f"{len(data)} values (mismatched shapes)",
            )
        )
    return data


def _check_value_types(where: str, datatype: str, data: list[Any]) -> None:
    """Every value is of a JSON type the datatype carries (BOOL is not a number), or null."""
    allowed = _DATATYPE_VALUES[datatype]
    kinds = set(map(type, data)) - {NULL}
    if not all(issubclass(t, allowed) and (t is not bool or bool in allowed) for t in kinds):
        i = next(
            i
            for i, v in enumerate(data)
            if v is not None
            and (not isinstance(v, allowed) or (type(v) is bool and bool not in allowed))
        )
        raise RequestError(
            expected_got(f"{where}.data[{i}]", f"a {datatype} value or null", describe(data[i]))
        )
    if datatype in INT_RANGES:
        _check_int_range(where, datatype, data)


def _check_int_range(where: str, datatype: str, data: list[Any]) -> None:
    """Every integer within its datatype's range (nulls aside)."""
    low, high = INT_RANGES[datatype]
    values = [v for v in data if v is not None]
    if values and (min(values) < low or max(values) > high):
        i = next(i for i, v in enumerate(data) if v is not None and not low <= v <= high)
        raise RequestError(
            expected_got(
                f"{where}.data[{i}]", f"a {datatype} value in [{low}, {high}] or null", data[i]
            )
        )


# --- encoding ---------------------------------------------------------------------------------
def encode_v2(
    codec: Codec, probability: np.ndarray, decoded: Decoded, model_name: str
) -> dict[str, Any]:
    """An OIP inference response with the requested outputs (default: probability, label)."""
    n = int(probability.shape[0])
    outputs = []
    for name in decoded.outputs:
        if name == OUTPUT_PROBABILITY:
            outputs.append(
                {"name": name, "datatype": "FP64", "shape": [n], "data": probability.tolist()}
            )
        elif name == OUTPUT_LABEL:
            outputs.append(
                {"name": name, "datatype": "BYTES", "shape": [n], "data": codec.labels(probability)}
            )
        else:
            both = np.empty((n, 2), dtype=np.float64)
            both[:, 0] = 1.0 - probability
            both[:, 1] = probability
            outputs.append(
                {
                    "name": name,
                    "datatype": "FP64",
                    "shape": [n, 2],
                    "data": both.ravel().tolist(),
                    "parameters": {"class_labels": ",".join(codec.class_labels)},
                }
            )
    # OIP and KServe's InferenceResponse require an id: the client's, or a fresh one.
    return {
        "model_name": model_name,
        "id": decoded.request_id if decoded.request_id is not None else str(uuid.uuid4()),
        "parameters": {"content_type": CONTENT_TYPE_PANDAS},
        "outputs": outputs,
    }
