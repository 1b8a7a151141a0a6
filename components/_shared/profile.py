"""Reference statistics of a typed table: the profile.

validate computes it once on the training data; it travels in every model bundle
(``profile.json``) and is what drift monitoring and serving skew checks compare new data with.
It is plain JSON (a dict with ``format_version``), computed with vectorised numpy: one sort per
numeric column gives its quantiles, histogram and range at once; text columns are counted from
their factorized codes.

Layout (``format_version`` 1)::

    {"format_version": 1, "rows": int,
     "source": {"uri": str, "sha256": str, "rows": int} | None,
     "target": {"column", "positive_label", "class_counts": {label: rows},
                "positive_rows", "positive_rate", "missing"} | None,
     "columns": {name: {"kind", "role", "count", "nulls", ...per kind}}}

Per kind: numeric/integer add ``mean``, ``std`` (ddof 1), ``min``, ``max``, ``quantiles`` (101
values, at 0%, 1%, ..., 100%, linear interpolation) and ``histogram`` = {``edges`` (21),
``counts`` (20)}: equal-width bins between min and max, the last bin closed; boolean adds
``true`` and ``false``; categorical adds ``unique`` and ``value_counts`` (the 50 most frequent
values, most frequent first, plus ``"__other__"`` = the rows of every other value); identifier
adds ``unique``; datetime adds ``min`` and ``max`` (ISO 8601).

Numeric/integer entries also carry ``distinct`` (number of distinct finite values) and
``sketch``, what the exact drift tests need and a histogram cannot give (added within format
version 1; readers that do not know it ignore it)::

    "sketch": {"values": [sorted distinct points], "counts": [weight per point],
               "exact": bool, "w1_error": float, "cdf_error": float}

When the column has at most ``SKETCH_POINTS`` distinct values the sketch *is* the column
(values with their row counts, ``exact`` true, errors 0), so KS, Wasserstein, chi-square and
binned tests on it are exact. Otherwise it holds ``SKETCH_POINTS`` equally spaced order
statistics (the value at rank ``floor((i + 0.5) * n / SKETCH_POINTS)``, one weight each), and
records how far it is from the column: ``w1_error`` is an upper bound of the Wasserstein-1
distance between the column and the sketch (the mean distance of the rank coupling that maps
each block of ranks to its point), ``cdf_error`` bounds ``sup |F_column - F_sketch|`` (one block's
share of rows). Drift adds these to its own error bounds.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Final

import numpy as np
import pandas as pd

from components._shared.schema import ColumnSchema, Schema

PROFILE_FORMAT_VERSION: Final = 1
HISTOGRAM_BINS: Final = 20
QUANTILE_PROBS: Final = tuple(i / 100 for i in range(101))
TOP_VALUES: Final = 50
OTHER_BUCKET: Final = "__other__"
# Points of the numeric sketch: enough that Evidently's small-sample regime (KS, reference of at
# most 1,000 rows) is always stored exactly, small enough to keep profile.json in the low MB.
SKETCH_POINTS: Final = 2048

Encoded = tuple[np.ndarray, np.ndarray]  # factorized (codes, uniques); code -1 is null


def compute_profile(
    frame: pd.DataFrame,
    schema: Schema,
    *,
    source: Mapping[str, Any] | None = None,
    encoded: Mapping[str, Encoded] | None = None,
) -> dict[str, Any]:
    """Reference statistics of ``frame`` (typed as ``schema`` says) as a JSON-ready dict.

    Args:
        frame: The typed table (validate's dataset output).
        schema: Its schema; columns missing from ``frame`` are skipped.
        source: ``{"uri", "sha256", "rows"}`` of the raw data, recorded as is.
        encoded: Factorized codes of text columns already computed (validate passes its own so
            the strings are not hashed twice); others are factorized here.
    """
    encoded = dict(encoded or {})
    columns = [c for c in schema.columns if c.name in frame.columns]
    numeric = [c for c in columns if c.kind in ("numeric", "integer")]
    entries: dict[str, dict[str, Any]] = {}
    # numpy releases the GIL while sorting and reducing, so numeric columns profile in parallel.
    workers = min(len(numeric), os.cpu_count() or 1, 8)
    if workers > 1:
        with ThreadPoolExecutor(workers) as pool:
            done = dict(
                zip(
                    [c.name for c in numeric],
                    pool.map(lambda c: _numeric(frame[c.name]), numeric),
                    strict=True,
                )
            )
    else:
        done = {c.name: _numeric(frame[c.name]) for c in numeric}
    for column in columns:
        values = frame[column.name]
        if column.name in done:
            entry = done[column.name]
        elif column.kind == "boolean":
            entry = _boolean(values)
        elif column.kind == "datetime":
            entry = _datetime(values)
        else:
            codes_uniques = encoded.get(column.name) or _factorize(values)
            encoded[column.name] = codes_uniques
            entry = _text(*codes_uniques, top=column.kind != "identifier")
        entries[column.name] = {"kind": column.kind, "role": column.role, **entry}
    return {
        "format_version": PROFILE_FORMAT_VERSION,
        "rows": len(frame),
        "source": dict(source) if source is not None else None,
        "target": _target(schema, encoded.get(schema.target)),
        "columns": entries,
    }


def _factorize(values: pd.Series) -> Encoded:
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    return codes, np.asarray(uniques, dtype=object)


def _numeric(values: pd.Series) -> dict[str, Any]:
    x = values.to_numpy(dtype=np.float64, na_value=np.nan)
    finite = np.isfinite(x)
    present_count = int(np.count_nonzero(finite))
    present = x if present_count == x.size else x[finite]
    entry: dict[str, Any] = {"count": present_count, "nulls": int(x.size - present_count)}
    if present_count == 0:
        empty: dict[str, list[float]] = {"edges": [], "counts": []}
        return {
            **entry,
            "mean": None,
            "std": None,
            "min": None,
            "max": None,
            "quantiles": [],
            "histogram": empty,
            "distinct": 0,
            "sketch": None,
        }
    ordered = np.sort(present)
    n = ordered.size
    mean = float(ordered.mean())
    centred = ordered - mean
    std = float(np.sqrt(np.dot(centred, centred) / (n - 1))) if n > 1 else 0.0
    del centred
    positions = np.asarray(QUANTILE_PROBS) * (n - 1)
    below = np.floor(positions).astype(np.intp)
    above = np.minimum(below + 1, n - 1)
    share = positions - below
    quantiles = ordered[below] + (ordered[above] - ordered[below]) * share
    lo, hi = float(ordered[0]), float(ordered[-1])
    edges = (
        np.linspace(lo, hi, HISTOGRAM_BINS + 1)
        if hi > lo
        else np.linspace(lo - 0.5, lo + 0.5, HISTOGRAM_BINS + 1)
    )
    # Bins are [e_i, e_i+1) and the last one is closed, as in numpy.histogram.
    cuts = np.searchsorted(ordered, edges[1:-1], side="left")
    counts = np.diff(np.concatenate(([0], cuts, [n])))
    return {
        **entry,
        "mean": mean,
        "std": std,
        "min": lo,
        "max": hi,
        "quantiles": [float(q) for q in quantiles],
        "histogram": {"edges": [float(e) for e in edges], "counts": [int(c) for c in counts]},
        **_sketch(ordered),
    }


def _sketch(ordered: np.ndarray) -> dict[str, Any]:
    """``distinct`` and ``sketch`` of a sorted, finite, non-empty column (see the module doc)."""
    n = ordered.size
    # Start of each run of equal values: one pass over the sorted column, no hashing.
    starts = np.flatnonzero(np.concatenate(([True], ordered[1:] != ordered[:-1])))
    distinct = int(starts.size)
    if distinct <= SKETCH_POINTS:
        counts = np.diff(np.append(starts, n))
        return {
            "distinct": distinct,
            "sketch": {
                "values": [float(v) for v in ordered[starts]],
                "counts": [int(c) for c in counts],
                "exact": True,
                "w1_error": 0.0,
                "cdf_error": 0.0,
            },
        }
    ranks = ((np.arange(SKETCH_POINTS) + 0.5) * n / SKETCH_POINTS).astype(np.intp)
    points = ordered[ranks]
    # Rank coupling: rows [b_i, b_i+1) go to point i; its mean distance bounds W1 from above.
    bounds = (np.arange(SKETCH_POINTS + 1) * n) // SKETCH_POINTS
    assigned = np.repeat(points, np.diff(bounds))
    w1_error = float(np.mean(np.abs(ordered - assigned)))
    values, weights = np.unique(points, return_counts=True)
    return {
        "distinct": distinct,
        "sketch": {
            "values": [float(v) for v in values],
            "counts": [int(c) for c in weights],
            "exact": False,
            "w1_error": w1_error,
            # One block of ranks, plus one for the rounding of ranks to points.
            "cdf_error": float(2 * np.max(np.diff(bounds)) / n),
        },
    }


def _boolean(values: pd.Series) -> dict[str, Any]:
    mask = np.asarray(values.isna())
    truth = values.to_numpy(dtype=bool, na_value=False)
    trues = int(np.count_nonzero(truth & ~mask))
    nulls = int(mask.sum())
    return {
        "count": len(values) - nulls,
        "nulls": nulls,
        "true": trues,
        "false": len(values) - nulls - trues,
    }


def _datetime(values: pd.Series) -> dict[str, Any]:
    x = values.to_numpy(dtype="datetime64[ns]")
    present = x[~np.isnat(x)]
    entry: dict[str, Any] = {"count": int(present.size), "nulls": int(x.size - present.size)}
    if present.size == 0:
        return {**entry, "min": None, "max": None}
    return {
        **entry,
        "min": pd.Timestamp(present.min()).isoformat(),
        "max": pd.Timestamp(present.max()).isoformat(),
    }


def _text(codes: np.ndarray, uniques: np.ndarray, *, top: bool) -> dict[str, Any]:
    counts = np.bincount(codes + 1, minlength=len(uniques) + 1)
    nulls, counts = int(counts[0]), counts[1:]
    entry: dict[str, Any] = {
        "count": int(codes.size - nulls),
        "nulls": nulls,
        "unique": len(uniques),
    }
    if not top:
        return entry
    order = np.argsort(-counts, kind="stable")[:TOP_VALUES]
    value_counts = {str(uniques[i]): int(counts[i]) for i in order}
    value_counts[OTHER_BUCKET] = int(counts.sum() - counts[order].sum())
    return {**entry, "value_counts": value_counts}


def _target(schema: Schema, encoded: Encoded | None) -> dict[str, Any] | None:
    if encoded is None:
        return None
    codes, uniques = encoded
    counts = np.bincount(codes + 1, minlength=len(uniques) + 1)
    per_label = {
        str(uniques[i]): int(counts[i + 1]) for i in np.argsort(-counts[1:], kind="stable")
    }
    labelled = int(counts[1:].sum())
    positive = per_label.get(schema.positive_label, 0)
    return {
        "column": schema.target,
        "positive_label": schema.positive_label,
        "class_counts": per_label,
        "positive_rows": positive,
        "positive_rate": positive / labelled if labelled else 0.0,
        "missing": int(counts[0]),
    }


def column_profile(profile: Mapping[str, Any], column: ColumnSchema | str) -> dict[str, Any]:
    """The profile entry of one column (by schema column or name); KeyError naming it if absent."""
    name = column if isinstance(column, str) else column.name
    try:
        return dict(profile["columns"][name])
    except KeyError:
        raise KeyError(
            f"profile has no column {name!r}; it has {sorted(profile['columns'])}"
        ) from None


def numeric_profile(values: np.ndarray | pd.Series) -> dict[str, Any]:
    """The profile entry of one numeric column (count, moments, quantiles, histogram, sketch).

    Drift uses it for series that validate never sees, such as the model's reference scores.
    """
    return _numeric(pd.Series(np.asarray(values, dtype=np.float64)))
