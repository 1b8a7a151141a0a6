"""Rank every candidate bundle, and the serving champion, on the same raw valid and test rows.

``main`` is what the KFP component calls; ``run(inputs, outputs, config)`` loads the bundles and
the rows (``read``), ``compute`` scores and ranks them without touching artifacts, and ``write``
copies the challenger and writes the leaderboard, last, each atomically.

Each bundle is loaded with its sha256 verified and scores the raw rows through its *own*
featurizer, so a champion trained with an older featurizer is judged fairly. Selection uses the
valid split only; test metrics are reported for the gate. Ties on the primary metric go to the
bundle with the lower single-row latency, measured the same way for every bundle.

The best *candidate* is copied as the challenger, even when the champion ranks first: that case
is flagged (``champion_ahead``) and left to the gate to decide.

Ensemble (``ensemble_members`` >= 2, holdout evaluation): the top candidates on valid are also
combined into one more candidate row (:mod:`components._shared.ensemble`: a weighted mean of
their probabilities, the weights fitted on the valid predictions only, its valid score
cross-fitted over the valid rows, its test score from the weights fitted on every valid row).
It is ranked with the others, and when it ranks first among the candidates the challenger is an
ensemble bundle holding the members' bundles. The leaderboard says what was combined, or why
no ensemble was built (off, one candidate, or cross-validation).

Small data (featurize chose cross-validation; the candidates' ``oof_predictions`` have rows):
every candidate is ranked on its out-of-fold predictions over every row, paired with its bundle
by the manifest sha256, and those are also its "test" metrics, the numbers the gate judges; the
champion is scored on the same rows. The best candidate's predictions are copied to
``challenger_oof`` for the gate (no rows under holdout evaluation). The leaderboard names the
evaluation either way.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from components._shared import ensemble, keys, tracking
from components._shared import oof as oof_io
from components._shared.artifacts import (
    ArtifactLike,
    MetricsLike,
    atomic_dir,
    atomic_file,
    set_display_name,
    write_text_atomic,
)
from components._shared.bundle import (
    BUNDLE_FORMAT,
    Bundle,
    json_record,
    load_bundle,
    sha256_file,
    single_row_latency_ms,
    verify_files,
)
from components._shared.entry import sort_arguments
from components._shared.errors import (
    ConfigError,
    ContractMismatch,
    DataError,
    DataReadError,
    expected_got,
)
from components._shared.metrics import classification_metrics
from components.compare.config import CompareConfig
from components.compare.leaderboard import render_html, render_markdown

__all__ = [
    "CompareInputs",
    "CompareOutputs",
    "Contest",
    "Entry",
    "Ranking",
    "build_ensemble",
    "check_champion",
    "compute",
    "main",
    "rank",
    "read",
    "run",
    "write",
]

LATENCY_ROWS = 200
LATENCY_CALLS = 200
# Metrics closer than this are a tie (floating-point noise between equivalent models).
TIE_TOLERANCE = 1e-9
# The leaderboard's record of the ensemble: what it combined, or why there is none.
LEADERBOARD_ENSEMBLE = "ensemble"
ENSEMBLE_FITTED_ON = (
    "the valid split's predictions only (never test rows): the valid score is cross-fitted "
    f"({ensemble.CROSS_FIT_FOLDS} folds, seed {ensemble.CROSS_FIT_SEED}), the bundle's weights "
    "fitted on every valid row"
)


@dataclass(frozen=True)
class CompareInputs:
    """The candidate bundles and their out-of-fold predictions (``dsl.Collected`` of train) and
    featurize's raw split rows."""

    candidates: Sequence[ArtifactLike]
    splits: ArtifactLike
    oof_predictions: Sequence[ArtifactLike] | None = None


@dataclass(frozen=True)
class CompareOutputs:
    """The challenger bundle, the leaderboard (JSON, Markdown, HTML) and the metrics."""

    challenger: ArtifactLike
    leaderboard: ArtifactLike
    leaderboard_md: ArtifactLike
    leaderboard_html: ArtifactLike
    metrics: MetricsLike
    challenger_oof: ArtifactLike | None = None


