"""A request's raw input columns to the numpy columns the featurizer reads, as one Decoded request.

The numeric and integer columns go to float64 in one ``np.array`` call when every value is a
finite number (the common case); otherwise each column goes its own way (:mod:`.values`), which
names the first bad value.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from itertools import chain
from typing import TYPE_CHECKING, Any, Final

import numpy as np

from components._shared.oip import DEFAULT_OUTPUTS
from serving.codec.values import Where, column

if TYPE_CHECKING:
    from serving.codec import Codec

_NUMBER_TYPES: Final = frozenset({int, float})


@dataclass(frozen=True)
class Decoded:
    """A decoded request: the input columns, and what the response should hold."""

    columns: dict[str, np.ndarray]
    rows: int
    outputs: tuple[str, ...] = DEFAULT_OUTPUTS
    request_id: str | None = None
    parameters: dict[str, Any] = field(default_factory=dict)
    binary_outputs: frozenset[str] = frozenset()  # outputs to send as raw bytes (V2 REST)


def convert(
    codec: Codec, raw: Mapping[str, list[Any]], where: Callable[[str], Where]
) -> dict[str, np.ndarray]:
    """Every input column checked and converted; numeric ones in one block when they can."""
    columns = numeric_block(codec, raw)
    if columns is None:
        columns = {}
    for name in codec.inputs:
        if name not in columns:
            columns[name] = column(codec.rules[name], raw[name], where(name), codec.null_tokens)
    return columns


def numeric_block(codec: Codec, raw: Mapping[str, list[Any]]) -> dict[str, np.ndarray] | None:
    """Every numeric column converted in one call when all values are finite numbers.

    None when a value is anything else (null, text, bool, non-finite, an int beyond float64, a
    fraction in an integer column): the per-column path then handles it, or names it.
    """
    columns: dict[str, np.ndarray] = {}
    if not codec.numeric:
        return columns
    lists = [raw[name] for name in codec.numeric]
    if not set(map(type, chain.from_iterable(lists))) <= _NUMBER_TYPES:
        return None
    try:
        block = np.array(lists, dtype=np.float64)
    except OverflowError:  # a Python int beyond float64 (in-process only: orjson refuses it)
        return None
    if not np.isfinite(block).all():
        return None
    if codec.integer_rows.size:
        whole = block[codec.integer_rows]
        if not np.equal(np.floor(whole), whole).all():
            return None
    for j, name in enumerate(codec.numeric):
        columns[name] = block[j]
    return columns
