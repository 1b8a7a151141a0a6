"""Raw rows to scores through the serving scorer, one bad row reported, never a chunk lost.

Each chunk becomes a V1 request (``{"instances": [[...], ...]}``, the values in the order of the
model's inputs) handed to :meth:`serving.scoring.Scorer.predict_v1`: the very decode ->
featurize -> predict -> encode code that answers V1 and V2 requests, so a batch score equals the
served one. Raw cells become the JSON values a client would send, by the column's schema kind:

- a cell equal to one of the contract's null tokens, or holding only whitespace, is null
  (validate read such cells as null when the model was trained);
- numeric and integer columns: text that reads as a decimal number becomes that number (columns
  stored as text at training keep their text: the scorer parses it as training did); other text
  is sent as it is, so the scorer names it (a row error). In a file read with a decimal comma
  (``decimal=","``), ``29,85`` is first written ``29.85``, as validate reads it;
- boolean, categorical and datetime columns: the text as written.

When the scorer refuses a chunk, the chunk is split in halves until each refused row stands
alone; every other row is scored in bulk. A refused row becomes a :class:`RowError` with its row
number, the column the scorer named and its reason.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np

from components._shared.csv_format import COMMA_NUMBER
from components._shared.oip import OUTPUT_LABEL, OUTPUT_PROBABILITY
from components.batch_predict.reader import RawChunk, RowError
from serving.codec import RequestError
from serving.scoring import Scorer

_DECIMAL: Final = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_FIRST_ROW: Final = "instances[0]."


@dataclass
class ScoredChunk:
    """What one chunk gave: the scored rows (numbers, P(positive), labels, kept values) and the
    rows that could not be scored."""

    rows: list[int] = field(default_factory=list)
    probability: list[float] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    kept: dict[str, list[Any]] = field(default_factory=dict)
    errors: list[RowError] = field(default_factory=list)
    positives: int = 0  # rows labelled with the positive class


class ChunkScorer:
    """Scores raw chunks with one :class:`Scorer`; ``null_tokens`` are the contract's."""

    def __init__(
        self,
        scorer: Scorer,
        null_tokens: Sequence[str],
        decimal: str = ".",
        engine_rows: int = 10_000,
    ) -> None:
        self.scorer = scorer
        self.decimal = decimal
        # Every part of every chunk is scored as a request of ``engine_rows`` rows would be: the
        # tree evaluation chosen by request size (serving/scoring.py) is then the same for all
        # rows of a run, whatever the chunk's size or a refused row's split.
        self.engine_rows = engine_rows
        self.codec = scorer.codec
        self.null_tokens = frozenset(null_tokens)
        # Longest first, so that "tenure_months" is not read as "tenure".
        self._by_length = sorted(self.codec.inputs, key=len, reverse=True)

    def __call__(self, chunk: RawChunk, keep: Sequence[str]) -> ScoredChunk:
        """Score every row of ``chunk``; ``keep`` columns are copied beside the scored ones."""
        values = [self.json_values(name, chunk.columns[name]) for name in self.codec.inputs]
        instances = [list(row) for row in zip(*values, strict=True)] if values else []
        out = ScoredChunk(kept={name: [] for name in keep})
        self._score(instances, list(range(len(chunk.rows))), chunk, keep, out)
        order = np.argsort(np.asarray(out.rows), kind="stable")
        out.rows = [out.rows[i] for i in order]
        out.probability = [out.probability[i] for i in order]
        out.labels = [out.labels[i] for i in order]
        out.kept = {name: [column[i] for i in order] for name, column in out.kept.items()}
        out.errors.sort(key=lambda e: e.row)
        out.positives = sum(1 for label in out.labels if label == self.codec.class_labels[1])
        return out

    def json_values(self, name: str, raw: list[Any]) -> list[Any]:
        """One column's raw cells as the JSON values a client would send (rules above)."""
        rule = self.codec.rules[name]
        numeric = rule.kind in ("numeric", "integer")
        return [self._value(v, numeric and not rule.stored_as_text, numeric) for v in raw]

    def _value(self, value: Any, numeric: bool, number_column: bool = False) -> Any:
        if value is None:
            return None
        if isinstance(value, float) and math.isnan(value):
            return None
        if not isinstance(value, str):
            return value
        if value in self.null_tokens or not value.strip():
            return None
        if number_column and self.decimal == "," and COMMA_NUMBER.fullmatch(value):
            value = value.replace(",", ".")
        if numeric and _DECIMAL.fullmatch(value.strip()):
            number = float(value)
            return number if math.isfinite(number) else value  # "1e999": the scorer names it
        return value

    def _score(
        self,
        instances: list[list[Any]],
        positions: list[int],
        chunk: RawChunk,
        keep: Sequence[str],
        out: ScoredChunk,
    ) -> None:
        """Score ``positions`` in one request; split a refused request until rows stand alone."""
        if not positions:
            return
        try:
            response = self.scorer.predict_v1(
                {"instances": [instances[i] for i in positions]}, as_rows=self.engine_rows
            )
        except RequestError as exc:
            if len(positions) == 1:
                out.errors.append(self._row_error(chunk.rows[positions[0]], str(exc)))
                return
            half = len(positions) // 2
            self._score(instances, positions[:half], chunk, keep, out)
            self._score(instances, positions[half:], chunk, keep, out)
            return
        for i, prediction in zip(positions, response["predictions"], strict=True):
            out.rows.append(chunk.rows[i])
            out.probability.append(float(prediction[OUTPUT_PROBABILITY]))
            out.labels.append(str(prediction[OUTPUT_LABEL]))
            for name in keep:
                out.kept[name].append(chunk.columns[name][i])

    def _row_error(self, row: int, message: str) -> RowError:
        """The scorer's message for a one-row request, as (row, column, reason)."""
        text = message.removeprefix(_FIRST_ROW)
        for name in self._by_length:
            if text.startswith(f"{name}: "):
                return RowError(row, name, text[len(name) + 2 :])
        return RowError(row, "", message)
