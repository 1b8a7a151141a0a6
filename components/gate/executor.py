"""Decide whether compare's challenger may replace the champion, and record why.

``main`` is what the KFP component calls; ``run(inputs, outputs, config)`` has four parts:

- :func:`read`: the leaderboard, the raw test rows, the challenger and the champion bundles;
- :func:`score`: both bundles' predictions on the test rows, and the infra checks that run the
  challenger (sha256, leaderboard parity, the serving runtime's request path:
  :mod:`components.gate.infra`);
- :func:`judge`, the pure part: labels, predictions and checks in, the statistics
  (:mod:`components.gate.evidence`) and the decision (:mod:`components.gate.decision`,
  README.md) out;
- :func:`write`: the blessing (JSON), the rationale (Markdown), metrics, a copy of the challenger
  whose model card holds the decision (re-sealed), the lineage record, each atomically.

``main`` returns the boolean the pipeline branches on: the blessing's own ``blessed`` flag.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from components._shared import io, keys
from components._shared.artifacts import (
    ArtifactLike,
    MetricsLike,
    atomic_file,
    set_display_name,
    write_text_atomic,
)
from components._shared.bundle import (
    BUNDLE_FORMAT,
    Bundle,
    copy_with_model_card,
    load_bundle,
    sha256_file,
)
from components._shared.entry import sort_arguments
from components._shared.errors import (
    BundleError,
    DataError,
    DataReadError,
    KfpTabularError,
    expected_got,
)
from components._shared.metrics import classification_metrics
from components.gate import infra, lineage, report
from components.gate.config import GateConfig
from components.gate.decision import CHECK_CHAMPION, Decision, Reason, decide, sample_guard
from components.gate.evidence import Evidence, compute_evidence

__all__ = [
    "GateCase",
    "GateInputs",
    "GateOutputs",
    "Gated",
    "Scores",
    "judge",
    "main",
    "read",
    "run",
    "score",
    "write",
]


@dataclass(frozen=True)
class GateInputs:
    """compare's challenger and leaderboard, and featurize's raw splits (the test rows judge)."""

    challenger: ArtifactLike
    splits: ArtifactLike
    leaderboard: ArtifactLike


@dataclass(frozen=True)
class GateOutputs:
    """The blessing, the rationale, the metrics, the blessed bundle and the lineage record."""

    blessing: ArtifactLike
    rationale: ArtifactLike
    metrics: MetricsLike
    blessed_bundle: ArtifactLike
    lineage: ArtifactLike


@dataclass(frozen=True)
class GateCase:
    """What the gate read: the leaderboard, the test rows, the challenger and the champion."""

    board: dict[str, Any]
    leaderboard: dict[str, str]  # uri, sha256 (lineage)
    test: pd.DataFrame  # the raw typed test rows
    labels: np.ndarray  # 0/1, 1 = the challenger's positive label
    test_split: dict[str, Any]  # uri, sha256, rows, positives (blessing, lineage, model card)
    challenger: Bundle | None  # None when it fails verification
    challenger_error: BundleError | None
    challenger_info: dict[str, Any]  # name, family, uri, manifest_sha256, files
    champion_uri: str  # "" for the first deployment
    champion: Bundle | None
    champion_problem: Reason | None  # the champion could not be loaded
    champion_info: dict[str, Any] | None  # name, family, uri, manifest_sha256

    @property
    def champion_name(self) -> str | None:
        """The champion's name for people (its URI when it did not load); None without one."""
        return champion_name(self.champion_uri, self.champion)

    @property
    def board_row(self) -> dict[str, Any] | None:
        """The challenger's row of the leaderboard."""
        name = self.board.get(keys.LEADERBOARD_CHALLENGER)
        for row in self.board[keys.LEADERBOARD_ROWS]:
            if row.get("role") == keys.ROLE_CANDIDATE and (name is None or row.get("name") == name):
                return dict(row)
        return None


@dataclass(frozen=True)
class Scores:
    """The predictions on the test rows and the checks that ran the bundles to get them."""

    challenger: np.ndarray | None  # None when the challenger fails verification
    champion: np.ndarray | None
    champion_problem: Reason | None  # not loaded, another target, or cannot score the rows
    infra: list[Reason]
    serving_max_abs_diff: float


@dataclass(frozen=True)
class Gated:
    """What the gate decided and on what, before anything is written."""

    case: GateCase
    scores: Scores
    evidence: Evidence | None
    decision: Decision


