"""Requests to columns and scores to responses, for V1 and the Open Inference Protocol (V2).

kserve-free, HTTP-free and pandas-free: the runtime, the gate's self-check and the tests all use
this one module, so a request means the same thing wherever it is decoded.

Decoding checks every value against the bundle's schema and returns numpy columns that
:meth:`Featurizer.transform` reads directly: float64 for numeric and integer columns (NaN for
null), object arrays of the JSON values for boolean, categorical and datetime columns. Every
problem is a :class:`RequestError` whose message names the field (``instances[3].tenure``,
``inputs[2] ('tenure').data[0]``), what was expected and what came in.

Rules (the contract a client codes against):

- The request carries the raw columns the featurizer reads (``Codec.inputs``), every one of them.
  Other columns of the schema (ids, the target) are accepted and ignored; a column the schema
  does not know is refused unless the server runs with ``--ignore_unknown_columns``.
- ``null`` is a missing value in any column and is imputed exactly as in training. NaN and
  infinity are never values (they are not JSON, and a number too large for float64 is one).
- numeric: a JSON number; text such as ``"29.85"`` only where the schema says the column was
  stored as text (Telco's ``TotalCharges``), blank text being null there. integer: a whole number.
- boolean: ``true``/``false``, the schema's tokens (``"Yes"``/``"No"``), or a number; an
  unrecognised token is not an error: like training, it takes the train mode and is counted.
- categorical and datetime: text. A category never seen in training goes to the unknown bucket
  and is counted per column (``unseen``), exactly as :meth:`Featurizer.transform` does it.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import chain
from operator import itemgetter
from typing import Any, Final

import numpy as np
import orjson

from components._shared.errors import DataError, expected_got
from components._shared.oip import (
    CONTENT_TYPE_PANDAS,
    DEFAULT_OUTPUTS,
    DEFAULT_THRESHOLD,
    OUTPUT_CLASS_PROBABILITIES,
    OUTPUT_LABEL,
    OUTPUT_PROBABILITY,
    OUTPUTS,
    V1_CLASS_PROBABILITIES,
    V2_DATATYPE,
)
from components._shared.schema import ColumnSchema, Schema

_INTS = frozenset({"INT8", "INT16", "INT32", "INT64", "UINT8", "UINT16", "UINT32", "UINT64"})
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
_V1_FIELDS: Final = frozenset({"instances", "parameters"})
_V2_FIELDS: Final = frozenset({"id", "parameters", "inputs", "outputs"})
_V2_INPUT_FIELDS: Final = frozenset({"name", "shape", "datatype", "data", "parameters"})
_NULL: Final = type(None)
_NUMBER_TYPES: Final = frozenset({int, float})


class RequestError(DataError):
    """A client's mistake: answered with ``status`` (400) and the message, never a 500."""

    status = 400


class BodyTooLarge(RequestError):
    """The request body is over the server's configured limit (HTTP 413)."""

    status = 413


@dataclass(frozen=True)
class Decoded:
    """A decoded request: the input columns, and what the response should hold."""

    columns: dict[str, np.ndarray]
    rows: int
    outputs: tuple[str, ...] = DEFAULT_OUTPUTS
    request_id: str | None = None
    parameters: dict[str, Any] = field(default_factory=dict)


def parse_json(body: bytes) -> Any:
    """The JSON value of a request body; RequestError saying what is wrong with it."""
    if not body:
        raise RequestError("request body: expected a JSON object, got an empty body")
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        hint = ""
        if b"NaN" in body or b"Infinity" in body or "infinity" in str(exc):
            hint = " (NaN and Infinity are not JSON: send null for a missing value)"
        raise RequestError(f"request body: expected JSON, got invalid JSON: {exc}{hint}") from None


def dump_json(obj: Any) -> bytes:
    """JSON bytes of a response (orjson: numpy scalars and arrays included)."""
    return orjson.dumps(obj, option=orjson.OPT_SERIALIZE_NUMPY)


def _describe(value: Any) -> str:
    text = repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    return f"{type(value).__name__} {text}" if value is not None else "null"


