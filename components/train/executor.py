"""Train one candidate: fit on train, early-stop and score on valid, write the model bundle.

``main`` is what the KFP component calls; ``run(inputs, outputs, config)`` reads every input
(``read_inputs``), ``compute`` fits the candidate and scores it without touching artifacts, and
``write`` writes the bundle, then its metrics, ROC curve and metadata.

The test split is never read here: compare and gate judge on it, so it must not leak into
training or selection. Under cross-validation (featurize wrote ``folds.parquet``: small data),
there is no test split to protect: :mod:`components.train.crossval` fits the candidate once per
fold, featurizer included, to get every row's out-of-fold prediction (the numbers compare ranks
and the gate judges), then the bundle is refit on every row. The out-of-fold predictions are
written to ``oof_predictions`` (empty under holdout evaluation). After writing the bundle, ``write`` loads it back exactly as serving
does (sha256 verified), scores the raw valid rows through it, and records how far that is from
the in-memory model on the feature table (training/serving parity) and how long one raw row
takes to predict.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from components._shared import families, importance, keys, tracking
from components._shared import oof as oof_io
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
from components._shared.entry import sort_arguments
from components._shared.errors import DataError, DataReadError, expected_got
from components._shared.featurizer import Featurizer
from components._shared.metrics import classification_metrics, confusion_matrix, roc_points
from components._shared.schema import Schema
from components.train.config import TrainConfig
from components.train.crossval import OutOfFold, out_of_fold, refit_params

__all__ = [
    "TrainInputs",
    "TrainOutputs",
    "Trained",
    "TrainingData",
    "compute",
    "feature_table",
    "main",
    "read_inputs",
    "run",
    "write",
]

# Rows cycled through by the single-row latency measurement (one per call).
LATENCY_ROWS = 200
LATENCY_CALLS = 200


@dataclass(frozen=True)
class TrainInputs:
    """featurize's and validate's outputs: feature tables, raw splits, featurizer, contract."""

    features: ArtifactLike
    splits: ArtifactLike
    featurizer: ArtifactLike
    schema: ArtifactLike
    profile: ArtifactLike


@dataclass(frozen=True)
class TrainOutputs:
    """The model bundle, its valid metrics and ROC curve, and its out-of-fold predictions."""

    bundle: ArtifactLike
    metrics: MetricsLike
    roc: ClassificationMetricsLike
    oof_predictions: ArtifactLike | None = None
    # each input column's share of the importance, a Markdown chart (components._shared.tracking)
    feature_importance: ArtifactLike | None = None


@dataclass(frozen=True)
class TrainingData:
    """Everything train reads, before anything is fitted (never the test split)."""

    schema: Schema
    featurizer: Featurizer
    profile: dict[str, Any]
    x_train: np.ndarray
    y_train: np.ndarray
    x_valid: np.ndarray
    y_valid: np.ndarray
    raw_valid: pd.DataFrame  # the raw typed valid rows (serving parity, single-row latency)
    train_features_sha256: str
    folds: np.ndarray | None = None  # the fold of every train row; None: holdout evaluation
    raw_train: pd.DataFrame | None = None  # the raw train rows, read under cross-validation

    @property
    def evaluation(self) -> str:
        """ "holdout", or the cross-validation that evaluates the candidate."""
        if self.folds is None:
            return keys.EVALUATION_HOLDOUT
        return keys.cv_evaluation(int(self.folds.max()) + 1, len(self.folds))


@dataclass(frozen=True)
class Trained:
    """What train computed, before anything is written."""

    candidate: dict[str, Any]  # checked: {"name", "family", "params"}
    model: families.Predictor
    valid_proba: np.ndarray  # the evaluation's predictions: valid split, or out of fold
    valid_metrics: dict[str, float]
    train_seconds: float
    training_data: dict[str, Any]  # recorded in the bundle manifest
    model_card: str
    fitted_proba: np.ndarray  # the bundle's model on the valid feature rows (serving parity)
    oof: OutOfFold | None = None
    feature_importance: importance.Importance | None = None  # in the manifest, the model card

    @property
    def name(self) -> str:
        """The candidate's name."""
        return str(self.candidate[keys.CANDIDATE_NAME])

    @property
    def family(self) -> str:
        """The candidate's model family."""
        return str(self.candidate[keys.CANDIDATE_FAMILY])


