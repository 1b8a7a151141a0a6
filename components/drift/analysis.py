"""The one chunked pass over the current data: column verdicts, prediction and performance drift.

``analyse(config)`` reads the bundle (its profile, the monitored columns and the model's scores
on reference rows: :class:`Reference`) and streams the current data into :func:`compute`, the
part that only sees data. Each chunk updates the per-column summaries
(``verdicts.DriftMonitor``), is scored by the bundle's model (the prediction-drift summary, and
labels for performance drift when the target is present) and is offered to a bounded reservoir
for the Evidently report; then it is dropped. Memory is the chunk, the summaries (bounded by the
profile), the sample and one float per labelled scored row.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import pandas as pd

from components._shared import io, keys
from components._shared.bundle import Bundle, load_bundle
from components._shared.errors import (
    BundleError,
    ConfigError,
    DataError,
    KfpTabularError,
    expected_got,
)
from components._shared.metrics import classification_metrics
from components._shared.payload_log import Window
from components._shared.profile import numeric_profile
from components._shared.schema import Schema
from components.drift.config import MISSING_ERROR, DriftConfig
from components.drift.current import DATASET, ReadReport, read_current
from components.drift.samples import Reservoir
from components.drift.verdicts import (
    CATEGORICAL_KINDS,
    NUMERIC_KINDS,
    ColumnTests,
    DriftMonitor,
    DriftResult,
)

REFERENCE_SCORE_ROWS: Final = 5000
SCORE_COLUMN: Final = keys.DRIFT_SCORE_COLUMN


@dataclass(frozen=True)
class Reference:
    """What the current data is compared with."""

    bundle: Bundle
    profile: dict[str, Any]  # the bundle's profile.json
    kinds: dict[str, str]  # monitored {column: schema kind}
    scores: np.ndarray | None  # the model's scores on reference rows, when there are any
    score_source: str  # where those scores come from, or why there are none


@dataclass(frozen=True)
class Analysis:
    """What the pass found, before anything is rendered or written."""

    result: DriftResult
    read: ReadReport
    window: str
    prediction: dict[str, Any]
    performance: dict[str, Any]
    missing_columns: list[str]
    sample: pd.DataFrame  # the current rows kept for the Evidently report
    profile: dict[str, Any]
    kinds: dict[str, str]  # the tested {column: kind} (monitored, not missing)
    schema: Schema

    @property
    def drift_detected(self) -> bool:
        """Data, prediction or performance drift, or a monitored column with no current value."""
        return (
            self.result.dataset_drift
            or bool(self.result.all_null_columns)
            or bool(self.prediction.get("drifted"))
            or bool(self.performance.get("drifted"))
        )


def analyse(config: DriftConfig) -> Analysis:
    """Read the bundle and the current data (one chunked pass) and judge them; nothing written.

    Raises:
        BundleError: the bundle or its profile fails verification.
        ConfigError: ``columns`` names a column that cannot be tested.
        DataError: no current rows in the window, or monitored columns missing (policy "error").
    """
    reference = read_reference(config)
    window = Window.parse(config.window_start, config.window_end)
    read = ReadReport()
    chunks = read_current(
        config.current_uri,
        reference.bundle.schema,
        needed_columns(reference),
        source_kind=config.current_format,
        window=window,
        chunk_rows=config.chunk_rows,
        report=read,
    )
    return compute(reference, chunks, read, window, config)


def compute(
    reference: Reference,
    chunks: Iterable[pd.DataFrame],
    read: ReadReport,
    window: Window,
    config: DriftConfig,
) -> Analysis:
    """The pass itself: typed chunks of current rows in, the analysis out.

    ``read`` is what the reader of ``chunks`` counted (it names what was skipped when no row is
    left); ``window`` is only described.
    """
    scan = _Scan(reference, config)
    for chunk in chunks:
        scan.add(chunk)
    if scan.monitor.rows == 0:
        raise DataError(_no_rows(read, window, config.current_uri))
    missing = [c for c in reference.kinds if c not in scan.seen]
    if missing and config.missing_columns == MISSING_ERROR:
        raise DataError(
            f"current data lacks monitored column(s) {missing} (expected every column of "
            f"{sorted(reference.kinds)}); pass missing_columns='report' to test the others and "
            "report these"
        )
    result = scan.monitor.results()
    result.columns = [c for c in result.columns if c.column not in missing]
    return Analysis(
        result=result,
        read=read,
        window=window.describe(),
        prediction=scan.prediction(),
        performance=performance(
            reference.bundle, scan.labels, scan.labelled_scores, config.max_auc_drop
        ),
        missing_columns=missing,
        sample=scan.sample.frame(),
        profile=reference.profile,
        kinds={c: k for c, k in reference.kinds.items() if c not in missing},
        schema=reference.bundle.schema,
    )


class _Scan:
    """The state of the pass: column summaries, the score summary, the sample and labels."""

    def __init__(self, reference: Reference, config: DriftConfig) -> None:
        self.reference = reference
        self.monitor = DriftMonitor(
            reference.profile, reference.kinds, ColumnTests.from_config(config)
        )
        self.scores: DriftMonitor | None = None
        if reference.scores is not None:
            # The score column gets Evidently's default test, whatever num_method says.
            score_profile = {"columns": {SCORE_COLUMN: numeric_profile(reference.scores)}}
            self.scores = DriftMonitor(
                score_profile, {SCORE_COLUMN: "numeric"}, ColumnTests(config.drift_share)
            )
        self.sample = Reservoir(config.sample_rows)
        self.seen: set[str] = set()
        self.labels: list[np.ndarray] = []
        self.labelled_scores: list[np.ndarray] = []
        self.unscored = ""  # why the model could not score the current rows

    def add(self, chunk: pd.DataFrame) -> None:
        """Summarise, sample and score one chunk of typed current rows."""
        bundle = self.reference.bundle
        self.seen.update(chunk.columns)
        self.monitor.update(chunk)
        self.sample.add(chunk[[c for c in self.reference.kinds if c in chunk.columns]])
        absent = [c for c in bundle.featurizer.input_columns_ if c not in chunk.columns]
        if absent:
            self.unscored = f"current rows lack model input column(s) {absent}"
            return
        scores = bundle.predict_proba_frame(chunk)
        if self.scores is not None:
            self.scores.update(pd.DataFrame({SCORE_COLUMN: scores}))
        schema = bundle.schema
        if schema.target in chunk.columns:
            target = chunk[schema.target]
            has = target.notna().to_numpy()
            if has.any():
                positive = target[has].astype(str) == schema.positive_label
                self.labels.append(positive.to_numpy(np.int8))
                self.labelled_scores.append(scores[has])

    def prediction(self) -> dict[str, Any]:
        """Prediction drift: the score column's verdict, or why there is none."""
        if self.scores is None or self.unscored:
            return {"available": False, "reason": self.unscored or self.reference.score_source}
        (verdict,) = self.scores.results().columns
        return {"available": True, "reference": self.reference.score_source, **verdict.to_dict()}