@dataclass
class Entry:
    """One leaderboard row while it is being built."""

    name: str
    family: str
    role: str
    uri: str
    bundle: Bundle
    local_dir: Path | None = None
    valid: dict[str, float] = field(default_factory=dict)
    test: dict[str, float] = field(default_factory=dict)
    latency_ms: float = 0.0
    rank: int = 0
    oof: oof_io.OutOfFold | None = None  # under cross-validation: its out-of-fold predictions
    valid_proba: np.ndarray | None = None  # P(positive) of the valid rows (holdout)
    test_proba: np.ndarray | None = None  # P(positive) of the test rows (holdout)
    members: list[Entry] | None = None  # an ensemble's members, best first
    weights: np.ndarray | None = None  # an ensemble's combiner weights


@dataclass(frozen=True)
class Contest:
    """What compare reads: every bundle (candidates first, then the champion) and the rows."""

    entries: list[Entry]
    valid: pd.DataFrame
    test: pd.DataFrame
    evaluation: str = keys.EVALUATION_HOLDOUT
    folds: int = 0  # > 0 under cross-validation (every candidate's entry then has ``oof``)

    @property
    def reference(self) -> Bundle:
        """The first candidate's bundle: its schema names the target every bundle predicts."""
        return self.entries[0].bundle


@dataclass(frozen=True)
class Ranking:
    """What compare computed, before anything is written."""

    primary_metric: str
    ordered: list[Entry]  # best first
    best: Entry  # the best candidate: the challenger
    champion: Entry | None
    board: dict[str, Any]  # the leaderboard JSON

    @property
    def champion_ahead(self) -> bool:
        """The champion ranks ahead of every candidate."""
        return bool(self.board[keys.LEADERBOARD_CHAMPION_AHEAD])

    @property
    def candidates(self) -> int:
        """How many candidate bundles were ranked (the ensemble row, built from them, is not
        counted)."""
        return sum(e.role == keys.ROLE_CANDIDATE and e.members is None for e in self.ordered)


def main(arguments: dict[str, Any]) -> None:
    """The component's entry: its arguments sorted into inputs, outputs and config."""
    run(*sort_arguments(arguments, CompareInputs, CompareOutputs, CompareConfig))


def run(inputs: CompareInputs, outputs: CompareOutputs, config: CompareConfig) -> Ranking:
    """Score, rank, and copy the best candidate bundle as the challenger.

    Raises:
        ConfigError: an unknown primary metric (when the config is built), no candidates, or
            candidates predicting different targets.
        BundleError: a bundle fails its sha256 verification (naming the file).
        ContractMismatch: the champion cannot be scored on the current data (naming columns).
    """
    ranking = compute(read(inputs, config), config)
    write(ranking, outputs)
    tracking.record_leaderboard(
        ranking.board, ranking.primary_metric, config.tracking_uri, config.run_id
    )
    return ranking


# --- read -----------------------------------------------------------------------------------


def read(inputs: CompareInputs, config: CompareConfig) -> Contest:
    """Load and verify every bundle, read the valid and test rows, check the champion."""
    candidates = list(inputs.candidates)
    if not candidates:
        raise ConfigError("compare needs at least one candidate bundle, got none")
    entries = [_candidate(artifact) for artifact in candidates]
    reference = entries[0].bundle
    for entry in entries[1:]:
        if entry.bundle.schema.target != reference.schema.target:
            raise ConfigError(
                expected_got(
                    f"candidate {entry.name!r} target",
                    repr(reference.schema.target),
                    repr(entry.bundle.schema.target),
                )
            )
    valid = _read_split(inputs.splits.path, keys.VALID)
    test = _read_split(inputs.splits.path, keys.TEST)
    evaluation, folds = _pair_oof(entries, oof_io.read_all(inputs.oof_predictions), valid)
    champion_uri = config.champion_uri.strip()
    if champion_uri:
        champion = load_bundle(champion_uri)
        check_champion(champion, reference, list(valid.columns))
        entries.append(
            Entry(
                name=champion.name or "champion",
                family=champion.family,
                role=keys.ROLE_CHAMPION,
                uri=champion_uri,
                bundle=champion,
            )
        )
    return Contest(entries, valid, test, evaluation, folds)


