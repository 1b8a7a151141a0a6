"""The fitted feature transform: learned on train rows, stored as plain JSON, applied everywhere.

Training, evaluation and the KServe runtime all call :meth:`Featurizer.transform`, one
vectorised numpy implementation over a mapping of column arrays, so a served row gets exactly
the features its training twin got. What it does, per schema column with role ``feature``:

- numeric / integer: median imputation (train median), a ``<col>__missing`` indicator only when
  train had missing values, then standard scaling (train mean/std; a constant column gets std 1).
- boolean: 1.0 / 0.0 from the schema's ``true_values``/``false_values`` and the generic tokens of
  :mod:`components._shared.schema`, compared case-insensitively on stripped text; Python and
  numpy bools and 0/1 numbers work too. Missing or unrecognised values take the train mode
  (ties go to 0.0), with a ``<col>__missing`` indicator when train had missing values.
- categorical: one-hot over the values seen in at least ``min_category_count`` train rows
  (sorted), plus ``<col>=__unknown__`` for anything else (rare in train or never seen). Missing
  values get ``<col>=__missing__`` when train had missing values, else the unknown bucket.
  Values are compared as stripped text (``str()`` of non-text values).
- datetime: hour, day of week (Monday 0), month, is-weekend, each imputed and scaled like a
  numeric column, with one ``<col>__missing`` indicator when train had missing values.
- identifier columns are never features, even with role ``feature``. Columns with role ``id``,
  ``target`` or ``time`` are not features either; a time (or id) column is read only when a
  rolling aggregate names it.

Optional derived features, imputed and scaled like numeric columns:

- interactions ``{"name", "op": product|ratio|difference, "left", "right"}`` on numeric/integer
  feature columns, computed on the imputed, *unscaled* values. A ratio whose denominator is
  within ``RATIO_EPS`` of zero is missing (then imputed with the interaction's train median).
- rolling aggregates ``{"name", "entity", "time", "value", "window", "agg"}``: see
  :mod:`.windows`. History is only the rows passed to ``transform``: a single serving request
  has no history unless the caller sends the entity's earlier rows with it.

Numbers that are unparseable, unrecognised boolean tokens, unparseable datetimes and
categorical values outside the vocabulary are counted per column into ``unseen`` when given.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Mapping, Sequence
from typing import Any, Final

import numpy as np
import pandas as pd

from components._shared.errors import ConfigError, DataError, NotFittedError, expected_got
from components._shared.featurizer.lookup import REAL, UNKNOWN, DiscreteTable
from components._shared.featurizer.specs import (
    INTERACTION_KEYS,
    ROLLING_KEYS,
    check_interactions,
    check_rolling,
)
from components._shared.featurizer.values import (
    DATETIME_PARTS,
    as_column,
    datetime_parts,
    fill_float,
    to_datetime,
    to_float,
    to_text,
)
from components._shared.featurizer.windows import rolling_aggregate
from components._shared.schema import FALSE_TOKENS, TRUE_TOKENS, Schema

FEATURIZER_FORMAT_VERSION: Final = 1
RATIO_EPS: Final = 1e-9
UNKNOWN_BUCKET: Final = "__unknown__"
MISSING_BUCKET: Final = "__missing__"

# Feature names avoid the characters XGBoost and LightGBM reject or rewrite.
_UNSAFE_NAME = re.compile(r"[\s\[\]<>{}\":,]")


class Featurizer:
    """Learns a feature transform on train rows; applies it to columns, frames or records.

    ``__init__`` only stores its arguments (scikit-learn style); :meth:`fit` learns, and the
    learned state is exactly what :meth:`to_dict` returns.
    """

    def __init__(
        self,
        *,
        min_category_count: int = 10,
        interactions: list[dict] | None = None,
        rolling: list[dict] | None = None,
    ) -> None:
        self.min_category_count = min_category_count
        self.interactions = interactions
        self.rolling = rolling
        self._state: dict[str, Any] | None = None

    # --- learned attributes --------------------------------------------------------------------
    @property
    def feature_names_(self) -> list[str]:
        """Output column names, in matrix order."""
        return list(self._fitted()["feature_names"])

    @property
    def input_columns_(self) -> list[str]:
        """Raw columns the transform reads, in schema order."""
        return list(self._fitted()["input_columns"])

    def _fitted(self) -> dict[str, Any]:
        if self._state is None:
            raise NotFittedError(
                "This Featurizer instance is not fitted yet. Call 'fit' with appropriate "
                "arguments before using this featurizer, or load a fitted one with "
                "'from_dict'/'from_json'."
            )
        return self._state

    # --- fit ------------------------------------------------------------------------------------
    def fit(self, frame: pd.DataFrame, schema: Schema) -> Featurizer:
        """Learn imputation, scaling, vocabularies and tokens from ``frame`` (train rows only).

        Raises:
            ConfigError: bad parameters or specs, or a schema without usable features.
            DataError: ``frame`` is empty or lacks a column the schema or a spec needs.
        """
        min_count = self.min_category_count
        if isinstance(min_count, bool) or not isinstance(min_count, int) or min_count < 1:
            raise ConfigError(expected_got("min_category_count", "an integer >= 1", min_count))
        interactions = check_interactions(self.interactions or [], schema)
        rolling = check_rolling(self.rolling or [], schema)
        by_kind, kinds = _feature_columns(schema)
        if not kinds and not rolling:
            raise ConfigError(
                "schema has no usable feature columns: set role 'feature' on at least one "
                "numeric, integer, boolean, categorical or datetime column"
            )
        if len(frame) == 0:
            raise DataError("cannot fit a featurizer on 0 train rows")
        wanted = set(kinds) | {r[k] for r in rolling for k in ("entity", "time", "value")}
        inputs = [c for c in schema.column_names if c in wanted]
        _require_columns(inputs, frame.columns)
        arrays = {c: as_column(frame[c].to_numpy(), c) for c in inputs}

        numeric = [
            {"column": name, "kind": kinds[name], **_stats(to_float(arrays[name])[0])}
            for name in by_kind["numeric"]
        ]
        medians = {s["column"]: s["median"] for s in numeric}
        state: dict[str, Any] = {
            "format_version": FEATURIZER_FORMAT_VERSION,
            "params": {"min_category_count": min_count},
            "train_rows": len(frame),
            "input_columns": inputs,
            "feature_names": [],
            "numeric": numeric,
            "datetime": [_fit_datetime(name, arrays[name]) for name in by_kind["datetime"]],
            "interactions": [_fit_interaction(spec, arrays, medians) for spec in interactions],
            "rolling": [{**spec, **_stats(_rolling(arrays, spec, None))} for spec in rolling],
            "boolean": [_fit_boolean(schema, name, arrays) for name in by_kind["boolean"]],
            "categorical": [
                _fit_categorical(name, arrays[name], min_count) for name in by_kind["categorical"]
            ],
        }
        state["feature_names"] = _feature_names(state)
        self._load(state)
        return self

    # --- transform ------------------------------------------------------------------------------
    def transform(
        self,
        columns: Mapping[str, np.ndarray | Sequence[Any]],
        *,
        unseen: dict[str, int] | None = None,
    ) -> np.ndarray:
        """Features of the rows in ``columns`` (column name -> values), float64 (n, n_features).

        Extra columns are ignored. Values may be typed arrays or raw JSON values (numbers,
        numeric strings, ``None``). Unknown values are counted per column into ``unseen``.

        Raises:
            NotFittedError: before :meth:`fit`.
            DataError: a required column is absent, or the columns differ in length.
        """
        self._fitted()
        _require_columns(self._inputs, columns)
        arrays = {c: as_column(columns[c], c) for c in self._inputs}
        n = arrays[self._inputs[0]].shape[0]
        if any(a.shape[0] != n for a in arrays.values()):
            lengths = {c: a.shape[0] for c, a in arrays.items()}
            raise DataError(f"input columns differ in length: {lengths}")
        numeric = _block(arrays, self._numeric_columns) if self._numeric_columns else None
        discrete = _block(arrays, self._discrete_columns) if self._discrete_columns else None
        return self._apply(arrays, n, numeric, discrete, unseen)

    def transform_frame(
        self, frame: pd.DataFrame, *, unseen: dict[str, int] | None = None
    ) -> np.ndarray:
        """:meth:`transform` of a DataFrame's columns (``frame[c].to_numpy()``)."""
        self._fitted()
        _require_columns(self._inputs, frame.columns)
        return self.transform({c: frame[c].to_numpy() for c in self._inputs}, unseen=unseen)

    def transform_records(
        self,
        records: Sequence[Mapping[str, object]],
        *,
        unseen: dict[str, int] | None = None,
    ) -> np.ndarray:
        """:meth:`transform` of row records (e.g. a JSON request's ``instances``).

        Every record must hold every input column (``None`` for a missing value).

        Raises:
            DataError: ``records`` is not a list of mappings, or a record lacks a column.
        """
        self._fitted()
        if isinstance(records, Mapping | str | bytes) or not hasattr(records, "__len__"):
            raise DataError(f"expected a list of records (objects), got {type(records).__name__}")
        n, inputs = len(records), self._inputs
        try:
            # One object block of every input column, filled in one pass over the records.
            cells = (r[c] for r in records for c in inputs)
            table = np.fromiter(cells, dtype=object, count=n * len(inputs))
        except (KeyError, TypeError, IndexError):
            raise _record_error(records, inputs) from None
        table = table.reshape(n, len(inputs))
        arrays = {c: table[:, self._input_index[c]] for c in self._sequence_columns}
        numeric = table[:, self._numeric_index] if self._numeric_columns else None
        discrete = table[:, self._discrete_index] if self._discrete_columns else None
        return self._apply(arrays, n, numeric, discrete, unseen)

    def _apply(
        self,
        arrays: Mapping[str, np.ndarray],
        n: int,
        numeric: np.ndarray | None,
        discrete: np.ndarray | None,
        unseen: dict[str, int] | None,
    ) -> np.ndarray:
        """The one implementation: blocks of raw values in, the feature matrix out."""
        out = np.zeros((n, self._n_features), dtype=np.float64)
        if self._medians.size:
            self._continuous(arrays, numeric, out, unseen)
        if discrete is not None:
            code, flag = self._table.lookup(discrete)
            nb, start = self._n_booleans, self._bool_start
            out[:, start : start + nb] = code[:, :nb]
            if self._bool_indicators.size:
                out[:, start + nb : self._cat_start] = flag[:, self._bool_indicators] != REAL
            if nb < code.shape[1]:
                # One-hot: the table's code of a categorical cell is its output column.
                out[np.arange(n)[:, None], code[:, nb:]] = 1.0
            if unseen is not None:
                unknown = (flag == UNKNOWN).sum(axis=0).tolist()
                for name, count in zip(self._discrete_columns, unknown, strict=True):
                    _add(unseen, name, count)
        return out

    def _continuous(
        self,
        arrays: Mapping[str, np.ndarray],
        numeric: np.ndarray | None,
        out: np.ndarray,
        unseen: dict[str, int] | None,
    ) -> None:
        """Numeric, datetime, interaction and rolling features, and their missing indicators."""
        width = self._medians.size
        n = out.shape[0]
        raw = np.empty((n, width), dtype=np.float64)
        at = len(self._numeric_columns)
        if numeric is not None:
            _fill_numeric(raw[:, :at], numeric, self._numeric_columns, unseen)
        for name in self._datetime_columns:
            times, bad = to_datetime(arrays[name])
            _add(unseen, name, bad)
            raw[:, at : at + len(DATETIME_PARTS)] = datetime_parts(times)
            at += len(DATETIME_PARTS)
        missing = np.empty((n, width), dtype=bool)
        self._impute(raw, missing, 0, at)
        base = at
        for spec in self._interactions:
            raw[:, at] = _interact(spec["op"], raw[:, spec["left"]], raw[:, spec["right"]])
            at += 1
        for spec in self._rolling:
            raw[:, at] = _rolling(arrays, spec, unseen)
            at += 1
        self._impute(raw, missing, base, at)
        scaled = out[:, :width]
        np.subtract(raw, self._means, out=scaled)
        np.divide(scaled, self._stds, out=scaled)
        if self._indicators.size:
            out[:, width : self._bool_start] = missing[:, self._indicators]

    def _impute(self, raw: np.ndarray, missing: np.ndarray, start: int, stop: int) -> None:
        """Missing and non-finite values take the train median, and are marked missing."""
        if stop <= start:
            return
        block, marks = raw[:, start:stop], missing[:, start:stop]
        # Not np.isfinite(block, out=marks): numpy 2.4 writes wrong values into a strided
        # one-column boolean view (one interaction or one rolling feature); a plain assignment
        # of the result is right for every width (tests/featurize: one_derived_feature).
        marks[...] = ~np.isfinite(block)
        np.copyto(block, self._medians[start:stop], where=marks)

    # --- JSON -------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """The fitted state as plain JSON data (a copy)."""
        return copy.deepcopy(self._fitted())

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Featurizer:
        """A fitted featurizer from :meth:`to_dict` output.

        Raises:
            ConfigError: not a featurizer dict, a format version this code cannot read, a
                missing field, or feature names that do not match the fitted blocks.
        """
        if not isinstance(data, Mapping):
            raise ConfigError(expected_got("featurizer", "a JSON object", type(data).__name__))
        version = data.get("format_version")
        if isinstance(version, bool) or version != FEATURIZER_FORMAT_VERSION:
            raise ConfigError(
                expected_got(
                    "featurizer format_version",
                    f"{FEATURIZER_FORMAT_VERSION} (the version this code reads; refit, or "
                    "upgrade kfp-tabular to read another)",
                    repr(version),
                )
            )
        state = copy.deepcopy(dict(data))
        try:
            featurizer = cls(
                min_category_count=state["params"]["min_category_count"],
                interactions=[{k: s[k] for k in INTERACTION_KEYS} for s in state["interactions"]],
                rolling=[{k: s[k] for k in ROLLING_KEYS} for s in state["rolling"]],
            )
            expected = _feature_names(state)
            if expected != state["feature_names"]:
                raise ConfigError(
                    "featurizer feature_names do not match its fitted blocks: "
                    f"expected {expected}, got {state['feature_names']}"
                )
            featurizer._load(state)
        except (KeyError, TypeError, IndexError, ValueError) as exc:
            raise ConfigError(f"featurizer JSON is malformed: missing or bad field {exc}") from None
        return featurizer

    def to_json(self) -> str:
        """:meth:`to_dict` as JSON text (floats written by ``repr``, so they read back exactly)."""
        return json.dumps(self.to_dict(), indent=1, allow_nan=False) + "\n"

    @classmethod
    def from_json(cls, text: str | bytes) -> Featurizer:
        """Parse :meth:`to_json` text."""
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"featurizer is not valid JSON: {exc}") from None
        return cls.from_dict(data)

    # --- compiled lookups -----------------------------------------------------------------------
    def _load(self, state: dict[str, Any]) -> None:
        """Precompute, once, every array ``transform`` needs (never per call)."""
        numeric, dates = state["numeric"], state["datetime"]
        stats, indicators = _scaled_blocks(state)
        index = {s["column"]: j for j, s in enumerate(numeric)}
        booleans, categoricals = state["boolean"], state["categorical"]
        bool_start = len(stats) + len(indicators)
        bool_indicators = [j for j, s in enumerate(booleans) if s["missing_indicator"]]
        cat_start = bool_start + len(booleans) + len(bool_indicators)
        table = DiscreteTable(booleans, categoricals, cat_start)
        n_features = len(state["feature_names"])
        if table.stop != n_features:
            raise ConfigError(
                f"featurizer lists {n_features} feature names for {table.stop} fitted features"
            )
        inputs = list(state["input_columns"])
        position = {c: j for j, c in enumerate(inputs)}

        self._state = state
        self._inputs = inputs
        self._input_index = position
        self._n_features = n_features
        self._numeric_columns = [s["column"] for s in numeric]
        self._datetime_columns = [s["column"] for s in dates]
        self._interactions = [
            {"op": s["op"], "left": index[s["left"]], "right": index[s["right"]]}
            for s in state["interactions"]
        ]
        self._rolling = [
            {k: s[k] for k in ("entity", "time", "value", "agg", "window_ns")}
            for s in state["rolling"]
        ]
        # Columns read one at a time (datetime parsing, rolling windows), not in a block.
        self._sequence_columns = sorted(
            set(self._datetime_columns)
            | {s[k] for s in self._rolling for k in ("entity", "time", "value")}
        )
        self._medians = np.array([s["median"] for s in stats], dtype=np.float64)
        self._means = np.array([s["mean"] for s in stats], dtype=np.float64)
        self._stds = np.array([s["std"] for s in stats], dtype=np.float64)
        self._indicators = np.array(indicators, dtype=np.intp)
        self._n_booleans = len(booleans)
        self._bool_start = bool_start
        self._bool_indicators = np.array(bool_indicators, dtype=np.intp)
        self._cat_start = cat_start
        self._discrete_columns = [s["column"] for s in booleans + categoricals]
        self._table = table
        self._numeric_index = np.array([position[c] for c in self._numeric_columns], dtype=np.intp)
        self._discrete_index = np.array(
            [position[c] for c in self._discrete_columns], dtype=np.intp
        )