def _no_rows(read: ReadReport, window: Window, uri: str) -> str:
    return (
        f"no current rows in window {window.describe()} under {uri!r}: "
        f"{read.files} file(s), {read.events} event(s) ({read.events_outside_window} outside "
        f"the window, {read.response_events} responses, {read.malformed_events} malformed), "
        f"{len(read.malformed_files)} unreadable file(s)"
        + (f"; first problems: {read.problems[:3]}" if read.problems else "")
    )


def performance(
    bundle: Bundle, labels: list[np.ndarray], scores: list[np.ndarray], max_auc_drop: float
) -> dict[str, Any]:
    """Performance drift: the metrics on labelled current rows against the bundle's."""
    if not labels:
        return {"available": False, "reason": "the current data has no labels (target column)"}
    y, p = np.concatenate(labels), np.concatenate(scores)
    if len(np.unique(y)) < 2:
        return {"available": False, "reason": f"labels of {len(y)} rows hold one class only"}
    now = classification_metrics(y, p, what="current labelled rows")
    then = {k: float(v) for k, v in (bundle.manifest.get(keys.MANIFEST_METRICS) or {}).items()}
    delta = {k: now[k] - then[k] for k in now if k in then}
    drop = -delta.get(keys.METRIC_AUC, 0.0)
    return {
        "available": True,
        "labelled_rows": len(y),
        "current": now,
        "reference": then,
        "reference_split": "valid (bundle manifest)",
        "delta": delta,
        "auc_drop": drop,
        "max_auc_drop": max_auc_drop,
        "drifted": bool(drop > max_auc_drop),
    }


