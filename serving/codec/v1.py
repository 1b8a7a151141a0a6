"""KServe V1: ``{"instances": [...]}`` to a Decoded request, scores to ``{"predictions": [...]}``.

The functions take the :class:`~serving.codec.Codec` first: they are its ``decode_v1`` and
``encode_v1`` methods.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

import numpy as np

from components._shared.errors import expected_got
from components._shared.oip import (
    DEFAULT_OUTPUTS,
    OUTPUT_CLASS_PROBABILITIES,
    OUTPUT_LABEL,
    OUTPUT_PROBABILITY,
    V1_CLASS_PROBABILITIES,
)
from serving.codec.columns import Decoded, convert
from serving.codec.json_io import RequestError, describe, json_kind, json_object

if TYPE_CHECKING:
    from serving.codec import Codec

_V1_FIELDS: Final = frozenset({"instances", "parameters"})


def decode_v1(codec: Codec, body: Any) -> Decoded:
    """``{"instances": [...], "parameters"?: {"class_probabilities": bool}}``.

    Instances are objects keyed by column name, or lists of the input values in the order of
    :attr:`inputs`; all of one form.
    """
    if type(body) is not dict:
        raise RequestError(
            expected_got("request body", "a JSON object with 'instances'", json_kind(body))
        )
    extra = body.keys() - _V1_FIELDS
    if extra:
        raise RequestError(
            expected_got("request body", "the fields 'instances' and 'parameters'", sorted(extra))
        )
    parameters = json_object(body.get("parameters"), "parameters")
    flag = parameters.get(V1_CLASS_PROBABILITIES, False)
    if type(flag) is not bool:
        raise RequestError(
            expected_got(f"parameters.{V1_CLASS_PROBABILITIES}", "true or false", describe(flag))
        )
    instances = body.get("instances")
    if type(instances) is not list:
        raise RequestError(expected_got("instances", "a list of instances", json_kind(instances)))
    if not instances:
        raise RequestError(
            expected_got("instances", "at least one instance", "an empty list (empty batch)")
        )
    raw = _lists(codec, instances) if type(instances[0]) is list else _objects(codec, instances)
    columns = convert(
        codec,
        dict(zip(codec.inputs, raw, strict=True)),
        lambda name: lambda i: f"instances[{i}].{name}",
    )
    outputs = DEFAULT_OUTPUTS + ((OUTPUT_CLASS_PROBABILITIES,) if flag else ())
    return Decoded(columns, len(instances), outputs, parameters=parameters)


def _objects(codec: Codec, instances: list[Any]) -> list[list[Any]]:
    """The input columns of instances that are objects keyed by column name."""
    required, known = codec.required, codec.known
    for i, record in enumerate(instances):
        if type(record) is not dict:
            raise RequestError(
                expected_got(
                    f"instances[{i}]",
                    "an object of column values (all instances of one form)",
                    json_kind(record),
                )
            )
        keys = record.keys()
        if not keys >= required:
            absent = [c for c in codec.inputs if c not in record]
            raise RequestError(
                f"instances[{i}]: missing required column(s) {absent}: expected all "
                f"{len(codec.inputs)} input columns of the model metadata (null for a missing value)"
            )
        if not codec.ignore_unknown_columns and not keys <= known:
            raise RequestError(codec.unknown_columns(f"instances[{i}]", keys - known))
    rows = list(map(codec.input_values, instances))
    if len(codec.inputs) == 1:
        return [rows]
    return [list(col) for col in zip(*rows, strict=True)]


def _lists(codec: Codec, instances: list[Any]) -> list[list[Any]]:
    """The input columns of instances that are lists of values in the order of the inputs."""
    width = len(codec.inputs)
    for i, row in enumerate(instances):
        if type(row) is not list:
            raise RequestError(
                expected_got(
                    f"instances[{i}]",
                    "a list of values (all instances of one form)",
                    json_kind(row),
                )
            )
        if len(row) != width:
            raise RequestError(
                expected_got(
                    f"instances[{i}]",
                    f"{width} values in the order {codec.inputs}",
                    f"{len(row)} values",
                )
            )
    return [list(col) for col in zip(*instances, strict=True)]


def encode_v1(codec: Codec, probability: np.ndarray, decoded: Decoded) -> dict[str, Any]:
    """``{"predictions": [{"probability", "label"[, "class_probabilities"]}, ...]}``."""
    labels = codec.labels(probability)
    scores = probability.tolist()
    if OUTPUT_CLASS_PROBABILITIES in decoded.outputs:
        negative, positive = codec.class_labels
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