def main(arguments: dict[str, Any]) -> None:
    """The component's entry: its arguments sorted into inputs, outputs and config."""
    run(*sort_arguments(arguments, TrainInputs, TrainOutputs, TrainConfig))


def run(inputs: TrainInputs, outputs: TrainOutputs, config: TrainConfig) -> Trained:
    """Train ``config.candidate`` and write its bundle, metrics and ROC curve.

    Raises:
        ConfigError: a bad candidate (already when the config is built), schema or featurizer.
        DataReadError / DataError: an unreadable input, or a feature table from another
            featurizer; nothing is written then.
    """
    data = read_inputs(inputs)
    trained = compute(data, config)
    write(trained, data, outputs)
    tracking.record_candidate(
        trained.model,
        candidate=trained.candidate,
        featurizer=data.featurizer,
        x_valid=data.x_valid,
        y_valid=data.y_valid,
        valid_proba=trained.valid_proba,
        valid_metrics=trained.valid_metrics,
        seed=config.seed,
        bundle=outputs.bundle,
        kfp_metrics=outputs.metrics,
        chart=outputs.feature_importance,
        found=trained.feature_importance,
        configured_uri=config.tracking_uri,
        kfp_run_id=config.run_id,
    )
    return trained


def read_inputs(inputs: TrainInputs) -> TrainingData:
    """The contract, featurizer, profile, train/valid feature tables and raw valid rows."""
    schema = Schema.from_json(_read_text(inputs.schema, "schema"))
    featurizer = Featurizer.from_json(_read_text(inputs.featurizer, "featurizer"))
    try:
        profile: dict[str, Any] = json.loads(_read_text(inputs.profile, "profile"))
    except json.JSONDecodeError as exc:
        raise DataReadError(f"profile {inputs.profile.path!r} is not valid JSON: {exc}") from None
    names = featurizer.feature_names_
    x_train, y_train = feature_table(inputs.features.path, keys.TRAIN, names)
    x_valid, y_valid = feature_table(inputs.features.path, keys.VALID, names)
    folds = read_folds(inputs.splits.path, len(y_train))
    return TrainingData(
        schema=schema,
        featurizer=featurizer,
        profile=profile,
        x_train=x_train,
        y_train=y_train,
        x_valid=x_valid,
        y_valid=y_valid,
        raw_valid=_read_parquet(inputs.splits.path, keys.VALID, "splits"),
        train_features_sha256=sha256_file(Path(inputs.features.path) / keys.split_file(keys.TRAIN)),
        folds=folds,
        raw_train=None
        if folds is None
        else _read_parquet(inputs.splits.path, keys.TRAIN, "splits"),
    )


def read_folds(directory: str, rows: int) -> np.ndarray | None:
    """The fold of every train row when featurize chose cross-validation, else None.

    Raises:
        DataError: a folds file that does not cover the train rows, or fewer than 3 folds.
    """
    path = Path(directory) / keys.FOLDS_FILE
    if not path.exists():
        return None
    try:
        folds = pd.read_parquet(path)[keys.FOLD_COLUMN].to_numpy()
    except (OSError, ValueError, KeyError) as exc:
        raise DataReadError(f"cannot read the folds {str(path)!r}: {exc}") from None
    used = sorted(set(np.unique(folds).tolist()))
    k = len(used)
    if folds.size != rows or k < 3 or used != list(range(k)):
        raise DataError(
            expected_got(
                str(path),
                f"a fold in 0..k-1 (k >= 3, every fold used) for each of the {rows} train rows",
                f"{folds.size} rows, folds {used[:20]}",
            )
        )
    return folds.astype(np.int8)


