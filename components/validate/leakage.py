"""The leakage check: a feature that, on its own, predicts the label almost perfectly.

Such a column is usually known only after the outcome (a cancellation date for churn, a
"collected" flag for default): a model learns it, scores well on held-out rows, and fails in
production, where the value does not exist yet. Each feature's own AUC against the binary label
is measured on at most :data:`SAMPLE_ROWS` rows (seeded):

- numeric, integer and datetime columns: the values as scores, nulls placed lowest and then
  highest (a null pattern can leak too), the better of the two;
- boolean and categorical columns: each row scored by its value's positive rate in the *other*
  folds (5-fold, smoothed towards the overall rate), so a column with many values cannot score
  well by memorising rows;
- an AUC below 0.5 counts as its mirror (1 - AUC): predicting the negative class is as telling.

A feature is reported when its AUC reaches ``leakage_auc``, or when it stands far above every
other feature: its lift over chance (AUC - 0.5) at least :data:`FAR_ABOVE_RATIO` times every
other feature's, with an AUC of at least :data:`FAR_ABOVE_MIN_AUC`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

import numpy as np
from scipy.stats import rankdata

from components.validate.checks import ERROR, WARNING, Issue, Severity
from components.validate.schema_inference import TypedColumn

SAMPLE_ROWS: Final = 50_000
FOLDS: Final = 5
SMOOTHING: Final = 10.0  # pseudo-rows of the overall positive rate added to each value
FAR_ABOVE_RATIO: Final = 2.0
FAR_ABOVE_MIN_AUC: Final = 0.8
SEED: Final = 0
_NUMBER_KINDS: Final = ("numeric", "integer", "datetime")


def feature_aucs(
    columns: Mapping[str, TypedColumn], positive: np.ndarray, *, seed: int = SEED
) -> dict[str, float]:
    """Each column's own AUC (at least 0.5) against ``positive`` (bool per row).

    Rows without a label must already be left out of ``positive`` by the caller (``labelled``).
    """
    rows = positive.size
    rng = np.random.default_rng(seed)
    take = np.sort(rng.choice(rows, SAMPLE_ROWS, replace=False)) if rows > SAMPLE_ROWS else None
    y = positive if take is None else positive[take]
    if y.all() or not y.any():
        return {}
    folds = rng.permutation(y.size) % FOLDS
    out = {}
    for name, column in columns.items():
        scores = _candidate_scores(column, take, y, folds)
        out[name] = max(_mirror(_auc(y, s)) for s in scores) if scores else 0.5
    return out


def _candidate_scores(
    column: TypedColumn, take: np.ndarray | None, y: np.ndarray, folds: np.ndarray
) -> list[np.ndarray]:
    """The score arrays whose AUC is tried for one column (sampled rows)."""
    if column.kind in _NUMBER_KINDS:
        x = _as_float(column)
        x = x if take is None else x[take]
        missing = np.isnan(x)
        if not missing.any():
            return [x]
        if missing.all():
            return []
        return [np.where(missing, -np.inf, x), np.where(missing, np.inf, x)]
    codes = _codes(column)
    codes = codes if take is None else codes[take]
    return [_out_of_fold_rate(codes, y, folds)]


def _as_float(column: TypedColumn) -> np.ndarray:
    values = column.values
    if column.kind == "datetime":
        ns = values.to_numpy(dtype="datetime64[ns]")
        return np.where(np.isnat(ns), np.nan, ns.view(np.int64).astype(np.float64))
    return values.to_numpy(dtype=np.float64, na_value=np.nan)


def _codes(column: TypedColumn) -> np.ndarray:
    """Non-negative integer codes per row, null its own code 0."""
    if column.codes is not None:
        return column.codes.astype(np.int64) + 1
    values = column.values
    mask = np.asarray(values.isna())
    truth = values.to_numpy(dtype=bool, na_value=False)
    return np.where(mask, 0, truth.astype(np.int64) + 1)


def _out_of_fold_rate(codes: np.ndarray, y: np.ndarray, folds: np.ndarray) -> np.ndarray:
    """Each row's value's positive rate in the other folds, smoothed towards the overall rate."""
    size = int(codes.max()) + 1
    total_n = np.bincount(codes, minlength=size).astype(np.float64)
    total_pos = np.bincount(codes, weights=y.astype(np.float64), minlength=size)
    prior = float(y.mean())
    scores = np.empty(codes.size, dtype=np.float64)
    for k in range(FOLDS):
        inside = folds == k
        n = total_n - np.bincount(codes[inside], minlength=size)
        pos = total_pos - np.bincount(
            codes[inside], weights=y[inside].astype(np.float64), minlength=size
        )
        rate = (pos + SMOOTHING * prior) / (n + SMOOTHING)
        scores[inside] = rate[codes[inside]]
    return scores


def _auc(y: np.ndarray, scores: np.ndarray) -> float:
    """Mann-Whitney AUC, ties counting one half."""
    ranks = rankdata(scores)
    n_pos = int(y.sum())
    n_neg = y.size - n_pos
    return float((ranks[y].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def _mirror(auc: float) -> float:
    return max(auc, 1.0 - auc)


def leakage_issues(
    aucs: Mapping[str, float], *, target: str, threshold: float, mode: str
) -> list[Issue]:
    """One issue per feature that passes ``threshold`` or stands far above every other."""
    if mode == "off" or not aucs:
        return []
    severity: Severity = ERROR if mode == "error" else WARNING
    ranked = sorted(aucs.items(), key=lambda kv: -kv[1])
    issues = []
    for position, (name, auc) in enumerate(ranked):
        others = [(n, a) for n, a in ranked if n != name]
        runner = others[0] if others else None
        far = (
            position == 0
            and runner is not None
            and auc >= FAR_ABOVE_MIN_AUC
            and auc - 0.5 >= FAR_ABOVE_RATIO * (runner[1] - 0.5)
        )
        if auc < threshold and not far:
            continue
        next_best = f"; next best {runner[0]!r} {runner[1]:.3f}" if runner else ""
        found = (
            f"AUC {auc:.3f} against {target!r} on its own{next_best}: if it is known only after "
            "the outcome, drop it (drop_columns)"
        )
        expected = (
            f"no single feature with AUC >= {threshold} (leakage_auc) or far above the others"
        )
        issues.append(Issue(severity, "leakage", name, expected, found))
    return issues