def main(arguments: dict[str, Any]) -> bool:
    """The component's entry; returns the branch flag.

    The flag is the blessing's own verdict (``decision.blessed``, also the ``blessed``
    metadata of every output), not a second source of truth. It is the component's return
    value because kfp.local resolves a ``dsl.If`` on a task's ``Output`` but not on a named
    output parameter.
    """
    return run(*sort_arguments(arguments, GateInputs, GateOutputs, GateConfig)).decision.blessed


def run(inputs: GateInputs, outputs: GateOutputs, config: GateConfig) -> Gated:
    """Decide, and write every gate output.

    The blessed bundle is written whenever the challenger verifies (its metadata says whether
    it is blessed); ``outputs.blessing.metadata[keys.META_BLESSED]`` holds
    ``decision.blessed``.

    Raises:
        ConfigError: a slice column is not in the test rows, or has too many values.
        DataReadError / DataError: the splits or the leaderboard cannot be read, or the test
            rows lack the target.
    """
    started = time.perf_counter()
    case = read(inputs, config)
    scores = score(case, inputs.challenger.path, config)
    evidence, decision = judge(case.labels, case.test, scores, config)
    result = Gated(case, scores, evidence, decision)
    write(result, inputs, outputs, config, started=started)
    return result


# --- read ------------------------------------------------------------------------------------


def read(inputs: GateInputs, config: GateConfig) -> GateCase:
    """Read the leaderboard, the test rows, the challenger and the champion (not yet scored)."""
    board = read_leaderboard(inputs.leaderboard)
    test, test_path = read_test_split(inputs.splits)
    champion_uri = config.champion_uri.strip()
    bundle, error = _load_challenger(inputs.challenger.path)
    target = _target_of(inputs.challenger.path) if bundle is None else _schema_target(bundle)
    if target is None:
        raise DataError(
            f"challenger bundle {inputs.challenger.path!r}: cannot read its target from "
            f"{keys.MANIFEST_FILE} ({error})"
        )
    labels = test_labels(test, *target)
    champion, problem = _load_champion(champion_uri) if champion_uri else (None, None)
    splits = inputs.splits
    return GateCase(
        board=board,
        leaderboard={
            "uri": inputs.leaderboard.uri or inputs.leaderboard.path,
            "sha256": sha256_file(inputs.leaderboard.path),
        },
        test=test,
        labels=labels,
        test_split={
            "uri": str(getattr(splits, "uri", "") or splits.path)
            + "/"
            + keys.split_file(keys.TEST),
            "sha256": sha256_file(test_path),
            "rows": len(labels),
            "positives": int(labels.sum()),
        },
        challenger=bundle,
        challenger_error=error,
        challenger_info=_challenger_info(inputs.challenger, bundle, board),
        champion_uri=champion_uri,
        champion=champion,
        champion_problem=problem,
        champion_info=_champion_info(champion_uri, champion),
    )