class Codec:
    """Decodes V1 and V2 requests against one bundle's schema and encodes its predictions.

    Args:
        schema: The bundle's data contract.
        inputs: The raw columns the featurizer reads (``Featurizer.input_columns_``), in order.
        ignore_unknown_columns: Accept (and ignore) columns the schema does not know.
        threshold: P(positive) at or above which the predicted label is the positive one.
    """

    def __init__(
        self,
        schema: Schema,
        inputs: Sequence[str],
        *,
        ignore_unknown_columns: bool = False,
        threshold: float = DEFAULT_THRESHOLD,
    ) -> None:
        if not 0.0 <= threshold <= 1.0:
            raise ValueError(expected_got("threshold", "a probability in [0, 1]", threshold))
        self.schema = schema
        self.inputs = list(inputs)
        self.ignore_unknown_columns = ignore_unknown_columns
        self.threshold = float(threshold)
        self.known = frozenset(schema.column_names)
        self.rules: dict[str, ColumnSchema] = {c: schema.column(c) for c in self.inputs}
        self._required = frozenset(self.inputs)
        self._getter = itemgetter(*self.inputs)
        kinds = {name: rule.kind for name, rule in self.rules.items()}
        # What the fast paths need, computed once: the numeric block's columns and rows, and
        # the one datatype (and JSON type) a well-formed V2 request sends for each column.
        self._numeric = [c for c in self.inputs if kinds[c] in ("numeric", "integer")]
        self._integer = [c for c in self.inputs if kinds[c] == "integer"]
        self._integer_rows = np.array(
            [j for j, c in enumerate(self._numeric) if kinds[c] == "integer"], dtype=np.intp
        )
        self._discrete = [c for c in self.inputs if c not in set(self._numeric)]
        self._preferred = {c: V2_DATATYPE[kinds[c]] for c in self.inputs}
        self._discrete_types = {
            c: frozenset({bool} if kinds[c] == "boolean" else {str}) for c in self._discrete
        }
        labels = list(schema.class_labels)
        positive = schema.positive_label
        negative = next((v for v in labels if v != positive), f"not {positive}")
        self.class_labels = [negative, positive]

    # --- metadata ---------------------------------------------------------------------------
    def input_metadata(self) -> list[dict[str, Any]]:
        """V2 model metadata of the inputs: one ``[-1]`` tensor per column, schema datatype."""
        return [
            {"name": name, "datatype": V2_DATATYPE[self.rules[name].kind], "shape": [-1]}
            for name in self.inputs
        ]

    def output_metadata(self) -> list[dict[str, Any]]:
        """V2 model metadata of the outputs."""
        return [
            {"name": OUTPUT_PROBABILITY, "datatype": "FP64", "shape": [-1]},
            {"name": OUTPUT_LABEL, "datatype": "BYTES", "shape": [-1]},
            {"name": OUTPUT_CLASS_PROBABILITIES, "datatype": "FP64", "shape": [-1, 2]},
        ]

    # --- V1 ---------------------------------------------------------------------------------
    def decode_v1(self, body: Any) -> Decoded:
        """``{"instances": [...], "parameters"?: {"class_probabilities": bool}}``.

        Instances are objects keyed by column name, or lists of the input values in the order of
        :attr:`inputs`; all of one form.
        """
        if type(body) is not dict:
            raise RequestError(
                expected_got("request body", "a JSON object with 'instances'", _kind(body))
            )
        extra = body.keys() - _V1_FIELDS
        if extra:
            raise RequestError(
                expected_got(
                    "request body", "the fields 'instances' and 'parameters'", sorted(extra)
                )
            )
        parameters = self._parameters(body.get("parameters"), "parameters")
        flag = parameters.get(V1_CLASS_PROBABILITIES, False)
        if type(flag) is not bool:
            raise RequestError(
                expected_got(
                    f"parameters.{V1_CLASS_PROBABILITIES}", "true or false", _describe(flag)
                )
            )
        instances = body.get("instances")
        if type(instances) is not list:
            raise RequestError(expected_got("instances", "a list of instances", _kind(instances)))
        if not instances:
            raise RequestError(
                expected_got("instances", "at least one instance", "an empty list (empty batch)")
            )
        if type(instances[0]) is list:
            raw = self._v1_lists(instances)
        else:
            raw = self._v1_objects(instances)
        columns = self._columns(
            dict(zip(self.inputs, raw, strict=True)),
            lambda name: lambda i: f"instances[{i}].{name}",
        )
        outputs = DEFAULT_OUTPUTS + ((OUTPUT_CLASS_PROBABILITIES,) if flag else ())
        return Decoded(columns, len(instances), outputs, parameters=parameters)

    def _v1_objects(self, instances: list[Any]) -> list[list[Any]]:
        required, known = self._required, self.known
        for i, record in enumerate(instances):
            if type(record) is not dict:
                raise RequestError(
                    expected_got(
                        f"instances[{i}]",
                        "an object of column values (all instances of one form)",
                        _kind(record),
                    )
                )
            keys = record.keys()
            if not keys >= required:
                absent = [c for c in self.inputs if c not in record]
                raise RequestError(
                    f"instances[{i}]: missing required column(s) {absent}: expected all "
                    f"{len(self.inputs)} input columns of the model metadata (null for a missing value)"
                )
            if not self.ignore_unknown_columns and not keys <= known:
                raise RequestError(self._unknown(f"instances[{i}]", keys - known))
        rows = list(map(self._getter, instances))
        if len(self.inputs) == 1:
            return [rows]
        return [list(col) for col in zip(*rows, strict=True)]

    def _v1_lists(self, instances: list[Any]) -> list[list[Any]]:
        width = len(self.inputs)
        for i, row in enumerate(instances):
            if type(row) is not list:
                raise RequestError(
                    expected_got(
                        f"instances[{i}]",
                        "a list of values (all instances of one form)",
                        _kind(row),
                    )
                )
            if len(row) != width:
                raise RequestError(
                    expected_got(
                        f"instances[{i}]",
                        f"{width} values in the order {self.inputs}",
                        f"{len(row)} values",
                    )
                )
        return [list(col) for col in zip(*instances, strict=True)]

    def encode_v1(self, probability: np.ndarray, decoded: Decoded) -> dict[str, Any]:
        """``{"predictions": [{"probability", "label"[, "class_probabilities"]}, ...]}``."""
        labels = self._labels(probability)
        scores = probability.tolist()
        if OUTPUT_CLASS_PROBABILITIES in decoded.outputs:
            negative, positive = self.class_labels
            predictions = [
                {
                    OUTPUT_PROBABILITY: p,
                    OUTPUT_LABEL: label,
                    OUTPUT_CLASS_PROBABILITIES: {negative: 1.0 - p, positive: p},
                }
                for p, label in zip(scores, labels, strict=True)
            ]
        else:
            predictions = [
                {OUTPUT_PROBABILITY: p, OUTPUT_LABEL: label}
                for p, label in zip(scores, labels, strict=True)
            ]
        return {"predictions": predictions}

    # --- V2 ---------------------------------------------------------------------------------
    def decode_v2(self, body: Any) -> Decoded:
        """An OIP inference request with one input per column (``shape`` ``[n]`` or ``[n, 1]``)."""
        if type(body) is not dict:
            raise RequestError(
                expected_got("request body", "a JSON object with 'inputs'", _kind(body))
            )
        extra = body.keys() - _V2_FIELDS
        if extra:
            raise RequestError(
                expected_got("request body", f"only the fields {sorted(_V2_FIELDS)}", sorted(extra))
            )
        request_id = body.get("id")
        if request_id is not None and type(request_id) is not str:
            raise RequestError(expected_got("id", "a string", _describe(request_id)))
        parameters = self._parameters(body.get("parameters"), "parameters")
        content_type = parameters.get("content_type", CONTENT_TYPE_PANDAS)
        if content_type != CONTENT_TYPE_PANDAS:
            raise RequestError(
                expected_got(
                    "parameters.content_type",
                    f"{CONTENT_TYPE_PANDAS!r} (one input per column) or absent",
                    _describe(content_type),
                )
            )
        outputs = self._requested_outputs(body.get("outputs"))
        inputs = body.get("inputs")
        if type(inputs) is not list or not inputs:
            raise RequestError(
                expected_got("inputs", "a non-empty list of input tensors", _kind(inputs))
            )
        fast = self._v2_fast(inputs)
        if fast is not None:
            return Decoded(fast[0], fast[1], outputs, request_id, parameters)
        raw: dict[str, list[Any]] = {}
        rows: dict[str, int] = {}
        for j, tensor in enumerate(inputs):
            name, values = self._v2_input(j, tensor)
            if name in raw:
                raise RequestError(f"inputs[{j}]: column {name!r} is sent twice")
            if name in self._required:
                raw[name] = values
            rows[name] = len(values)
        if len(set(rows.values())) > 1:
            raise RequestError(
                f"inputs: expected the same number of rows in every input (mismatched shapes), "
                f"got {rows}"
            )
        absent = [c for c in self.inputs if c not in raw]
        if absent:
            raise RequestError(
                f"inputs: missing required column(s) {absent}: expected one input for each of "
                f"the {len(self.inputs)} input columns of the model metadata (null for a missing value)"
            )
        n = rows[self.inputs[0]]
        if n == 0:
            raise RequestError(expected_got("inputs", "at least one row", "0 rows (empty batch)"))
        index = {c: j for j, c in enumerate(rows)}
        columns = self._columns(
            raw, lambda name: lambda i: f"inputs[{index[name]}] ({name!r}).data[{i}]"
        )
        return Decoded(columns, n, outputs, request_id, parameters)

    def _v2_input(self, j: int, tensor: Any) -> tuple[str, list[Any]]:
        """Name and flat values of ``inputs[j]``, with its shape and datatype checked."""
        where = f"inputs[{j}]"
        if type(tensor) is not dict:
            raise RequestError(expected_got(where, "an input tensor object", _kind(tensor)))
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
            raise RequestError(expected_got(f"{where}.name", "a column name", _describe(name)))
        where = f"{where} ({name!r})"
        if name not in self.known and not self.ignore_unknown_columns:
            raise RequestError(self._unknown(where, {name}))
        datatype = tensor["datatype"]
        kind = self.rules[name].kind if name in self.rules else "identifier"
        if name in self.rules and datatype not in ACCEPTED_DATATYPES[kind]:
            raise RequestError(
                expected_got(
                    f"{where}.datatype",
                    f"{V2_DATATYPE[kind]} for a {kind} column "
                    f"(or one of {sorted(ACCEPTED_DATATYPES[kind] - {V2_DATATYPE[kind]})})",
                    _describe(datatype),
                )
            )
        if datatype not in _DATATYPE_VALUES:
            raise RequestError(
                expected_got(
                    f"{where}.datatype", f"one of {sorted(_DATATYPE_VALUES)}", _describe(datatype)
                )
            )
        shape = tensor["shape"]
        if (
            type(shape) is not list
            or not 1 <= len(shape) <= 2
            or any(type(d) is not int or d < 0 for d in shape)
            or (len(shape) == 2 and shape[1] != 1)
        ):
            raise RequestError(
                expected_got(
                    f"{where}.shape", "[n] or [n, 1] (one input per column)", _describe(shape)
                )
            )
        data = tensor["data"]
        if type(data) is not list:
            raise RequestError(expected_got(f"{where}.data", "a list of values", _kind(data)))
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
        allowed = _DATATYPE_VALUES[datatype]
        kinds = set(map(type, data)) - {_NULL}
        if not all(issubclass(t, allowed) and (t is not bool or bool in allowed) for t in kinds):
            i = next(
                i
                for i, v in enumerate(data)
                if v is not None
                and (not isinstance(v, allowed) or (type(v) is bool and bool not in allowed))
            )
            raise RequestError(
                expected_got(
                    f"{where}.data[{i}]", f"a {datatype} value or null", _describe(data[i])
                )
            )
        return name, data

    def encode_v2(
        self, probability: np.ndarray, decoded: Decoded, model_name: str
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
                    {
                        "name": name,
                        "datatype": "BYTES",
                        "shape": [n],
                        "data": self._labels(probability),
                    }
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
                        "parameters": {"class_labels": ",".join(self.class_labels)},
                    }
                )
        # OIP and KServe's InferenceResponse require an id: the client's, or a fresh one.
        return {
            "model_name": model_name,
            "id": decoded.request_id if decoded.request_id is not None else str(uuid.uuid4()),
            "parameters": {"content_type": CONTENT_TYPE_PANDAS},
            "outputs": outputs,
        }

    def _requested_outputs(self, outputs: Any) -> tuple[str, ...]:
        if outputs is None:
            return DEFAULT_OUTPUTS
        if type(outputs) is not list or not outputs:
            raise RequestError(
                expected_got("outputs", "a non-empty list of {'name': ...}", _kind(outputs))
            )
        names = []
        for k, item in enumerate(outputs):
            name = item.get("name") if type(item) is dict else None
            if name not in OUTPUTS:
                raise RequestError(
                    expected_got(f"outputs[{k}].name", f"one of {list(OUTPUTS)}", _describe(name))
                )
            names.append(name)
        return tuple(dict.fromkeys(names))

    def _v2_fast(self, inputs: list[Any]) -> tuple[dict[str, np.ndarray], int] | None:
        """The common well-formed request, decoded with a few numpy calls; None otherwise.

        Flat data, every input a required column with its preferred datatype, no nulls, no
        extra fields. Anything else (including every error) goes the thorough way, which says
        exactly what is wrong; this path only ever accepts what that one accepts.
        """
        if len(inputs) != len(self.inputs):
            return None
        raw: dict[str, list[Any]] = {}
        n = -1
        preferred = self._preferred
        for tensor in inputs:
            if type(tensor) is not dict or len(tensor) != 4:
                return None
            name = tensor.get("name")
            data = tensor.get("data")
            shape = tensor.get("shape")
            if (
                preferred.get(name) != tensor.get("datatype")  # type: ignore[arg-type]
                or name in raw
                or type(data) is not list
                or type(shape) is not list
                or len(shape) != 1
                or shape[0] != len(data)
                or (n != -1 and n != len(data))
            ):
                return None
            n = len(data)
            raw[name] = data  # type: ignore[index]
        if n < 1:
            return None
        for name in self._integer:  # an INT64 tensor holds ints: 1.0 is for the slow path to refuse
            if float in set(map(type, raw[name])):
                return None
        columns = self._numeric_block(raw)
        if columns is None:
            return None
        for name in self._discrete:
            values = raw[name]
            kinds = set(map(type, values))
            if not kinds <= self._discrete_types[name]:
                return None
            columns[name] = np.fromiter(values, dtype=object, count=n)
        return columns, n

    def _numeric_block(self, raw: Mapping[str, list[Any]]) -> dict[str, np.ndarray] | None:
        """Every numeric column converted in one call when all values are finite numbers.

        None when a value is anything else (null, text, bool, non-finite, a fraction in an
        integer column): the per-column path then handles it, or names it.
        """
        columns: dict[str, np.ndarray] = {}
        if not self._numeric:
            return columns
        lists = [raw[name] for name in self._numeric]
        if not set(map(type, chain.from_iterable(lists))) <= _NUMBER_TYPES:
            return None
        block = np.array(lists, dtype=np.float64)
        if not np.isfinite(block).all():
            return None
        if self._integer_rows.size:
            whole = block[self._integer_rows]
            if not np.equal(np.floor(whole), whole).all():
                return None
        for j, name in enumerate(self._numeric):
            columns[name] = block[j]
        return columns

    def _columns(
        self, raw: Mapping[str, list[Any]], where: Callable[[str], Callable[[int], str]]
    ) -> dict[str, np.ndarray]:
        """Every input column checked and converted; numeric ones in one block when they can."""
        columns = self._numeric_block(raw)
        if columns is None:
            columns = {}
        for name in self.inputs:
            if name not in columns:
                columns[name] = self._column(name, raw[name], where(name))
        return columns

    # --- values -----------------------------------------------------------------------------
    def _column(self, name: str, values: list[Any], where: Any) -> np.ndarray:
        """One input column checked against its schema kind, as the featurizer reads it."""
        rule = self.rules[name]
        if rule.kind in ("numeric", "integer"):
            return _numbers(values, rule, where)
        kinds = set(map(type, values))
        if rule.kind == "boolean":
            allowed: tuple[type, ...] = (bool, str, int, float, _NULL)
            expected = "true, false, a token such as 'Yes', a number, or null"
        else:
            allowed = (str, _NULL)
            expected = "text or null"
        if not kinds <= set(allowed):
            i = next(i for i, v in enumerate(values) if type(v) not in allowed)
            raise RequestError(expected_got(where(i), expected, _describe(values[i])))
        if float in kinds:
            bad = [i for i, v in enumerate(values) if type(v) is float and not math.isfinite(v)]
            if bad:
                raise RequestError(_nonfinite(where(bad[0]), values[bad[0]]))
        return np.fromiter(values, dtype=object, count=len(values))

    def _parameters(self, parameters: Any, where: str) -> dict[str, Any]:
        if parameters is None:
            return {}
        if type(parameters) is not dict:
            raise RequestError(expected_got(where, "an object", _kind(parameters)))
        return parameters

    def _unknown(self, where: str, names: Iterable[str]) -> str:
        return (
            f"{where}: unknown column(s) {sorted(map(str, names))}: expected columns of the "
            f"model's schema {self.inputs} (run the server with --ignore_unknown_columns to "
            "ignore extra columns)"
        )

    def _labels(self, probability: np.ndarray) -> list[str]:
        negative, positive = self.class_labels
        return [positive if p else negative for p in (probability >= self.threshold).tolist()]


