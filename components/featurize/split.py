"""Deterministic train / valid / test split of the typed rows.

Two rules, chosen by the schema:

- no ``time_column``: stratified by the target label. Within each label (in sorted order) the
  rows are shuffled by one ``numpy.random.default_rng(seed)`` permutation; the first
  ``round(n * test_fraction)`` go to test, the next ``round(n * valid_fraction)`` to valid, the
  rest to train. Same rows, same seed: the same split, on any machine.
- a ``time_column``: by time, no shuffling. Rows are ordered by time (stable: ties keep file
  order); the oldest go to train, then valid, and the newest ``round(n * test_fraction)`` to
  test, so the model is always judged on data newer than what it learned from.

Every split keeps its rows in file order, so its table reads like the source.

Small data (fewer rows than ``cv_below_rows``, no time column): :func:`kfold_rows` assigns every
row to one of ``k`` folds by scikit-learn's ``StratifiedKFold(k, shuffle=True,
random_state=seed)``; train, valid and test then each hold every row (the refit trains on all of
them, compare ranks and the gate judges out-of-fold predictions over all of them).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.model_selection import StratifiedKFold

from components._shared import keys
from components._shared.errors import ConfigError, DataError, expected_got
from components._shared.schema import Schema

# More folds than this buys nothing on small data but k refits per candidate.
MAX_FOLDS = 20


@dataclass(frozen=True)
class Split:
    """Row positions (``iloc``) of each split, sorted, and how they were chosen.

    ``folds`` is set only for cross-validation (``keys.SPLIT_KFOLD``): the fold of every row.
    """

    train: np.ndarray
    valid: np.ndarray
    test: np.ndarray
    method: str
    folds: np.ndarray | None = None

    @property
    def evaluation(self) -> str:
        """How candidates are evaluated on this split: "holdout" or the cross-validation."""
        if self.folds is None:
            return keys.EVALUATION_HOLDOUT
        return keys.cv_evaluation(int(self.folds.max()) + 1, int(self.folds.size))

    def rows(self, name: str) -> np.ndarray:
        """Positions of the split called ``name`` (train, valid or test)."""
        return {keys.TRAIN: self.train, keys.VALID: self.valid, keys.TEST: self.test}[name]


def check_fractions(valid_fraction: float, test_fraction: float) -> None:
    """Each fraction in (0, 1) and their sum below 1; a ConfigError naming the parameter."""
    for name, value in (("valid_fraction", valid_fraction), ("test_fraction", test_fraction)):
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        if not ok or not math.isfinite(value) or not 0.0 < value < 1.0:
            raise ConfigError(expected_got(name, "a number in (0, 1)", repr(value)))
    if valid_fraction + test_fraction >= 1.0:
        raise ConfigError(
            expected_got(
                "valid_fraction + test_fraction",
                "less than 1 (train needs rows)",
                f"{valid_fraction} + {test_fraction} = {valid_fraction + test_fraction}",
            )
        )


def split_rows(
    frame: pd.DataFrame,
    schema: Schema,
    *,
    valid_fraction: float,
    test_fraction: float,
    seed: int,
) -> Split:
    """Split ``frame`` by time when the schema has a time column, else stratified by target.

    Raises:
        ConfigError: bad fractions or seed.
        DataError: a missing target or time column, null targets or times, or a split that
            would be empty.
    """
    check_fractions(valid_fraction, test_fraction)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ConfigError(expected_got("seed", "an integer >= 0", repr(seed)))
    if schema.time_column:
        split = _by_time(frame, schema.time_column, valid_fraction, test_fraction)
    else:
        split = _stratified(frame, schema.target, valid_fraction, test_fraction, seed)
    empty = [name for name in keys.SPLITS if split.rows(name).size == 0]
    if empty:
        raise DataError(
            f"split(s) {empty} would be empty with {len(frame)} rows, valid_fraction "
            f"{valid_fraction} and test_fraction {test_fraction}: use more rows or larger fractions"
        )
    return split


def _column(frame: pd.DataFrame, name: str, what: str) -> pd.Series:
    if name not in frame.columns:
        raise DataError(f"{what} column {name!r} is not in the dataset: {list(frame.columns)}")
    column = frame[name]
    nulls = int(column.isna().sum())
    if nulls:
        raise DataError(f"{what} column {name!r} has {nulls} null value(s): cannot split them")
    return column


def _stratified(
    frame: pd.DataFrame, target: str, valid_fraction: float, test_fraction: float, seed: int
) -> Split:
    labels = _column(frame, target, "target").astype(str).to_numpy()
    rng = np.random.default_rng(seed)
    parts: dict[str, list[np.ndarray]] = {name: [] for name in keys.SPLITS}
    for label in sorted(set(labels.tolist())):
        rows = rng.permutation(np.flatnonzero(labels == label))
        n_test = round(rows.size * test_fraction)
        n_valid = round(rows.size * valid_fraction)
        parts[keys.TEST].append(rows[:n_test])
        parts[keys.VALID].append(rows[n_test : n_test + n_valid])
        parts[keys.TRAIN].append(rows[n_test + n_valid :])
    merged = {name: np.sort(np.concatenate(p)) for name, p in parts.items()}
    return Split(merged[keys.TRAIN], merged[keys.VALID], merged[keys.TEST], keys.SPLIT_STRATIFIED)


def _by_time(
    frame: pd.DataFrame, time_column: str, valid_fraction: float, test_fraction: float
) -> Split:
    times = _column(frame, time_column, "time")
    order = np.argsort(times.to_numpy(), kind="stable")
    n = order.size
    n_test = round(n * test_fraction)
    n_valid = round(n * valid_fraction)
    n_train = n - n_valid - n_test
    return Split(
        np.sort(order[:n_train]),
        np.sort(order[n_train : n_train + n_valid]),
        np.sort(order[n_train + n_valid :]),
        keys.SPLIT_TIME,
    )


def kfold_rows(frame: pd.DataFrame, schema: Schema, *, folds: int, seed: int) -> Split:
    """Every row in train, valid and test, each assigned a fold by a seeded StratifiedKFold.

    Raises:
        DataError: a null target, or a class with fewer rows than ``folds``.
    """
    labels = _column(frame, schema.target, "target").astype(str).to_numpy()
    values, counts = np.unique(labels, return_counts=True)
    if counts.min() < folds:
        raise DataError(
            expected_got(
                f"rows of each target value for {folds}-fold cross-validation",
                f"at least {folds}",
                dict(zip(values.tolist(), counts.tolist(), strict=True)),
            )
        )
    assigned = np.zeros(len(frame), dtype=np.int8)
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    for fold, (_, held) in enumerate(splitter.split(np.zeros(len(frame)), labels)):
        assigned[held] = fold
    every = np.arange(len(frame))
    return Split(every, every, every, keys.SPLIT_KFOLD, assigned)
