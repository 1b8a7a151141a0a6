"""The featurize step: split the typed rows, fit the featurizer on train, write feature tables.

``main`` is what the KFP component calls; ``run(inputs, outputs, config)`` reads the inputs,
``compute`` does the work without touching artifacts, and ``write`` writes the four outputs last,
each atomically, so a failure leaves no output a later step could read as whole:

- ``featurizer``: the fitted :class:`~components._shared.featurizer.Featurizer` as JSON (a file);
- ``features``: ``train/valid/test.parquet``, the feature columns (float64) + ``__label__`` (int8);
- ``splits``: ``train/valid/test.parquet``, the raw typed rows of each split, every column kept;
- ``summary``: Markdown with split sizes, positive rates, features and unknown values.

Features of every split come from the same ``transform`` that serving calls. With rolling
aggregates, all rows are transformed together, so a row's history is every earlier row of its
entity whichever split it landed in (the values a live request could send along); the
featurizer's scaling statistics still come from train rows only.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from components._shared import keys
from components._shared.artifacts import (
    ArtifactLike,
    atomic_dir,
    markdown_table,
    set_display_name,
    write_text_atomic,
)
from components._shared.entry import sort_arguments
from components._shared.errors import ConfigError, DataError, DataReadError
from components._shared.featurizer import Featurizer
from components._shared.featurizer.values import DATETIME_PARTS
from components._shared.schema import Schema
from components.featurize.config import FeaturizeConfig
from components.featurize.split import Split, check_fractions, kfold_rows, split_rows

__all__ = ["FeaturizeInputs", "FeaturizeOutputs", "Featurized", "compute", "main", "run", "write"]


@dataclass(frozen=True)
class FeaturizeInputs:
    """validate's outputs: the typed rows and the data contract."""

    dataset: ArtifactLike
    schema: ArtifactLike


@dataclass(frozen=True)
class FeaturizeOutputs:
    """The fitted featurizer, the feature tables, the raw split rows and the summary."""

    featurizer: ArtifactLike
    features: ArtifactLike
    splits: ArtifactLike
    summary: ArtifactLike


@dataclass(frozen=True)
class Featurized:
    """What featurize computed, before anything is written."""

    contract: Schema
    split: Split
    fitted: Featurizer
    parts: dict[str, pd.DataFrame]  # raw typed rows per split
    matrices: dict[str, np.ndarray]  # feature matrix per split
    labels: dict[str, np.ndarray]  # 0/1 label per split
    unseen: dict[str, dict[str, int]]  # unrecognised values per split and column
    rows: int


def main(arguments: dict[str, Any]) -> None:
    """The component's entry: its arguments sorted into inputs, outputs and config."""
    run(*sort_arguments(arguments, FeaturizeInputs, FeaturizeOutputs, FeaturizeConfig))


def run(inputs: FeaturizeInputs, outputs: FeaturizeOutputs, config: FeaturizeConfig) -> Featurized:
    """Split the dataset, fit the featurizer on train rows, write its JSON and the split tables.

    Raises:
        ConfigError: a bad parameter, spec or schema, naming it.
        DataError: unreadable data, missing columns, or a split that would be empty.
    """
    result = compute(_read_dataset(inputs.dataset.path), _read_schema(inputs.schema.path), config)
    write(result, outputs, config)
    return result


def compute(frame: pd.DataFrame, contract: Schema, config: FeaturizeConfig) -> Featurized:
    """The pure part: split ``frame``, fit the featurizer on train, transform every split."""
    if contract.target not in frame.columns:
        raise DataError(f"target column {contract.target!r} is not in the dataset")
    split = choose_split(frame, contract, config)
    parts = {name: frame.iloc[split.rows(name)].reset_index(drop=True) for name in keys.SPLITS}
    fitted = Featurizer(
        min_category_count=config.min_category_count,
        interactions=config.interactions,
        rolling=config.rolling,
    ).fit(parts[keys.TRAIN], contract)
    if keys.LABEL_COLUMN in fitted.feature_names_:
        raise ConfigError(f"a feature may not be called {keys.LABEL_COLUMN!r} (the label column)")

    unseen: dict[str, dict[str, int]] = {name: {} for name in keys.SPLITS}
    matrices = {
        name: fitted.transform_frame(part, unseen=unseen[name]) for name, part in parts.items()
    }
    if config.rolling:
        # Row history across splits: one transform over every row, then sliced.
        everything = fitted.transform_frame(frame)
        matrices = {name: everything[split.rows(name)] for name in keys.SPLITS}
    labels = {name: _labels(part, contract) for name, part in parts.items()}
    return Featurized(contract, split, fitted, parts, matrices, labels, unseen, len(frame))