def read_leaderboard(artifact: ArtifactLike) -> dict[str, Any]:
    """compare's leaderboard JSON.

    Raises:
        DataReadError: unreadable or not a leaderboard (naming what is missing).
    """
    try:
        board = json.loads(Path(artifact.path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataReadError(f"cannot read the leaderboard at {artifact.path!r}: {exc}") from None
    if not isinstance(board, dict) or not isinstance(board.get(keys.LEADERBOARD_ROWS), list):
        raise DataReadError(
            expected_got(
                f"leaderboard {artifact.path!r}",
                f"compare's JSON object with a '{keys.LEADERBOARD_ROWS}' list",
                type(board).__name__ if not isinstance(board, dict) else sorted(board),
            )
        )
    return board


def read_test_split(splits: ArtifactLike) -> tuple[pd.DataFrame, Path]:
    """The raw typed test rows from featurize's splits directory."""
    path = Path(splits.path) / keys.split_file(keys.TEST)
    try:
        return pd.read_parquet(path), path
    except (OSError, ValueError) as exc:
        raise DataReadError(f"cannot read the test split {str(path)!r}: {exc}") from None


def test_labels(frame: pd.DataFrame, target: str, positive: str) -> np.ndarray:
    """0/1 labels of the test rows (1 = ``positive``); a missing or null target is an error."""
    if target not in frame.columns:
        raise DataError(f"test split has no target column {target!r}; it has {list(frame.columns)}")
    nulls = int(frame[target].isna().sum())
    if nulls:
        raise DataError(f"test split: target {target!r} is null in {nulls} row(s)")
    return (frame[target].astype(str) == positive).to_numpy().astype(np.int8)


def _load_challenger(directory: str) -> tuple[Bundle | None, BundleError | None]:
    try:
        return load_bundle(directory), None
    except BundleError as exc:
        return None, exc


def _schema_target(bundle: Bundle) -> tuple[str, str]:
    return bundle.schema.target, bundle.schema.positive_label


def _target_of(bundle_dir: str) -> tuple[str, str] | None:
    """Target and positive label from a manifest that failed verification (best effort: the
    sample guard can still be reported for a tampered bundle)."""
    try:
        manifest = json.loads((Path(bundle_dir) / keys.MANIFEST_FILE).read_text(encoding="utf-8"))
        return str(manifest[keys.MANIFEST_TARGET]), str(manifest[keys.MANIFEST_POSITIVE_LABEL])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _load_champion(uri: str) -> tuple[Bundle | None, Reason | None]:
    """The champion bundle, or a "cannot decide" reason saying why it did not load."""
    try:
        return load_bundle(uri), None
    except BundleError as exc:
        return None, Reason(
            CHECK_CHAMPION,
            "load",
            False,
            f"cannot decide: the champion bundle {uri!r} is refused by load_bundle: {exc}",
            {"uri": uri, "error": str(exc)},
        )


def _manifest_sha256(uri: str) -> str | None:
    try:
        return hashlib.sha256(io.read_bytes(io.join(uri, keys.MANIFEST_FILE))).hexdigest()
    except (OSError, KfpTabularError):
        return None


def _challenger_info(
    artifact: ArtifactLike, bundle: Bundle | None, board: dict[str, Any]
) -> dict[str, Any]:
    return {
        "name": bundle.name if bundle else board.get(keys.LEADERBOARD_CHALLENGER),
        "family": bundle.family if bundle else None,
        "uri": artifact.uri or artifact.path,
        "manifest_sha256": _manifest_sha256(artifact.path),
        "files": bundle.manifest[keys.MANIFEST_FILES] if bundle else None,
    }


def champion_name(uri: str, champion: Bundle | None) -> str | None:
    """The champion's name for people, or its URI when it did not load; None without one."""
    if champion is not None:
        return champion.name or "champion"
    return uri or None


def _champion_info(uri: str, champion: Bundle | None) -> dict[str, Any] | None:
    if not uri:
        return None
    return {
        "name": champion_name(uri, champion),
        "family": champion.family if champion else None,
        "uri": uri,
        "manifest_sha256": _manifest_sha256(uri),
    }


# --- score -----------------------------------------------------------------------------------


def score(case: GateCase, challenger_dir: str, config: GateConfig) -> Scores:
    """Both bundles' test predictions, and the infra checks of the challenger.

    ``challenger_dir`` is the challenger bundle the serving runtime's request path loads itself.
    """
    bundle = case.challenger
    files = bundle.manifest[keys.MANIFEST_FILES] if bundle else None
    checks = [infra.sha256_reason(case.challenger_error, files)]
    p_champion, problem = _score_champion(case)
    if bundle is None:
        return Scores(None, p_champion, problem, checks, 0.0)
    p_challenger = bundle.predict_proba_frame(case.test)
    try:
        recomputed = classification_metrics(
            case.labels, p_challenger, what="test split, challenger"
        )
    except DataError:
        recomputed = {}
    board_row = case.board_row
    checks.append(
        infra.leaderboard_reason(recomputed, board_row.get("test") if board_row else None)
    )
    serving_diff = 0.0
    if len(case.test):
        served, serving_diff = infra.serving_reasons(
            challenger_dir,
            case.test,
            p_challenger,
            sample=config.infra_sample_rows,
            seed=config.seed,
        )
        checks += served
    return Scores(p_challenger, p_champion, problem, checks, serving_diff)


def _score_champion(case: GateCase) -> tuple[np.ndarray | None, Reason | None]:
    """The champion's test predictions, or a "cannot decide" reason saying why there are none."""
    champion, challenger, uri = case.champion, case.challenger, case.champion_uri
    if champion is None:
        return None, case.champion_problem
    if challenger is not None and _schema_target(champion) != _schema_target(challenger):
        return None, Reason(
            CHECK_CHAMPION,
            "target",
            False,
            "cannot decide: "
            + expected_got(
                f"champion {uri!r} target and positive label",
                f"{challenger.schema.target!r}={challenger.schema.positive_label!r}",
                f"{champion.schema.target!r}={champion.schema.positive_label!r}",
            ),
            {"uri": uri},
        )
    try:
        return champion.predict_proba_frame(case.test), None
    except KfpTabularError as exc:
        return None, Reason(
            CHECK_CHAMPION,
            "predict",
            False,
            f"cannot decide: the champion {uri!r} cannot score the test rows: {exc}",
            {"uri": uri, "error": str(exc)},
        )


# --- judge: the pure part ----------------------------------------------------------------------


def judge(
    labels: np.ndarray, test: pd.DataFrame, scores: Scores, config: GateConfig
) -> tuple[Evidence | None, Decision]:
    """The statistics and the decision from the labels, the predictions and the infra checks.

    The statistics are computed only when the challenger verified and the guards passed (enough
    rows of each class, a champion that could be scored): without them there is nothing to
    decide on.

    Raises:
        ConfigError: a slice column is not in ``test``, or has too many values to be a slice.
    """
    guard = [sample_guard(len(labels), int(labels.sum()), config)]
    if scores.champion_problem is not None:
        guard.append(scores.champion_problem)
    evidence = None
    if scores.challenger is not None and all(r.passed for r in guard):
        evidence = compute_evidence(labels, scores.challenger, scores.champion, test, config)
    return evidence, decide(config=config, guard=guard, infra=scores.infra, evidence=evidence)


# --- write -----------------------------------------------------------------------------------


def write(
    result: Gated,
    inputs: GateInputs,
    outputs: GateOutputs,
    config: GateConfig,
    *,
    started: float,
) -> None:
    """Write every output, each atomically, and describe them for the UI.

    ``started`` is the ``time.perf_counter()`` at the start of the run (``gate_seconds``).
    """
    decided_at = datetime.now(UTC).isoformat(timespec="seconds")
    sealed = _write_blessed_bundle(
        result, inputs.challenger.path, outputs.blessed_bundle, config, decided_at
    )
    bundle_uri = (outputs.blessed_bundle.uri or outputs.blessed_bundle.path) if sealed else None
    _json_file(outputs.blessing.path, blessing_record(result, config, decided_at, bundle_uri))
    case, decision = result.case, result.decision
    write_text_atomic(
        outputs.rationale.path,
        report.rationale(
            decision=decision,
            evidence=result.evidence,
            config=config,
            challenger=str(case.challenger_info["name"]),
            champion=case.champion_name,
            test_rows=len(case.labels),
            positives=int(case.test_split["positives"]),
        ),
    )
    blessed_bundle = (
        {
            "uri": bundle_uri,
            "manifest_sha256": outputs.blessed_bundle.metadata.get(keys.META_CONTENT_SHA256),
        }
        if sealed
        else None
    )
    _json_file(outputs.lineage.path, _lineage_record(result, config, blessed_bundle))
    _log_metrics(outputs.metrics, decision, result.evidence, result.scores.serving_max_abs_diff)
    outputs.metrics.log_metric(keys.METRIC_GATE_SECONDS, time.perf_counter() - started)
    _describe(outputs, decision, str(case.challenger_info["name"]))


def blessing_record(
    result: Gated, config: GateConfig, decided_at: str, bundle_uri: str | None
) -> dict[str, Any]:
    """The blessing JSON: the verdict, every reason with its numbers, the evidence."""
    case, decision, evidence = result.case, result.decision, result.evidence
    return {
        keys.BLESSING_BLESSED: decision.blessed,
        keys.BLESSING_VERDICT: decision.verdict,
        keys.BLESSING_RULE_VERSION: decision.rule_version,
        keys.BLESSING_SUMMARY: decision.summary(),
        "decided_at": decided_at,
        keys.BLESSING_CHALLENGER: case.challenger_info,
        keys.BLESSING_CHAMPION: case.champion_info,
        keys.BLESSING_BUNDLE_URI: bundle_uri,
        keys.LINEAGE_TEST_SPLIT: case.test_split,
        keys.BLESSING_THRESHOLDS: config.thresholds(),
        keys.BLESSING_REASONS: [r.to_dict() for r in decision.reasons],
        keys.BLESSING_EVIDENCE: evidence.to_dict() if evidence else None,
        keys.BLESSING_INFRA: {
            "serving_max_abs_diff": result.scores.serving_max_abs_diff,
            "tolerance": infra.PARITY_TOLERANCE,
        },
    }


def _json_file(path: str, obj: Any) -> None:
    with atomic_file(path) as tmp:
        tmp.write_text(json.dumps(obj, indent=2, allow_nan=False) + "\n", encoding="utf-8")


def _write_blessed_bundle(
    result: Gated,
    challenger_dir: str,
    artifact: ArtifactLike,
    config: GateConfig,
    decided_at: str,
) -> bool:
    """The challenger with its model card completed, re-sealed; not written when it failed
    verification (returns whether it was written). Its metadata says the verdict either way."""
    bundle, decision = result.case.challenger, result.decision
    if bundle is not None:
        card = (Path(challenger_dir) / keys.MODEL_CARD_FILE).read_text(encoding="utf-8")
        section = report.model_card_section(
            decision=decision,
            evidence=result.evidence,
            config=config,
            champion=result.case.champion_name,
            test=result.case.test_split,
            decided_at=decided_at,
        )
        copy_with_model_card(
            challenger_dir, artifact.path, report.complete_model_card(card, section)
        )
        load_bundle(artifact.path)  # the sealed copy must load exactly as serving will
        artifact.metadata.update(
            {
                keys.META_FAMILY: bundle.family,
                keys.META_CANDIDATE: bundle.name,
                keys.META_BUNDLE_FORMAT: BUNDLE_FORMAT,
                keys.META_CONTENT_SHA256: sha256_file(Path(artifact.path) / keys.MANIFEST_FILE),
            }
        )
    artifact.metadata.update(
        {
            keys.META_BLESSED: decision.blessed,
            keys.META_VERDICT: decision.verdict,
            keys.META_RULE_VERSION: decision.rule_version,
        }
    )
    return bundle is not None


def _lineage_record(
    result: Gated, config: GateConfig, blessed_bundle: dict[str, Any] | None
) -> dict[str, Any]:
    case = result.case
    source = (
        case.challenger.manifest.get(keys.MANIFEST_TRAINING_DATA, {}) if case.challenger else {}
    )
    return lineage.record(
        run={"name": config.run_name, "id": config.run_id},
        data=(source or {}).get("source"),
        test_split=case.test_split,
        board=case.board,
        leaderboard_uri=case.leaderboard["uri"],
        leaderboard_sha256=case.leaderboard["sha256"],
        challenger=case.challenger_info,
        champion=case.champion_info,
        config=config,
        decision=result.decision,
        blessed_bundle=blessed_bundle,
    )


def _log_metrics(
    metrics: MetricsLike, decision: Decision, evidence: Evidence | None, serving_diff: float
) -> None:
    metrics.log_metric(keys.METRIC_BLESSED, float(decision.blessed))
    if evidence is None:
        return
    metrics.log_metric(keys.META_TEST_ROWS, evidence.rows)
    auc = evidence.auc
    for name, value in (("", auc.estimate), ("_low", auc.low), ("_high", auc.high)):
        metrics.log_metric(f"test_{keys.METRIC_AUC}{name}", value)
    for metric in (keys.METRIC_LOG_LOSS, keys.METRIC_ACCURACY):
        a = evidence.bootstrap[metric].a
        for name, value in (("", a.estimate), ("_low", a.low), ("_high", a.high)):
            metrics.log_metric(f"test_{metric}{name}", value)
    if evidence.champion is not None and evidence.delong is not None:
        _log_versus_champion(metrics, evidence)
    metrics.log_metric(keys.METRIC_SERVING_MAX_ABS_DIFF, serving_diff)


def _log_versus_champion(metrics: MetricsLike, evidence: Evidence) -> None:
    assert evidence.champion is not None and evidence.delong is not None
    for metric in (keys.METRIC_AUC, keys.METRIC_LOG_LOSS, keys.METRIC_ACCURACY):
        metrics.log_metric(f"champion_test_{metric}", evidence.champion[metric])
    d = evidence.delong
    for name, value in (("", d.difference), ("_low", d.low), ("_high", d.high)):
        metrics.log_metric(f"delta_{keys.METRIC_AUC}{name}", value)
    for metric in (keys.METRIC_LOG_LOSS, keys.METRIC_ACCURACY):
        diff = evidence.bootstrap[metric].difference
        assert diff is not None
        for name, value in (("", diff.estimate), ("_low", diff.low), ("_high", diff.high)):
            metrics.log_metric(f"delta_{metric}{name}", value)
    metrics.log_metric(keys.METRIC_DELONG_P, d.p_value)
    if evidence.mcnemar is not None:
        metrics.log_metric(keys.METRIC_MCNEMAR_P, evidence.mcnemar.p_value)


def _describe(outputs: GateOutputs, decision: Decision, challenger: str) -> None:
    """The verdict on every output's metadata, and display names for the KFP UI."""
    for artifact in (outputs.blessing, outputs.rationale, outputs.metrics, outputs.lineage):
        artifact.metadata[keys.META_BLESSED] = decision.blessed
        artifact.metadata[keys.META_VERDICT] = decision.verdict
        artifact.metadata[keys.META_RULE_VERSION] = decision.rule_version
    set_display_name(outputs.blessing, f"blessing: {decision.verdict}")
    set_display_name(outputs.rationale, "gate rationale")
    set_display_name(outputs.metrics, "gate")
    set_display_name(outputs.lineage, "lineage record")
    set_display_name(outputs.blessed_bundle, f"{decision.verdict} {challenger}")