_FEATURE_KINDS: Final = ("numeric", "datetime", "boolean", "categorical")


def _scaled_blocks(state: dict[str, Any]) -> tuple[list[dict[str, Any]], list[int]]:
    """(statistics of every scaled feature in matrix order, positions of their indicators)."""
    numeric, dates = state["numeric"], state["datetime"]
    derived = state["interactions"] + state["rolling"]
    stats = numeric + [part for d in dates for part in d["parts"]] + derived
    indicators: list[int] = [j for j, s in enumerate(numeric) if s["missing_indicator"]]
    at = len(numeric)
    for d in dates:
        if d["missing_indicator"]:
            indicators.append(at)  # the parts are missing together: one indicator
        at += len(DATETIME_PARTS)
    indicators += [at + j for j, s in enumerate(derived) if s["missing_indicator"]]
    return stats, indicators


# --- fit, per kind of column --------------------------------------------------------------------
def _feature_columns(schema: Schema) -> tuple[dict[str, list[str]], dict[str, str]]:
    """(feature column names per featurizer kind, schema kind per feature column)."""
    by_kind: dict[str, list[str]] = {k: [] for k in _FEATURE_KINDS}
    kinds: dict[str, str] = {}
    for col in schema.feature_columns:
        kind = "numeric" if col.kind == "integer" else col.kind
        if kind in by_kind:  # identifiers are never features
            by_kind[kind].append(col.name)
            kinds[col.name] = col.kind
    return by_kind, kinds


