"""One column's JSON values checked against its schema kind and converted as the featurizer reads.

numeric and integer: float64, NaN for null (numbers, or numeric text where the schema says the
column was stored as text); boolean (true/false, tokens, numbers), categorical and datetime: an
object array of the JSON values, which the featurizer maps as in training.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, Final

import numpy as np

from components._shared.errors import expected_got
from components._shared.schema import ColumnSchema
from serving.codec.json_io import RequestError, describe

# Where a value sits in the request, by row: ``instances[3].tenure``, ``inputs[2] (...).data[3]``.
Where = Callable[[int], str]

NULL: Final = type(None)
_BOOLEAN_TYPES: Final = (bool, str, int, float, NULL)
_TEXT_TYPES: Final = (str, NULL)


def column(
    rule: ColumnSchema, values: list[Any], where: Where, tokens: frozenset[str] = frozenset()
) -> np.ndarray:
    """One input column checked against its schema kind, as the featurizer reads it.

    Text equal to one of ``tokens`` (the contract's missing-value tokens: what the reader took
    as null when the model was trained, such as ``"?"`` or ``"NA"``) is null here too, in every
    kind, so a raw CSV row scores as the pipeline scored it.
    """
    if tokens and not tokens.isdisjoint(v for v in values if type(v) is str):
        values = [None if type(v) is str and v in tokens else v for v in values]
    if rule.kind in ("numeric", "integer"):
        return numbers(values, rule, where)
    kinds = set(map(type, values))
    if rule.kind == "boolean":
        allowed: tuple[type, ...] = _BOOLEAN_TYPES
        expected = "true, false, a token such as 'Yes', a number, or null"
    else:
        allowed = _TEXT_TYPES
        expected = "text or null"
    if not kinds <= set(allowed):
        i = next(i for i, v in enumerate(values) if type(v) not in allowed)
        raise RequestError(expected_got(where(i), expected, describe(values[i])))
    if float in kinds:
        bad = [i for i, v in enumerate(values) if type(v) is float and not math.isfinite(v)]
        if bad:
            raise RequestError(nonfinite(where(bad[0]), values[bad[0]]))
    return np.fromiter(values, dtype=object, count=len(values))


def numbers(values: list[Any], rule: ColumnSchema, where: Where) -> np.ndarray:
    """float64 values of a numeric or integer column; NaN marks null (imputed downstream)."""
    kinds = set(map(type, values))
    expected = "a whole number or null" if rule.kind == "integer" else "a number or null"
    if not kinds <= {int, float, NULL}:
        if rule.stored_as_text and kinds <= {int, float, str, NULL}:
            values = [text_number(v, where, i) for i, v in enumerate(values)]
        else:
            i = next(i for i, v in enumerate(values) if type(v) not in (int, float, NULL))
            raise RequestError(expected_got(where(i), expected, describe(values[i])))
    try:
        array = np.array(values, dtype=np.float64)
    except OverflowError:  # a Python int beyond float64
        i = next(i for i, v in enumerate(values) if type(v) is int and abs(v) > 1e308)
        raise RequestError(nonfinite(where(i), values[i])) from None
    finite = np.isfinite(array)
    if not finite.all():
        nulls = np.fromiter((v is None for v in values), dtype=bool, count=len(values))
        bad = np.flatnonzero(~finite & ~nulls)
        if bad.size:
            i = int(bad[0])
            raise RequestError(nonfinite(where(i), values[i]))
    if rule.kind == "integer":
        whole = np.equal(np.floor(array), array) | ~finite
        if not whole.all():
            i = int(np.flatnonzero(~whole)[0])
            raise RequestError(expected_got(where(i), expected, describe(values[i])))
    return array


def text_number(value: Any, where: Where, i: int) -> float | None:
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
            expected_got(where(i), "a number (or numeric text) or null", describe(value))
        ) from None
    if not math.isfinite(number):
        raise RequestError(nonfinite(where(i), value))
    return number


def nonfinite(where: str, value: Any) -> str:
    """The message for NaN or infinity (or a number too large for float64)."""
    return expected_got(
        where,
        "a finite number or null (NaN and infinity are not allowed: send null for a missing value)",
        describe(value),
    )