def cross_validates(rows: int, contract: Schema, config: FeaturizeConfig) -> bool:
    """Small data without a time column: evaluated by stratified k-fold cross-validation.

    A time split is kept whatever the size: shuffled folds would judge rows older than the ones
    the model learnt from, which a time-ordered problem never sees.
    """
    return 0 < rows < config.cv_below_rows and not contract.time_column


def choose_split(frame: pd.DataFrame, contract: Schema, config: FeaturizeConfig) -> Split:
    """The stratified or time holdout, or every row with its fold under cross-validation."""
    if cross_validates(len(frame), contract, config):
        check_fractions(config.valid_fraction, config.test_fraction)
        return kfold_rows(frame, contract, folds=config.cv_folds, seed=config.seed)
    return split_rows(
        frame,
        contract,
        valid_fraction=config.valid_fraction,
        test_fraction=config.test_fraction,
        seed=config.seed,
    )


def write(result: Featurized, outputs: FeaturizeOutputs, config: FeaturizeConfig) -> None:
    """Write the four outputs, each atomically, and describe them for the UI."""
    names = result.fitted.feature_names_
    with atomic_dir(outputs.features.path) as tmp:
        for name in keys.SPLITS:
            table = pd.DataFrame(result.matrices[name], columns=names)
            table[keys.LABEL_COLUMN] = result.labels[name]
            table.to_parquet(tmp / keys.split_file(name), index=False)
    with atomic_dir(outputs.splits.path) as tmp:
        for name in keys.SPLITS:
            result.parts[name].to_parquet(tmp / keys.split_file(name), index=False)
        if result.split.folds is not None:
            folds = pd.DataFrame({keys.FOLD_COLUMN: result.split.folds})
            folds.to_parquet(tmp / keys.FOLDS_FILE, index=False)
    write_text_atomic(outputs.featurizer.path, result.fitted.to_json())
    summary = render_summary(
        result.contract, result.split, result.fitted, result.labels, result.unseen, seed=config.seed
    )
    write_text_atomic(outputs.summary.path, summary)
    _describe(outputs, result.fitted, result.split, result.rows)


def _read_schema(path: str) -> Schema:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise DataReadError(f"cannot read the schema artifact at {path}: {exc}") from None
    return Schema.from_json(text)


def _read_dataset(path: str) -> pd.DataFrame:
    try:
        frame = pd.read_parquet(path)
    except (OSError, ValueError) as exc:
        raise DataReadError(f"cannot read the dataset Parquet at {path}: {exc}") from None
    if len(frame) == 0:
        raise DataError(f"the dataset at {path} has no rows")
    return frame


def _labels(part: pd.DataFrame, schema: Schema) -> np.ndarray:
    """1 where the target is the positive label (compared as text), else 0; int8."""
    return (part[schema.target].astype(str) == str(schema.positive_label)).to_numpy(np.int8)


def _describe(outputs: FeaturizeOutputs, fitted: Featurizer, split: Split, rows: int) -> None:
    """Display names and metadata shown in the KFP UI and read by later steps."""
    featurizer, features, splits, summary = (
        outputs.featurizer,
        outputs.features,
        outputs.splits,
        outputs.summary,
    )
    n_features = len(fitted.feature_names_)
    sizes = {
        keys.META_TRAIN_ROWS: int(split.train.size),
        keys.META_VALID_ROWS: int(split.valid.size),
        keys.META_TEST_ROWS: int(split.test.size),
    }
    sizes_text = f"{split.train.size}/{split.valid.size}/{split.test.size} rows"
    if split.folds is not None:
        sizes_text = split.evaluation
    set_display_name(featurizer, f"featurizer ({n_features} features)")
    featurizer.metadata[keys.META_N_FEATURES] = n_features
    featurizer.metadata[keys.META_INPUT_COLUMNS] = fitted.input_columns_
    set_display_name(features, f"features ({n_features} columns, {sizes_text})")
    set_display_name(splits, f"splits ({split.method}, {sizes_text})")
    for artifact in (features, splits):
        artifact.metadata[keys.META_ROWS] = rows
        artifact.metadata[keys.META_SPLIT_METHOD] = split.method
        artifact.metadata[keys.META_EVALUATION] = split.evaluation
        artifact.metadata.update(sizes)
        if split.folds is not None:
            artifact.metadata[keys.META_FOLDS] = int(split.folds.max()) + 1
    features.metadata[keys.META_N_FEATURES] = n_features
    set_display_name(summary, "featurize summary")