def compute(data: TrainingData, config: TrainConfig) -> Trained:
    """The pure part: fit the candidate on train (early stopping on valid), score valid.

    Under cross-validation: the out-of-fold predictions first, then the refit on every row.
    """
    checked = config.checked_candidate()
    name, family = checked[keys.CANDIDATE_NAME], checked[keys.CANDIDATE_FAMILY]
    start = time.perf_counter()
    model, oof = _fit(data, checked, config.seed)
    train_seconds = time.perf_counter() - start
    fitted_proba = model.predict_proba(data.x_valid)
    valid_proba = fitted_proba if oof is None else oof.proba
    what = "valid split" if oof is None else "out-of-fold predictions"
    valid_metrics = classification_metrics(
        data.y_valid, valid_proba, what=f"{what} of candidate {name!r}"
    )
    found = importance.candidate_importance(
        model,
        data.featurizer.feature_names_,
        data.featurizer.to_dict(),
        data.x_valid,
        data.y_valid,
        seed=config.seed,
    )
    training_data = _training_data(data, config.seed, oof)
    training_data[importance.MANIFEST_KEY] = importance.manifest_entry(found)
    card = render_model_card(
        family=family,
        candidate=checked,
        schema=data.schema,
        metrics=valid_metrics,
        training_data=training_data,
        n_features=len(data.featurizer.feature_names_),
        model_info=model.info(),
        evaluation=data.evaluation,
        importance=training_data[importance.MANIFEST_KEY],
    )
    return Trained(
        checked,
        model,
        valid_proba,
        valid_metrics,
        train_seconds,
        training_data,
        card,
        fitted_proba,
        oof,
        found,
    )


def _training_data(data: TrainingData, seed: int, oof: OutOfFold | None) -> dict[str, Any]:
    """The manifest's ``training_data``: source, rows, features digest, seed, evaluation."""
    training_data = {
        "source": data.profile.get("source"),
        "train_rows": len(data.y_train),
        "train_features_sha256": data.train_features_sha256,
        "positive_rate": float(np.mean(data.y_train)),
        "valid_rows": len(data.y_valid),
        "seed": seed,
    }
    if oof is not None:  # a holdout bundle's manifest stays as it was before cross-validation
        training_data[keys.META_EVALUATION] = data.evaluation
        training_data["fold_models"] = [
            {"fit_rows": rows, **info}
            for rows, info in zip(oof.fold_fit_rows, oof.fold_info, strict=True)
        ]
    return training_data


def _fit(
    data: TrainingData, candidate: dict[str, Any], seed: int
) -> tuple[families.Predictor, OutOfFold | None]:
    """The bundle's model, and the out-of-fold predictions when the data has folds.

    Holdout: fit on train, early-stopping on valid. Cross-validation: k fold models give the
    out-of-fold predictions, then the model is refit on every row (``crossval.refit_params``).
    """
    family, params = candidate[keys.CANDIDATE_FAMILY], candidate[keys.CANDIDATE_PARAMS]
    if data.folds is None or data.raw_train is None:
        model = families.fit(
            family, params, data.x_train, data.y_train, data.x_valid, data.y_valid, seed=seed
        )
        return model, None
    oof = out_of_fold(
        data.raw_train,
        data.y_train,
        data.folds,
        schema=data.schema,
        featurizer=data.featurizer,
        candidate=candidate,
        seed=seed,
    )
    refit = refit_params(family, params, oof.fold_info)
    model = families.fit(
        family, refit, data.x_train, data.y_train, data.x_train, data.y_train, seed=seed
    )
    return model, oof