# --- the reference ----------------------------------------------------------------------------


def read_reference(config: DriftConfig) -> Reference:
    """The bundle, its verified profile, the monitored columns and the reference scores."""
    bundle = load_bundle(config.bundle_uri)
    profile = read_profile(bundle, config.bundle_uri)
    kinds = monitored_columns(bundle, profile, config.columns)
    scores, source = reference_scores(bundle, reference_data_uri(bundle, config), config.chunk_rows)
    return Reference(bundle, profile, kinds, scores, source)


def needed_columns(reference: Reference) -> list[str]:
    """The current columns the pass reads: the monitored ones and the model's inputs."""
    inputs = reference.bundle.featurizer.input_columns_
    return list(dict.fromkeys([*reference.kinds, *inputs]))


def monitored_columns(
    bundle: Bundle, profile: Mapping[str, Any], wanted: Sequence[str]
) -> dict[str, str]:
    """``{column: kind}`` to test: the feature columns Evidently can test, or ``wanted``."""
    kinds = {c.name: c.kind for c in bundle.schema.feature_columns}
    testable = NUMERIC_KINDS + CATEGORICAL_KINDS
    if wanted:
        bad = [c for c in wanted if kinds.get(c) not in testable]
        if bad:
            usable = sorted(c for c, k in kinds.items() if k in testable)
            raise ConfigError(expected_got("columns", f"feature columns among {usable}", bad))
        return {c: kinds[c] for c in wanted}
    return {c: k for c, k in kinds.items() if k in testable and c in profile["columns"]}


def read_profile(bundle: Bundle, bundle_uri: str) -> dict[str, Any]:
    """The bundle's profile.json, checked against the sha256 its manifest lists."""
    raw = io.read_bytes(io.join(bundle_uri, keys.PROFILE_FILE))
    expected = bundle.manifest[keys.MANIFEST_FILES].get(keys.PROFILE_FILE)
    if hashlib.sha256(raw).hexdigest() != expected:
        raise BundleError(f"{keys.PROFILE_FILE}: sha256 does not match the manifest")
    profile: dict[str, Any] = json.loads(raw)
    return profile


def reference_data_uri(bundle: Bundle, config: DriftConfig) -> str:
    """``reference_data_uri``, else the training data the bundle's manifest names ("" if none)."""
    training = bundle.manifest.get(keys.MANIFEST_TRAINING_DATA) or {}
    return config.reference_data_uri or str(training.get("source", {}).get("uri") or "")


def reference_scores(bundle: Bundle, uri: str, chunk_rows: int) -> tuple[np.ndarray | None, str]:
    """Model scores on up to REFERENCE_SCORE_ROWS rows of the reference data, or why not."""
    if not uri:
        return None, "no reference data URI (manifest training_data.source.uri is empty)"
    read = ReadReport()
    sample = Reservoir(REFERENCE_SCORE_ROWS, seed=1)
    try:
        for chunk in read_current(
            uri, bundle.schema, bundle.featurizer.input_columns_, source_kind=DATASET,
            chunk_rows=chunk_rows, report=read,
        ):  # fmt: skip
            sample.add(chunk)
        rows = sample.frame()
        if rows.empty:
            return None, f"reference data {uri!r} has no rows"
        return bundle.predict_proba_frame(rows), f"model scores on {len(rows)} rows of {uri}"
    except (KfpTabularError, KeyError, ValueError) as exc:
        return None, f"reference data {uri!r} unusable: {exc}"
