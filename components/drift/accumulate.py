"""Streaming summaries of the current data, one per column, updated chunk by chunk.

Memory is bounded by the reference, not by the current data: a numeric column keeps a few arrays
of the size of its reference sketch (at most ``SKETCH_POINTS + 1`` entries), a categorical column
one count per distinct value. Each chunk is reduced with vectorised numpy (``searchsorted`` and
``bincount``) and can be dropped as soon as it is summarised.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

import numpy as np
import pandas as pd

from components.drift.stats import Interval

# Distinct current values off the reference points that are tracked by value (enough for
# Evidently's "at most 5 / at most 20 distinct values" rules); beyond it they are only counted.
MAX_TRACKED_OFF_POINT: Final = 64


@dataclass
class NumericSummary:
    """Current values of one numeric column against its sorted, distinct reference points."""

    points: np.ndarray
    rows: int = 0
    nulls: int = 0
    minimum: float = np.inf
    maximum: float = -np.inf
    bin_count: np.ndarray = field(init=False)
    bin_sum: np.ndarray = field(init=False)
    at: np.ndarray = field(init=False)
    # Values that are not reference points, with counts; None once more than the cap were seen.
    off_point: dict[float, int] | None = field(default_factory=dict)

    def __post_init__(self) -> None:
        m = self.points.size
        self.bin_count = np.zeros(m + 1, dtype=np.int64)
        self.bin_sum = np.zeros(m + 1, dtype=np.float64)
        self.at = np.zeros(m, dtype=np.int64)

    def update(self, values: np.ndarray) -> None:
        """Add one chunk (float64; NaN and +-inf are nulls, as Evidently drops them)."""
        x = np.asarray(values, dtype=np.float64)
        finite = np.isfinite(x)
        if not finite.all():
            self.nulls += int(x.size - np.count_nonzero(finite))
            x = x[finite]
        if x.size == 0:
            return
        self.rows += int(x.size)
        self.minimum = min(self.minimum, float(x.min()))
        self.maximum = max(self.maximum, float(x.max()))
        m = self.points.size
        k = np.searchsorted(self.points, x, side="right")
        self.bin_count += np.bincount(k, minlength=m + 1)
        self.bin_sum += np.bincount(k, weights=x, minlength=m + 1)
        on_point = k > 0
        on_point[on_point] = self.points[k[on_point] - 1] == x[on_point]
        self.at += np.bincount(k[on_point] - 1, minlength=m)
        if self.off_point is not None and not on_point.all():
            values_off, counts = np.unique(x[~on_point], return_counts=True)
            for value, count in zip(values_off.tolist(), counts.tolist(), strict=True):
                self.off_point[value] = self.off_point.get(value, 0) + count
            if len(self.off_point) > MAX_TRACKED_OFF_POINT:
                self.off_point = None

    def interval(self) -> Interval:
        """The summary as :class:`~components.drift.stats.Interval` for KS and Wasserstein."""
        below = np.cumsum(self.bin_count)[:-1]
        return Interval(
            points=self.points,
            below=below,
            at=self.at,
            bin_count=self.bin_count,
            bin_sum=self.bin_sum,
            rows=self.rows,
        )

    def value_counts(self) -> tuple[dict[float, int], bool]:
        """Counts per distinct value, and whether they are exact (off-point values tracked)."""
        counts = {float(p): int(c) for p, c in zip(self.points, self.at, strict=True) if c}
        if self.off_point is None:
            return counts, False
        for value, count in self.off_point.items():
            counts[value] = counts.get(value, 0) + count
        return counts, True

    def cumulative_below(self, edges: np.ndarray) -> tuple[np.ndarray, int]:
        """Estimated current rows ``< e`` for each edge, and the largest uncertainty in rows.

        Exact at reference points and outside the data; inside an interval between two
        reference points the rows of that interval are spread linearly (the values themselves
        are gone), so each estimate may be off by at most that interval's row count.
        """
        u = self.points
        below_points = np.concatenate(([0], np.cumsum(self.bin_count)))  # rows < u[j-1] ... per bin
        k = np.searchsorted(u, edges, side="right")  # edge lies in bin k
        left = np.where(k > 0, u[np.maximum(k - 1, 0)], min(self.minimum, edges.min()))
        right = np.where(k < u.size, u[np.minimum(k, u.size - 1)], max(self.maximum, edges.max()))
        at_left = np.where(k > 0, self.at[np.maximum(k - 1, 0)], 0)
        inside = self.bin_count[k] - at_left
        span = right - left
        share = np.where(span > 0, (edges - left) / np.where(span > 0, span, 1.0), 0.0)
        share = np.clip(share, 0.0, 1.0)
        on_left = edges == left
        estimate = below_points[k] + np.where(on_left, 0, at_left + inside * share)
        # Nothing lies below the smallest value or above the largest: those edges are exact.
        estimate = np.where(edges <= self.minimum, 0, estimate)
        estimate = np.where(edges > self.maximum, self.rows, estimate)
        uncertain = np.where((edges > self.minimum) & (edges <= self.maximum) & ~on_left, inside, 0)
        return estimate.astype(np.float64), int(uncertain.max(initial=0))


@dataclass
class CategoricalSummary:
    """Counts per value of one categorical (or boolean) column."""

    counts: dict[str, int] = field(default_factory=dict)
    rows: int = 0
    nulls: int = 0

    def update(self, values: pd.Series) -> None:
        """Add one chunk of text values (None/NaN are nulls)."""
        present = values.dropna()
        self.nulls += int(len(values) - len(present))
        self.rows += len(present)
        if len(present) == 0:
            return
        chunk = present.astype(str).value_counts(sort=False)
        for value, count in chunk.items():
            key = str(value)
            self.counts[key] = self.counts.get(key, 0) + int(count)