def write(trained: Trained, data: TrainingData, outputs: TrainOutputs) -> None:
    """Write the bundle (atomically), check it as serving loads it, log metrics and ROC."""
    write_bundle(
        outputs.bundle.path,
        family=trained.family,
        model=trained.model,
        featurizer=data.featurizer,
        schema=data.schema,
        profile=data.profile,
        candidate=trained.candidate,
        metrics=trained.valid_metrics,
        training_data=trained.training_data,
        model_card=trained.model_card,
    )
    latency_ms, parity = _serving_check(outputs.bundle.path, data, trained.fitted_proba)
    metrics = outputs.metrics
    for metric, value in trained.valid_metrics.items():
        metrics.log_metric(metric, value)
    metrics.log_metric(keys.METRIC_TRAIN_SECONDS, round(trained.train_seconds, 3))
    metrics.log_metric(keys.METRIC_BUNDLE_BYTES, bundle_bytes(outputs.bundle.path))
    metrics.log_metric(keys.METRIC_PREDICT_LATENCY_MS, round(latency_ms, 4))
    if parity is not None:
        metrics.log_metric(keys.METRIC_PARITY_MAX_ABS_DIFF, parity)

    fpr, tpr, thresholds = roc_points(data.y_valid, trained.valid_proba)
    outputs.roc.log_roc_curve(fpr, tpr, thresholds)
    outputs.roc.log_confusion_matrix(
        _class_labels(data.schema), confusion_matrix(data.y_valid, trained.valid_proba)
    )
    if outputs.oof_predictions is not None:
        write_oof(trained, data, outputs.oof_predictions, outputs.bundle.path)
    _describe(trained, outputs, data.evaluation)


def write_oof(trained: Trained, data: TrainingData, artifact: ArtifactLike, bundle: str) -> None:
    """The out-of-fold predictions (no rows under holdout) and what they belong to, atomically.

    ``oof.json`` names the bundle's manifest sha256, so compare and the gate can check that the
    predictions they judge are this candidate's.
    """
    info = {
        keys.META_CANDIDATE: trained.name,
        keys.META_EVALUATION: data.evaluation,
        keys.META_FOLDS: trained.oof.k if trained.oof is not None else 0,
        keys.OOF_BUNDLE_SHA256: sha256_file(Path(bundle) / keys.MANIFEST_FILE),
    }
    if trained.oof is None:
        oof_io.write_empty(artifact, info)
    else:
        oof_io.write(
            artifact,
            info,
            labels=data.y_train,
            proba=trained.oof.proba,
            folds=trained.oof.folds,
        )
    set_display_name(
        artifact, f"out-of-fold {trained.name} ({artifact.metadata[keys.META_ROWS]} rows)"
    )


def _serving_check(
    bundle_path: str, data: TrainingData, valid_proba: np.ndarray
) -> tuple[float, float | None]:
    """(single-row latency in ms, largest |raw-row - feature-table| probability difference).

    The bundle is loaded back the way serving loads it (sha256 verified) and one raw row at a
    time goes through featurizer + model; the parity is None when the raw valid rows are not the
    feature table's rows.
    """
    loaded = load_bundle(bundle_path)
    records = [
        json_record({str(k): v for k, v in r.items()})
        for r in data.raw_valid.head(LATENCY_ROWS).to_dict("records")
    ]
    latency_ms = single_row_latency_ms(loaded, records, calls=LATENCY_CALLS)
    parity: float | None = None
    if len(data.raw_valid) == len(data.y_valid):
        parity = float(np.max(np.abs(loaded.predict_proba_frame(data.raw_valid) - valid_proba)))
    return latency_ms, parity


def _describe(trained: Trained, outputs: TrainOutputs, evaluation: str) -> None:
    """Display names and metadata shown in the KFP UI and read by later steps."""
    bundle, metrics, roc = outputs.bundle, outputs.metrics, outputs.roc
    name = trained.name
    for artifact in (bundle, metrics, roc):
        artifact.metadata[keys.META_FAMILY] = trained.family
        artifact.metadata[keys.META_CANDIDATE] = name
        artifact.metadata[keys.META_EVALUATION] = evaluation
    on = "valid" if trained.oof is None else "out of fold"
    set_display_name(bundle, f"bundle {name}")
    set_display_name(metrics, f"metrics {name} ({on})")
    set_display_name(roc, f"ROC {name} ({on})")
    bundle.metadata[keys.META_BUNDLE_FORMAT] = BUNDLE_FORMAT
    bundle.metadata[keys.META_CONTENT_SHA256] = sha256_file(Path(bundle.path) / keys.MANIFEST_FILE)
    bundle.metadata[keys.META_ROWS] = trained.training_data["train_rows"]
    bundle.metadata[keys.METRIC_AUC] = trained.valid_metrics[keys.METRIC_AUC]


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
