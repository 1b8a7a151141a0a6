"""Real data for the train and compare tests: typed frames, a hand-written schema, splits,
a fitted featurizer and the feature tables, laid out exactly as the featurize step writes them.

The schema is written here rather than inferred so these tests do not depend on validate.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

from components._shared import keys
from components._shared.featurizer import Featurizer
from components._shared.schema import ColumnSchema, Schema

TELCO_BOOLEAN = {
    "SeniorCitizen": (["1"], ["0"]),
    "Partner": (["Yes"], ["No"]),
    "Dependents": (["Yes"], ["No"]),
    "PhoneService": (["Yes"], ["No"]),
    "PaperlessBilling": (["Yes"], ["No"]),
}
TELCO_NUMERIC = ["MonthlyCharges", "TotalCharges"]
TELCO_INTEGER = ["tenure"]

ADULT_NUMERIC: list[str] = []
ADULT_INTEGER = ["age", "fnlwgt", "education_num", "capital_gain", "capital_loss", "hours_per_week"]


def _typed(
    raw: pd.DataFrame,
    *,
    target: str,
    positive: str,
    ids: list[str],
    booleans: dict,
    numeric: list[str],
    integer: list[str],
) -> tuple[pd.DataFrame, Schema]:
    frame = pd.DataFrame(index=raw.index)
    columns = []
    for name in raw.columns:
        values = raw[name]
        if name in numeric:
            frame[name] = pd.to_numeric(
                values.astype(str).str.strip().replace("", np.nan), errors="coerce"
            ).astype("float64")
            kind = "numeric"
        elif name in integer:
            frame[name] = pd.to_numeric(values, errors="coerce").astype("Int64")
            kind = "integer"
        elif name in booleans:
            true, _ = booleans[name]
            frame[name] = values.astype(str).isin(true).astype("boolean")
            kind = "boolean"
        else:
            frame[name] = values.astype(str).where(values.notna(), None).astype(object)
            kind = "identifier" if name in ids else "categorical"
        role = "target" if name == target else ("id" if name in ids else "feature")
        true_values, false_values = booleans.get(name, (None, None))
        categories = sorted(frame[name].dropna().unique().tolist()) if name == target else None
        columns.append(
            ColumnSchema(
                name=name,
                kind=kind,
                role=role,
                null_fraction=float(frame[name].isna().mean()),
                true_values=true_values,
                false_values=false_values,
                categories=categories,
                stored_as_text=name == "TotalCharges",
            )
        )
    labels = sorted(frame[target].unique().tolist())
    negatives = [v for v in labels if v != positive]
    schema = Schema(
        columns=columns,
        target=target,
        positive_label=positive,
        class_labels=[negatives[0], positive],
        id_columns=ids,
    )
    return frame, schema


def telco(csv: Path, rows: int | None = None, seed: int = 0) -> tuple[pd.DataFrame, Schema]:
    """The Telco churn CSV as a typed frame (optionally a stratified sample) and its schema."""
    raw = pd.read_csv(csv, dtype=str, keep_default_na=False)
    if rows is not None and rows < len(raw):
        raw, _ = train_test_split(raw, train_size=rows, stratify=raw["Churn"], random_state=seed)
        raw = raw.reset_index(drop=True)
    return _typed(
        raw,
        target="Churn",
        positive="Yes",
        ids=["customerID"],
        booleans=TELCO_BOOLEAN,
        numeric=TELCO_NUMERIC,
        integer=TELCO_INTEGER,
    )


def adult(csv: Path, rows: int | None = None, seed: int = 0) -> tuple[pd.DataFrame, Schema]:
    """UCI Adult as a typed frame ('?' read as null) and its schema."""
    raw = pd.read_csv(csv, dtype=str, na_values=["?"], keep_default_na=False)
    if rows is not None and rows < len(raw):
        raw, _ = train_test_split(raw, train_size=rows, stratify=raw["income"], random_state=seed)
        raw = raw.reset_index(drop=True)
    return _typed(
        raw,
        target="income",
        positive=">50K",
        ids=[],
        booleans={},
        numeric=ADULT_NUMERIC,
        integer=ADULT_INTEGER,
    )


@dataclass
class Prepared:
    """Paths of the artifacts the featurize and validate steps would have written."""

    features: Path
    splits: Path
    featurizer: Path
    schema: Path
    profile: Path
    schema_obj: Schema
    featurizer_obj: Featurizer
    frames: dict[str, pd.DataFrame]


def prepare(
    out: Path,
    frame: pd.DataFrame,
    schema: Schema,
    *,
    seed: int = 0,
    test_size: float = 0.2,
    valid_size: float = 0.2,
) -> Prepared:
    """Stratified train/valid/test split, fitted featurizer, feature tables, schema and profile."""
    out.mkdir(parents=True, exist_ok=True)
    label = (frame[schema.target] == schema.positive_label).to_numpy()
    rest, test = train_test_split(frame, test_size=test_size, stratify=label, random_state=seed)
    rest_label = (rest[schema.target] == schema.positive_label).to_numpy()
    train, valid = train_test_split(
        rest, test_size=valid_size / (1 - test_size), stratify=rest_label, random_state=seed
    )
    frames = {
        keys.TRAIN: train.reset_index(drop=True),
        keys.VALID: valid.reset_index(drop=True),
        keys.TEST: test.reset_index(drop=True),
    }
    featurizer = Featurizer().fit(frames[keys.TRAIN], schema)
    features_dir, splits_dir = out / "features", out / "splits"
    features_dir.mkdir(exist_ok=True)
    splits_dir.mkdir(exist_ok=True)
    for split, part in frames.items():
        part.to_parquet(splits_dir / keys.split_file(split), index=False)
        table = pd.DataFrame(featurizer.transform_frame(part), columns=featurizer.feature_names_)
        table[keys.LABEL_COLUMN] = (
            (part[schema.target] == schema.positive_label).astype(np.int8).to_numpy()
        )
        table.to_parquet(features_dir / keys.split_file(split), index=False)
    featurizer_path = out / keys.FEATURIZER_FILE
    featurizer_path.write_text(featurizer.to_json())
    schema_path = out / keys.SCHEMA_FILE
    schema_path.write_text(schema.to_json())
    profile_path = out / keys.PROFILE_FILE
    source = {
        "uri": "data/source.csv",
        "sha256": hashlib.sha256(b"source").hexdigest(),
        "rows": len(frame),
    }
    profile_path.write_text(json.dumps({"source": source, "rows": len(frames[keys.TRAIN])}))
    return Prepared(
        features_dir,
        splits_dir,
        featurizer_path,
        schema_path,
        profile_path,
        schema,
        featurizer,
        frames,
    )


def feature_arrays(prepared: Prepared, split: str) -> tuple[np.ndarray, np.ndarray]:
    """(features float64, labels int8) of one split."""
    table = pd.read_parquet(prepared.features / keys.split_file(split))
    labels = table.pop(keys.LABEL_COLUMN).to_numpy()
    return table.to_numpy(dtype=np.float64), labels


# Small, fast params per family for tests (the default matrix is tuned for quality, not speed).
FAST_PARAMS: dict[str, dict] = {
    "xgboost": {"eta": 0.2, "max_depth": 3, "num_boost_round": 60, "early_stopping_rounds": 10},
    "lightgbm": {
        "learning_rate": 0.2,
        "num_leaves": 7,
        "num_boost_round": 60,
        "early_stopping_rounds": 10,
    },
    "sklearn_logreg": {"C": 0.5},
    "sklearn_hgb": {"learning_rate": 0.2, "max_iter": 40, "max_leaf_nodes": 7},
    "sklearn_rf": {"n_estimators": 15, "min_samples_leaf": 5, "max_depth": 6},
}


def fast_candidate(family: str, name: str | None = None, **params: object) -> dict:
    """A quick-to-train candidate of ``family`` (FAST_PARAMS, overridden by ``params``)."""
    return {
        "name": name or f"{family}_fast",
        "family": family,
        "params": {**FAST_PARAMS[family], **params},
    }


def train_bundle(prepared: Prepared, out: Path, candidate: dict) -> Path:
    """Train one candidate on ``prepared`` with the real train executor; its bundle directory."""
    from kfp import dsl  # tests may import kfp; kept local so the helpers above stay kfp-free

    from components.train import executor as train

    train.run(
        candidate=candidate,
        features=dsl.Dataset(name="features", uri=str(prepared.features)),
        splits=dsl.Dataset(name="splits", uri=str(prepared.splits)),
        featurizer=dsl.Artifact(name="featurizer", uri=str(prepared.featurizer)),
        schema=dsl.Artifact(name="schema", uri=str(prepared.schema)),
        profile=dsl.Artifact(name="profile", uri=str(prepared.profile)),
        seed=5,
        bundle=dsl.Model(name="bundle", uri=str(out)),
        metrics=dsl.Metrics(name="metrics", uri=str(out) + ".metrics"),
        roc=dsl.ClassificationMetrics(name="roc", uri=str(out) + ".roc"),
    )
    return out
