"""The numbers the gate decides on: metrics with intervals, paired tests, slices.

Everything is computed on the same test rows for the challenger and the champion, so every
difference is paired (DeLong for AUC, bootstrap for AUC, log loss and accuracy, McNemar for
accuracy). Nothing here decides; :mod:`components.gate.decision` does.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np
import pandas as pd

from components._shared.errors import ConfigError, expected_got
from components._shared.metrics import classification_metrics
from components._shared.stats import (
    BootstrapResult,
    DeLongResult,
    Interval,
    McNemarResult,
    auc_interval,
    delong_test,
    mcnemar_test,
    paired_bootstrap,
    row_correct,
)
from components.gate.config import GateConfig

MISSING_VALUE: Final = "(missing)"
# A slice column with more values than this is continuous or an identifier: not a slice.
MAX_SLICE_VALUES: Final = 50
# DeLong needs a few rows of each class for a variance worth reading.
MIN_SLICE_CLASS_ROWS: Final = 5


@dataclass(frozen=True)
class SliceResult:
    """One value of one slice column.

    ``judged`` slices have enough rows of both classes; ``challenger`` holds the challenger's AUC
    with its DeLong interval, ``versus`` the paired DeLong test against the champion (at the
    Bonferroni-corrected slice confidence) when there is a champion.
    """

    column: str
    value: str
    rows: int
    positives: int
    judged: bool
    note: str = ""
    challenger: Interval | None = None
    versus: DeLongResult | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain values for JSON."""
        return {
            "column": self.column,
            "value": self.value,
            "rows": self.rows,
            "positives": self.positives,
            "judged": self.judged,
            "note": self.note,
            "challenger_auc": self.challenger.to_dict() if self.challenger else None,
            "versus_champion": self.versus.to_dict() if self.versus else None,
        }


@dataclass
class Evidence:
    """Test-split statistics of the challenger, and of its difference from the champion."""

    rows: int
    positives: int
    challenger: dict[str, float]
    auc: Interval
    bootstrap: dict[str, BootstrapResult]
    champion: dict[str, float] | None = None
    delong: DeLongResult | None = None
    mcnemar: McNemarResult | None = None
    slices: list[SliceResult] = field(default_factory=list)
    slice_confidence: float = 0.95

    def to_dict(self) -> dict[str, Any]:
        """Plain values for JSON."""
        return {
            "rows": self.rows,
            "positives": self.positives,
            "challenger": self.challenger,
            "champion": self.champion,
            "challenger_auc_delong": self.auc.to_dict(),
            "bootstrap": {m: r.to_dict() for m, r in self.bootstrap.items()},
            "delong": self.delong.to_dict() if self.delong else None,
            "mcnemar": self.mcnemar.to_dict() if self.mcnemar else None,
            "slice_confidence": self.slice_confidence,
            "slices": [s.to_dict() for s in self.slices],
        }


def slice_values(frame: pd.DataFrame, column: str) -> np.ndarray:
    """The column's values as text, nulls as ``(missing)``.

    Raises:
        ConfigError: the column is not in the test rows, or has too many values to be a slice.
    """
    if column not in frame.columns:
        raise ConfigError(
            expected_got(
                "slice_columns", f"columns of the test split {list(frame.columns)}", repr(column)
            )
        )
    raw = frame[column]
    values = raw.astype(object).where(raw.notna(), MISSING_VALUE).astype(str).to_numpy()
    distinct = len(set(values.tolist()))
    if distinct > MAX_SLICE_VALUES:
        raise ConfigError(
            f"slice_columns: column {column!r} has {distinct} distinct values in the test split; "
            f"a slice column must be categorical or boolean (at most {MAX_SLICE_VALUES} values)"
        )
    return values


def _slices(
    frame: pd.DataFrame,
    y: np.ndarray,
    challenger: np.ndarray,
    champion: np.ndarray | None,
    config: GateConfig,
) -> tuple[list[SliceResult], float]:
    groups = []
    for column in config.slice_columns:
        values = slice_values(frame, column)
        for value in sorted(set(values.tolist())):
            groups.append((column, value, values == value))
    judged = [
        g
        for g in groups
        if g[2].sum() >= config.min_slice_rows
        and MIN_SLICE_CLASS_ROWS <= y[g[2]].sum() <= g[2].sum() - MIN_SLICE_CLASS_ROWS
    ]
    # Bonferroni: with k slices judged, each at 1 - alpha/k, the chance that any slice of an
    # equally good challenger is flagged by noise stays below alpha.
    alpha = 1.0 - config.confidence
    level = 1.0 - alpha / max(len(judged), 1)
    results = []
    for column, value, mask in groups:
        rows, positives = int(mask.sum()), int(y[mask].sum())
        if not any(g[0] == column and g[1] == value for g in judged):
            note = (
                f"not judged: {rows} rows (< {config.min_slice_rows})"
                if rows < config.min_slice_rows
                else f"not judged: {positives} positive(s) of {rows}; need {MIN_SLICE_CLASS_ROWS} of each class"
            )
            results.append(SliceResult(column, value, rows, positives, False, note))
            continue
        interval = auc_interval(y[mask], challenger[mask], confidence=level)
        versus = (
            delong_test(y[mask], challenger[mask], champion[mask], confidence=level)
            if champion is not None
            else None
        )
        results.append(SliceResult(column, value, rows, positives, True, "", interval, versus))
    return results, level


def compute_evidence(
    labels: np.ndarray,
    challenger: np.ndarray,
    champion: np.ndarray | None,
    frame: pd.DataFrame,
    config: GateConfig,
) -> Evidence:
    """Every statistic the decision rule reads.

    Args:
        labels: 0/1 test labels.
        challenger: The challenger's P(positive) on the test rows.
        champion: The champion's P(positive) on the same rows, or None (first deployment).
        frame: The raw test rows (slice columns are read from it).
        config: Confidence level, resamples, seed and slices.
    """
    y = np.asarray(labels).astype(np.int64)
    booted = paired_bootstrap(
        y,
        challenger,
        champion,
        resamples=config.bootstrap_resamples,
        confidence=config.confidence,
        seed=config.seed,
    )
    slices, level = _slices(frame, y, challenger, champion, config)
    evidence = Evidence(
        rows=int(y.size),
        positives=int(y.sum()),
        challenger=classification_metrics(y, challenger, what="test split, challenger"),
        auc=auc_interval(y, challenger, confidence=config.confidence),
        bootstrap=booted,
        slices=slices,
        slice_confidence=level,
    )
    if champion is not None:
        evidence.champion = classification_metrics(y, champion, what="test split, champion")
        evidence.delong = delong_test(y, challenger, champion, confidence=config.confidence)
        evidence.mcnemar = mcnemar_test(row_correct(y, challenger), row_correct(y, champion))
    return evidence
