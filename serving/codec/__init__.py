"""Requests to columns and scores to responses, for V1 and the Open Inference Protocol (V2).

kserve-free, HTTP-free and pandas-free: the runtime, the gate's self-check and the tests all use
this one :class:`Codec`, so a request means the same thing wherever it is decoded.

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

from collections.abc import Iterable, Sequence
from operator import itemgetter
from typing import Any

import numpy as np

from components._shared.errors import expected_got
from components._shared.oip import (
    DEFAULT_THRESHOLD,
    OUTPUT_CLASS_PROBABILITIES,
    OUTPUT_LABEL,
    OUTPUT_PROBABILITY,
    V2_DATATYPE,
)
from components._shared.schema import DEFAULT_NULL_TOKENS, ColumnSchema, Schema
from serving.codec import binary, v1, v2
from serving.codec.columns import Decoded
from serving.codec.json_io import BodyTooLarge, RequestError, dump_json, parse_json
from serving.codec.v2 import ACCEPTED_DATATYPES

__all__ = [
    "ACCEPTED_DATATYPES",
    "BodyTooLarge",
    "Codec",
    "Decoded",
    "RequestError",
    "binary",
    "dump_json",
    "parse_json",
]


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
        # The cells the reader took as missing when the contract was made (a contract from
        # before they were recorded: the reader's defaults) are missing in requests too.
        tokens = schema.null_tokens if schema.null_tokens is not None else DEFAULT_NULL_TOKENS
        self.null_tokens: frozenset[str] = frozenset(tokens)
        self.required = frozenset(self.inputs)
        self.input_values = itemgetter(*self.inputs)  # an instance object's input values
        kinds = {name: rule.kind for name, rule in self.rules.items()}
        # What the fast paths need, computed once: the numeric block's columns and rows, and
        # the one datatype (and JSON type) a well-formed V2 request sends for each column.
        self.numeric = [c for c in self.inputs if kinds[c] in ("numeric", "integer")]
        self.integer = [c for c in self.inputs if kinds[c] == "integer"]
        self.integer_rows = np.array(
            [j for j, c in enumerate(self.numeric) if kinds[c] == "integer"], dtype=np.intp
        )
        self.discrete = [c for c in self.inputs if c not in set(self.numeric)]
        self.preferred_datatypes = {c: V2_DATATYPE[kinds[c]] for c in self.inputs}
        self.discrete_types = {
            c: frozenset({bool} if kinds[c] == "boolean" else {str}) for c in self.discrete
        }
        labels = list(schema.class_labels)
        positive = schema.positive_label
        negative = next((v for v in labels if v != positive), f"not {positive}")
        self.class_labels = [negative, positive]

    # The protocols, each in its own module; their functions are this class's methods.
    decode_v1 = v1.decode_v1
    encode_v1 = v1.encode_v1
    decode_v2 = v2.decode_v2
    encode_v2 = v2.encode_v2

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

    # --- shared by both protocols ---------------------------------------------------------
    def unknown_columns(self, where: str, names: Iterable[str]) -> str:
        """The message for columns the schema does not know."""
        return (
            f"{where}: unknown column(s) {sorted(map(str, names))}: expected columns of the "
            f"model's schema {self.inputs} (run the server with --ignore_unknown_columns to "
            "ignore extra columns)"
        )

    def labels(self, probability: np.ndarray) -> list[str]:
        """The predicted label of each score, at :attr:`threshold`."""
        negative, positive = self.class_labels
        return [positive if p else negative for p in (probability >= self.threshold).tolist()]
