"""Per-entity rolling aggregates over time windows, using only earlier rows (no leakage).

For row ``i`` the aggregate covers the rows ``j`` of the same entity with
``time_i - window < time_j < time_i``: strictly before the row itself, so a row never sees its
own value or any row at the same instant. Only the rows passed in are history: at serving time a
single request has no history unless the caller sends the entity's earlier rows with it.

Vectorised: rows are sorted once by (entity, time); every window is a contiguous slice of that
order found with ``np.searchsorted``, and sums and counts come from prefix sums. Prefix sums
differ from a row-by-row sum only at floating-point rounding level.
"""

from __future__ import annotations

import re

import numpy as np

from components._shared.errors import ConfigError, expected_got

AGGREGATES: tuple[str, ...] = ("mean", "sum", "count")

_UNIT_NS = {
    "W": 7 * 86_400 * 10**9,
    "D": 86_400 * 10**9,
    "h": 3_600 * 10**9,
    "min": 60 * 10**9,
    "s": 10**9,
}
_WINDOW = re.compile(r"^\s*(\d+)\s*(W|D|h|min|s)\s*$")


def window_ns(window: str) -> int:
    """Length of a window like ``"30D"``, ``"12h"``, ``"90min"``, ``"2W"`` in nanoseconds."""
    match = _WINDOW.match(window) if isinstance(window, str) else None
    if match is None or int(match.group(1)) <= 0:
        raise ConfigError(
            expected_got(
                "rolling window", "a positive count and unit W, D, h, min or s (e.g. '30D')", window
            )
        )
    return int(match.group(1)) * _UNIT_NS[match.group(2)]


def rolling_aggregate(
    entity_text: np.ndarray,
    entity_missing: np.ndarray,
    times: np.ndarray,
    values: np.ndarray,
    *,
    window: int,
    agg: str,
) -> np.ndarray:
    """Aggregate ``values`` (float, NaN = missing) over each row's earlier same-entity window.

    Args:
        entity_text: entity key of each row as text.
        entity_missing: rows without an entity; they get no history and give none.
        times: datetime64[ns]; rows at NaT get no history and give none.
        values: the column aggregated; NaN values are skipped (like pandas ``rolling``).
        window: window length in nanoseconds.
        agg: ``mean`` (NaN when the window holds no value), ``sum`` or ``count`` (0 then).

    Returns:
        float64 array, one value per row, in input order.
    """
    n = values.shape[0]
    if n == 0:
        return np.empty(0, dtype=np.float64)
    _, codes = np.unique(entity_text, return_inverse=True)
    codes = codes.astype(np.int64).ravel()
    stamps = times.astype("datetime64[ns]").astype(np.int64)
    alone = entity_missing | np.isnat(times)
    if alone.any():
        # A code of their own: such a row shares a window with no other row.
        codes[alone] = codes.max() + 1 + np.arange(int(alone.sum()))
        stamps = np.where(alone, 0, stamps)
    # Times as ranks, so that (entity, time) packs into one sortable int64 key.
    instants = np.unique(stamps)
    rank = np.searchsorted(instants, stamps)
    low = np.searchsorted(instants, stamps - window, side="right")
    base = codes * (instants.shape[0] + 1)
    key = base + rank
    order = np.argsort(key, kind="stable")
    sorted_key = key[order]
    start = np.searchsorted(sorted_key, base + low, side="left")
    stop = np.searchsorted(sorted_key, key, side="left")

    present = ~np.isnan(values[order])
    counts = np.concatenate(([0], np.cumsum(present)))
    count = (counts[stop] - counts[start]).astype(np.float64)
    if agg == "count":
        return count
    sums = np.concatenate(([0.0], np.cumsum(np.where(present, values[order], 0.0))))
    total = sums[stop] - sums[start]
    if agg == "sum":
        return total
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / np.maximum(count, 1.0), np.nan)
