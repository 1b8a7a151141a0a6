"""Train one candidate: fit on train, early-stop and score on valid, write the model bundle.

The test split is never read here: compare and gate judge on it, so it must not leak into
training or selection. After writing the bundle the executor loads it back exactly as serving
does (sha256 verified), scores the raw valid rows through it, and records how far that is from
the in-memory model on the feature table (training/serving parity) and how long one raw row
takes to predict.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from components._shared import families, keys
from components._shared.artifacts import (
    ArtifactLike,
    ClassificationMetricsLike,
    MetricsLike,
    set_display_name,
)
from components._shared.bundle import (
    BUNDLE_FORMAT,
    bundle_bytes,
    json_record,
    load_bundle,
    render_model_card,
    sha256_file,
    single_row_latency_ms,
    write_bundle,
)
from components._shared.errors import DataError, DataReadError, expected_got
from components._shared.featurizer import Featurizer
from components._shared.metrics import classification_metrics, confusion_matrix, roc_points
from components._shared.schema import Schema
from components.train.matrix import check_candidate

# Rows cycled through by the single-row latency measurement (one per call).
LATENCY_ROWS = 200
LATENCY_CALLS = 200


def _read_text(artifact: ArtifactLike, what: str) -> str:
    try:
        return Path(artifact.path).read_text(encoding="utf-8")
    except OSError as exc:
        raise DataReadError(
            f"cannot read the {what} artifact at {artifact.path!r}: {exc.strerror or exc}"
        ) from None


def _read_parquet(directory: str, split: str, what: str) -> pd.DataFrame:
    path = Path(directory) / keys.split_file(split)
    try:
        return pd.read_parquet(path)
    except (OSError, ValueError) as exc:
        raise DataReadError(f"cannot read the {split} {what} table {str(path)!r}: {exc}") from None


def feature_table(
    directory: str, split: str, feature_names: list[str]
) -> tuple[np.ndarray, np.ndarray]:
    """(features float64 in ``feature_names`` order, 0/1 labels) of one split's feature table.

    Raises:
        DataError: naming the columns the featurizer expects but the table lacks, or the label.
    """
    table = _read_parquet(directory, split, "features")
    missing = [c for c in [*feature_names, keys.LABEL_COLUMN] if c not in table.columns]
    if missing:
        raise DataError(
            f"{split} feature table lacks column(s) {missing[:10]}"
            f"{' and more' if len(missing) > 10 else ''}: it was not built by this featurizer"
        )
    labels = table[keys.LABEL_COLUMN].to_numpy()
    if not np.isin(labels, (0, 1)).all():
        raise DataError(
            expected_got(
                f"{split} {keys.LABEL_COLUMN}",
                "0 or 1",
                sorted(set(np.unique(labels).tolist()))[:5],
            )
        )
    return table[feature_names].to_numpy(dtype=np.float64), labels.astype(np.int8)


def _class_labels(schema: Schema) -> list[str]:
    if len(schema.class_labels) == 2:
        return [str(v) for v in schema.class_labels]
    return [f"not {schema.positive_label}", schema.positive_label]


def run(
    *,
    candidate: dict,
    features: ArtifactLike,
    splits: ArtifactLike,
    featurizer: ArtifactLike,
    schema: ArtifactLike,
    profile: ArtifactLike,
    seed: int,
    bundle: ArtifactLike,
    metrics: MetricsLike,
    roc: ClassificationMetricsLike,
) -> None:
    """Train ``candidate`` and write its bundle, metrics and ROC curve.

    Args:
        candidate: ``{"name", "family", "params"}`` (checked by ``matrix.check_candidate``).
        features: Directory of train/valid/test feature tables (float64 + ``__label__``).
        splits: Directory of the raw typed rows of each split.
        featurizer: The fitted featurizer JSON file.
        schema: The Schema JSON file.
        profile: The profile JSON file (its ``source`` is recorded in the manifest).
        seed: Seed of the learner.
        bundle: Output directory of the model bundle.
        metrics: Valid metrics, train seconds, bundle bytes, single-row latency, parity.
        roc: ROC curve and confusion matrix on valid.
    """
    checked = check_candidate(candidate)
    name, family = checked[keys.CANDIDATE_NAME], checked[keys.CANDIDATE_FAMILY]
    params = checked[keys.CANDIDATE_PARAMS]
    schema_obj = Schema.from_json(_read_text(schema, "schema"))
    featurizer_obj = Featurizer.from_json(_read_text(featurizer, "featurizer"))
    try:
        profile_obj: dict[str, Any] = json.loads(_read_text(profile, "profile"))
    except json.JSONDecodeError as exc:
        raise DataReadError(f"profile {profile.path!r} is not valid JSON: {exc}") from None

    names = featurizer_obj.feature_names_
    x_train, y_train = feature_table(features.path, keys.TRAIN, names)
    x_valid, y_valid = feature_table(features.path, keys.VALID, names)

    start = time.perf_counter()
    model = families.fit(family, params, x_train, y_train, x_valid, y_valid, seed=seed)
    train_seconds = time.perf_counter() - start

    valid_proba = model.predict_proba(x_valid)
    valid_metrics = classification_metrics(
        y_valid, valid_proba, what=f"valid split of candidate {name!r}"
    )
    training_data = {
        "source": profile_obj.get("source"),
        "train_rows": len(y_train),
        "train_features_sha256": sha256_file(Path(features.path) / keys.split_file(keys.TRAIN)),
        "positive_rate": float(np.mean(y_train)),
        "valid_rows": len(y_valid),
        "seed": seed,
    }
    card = render_model_card(
        family=family,
        candidate=checked,
        schema=schema_obj,
        metrics=valid_metrics,
        training_data=training_data,
        n_features=len(names),
        model_info=model.info(),
    )
    write_bundle(
        bundle.path,
        family=family,
        model=model,
        featurizer=featurizer_obj,
        schema=schema_obj,
        profile=profile_obj,
        candidate=checked,
        metrics=valid_metrics,
        training_data=training_data,
        model_card=card,
    )

    # Load the bundle back the way serving will (sha256 verified) and time one raw row through
    # featurizer + model; also check that raw rows reproduce the feature-table predictions.
    loaded = load_bundle(bundle.path)
    raw_valid = _read_parquet(splits.path, keys.VALID, "splits")
    records = [
        json_record({str(k): v for k, v in r.items()})
        for r in raw_valid.head(LATENCY_ROWS).to_dict("records")
    ]
    latency_ms = single_row_latency_ms(loaded, records, calls=LATENCY_CALLS)
    parity: float | None = None
    if len(raw_valid) == len(y_valid):
        parity = float(np.max(np.abs(loaded.predict_proba_frame(raw_valid) - valid_proba)))

    for metric, value in valid_metrics.items():
        metrics.log_metric(metric, value)
    metrics.log_metric(keys.METRIC_TRAIN_SECONDS, round(train_seconds, 3))
    metrics.log_metric(keys.METRIC_BUNDLE_BYTES, bundle_bytes(bundle.path))
    metrics.log_metric(keys.METRIC_PREDICT_LATENCY_MS, round(latency_ms, 4))
    if parity is not None:
        metrics.log_metric(keys.METRIC_PARITY_MAX_ABS_DIFF, parity)

    fpr, tpr, thresholds = roc_points(y_valid, valid_proba)
    roc.log_roc_curve(fpr, tpr, thresholds)
    roc.log_confusion_matrix(_class_labels(schema_obj), confusion_matrix(y_valid, valid_proba))

    for artifact in (bundle, metrics, roc):
        artifact.metadata[keys.META_FAMILY] = family
        artifact.metadata[keys.META_CANDIDATE] = name
    set_display_name(bundle, f"bundle {name}")
    set_display_name(metrics, f"metrics {name} (valid)")
    set_display_name(roc, f"ROC {name} (valid)")
    bundle.metadata[keys.META_BUNDLE_FORMAT] = BUNDLE_FORMAT
    bundle.metadata[keys.META_CONTENT_SHA256] = sha256_file(Path(bundle.path) / keys.MANIFEST_FILE)
    bundle.metadata[keys.META_ROWS] = len(y_train)
    bundle.metadata[keys.METRIC_AUC] = valid_metrics[keys.METRIC_AUC]