def feature_counts(state: dict[str, Any]) -> dict[str, int]:
    """Number of output features per kind, from a featurizer's JSON."""
    derived = state["numeric"] + state["interactions"] + state["rolling"]
    return {
        "numeric": len(state["numeric"]),
        "datetime parts": len(state["datetime"]) * len(DATETIME_PARTS),
        "interactions": len(state["interactions"]),
        "rolling aggregates": len(state["rolling"]),
        "missing indicators": sum(bool(s["missing_indicator"]) for s in derived)
        + sum(bool(s["missing_indicator"]) for s in state["datetime"] + state["boolean"]),
        "boolean": len(state["boolean"]),
        "categorical one-hot": sum(
            len(s["vocabulary"]) + 1 + int(s["missing_bucket"]) for s in state["categorical"]
        ),
    }


def render_summary(
    schema: Schema,
    split: Split,
    fitted: Featurizer,
    labels: dict[str, np.ndarray],
    unseen: dict[str, dict[str, int]],
    *,
    seed: int,
) -> str:
    """The Markdown summary artifact."""
    state = fitted.to_dict()
    how = (
        f"by time on `{schema.time_column}` (oldest rows train, newest test)"
        if split.method == keys.SPLIT_TIME
        else f"stratified by `{schema.target}`, seed {seed}"
    )
    if split.folds is not None:
        how = (
            f"for {split.evaluation} (stratified by `{schema.target}`, seed {seed}): too few "
            "rows for a test split the gate can judge, so train, valid and test each hold every "
            "row; each train task refits the featurizer and the model per fold and predicts the "
            "held-out fold, compare ranks and the gate judges those out-of-fold predictions, and "
            "the bundle is refit on every row. The featurizer below is that refit's"
        )
    lines = [
        "# Featurize",
        "",
        f"Split {how}. Positive label: `{schema.positive_label}`.",
        "",
        markdown_table(
            ["split", "rows", "positive rows", "positive rate"],
            [
                [name, labels[name].size, int(labels[name].sum()), _rate(labels[name])]
                for name in keys.SPLITS
            ],
        ),
        f"## Features: {len(fitted.feature_names_)} from "
        f"{len(fitted.input_columns_)} input columns (fitted on train only)",
        "",
        markdown_table(["kind", "features"], [[k, v] for k, v in feature_counts(state).items()]),
    ]
    return "\n".join(lines + _vocabulary_lines(state, unseen) + _unrecognised_lines(state, unseen))


def _vocabulary_lines(state: dict[str, Any], unseen: dict[str, dict[str, int]]) -> list[str]:
    """The categorical vocabularies and their unknown values in valid and test."""
    if not state["categorical"]:
        return []
    return [
        "## Categorical vocabularies",
        "",
        f"Values seen in fewer than {state['params']['min_category_count']} train rows, and "
        "values never seen, go to the `__unknown__` bucket.",
        "",
        markdown_table(
            ["column", "vocabulary", "missing bucket", "unknown in valid", "unknown in test"],
            [
                [
                    s["column"],
                    len(s["vocabulary"]),
                    "yes" if s["missing_bucket"] else "no",
                    unseen[keys.VALID].get(s["column"], 0),
                    unseen[keys.TEST].get(s["column"], 0),
                ]
                for s in state["categorical"]
            ],
        ),
    ]


def _unrecognised_lines(state: dict[str, Any], unseen: dict[str, dict[str, int]]) -> list[str]:
    """Values of other columns that could not be read (treated as missing), per split."""
    categorical = {s["column"] for s in state["categorical"]}
    other = sorted(
        {c for name in (keys.VALID, keys.TEST) for c in unseen[name] if c not in categorical}
    )
    if not other:
        return []
    return [
        "## Other unrecognised values (treated as missing)",
        "",
        markdown_table(
            ["column", "valid", "test"],
            [[c, unseen[keys.VALID].get(c, 0), unseen[keys.TEST].get(c, 0)] for c in other],
        ),
    ]


def _rate(labels: np.ndarray) -> float:
    return float(labels.mean()) if labels.size else 0.0