def _pair_oof(
    entries: list[Entry], tables: list[oof_io.OutOfFold], rows: pd.DataFrame
) -> tuple[str, int]:
    """(evaluation, folds): under cross-validation each candidate gets its out-of-fold table.

    Raises:
        DataError: a candidate without its table, or tables over other rows or labels.
    """
    evaluated = [t for t in tables if t.rows]
    if not evaluated:
        return keys.EVALUATION_HOLDOUT, 0
    schema = entries[0].bundle.schema
    labels = _labels(rows, schema.target, schema.positive_label, keys.VALID)
    digests = {
        e.name: sha256_file(Path(e.local_dir or e.uri) / keys.MANIFEST_FILE) for e in entries
    }
    paired = oof_io.for_bundles(evaluated, digests, labels)
    for entry in entries:
        entry.oof = paired[entry.name]
    first = paired[entries[0].name]
    return first.evaluation, int(first.info.get(keys.META_FOLDS, 0))


def _candidate(artifact: ArtifactLike) -> Entry:
    bundle = load_bundle(artifact.path)
    return Entry(
        name=bundle.name,
        family=bundle.family,
        role=keys.ROLE_CANDIDATE,
        uri=artifact.uri or artifact.path,
        bundle=bundle,
        local_dir=Path(artifact.path),
    )


def _read_split(directory: str, split: str) -> pd.DataFrame:
    path = Path(directory) / keys.split_file(split)
    try:
        return pd.read_parquet(path)
    except (OSError, ValueError) as exc:
        raise DataReadError(f"cannot read the {split} split {str(path)!r}: {exc}") from None


def check_champion(champion: Bundle, reference: Bundle, data_columns: list[str]) -> None:
    """Refuse a champion that cannot be scored on the current data, naming the columns.

    The champion must read only columns the current splits have, with the same kind as in the
    current schema, and predict the same target and positive label.

    Raises:
        ContractMismatch: listing every incompatible column.
    """
    issues = []
    where = f"champion bundle {champion.uri!r}"
    if (champion.schema.target, champion.schema.positive_label) != (
        reference.schema.target,
        reference.schema.positive_label,
    ):
        issues.append(
            expected_got(
                f"{where}: target and positive label",
                f"{reference.schema.target!r}={reference.schema.positive_label!r} (current data)",
                f"{champion.schema.target!r}={champion.schema.positive_label!r}",
            )
        )
    present = set(data_columns)
    missing = [c for c in champion.featurizer.input_columns_ if c not in present]
    if missing:
        issues.append(f"{where}: feature column(s) {missing} are missing from the current data")
    current = {c.name: c.kind for c in reference.schema.columns}
    for column in champion.schema.feature_columns:
        if (
            column.name in present
            and column.name in current
            and current[column.name] != column.kind
        ):
            issues.append(
                f"{where}: column {column.name!r} is {column.kind!r} in the champion's schema "
                f"but {current[column.name]!r} in the current data"
            )
    if issues:
        raise ContractMismatch(issues)


# --- compute --------------------------------------------------------------------------------


def compute(contest: Contest, config: CompareConfig) -> Ranking:
    """The pure part: score every bundle on valid and test, time one row, rank on valid."""
    metric = config.primary_metric
    labels = _score(contest)
    ensembled, ensemble_note = build_ensemble(contest, config, labels)
    entries = contest.entries + ([] if ensembled is None else [ensembled])
    records = [
        json_record({str(k): v for k, v in r.items()})
        for r in contest.valid.head(LATENCY_ROWS).to_dict("records")
    ]
    for entry in entries:
        entry.latency_ms = single_row_latency_ms(entry.bundle, records, calls=LATENCY_CALLS)

    ordered = rank(entries, metric)
    best = next(e for e in ordered if e.role == keys.ROLE_CANDIDATE)
    champion = next((e for e in ordered if e.role == keys.ROLE_CHAMPION), None)
    board = {
        keys.LEADERBOARD_PRIMARY_METRIC: metric,
        "higher_is_better": metric not in keys.LOWER_IS_BETTER,
        "selection_split": keys.VALID if not contest.folds else "out_of_fold",
        keys.LEADERBOARD_EVALUATION: contest.evaluation,
        "valid_rows": len(contest.valid),
        "test_rows": len(contest.test),
        keys.LEADERBOARD_CHALLENGER: best.name,
        keys.LEADERBOARD_CHAMPION_AHEAD: champion is not None and champion.rank < best.rank,
        keys.LEADERBOARD_ROWS: [_row(e) for e in ordered],
        LEADERBOARD_ENSEMBLE: ensemble_note,
    }
    if contest.folds:
        board[keys.META_FOLDS] = contest.folds
    return Ranking(metric, ordered, best, champion, board)