def _numbers(values: list[Any], rule: ColumnSchema, where: Any) -> np.ndarray:
    """float64 values of a numeric or integer column; NaN marks null (imputed downstream)."""
    kinds = set(map(type, values))
    expected = "a whole number or null" if rule.kind == "integer" else "a number or null"
    if not kinds <= {int, float, _NULL}:
        if rule.stored_as_text and kinds <= {int, float, str, _NULL}:
            values = [_text_number(v, where, i) for i, v in enumerate(values)]
        else:
            i = next(i for i, v in enumerate(values) if type(v) not in (int, float, _NULL))
            raise RequestError(expected_got(where(i), expected, _describe(values[i])))
    try:
        array = np.array(values, dtype=np.float64)
    except OverflowError:  # a Python int beyond float64
        i = next(i for i, v in enumerate(values) if type(v) is int and abs(v) > 1e308)
        raise RequestError(_nonfinite(where(i), values[i])) from None
    finite = np.isfinite(array)
    if not finite.all():
        nulls = np.fromiter((v is None for v in values), dtype=bool, count=len(values))
        bad = np.flatnonzero(~finite & ~nulls)
        if bad.size:
            i = int(bad[0])
            raise RequestError(_nonfinite(where(i), values[i]))
    if rule.kind == "integer":
        whole = np.equal(np.floor(array), array) | ~finite
        if not whole.all():
            i = int(np.flatnonzero(~whole)[0])
            raise RequestError(expected_got(where(i), expected, _describe(values[i])))
    return array


def _text_number(value: Any, where: Any, i: int) -> float | None:
    """A number stored as text (``"29.85"``; blank is null) in a column the schema says is text."""
    if type(value) is not str:
        return value
    text = value.strip()
    if not text:
        return None
    try:
        number = float(text)
    except ValueError:
        raise RequestError(
            expected_got(where(i), "a number (or numeric text) or null", _describe(value))
        ) from None
    if not math.isfinite(number):
        raise RequestError(_nonfinite(where(i), value))
    return number


def _nonfinite(where: str, value: Any) -> str:
    return expected_got(
        where,
        "a finite number or null (NaN and infinity are not allowed: send null for a missing value)",
        _describe(value),
    )


def _kind(value: Any) -> str:
    """A JSON value's kind for messages: ``list``, ``object``, ``null``, ``string``..."""
    if value is None:
        return "null (absent)"
    names = {dict: "an object", list: "a list", str: "a string", bool: "a boolean"}
    return names.get(type(value), f"a {type(value).__name__}")