def _fit_datetime(name: str, values: np.ndarray) -> dict[str, Any]:
    times, _ = to_datetime(values)
    parts = datetime_parts(times)
    return {
        "column": name,
        "missing_indicator": bool(np.isnat(times).any()),
        "parts": [
            {"part": part, **_stats(parts[:, k], indicator=False)}
            for k, part in enumerate(DATETIME_PARTS)
        ],
    }


def _fit_interaction(
    spec: dict[str, Any], arrays: Mapping[str, np.ndarray], medians: dict[str, float]
) -> dict[str, Any]:
    # On the imputed, unscaled values, exactly as ``transform`` computes them.
    left, _ = to_float(arrays[spec["left"]])
    right, _ = to_float(arrays[spec["right"]])
    left[np.isnan(left)] = medians[spec["left"]]
    right[np.isnan(right)] = medians[spec["right"]]
    return {**spec, **_stats(_interact(spec["op"], left, right))}


def _fit_boolean(schema: Schema, name: str, arrays: Mapping[str, np.ndarray]) -> dict[str, Any]:
    col = schema.column(name)
    true_tokens, false_tokens = _boolean_tokens(name, col.true_values, col.false_values)
    tokens = {"true_tokens": true_tokens, "false_tokens": false_tokens, "mode": 0.0}
    code, flag = DiscreteTable([tokens], [], 0).lookup(_block(arrays, [name]))
    seen = code[flag == REAL]
    ones, zeros = int((seen == 1.0).sum()), int((seen == 0.0).sum())
    return {
        "column": name,
        "true_tokens": true_tokens,
        "false_tokens": false_tokens,
        "mode": 1.0 if ones > zeros else 0.0,
        "missing_indicator": bool((flag != REAL).any()),
    }