def _score(contest: Contest) -> tuple[np.ndarray, np.ndarray]:
    """Every entry's classification metrics on the valid and the test rows; the 0/1 labels of
    both.

    Under cross-validation a candidate's metrics are its out-of-fold predictions' (as valid and
    as test: the gate judges them); the champion is scored on the same rows.
    """
    target = contest.reference.schema.target
    positive = contest.reference.schema.positive_label
    y_valid = _labels(contest.valid, target, positive, keys.VALID)
    y_test = _labels(contest.test, target, positive, keys.TEST)
    for entry in contest.entries:
        what = f"{entry.role} {entry.name!r}"
        if entry.oof is not None:
            entry.valid = classification_metrics(
                y_valid, entry.oof.proba, what=f"out-of-fold predictions, {what}"
            )
            entry.test = dict(entry.valid)
            continue
        entry.valid_proba = entry.bundle.predict_proba_frame(contest.valid)
        entry.test_proba = entry.bundle.predict_proba_frame(contest.test)
        entry.valid = classification_metrics(
            y_valid, entry.valid_proba, what=f"valid split, {what}"
        )
        entry.test = classification_metrics(y_test, entry.test_proba, what=f"test split, {what}")
    return y_valid, y_test


def build_ensemble(
    contest: Contest, config: CompareConfig, labels: tuple[np.ndarray, np.ndarray]
) -> tuple[Entry | None, dict[str, Any]]:
    """The ensemble of the top ``config.ensemble_members`` candidates on valid, scored, and the
    leaderboard's note on it; ``(None, note saying why)`` when none is built.

    The weights are fitted on the valid predictions (:func:`ensemble.fit_weights`); the valid
    metrics are the cross-fitted predictions' (:func:`ensemble.cross_fit`), the test metrics
    those of the weights fitted on every valid row, which the bundle carries. Members whose
    fitted weight is 0 are left out of the bundle (its predictions are the same without them);
    when one member is left, the ensemble would be that candidate, and none is built.
    """
    candidates = [e for e in contest.entries if e.role == keys.ROLE_CANDIDATE]
    skipped = _ensemble_skipped(config.ensemble_members, contest.folds, len(candidates))
    if skipped:
        return None, {"skipped": skipped}
    sign = 1.0 if config.primary_metric in keys.LOWER_IS_BETTER else -1.0
    top = sorted(candidates, key=lambda e: (sign * e.valid[config.primary_metric], e.name))
    top = top[: config.ensemble_members]
    y_valid, y_test = labels
    valid_parts = np.column_stack([_given(m.valid_proba) for m in top])
    fitted = ensemble.fit_weights(y_valid, valid_parts)
    name = f"ensemble_top{len(top)}"
    note: dict[str, Any] = {
        "name": name,
        "members": [m.name for m in top if fitted[top.index(m)] > 0],
        "weights": [float(w) for w in fitted if w > 0],
        "zero_weight": [m.name for m in top if fitted[top.index(m)] <= 0],
        "combiner": ensemble.COMBINER,
        "fitted_on": ENSEMBLE_FITTED_ON,
    }
    members = [m for m, w in zip(top, fitted, strict=True) if w > 0]
    if len(members) < 2:
        return None, {**note, "skipped": f"the fitted weights put all on {members[0].name!r}"}
    weights = np.array(note["weights"])
    valid_proba = ensemble.cross_fit(y_valid, valid_parts)
    what = f"ensemble {name!r}"
    valid = classification_metrics(y_valid, valid_proba, what=f"valid (cross-fitted), {what}")
    test_proba = ensemble.combine(weights, [_given(m.test_proba) for m in members])
    test = classification_metrics(y_test, test_proba, what=f"test split, {what}")
    bundle = ensemble.assemble(
        [m.bundle for m in members],
        weights,
        manifest={keys.MANIFEST_CANDIDATE: name, keys.MANIFEST_FAMILY: ensemble.FAMILY},
    )
    entry = Entry(name, ensemble.FAMILY, keys.ROLE_CANDIDATE, "", bundle, valid=valid, test=test)
    entry.members, entry.weights, entry.test_proba = members, weights, test_proba
    return entry, note


