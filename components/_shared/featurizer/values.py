"""Raw input values -> numbers, text or datetimes, vectorised and the same for every caller.

Training passes typed pandas columns (float64, object text, ``boolean``), serving passes JSON
values (numbers, numeric strings, ``"Yes"``, ``None``). Every function here accepts either, so the
fitted transform gives the same features for the same values whatever container they came in.
No function loops over rows in Python, except over the few cells that look like nulls.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from components._shared.errors import DataError

# ``str()`` of the objects a null may arrive as: None, NaN (float or numpy), pd.NA, pd.NaT and
# numpy NaT. A text cell equal to one of these is only a *candidate*: the original object is
# checked, so the string "None" stays a real value.
NULL_REPRS: tuple[str, ...] = ("None", "nan", "NaN", "<NA>", "NaT")

DATETIME_PARTS: tuple[str, ...] = ("hour", "dayofweek", "month", "is_weekend")


def is_null(value: object) -> bool:
    """Whether one Python value is a null (None, NaN, pd.NA, NaT)."""
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    if isinstance(value, float | np.floating):
        return bool(value != value)
    if isinstance(value, np.datetime64):
        return bool(np.isnat(value))
    return False


def as_column(values: np.ndarray | Sequence[Any], name: str) -> np.ndarray:
    """One input column as a 1-d numpy array (object dtype for Python sequences).

    Raises:
        DataError: ``values`` is a scalar, a string, or not one-dimensional.
    """
    if type(values) is list:  # JSON columns: the common serving case, checked first
        array = np.fromiter(values, dtype=object, count=len(values))
    elif isinstance(values, np.ndarray):
        array = values
    elif isinstance(values, str | bytes) or not hasattr(values, "__len__"):
        raise DataError(
            f"column {name!r}: expected a 1-d array or sequence of values, "
            f"got {type(values).__name__}"
        )
    elif hasattr(values, "dtype"):  # pandas Series / extension arrays keep their dtype
        array = np.asarray(values)
    else:
        # object dtype on purpose: np.asarray(["1", 2]) would turn 2 into the text "2".
        array = np.fromiter(iter(values), dtype=object, count=len(values))
    if array.ndim != 1:
        raise DataError(f"column {name!r}: expected 1-d values, got shape {array.shape}")
    return array


def to_text(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Values of any dtype and shape as stripped unicode text, plus the null mask.

    Blank text counts as null. ``str()`` decides the text of non-text values (``1`` -> ``"1"``,
    ``True`` -> ``"True"``).
    """
    if values.dtype.kind == "M":
        missing = np.isnat(values)
    elif values.dtype.kind in "fc":
        missing = np.isnan(values)
    else:
        missing = np.zeros(values.shape, dtype=bool)
    text = values if values.dtype.kind == "U" else values.astype(str)
    text = np.strings.strip(text)
    if values.dtype.kind == "O":
        missing |= null_candidates_are_null(values, np.isin(text, NULL_REPRS))
    missing |= text == ""
    return text, missing


def null_candidates_are_null(values: np.ndarray, candidates: np.ndarray) -> np.ndarray:
    """Resolve cells whose text looks like a null by checking the original objects."""
    nulls = np.zeros(values.shape, dtype=bool)
    hits = np.flatnonzero(candidates)
    if hits.size:
        flat_values = values.ravel()
        flat_nulls = nulls.ravel()
        flat_nulls[hits] = [is_null(flat_values[i]) for i in hits]
    return nulls


def fill_float(out: np.ndarray, values: np.ndarray) -> int:
    """Write ``values`` as float64 into ``out``: NaN for nulls, blanks and unparseable text.

    Numbers, bools and numeric text (``" 29.85 "``) are converted; non-finite values are left for
    the caller to clear (it does so once for a whole block). Returns how many non-blank values
    could not be parsed (reported as unseen by the featurizer).
    """
    try:
        # Fast path: numeric dtypes, and object arrays of numbers, numeric text or None.
        out[...] = values
        return 0
    except (TypeError, ValueError):
        pass
    text, missing = to_text(values)
    out.fill(np.nan)
    keep = ~missing
    try:
        out[keep] = text[keep].astype(np.float64)
        return 0
    except ValueError:
        parsed = np.array([_parse_float(t) for t in text[keep]], dtype=np.float64)
        out[keep] = parsed
        return int(np.isnan(parsed).sum())


def to_float(values: np.ndarray) -> tuple[np.ndarray, int]:
    """:func:`fill_float` into a new array, with non-finite values as NaN too."""
    out = np.empty(values.shape, dtype=np.float64)
    bad = fill_float(out, values)
    out[~np.isfinite(out)] = np.nan
    return out, bad


def _parse_float(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return float("nan")


def to_datetime(values: np.ndarray) -> tuple[np.ndarray, int]:
    """Values as datetime64[ns] (NaT for nulls), from datetime64 or ISO 8601 text.

    Text with a UTC offset is converted to UTC and made naive, like the typed training data.
    Returns the datetimes and how many non-blank values could not be parsed.
    """
    if values.dtype.kind == "M":
        return values.astype("datetime64[ns]"), 0
    text, missing = to_text(values)
    text = np.where(missing, "NaT", text)
    try:
        # numpy parses plain ISO text fast; it warns (deprecated) on offsets, which pandas owns.
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            parsed = text.astype("datetime64[ns]")
    except (ValueError, TypeError, Warning):
        index = pd.to_datetime(pd.Index(text), errors="coerce", utc=True, format="ISO8601")
        parsed = index.tz_convert(None).to_numpy(dtype="datetime64[ns]")
    bad = int((np.isnat(parsed) & ~missing).sum())
    return parsed, bad


def datetime_parts(times: np.ndarray) -> np.ndarray:
    """(n, 4) float64: hour, day of week (Monday 0), month (1-12), is-weekend; NaN for NaT."""
    days = times.astype("datetime64[D]")
    day_number = days.astype(np.int64)
    parts = np.empty((times.shape[0], len(DATETIME_PARTS)), dtype=np.float64)
    with np.errstate(invalid="ignore"):  # NaT rows; overwritten with NaN below
        parts[:, 0] = (times - days) // np.timedelta64(1, "h")
    # 1970-01-01 was a Thursday (3 when Monday is 0).
    parts[:, 1] = (day_number + 3) % 7
    parts[:, 2] = times.astype("datetime64[M]").astype(np.int64) % 12 + 1
    parts[:, 3] = parts[:, 1] >= 5
    parts[np.isnat(times)] = np.nan
    return parts
