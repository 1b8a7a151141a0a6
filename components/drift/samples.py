"""Bounded samples for the Evidently report: the reference from its profile, the current rows
by reservoir.

The bundle carries no reference rows, only the profile, so the reference sample is drawn from
each column's marginal distribution in the profile (numeric: the sketch points with their
weights; categorical: the value counts, ``__other__`` included; boolean: true/false). Columns
are drawn independently: enough for per-column drift, which is all DataDriftPreset looks at.
The current sample is a uniform sample of the streamed rows (bottom-k of random keys), so it
never needs more than ``size`` rows in memory.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd


def reference_sample(
    profile: Mapping[str, Any], kinds: Mapping[str, str], size: int, seed: int = 0
) -> pd.DataFrame:
    """``size`` rows (at most the profile's rows) drawn from each column's profiled marginal."""
    rng = np.random.default_rng(seed)
    size = int(min(size, max(int(profile.get("rows") or size), 1)))
    out: dict[str, Any] = {}
    for name, kind in kinds.items():
        entry = profile["columns"][name]
        if kind in ("numeric", "integer"):
            sketch = entry["sketch"]
            weights = np.asarray(sketch["counts"], dtype=np.float64)
            out[name] = rng.choice(np.asarray(sketch["values"]), size, p=weights / weights.sum())
        elif kind == "boolean":
            total = entry["true"] + entry["false"]
            out[name] = np.where(rng.random(size) < entry["true"] / max(total, 1), "True", "False")
        else:
            counts = {k: v for k, v in entry["value_counts"].items() if v > 0}
            weights = np.asarray(list(counts.values()), dtype=np.float64)
            out[name] = rng.choice(
                np.asarray(list(counts), dtype=object), size, p=weights / weights.sum()
            )
    return pd.DataFrame(out)


class Reservoir:
    """A uniform sample of at most ``size`` rows of a stream of frames (bottom-k random keys)."""

    def __init__(self, size: int, seed: int = 0) -> None:
        self.size = int(size)
        self.rng = np.random.default_rng(seed)
        self.rows: pd.DataFrame | None = None
        self.keys = np.empty(0)

    def add(self, chunk: pd.DataFrame) -> None:
        """Offer every row of ``chunk``; only rows that could stay in the sample are copied."""
        if self.size <= 0 or chunk.empty:
            return
        keys = self.rng.random(len(chunk))
        if self.rows is not None and len(self.keys) >= self.size:
            cutoff = self.keys.max()
            mask = keys < cutoff
            chunk, keys = chunk.loc[mask], keys[mask]
        if chunk.empty:
            return
        rows = chunk if self.rows is None else pd.concat([self.rows, chunk], ignore_index=True)
        all_keys = np.concatenate([self.keys, keys])
        order = np.argsort(all_keys, kind="stable")[: self.size]
        self.rows = rows.iloc[order].reset_index(drop=True)
        self.keys = all_keys[order]

    def frame(self) -> pd.DataFrame:
        return self.rows if self.rows is not None else pd.DataFrame()