def _ensemble_skipped(size: int, folds: int, candidates: int) -> str:
    """Why no ensemble is built ("" when one is)."""
    if size < 2:
        return "ensemble_members is 0: the ensemble is off"
    if folds:
        return (
            "cross-validation (small data): no ensemble is built; its weights would have to be "
            "cross-fitted on the members' out-of-fold predictions, fold by fold"
        )
    if candidates < 2:
        return f"{candidates} candidate: nothing to combine"
    return ""


def _given(proba: np.ndarray | None) -> np.ndarray:
    assert proba is not None  # holdout evaluation scores every candidate on valid and test
    return proba


def _labels(frame: pd.DataFrame, target: str, positive: str, split: str) -> np.ndarray:
    if target not in frame.columns:
        raise DataError(
            f"{split} split has no target column {target!r}; it has {list(frame.columns)}"
        )
    values = frame[target]
    nulls = int(values.isna().sum())
    if nulls:
        raise DataError(f"{split} split: target {target!r} is null in {nulls} row(s)")
    return (values.astype(str) == positive).to_numpy().astype(np.int8)


def rank(entries: list[Entry], primary_metric: str) -> list[Entry]:
    """Sort best first by valid ``primary_metric``; ties (within TIE_TOLERANCE) by latency."""
    sign = 1.0 if primary_metric in keys.LOWER_IS_BETTER else -1.0
    ordered = sorted(entries, key=lambda e: (sign * e.valid[primary_metric], e.latency_ms, e.name))
    # A stable sort by value first cannot see ties; fix up neighbours within the tolerance.
    changed = True
    while changed:
        changed = False
        for i in range(len(ordered) - 1):
            a, b = ordered[i], ordered[i + 1]
            tie = abs(a.valid[primary_metric] - b.valid[primary_metric]) <= TIE_TOLERANCE
            if tie and (b.latency_ms, b.name) < (a.latency_ms, a.name):
                ordered[i], ordered[i + 1] = b, a
                changed = True
    for position, entry in enumerate(ordered, start=1):
        entry.rank = position
    return ordered


def _row(entry: Entry) -> dict[str, Any]:
    row = {
        "rank": entry.rank,
        "name": entry.name,
        "family": entry.family,
        "role": entry.role,
        "bundle_uri": entry.uri,
        "valid": entry.valid,
        "test": entry.test,
        keys.METRIC_PREDICT_LATENCY_MS: entry.latency_ms,
    }
    if entry.members is not None and entry.weights is not None:
        row["members"] = [m.name for m in entry.members]
        row["weights"] = entry.weights.tolist()
    return row


# --- write ----------------------------------------------------------------------------------


def write(ranking: Ranking, outputs: CompareOutputs) -> None:
    """Copy the challenger (verified), write the leaderboard three ways, log the metrics."""
    best, metric = ranking.best, ranking.primary_metric
    _write_challenger(best, outputs.challenger.path)
    with atomic_file(outputs.leaderboard.path) as tmp_file:
        text = json.dumps(ranking.board, indent=2, allow_nan=False) + "\n"
        tmp_file.write_text(text, encoding="utf-8")
    if outputs.challenger_oof is not None:
        _write_challenger_oof(best, outputs.challenger_oof, ranking.board)
    write_text_atomic(outputs.leaderboard_md.path, render_markdown(ranking.board, metric))
    write_text_atomic(outputs.leaderboard_html.path, render_html(ranking.board, metric))
    _log_metrics(ranking, outputs.metrics)
    _describe(ranking, outputs)