def _fit_categorical(name: str, values: np.ndarray, min_count: int) -> dict[str, Any]:
    text, missing = to_text(values)
    vocabulary, counts = np.unique(text[~missing], return_counts=True)
    return {
        "column": name,
        "vocabulary": [str(v) for v in vocabulary[counts >= min_count]],
        "missing_bucket": bool(missing.any()),
    }


# --- helpers ------------------------------------------------------------------------------------
def _stats(raw: np.ndarray, *, indicator: bool = True) -> dict[str, Any]:
    """Median (imputation), mean and std (scaling) of one raw feature; JSON floats."""
    raw = np.where(np.isfinite(raw), raw, np.nan)
    missing = np.isnan(raw)
    median = float(np.median(raw[~missing])) if (~missing).any() else 0.0
    imputed = np.where(missing, median, raw)
    mean = float(imputed.mean())
    std = float(imputed.std())
    # A constant feature would divide by zero; std 1 leaves it centred at 0.
    if not np.isfinite(std) or std < 1e-12:
        std = 1.0
    stats: dict[str, Any] = {"median": median, "mean": mean, "std": std}
    if indicator:
        stats["missing_indicator"] = bool(missing.any())
    return stats


def _interact(op: str, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    if op == "product":
        return left * right
    if op == "difference":
        return left - right
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(np.abs(right) > RATIO_EPS, left / right, np.nan)


def _rolling(
    arrays: Mapping[str, np.ndarray], spec: dict[str, Any], unseen: dict[str, int] | None
) -> np.ndarray:
    entity, entity_missing = to_text(arrays[spec["entity"]])
    times, bad_times = to_datetime(arrays[spec["time"]])
    values, bad_values = to_float(arrays[spec["value"]])
    _add(unseen, spec["time"], bad_times)
    _add(unseen, spec["value"], bad_values)
    return rolling_aggregate(
        entity, entity_missing, times, values, window=spec["window_ns"], agg=spec["agg"]
    )


def _add(unseen: dict[str, int] | None, name: str, count: int) -> None:
    if unseen is not None and count:
        unseen[name] = unseen.get(name, 0) + int(count)


def _block(arrays: Mapping[str, np.ndarray], names: list[str]) -> np.ndarray:
    """Columns side by side as one (n, len(names)) block; object dtype unless all dtypes agree.

    Mixed dtypes stay objects on purpose: promoting them to one numpy dtype would turn floats
    into text (or text into an error).
    """
    first = arrays[names[0]]
    if first.dtype.kind != "O" and all(arrays[c].dtype == first.dtype for c in names):
        return np.stack([arrays[c] for c in names], axis=1)
    block = np.empty((first.shape[0], len(names)), dtype=object)
    for j, name in enumerate(names):
        block[:, j] = arrays[name]
    return block


def _fill_numeric(
    out: np.ndarray, block: np.ndarray, names: list[str], unseen: dict[str, int] | None
) -> None:
    """Raw numeric values into ``out``: one cast when it can, column by column when it cannot."""
    try:
        out[...] = block
    except (TypeError, ValueError):
        for j, name in enumerate(names):
            _add(unseen, name, fill_float(out[:, j], block[:, j]))


def _require_columns(required: list[str], present: Any) -> None:
    available = set(present)
    absent = [c for c in required if c not in available]
    if absent:
        raise DataError(f"missing input column(s) {absent}: the featurizer reads {list(required)}")


def _record_error(records: Sequence[Any], inputs: list[str]) -> DataError:
    """The first record that is not an object, or lacks an input column, as a DataError."""
    for i, record in enumerate(records):
        if not isinstance(record, Mapping):
            return DataError(
                f"record {i}: expected an object of column values, got {type(record).__name__}"
            )
        absent = [c for c in inputs if c not in record]
        if absent:
            return DataError(f"record {i} has no column(s) {absent}: the featurizer reads {inputs}")
    return DataError(f"records could not be read as columns {inputs}")


def _boolean_tokens(
    name: str, true_values: list[str] | None, false_values: list[str] | None
) -> tuple[list[str], list[str]]:
    """The schema's tokens plus the generic ones; the schema wins where they disagree."""
    own_true = {str(t).strip().lower() for t in true_values or []}
    own_false = {str(t).strip().lower() for t in false_values or []}
    clash = sorted(own_true & own_false)
    if clash:
        raise ConfigError(f"boolean column {name!r}: token(s) {clash} are both true and false")
    true = (set(TRUE_TOKENS) - own_false) | own_true
    false = (set(FALSE_TOKENS) - own_true) | own_false
    return sorted(true), sorted(false)


def _feature_names(state: Mapping[str, Any]) -> list[str]:
    """Output names in matrix order, made safe for model libraries and unique."""
    numeric, dates = state["numeric"], state["datetime"]
    derived = state["interactions"] + state["rolling"]
    names = [s["column"] for s in numeric]
    names += [f"{d['column']}__{part}" for d in dates for part in DATETIME_PARTS]
    names += [s["name"] for s in derived]
    names += [f"{s['column']}__missing" for s in numeric if s["missing_indicator"]]
    names += [f"{d['column']}__missing" for d in dates if d["missing_indicator"]]
    names += [f"{s['name']}__missing" for s in derived if s["missing_indicator"]]
    names += [s["column"] for s in state["boolean"]]
    names += [f"{s['column']}__missing" for s in state["boolean"] if s["missing_indicator"]]
    for s in state["categorical"]:
        names += [f"{s['column']}={v}" for v in s["vocabulary"]]
        names.append(f"{s['column']}={UNKNOWN_BUCKET}")
        if s["missing_bucket"]:
            names.append(f"{s['column']}={MISSING_BUCKET}")
    unique: list[str] = []
    taken: set[str] = set()
    for name in names:
        safe = candidate = _UNSAFE_NAME.sub("_", name)
        suffix = 2
        while candidate in taken:
            candidate = f"{safe}__{suffix}"
            suffix += 1
        taken.add(candidate)
        unique.append(candidate)
    return unique