def _write_challenger(best: Entry, path: str) -> None:
    """The best candidate's bundle, copied and verified; an ensemble's written with its
    members' bundles inside."""
    if best.members is not None and best.weights is not None:
        members = []
        for member in best.members:
            assert member.local_dir is not None  # members are candidates
            members.append((member.local_dir, member.bundle))
        ensemble.write(
            path,
            members,
            best.weights,
            name=best.name,
            metrics=best.valid,
            fitting={"fitted_on": ENSEMBLE_FITTED_ON},
        )
        return
    assert best.local_dir is not None  # candidates always have one
    with atomic_dir(path) as tmp:
        shutil.copytree(best.local_dir, tmp, dirs_exist_ok=True)
        verify_files(tmp, best.bundle.manifest)


def _write_challenger_oof(best: Entry, artifact: ArtifactLike, board: dict[str, Any]) -> None:
    """The challenger's out-of-fold predictions for the gate (no rows under holdout)."""
    info = {
        keys.META_CANDIDATE: best.name,
        keys.META_EVALUATION: board[keys.LEADERBOARD_EVALUATION],
        keys.META_FOLDS: board.get(keys.META_FOLDS, 0),
    }
    if best.oof is None:
        oof_io.write_empty(artifact, info)
    else:
        oof_io.write(
            artifact,
            {**info, keys.OOF_BUNDLE_SHA256: best.oof.info[keys.OOF_BUNDLE_SHA256]},
            labels=best.oof.labels,
            proba=best.oof.proba,
            folds=best.oof.folds,
        )
    set_display_name(
        artifact, f"out-of-fold {best.name} ({artifact.metadata[keys.META_ROWS]} rows)"
    )


def _log_metrics(ranking: Ranking, metrics: MetricsLike) -> None:
    best, champion, metric = ranking.best, ranking.champion, ranking.primary_metric
    metrics.log_metric(f"challenger_valid_{metric}", best.valid[metric])
    metrics.log_metric(f"challenger_test_{metric}", best.test[metric])
    if champion is not None:
        metrics.log_metric(f"champion_valid_{metric}", champion.valid[metric])
        metrics.log_metric(f"champion_test_{metric}", champion.test[metric])
    metrics.log_metric(keys.METRIC_CANDIDATES, ranking.candidates)
    metrics.log_metric(keys.METRIC_CHAMPION_AHEAD, float(ranking.champion_ahead))


def _describe(ranking: Ranking, outputs: CompareOutputs) -> None:
    """Display names and metadata shown in the KFP UI and read by the gate."""
    best, metric = ranking.best, ranking.primary_metric
    outputs.challenger.metadata.update(
        {
            keys.META_FAMILY: best.family,
            keys.META_CANDIDATE: best.name,
            keys.META_PRIMARY_METRIC: metric,
            keys.META_CHAMPION_AHEAD: ranking.champion_ahead,
            keys.META_BUNDLE_FORMAT: BUNDLE_FORMAT,
            keys.META_CONTENT_SHA256: sha256_file(
                Path(outputs.challenger.path) / keys.MANIFEST_FILE
            ),
        }
    )
    for artifact in (
        outputs.leaderboard,
        outputs.leaderboard_md,
        outputs.leaderboard_html,
        outputs.metrics,
    ):
        artifact.metadata[keys.META_PRIMARY_METRIC] = metric
        artifact.metadata[keys.META_CANDIDATE] = best.name
    set_display_name(outputs.challenger, f"challenger {best.name}")
    set_display_name(outputs.leaderboard, "leaderboard")
    set_display_name(outputs.leaderboard_md, "leaderboard")
    set_display_name(outputs.leaderboard_html, "leaderboard")
    set_display_name(outputs.metrics, f"compare ({metric})")
