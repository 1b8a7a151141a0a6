"""Decide whether compare's challenger may replace the champion, and record why.

The gate scores the challenger (and the champion, when there is one) on the raw test rows that
neither training nor selection used, computes paired intervals and tests
(:mod:`components.gate.evidence`), checks that the serving runtime loads the bundle and gives the
same answers (:mod:`components.gate.infra`), applies the written decision rule
(:mod:`components.gate.decision`, README.md) and writes: the blessing (JSON), the rationale
(Markdown), metrics, a copy of the challenger whose model card holds the decision (re-sealed),
the lineage record, and the boolean the pipeline branches on.
"""

from __future__ import annotations

import hashlib
import json
import time
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


def _json_file(path: str, obj: Any) -> None:
    with atomic_file(path) as tmp:
        tmp.write_text(json.dumps(obj, indent=2, allow_nan=False) + "\n", encoding="utf-8")


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


def _board_row(board: dict[str, Any], name: str | None, role: str) -> dict[str, Any] | None:
    for row in board[keys.LEADERBOARD_ROWS]:
        if row.get("role") == role and (name is None or row.get("name") == name):
            return dict(row)
    return None


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


def _target_of(bundle_dir: str) -> tuple[str, str] | None:
    """Target and positive label from a manifest that failed verification (best effort: the
    sample guard can still be reported for a tampered bundle)."""
    try:
        manifest = json.loads((Path(bundle_dir) / keys.MANIFEST_FILE).read_text(encoding="utf-8"))
        return str(manifest[keys.MANIFEST_TARGET]), str(manifest[keys.MANIFEST_POSITIVE_LABEL])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _load_champion(
    uri: str, challenger: Bundle | None, test: pd.DataFrame
) -> tuple[Bundle | None, np.ndarray | None, Reason | None]:
    """The champion and its test predictions, or a "cannot decide" reason saying why not."""
    try:
        champion = load_bundle(uri)
    except BundleError as exc:
        return (
            None,
            None,
            Reason(
                CHECK_CHAMPION,
                "load",
                False,
                f"cannot decide: the champion bundle {uri!r} is refused by load_bundle: {exc}",
                {"uri": uri, "error": str(exc)},
            ),
        )
    if challenger is not None and (champion.schema.target, champion.schema.positive_label) != (
        challenger.schema.target,
        challenger.schema.positive_label,
    ):
        return (
            champion,
            None,
            Reason(
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
            ),
        )
    try:
        return champion, champion.predict_proba_frame(test), None
    except KfpTabularError as exc:
        return (
            champion,
            None,
            Reason(
                CHECK_CHAMPION,
                "predict",
                False,
                f"cannot decide: the champion {uri!r} cannot score the test rows: {exc}",
                {"uri": uri, "error": str(exc)},
            ),
        )


def _manifest_sha256(uri: str) -> str | None:
    try:
        return hashlib.sha256(io.read_bytes(io.join(uri, keys.MANIFEST_FILE))).hexdigest()
    except (OSError, KfpTabularError):
        return None


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
    metrics.log_metric(keys.METRIC_SERVING_MAX_ABS_DIFF, serving_diff)


def run(
    *,
    challenger: ArtifactLike,
    splits: ArtifactLike,
    leaderboard: ArtifactLike,
    champion_uri: str,
    blessing: ArtifactLike,
    rationale: ArtifactLike,
    metrics: MetricsLike,
    blessed_bundle: ArtifactLike,
    lineage_record: ArtifactLike,
    run_name: str = "",
    run_id: str = "",
    **thresholds: Any,
) -> Decision:
    """Decide, and write every gate output.

    Args:
        challenger: compare's challenger bundle directory.
        splits: featurize's raw splits directory (``test.parquet`` is read).
        leaderboard: compare's leaderboard JSON.
        champion_uri: The champion bundle (local, ``file://`` or ``gs://``), "" for none.
        blessing: Output JSON: blessed, verdict, rule version, every reason with its numbers.
        rationale: Output Markdown for the UI.
        metrics: Output metrics (test metrics with bounds, differences, p-values, blessed 0/1).
        blessed_bundle: Output directory: the challenger with its model card completed and
            re-sealed (written whenever the challenger verifies; its metadata says ``blessed``).
        lineage_record: Output JSON: the run manifest.
        run_name: The pipeline run's name (lineage).
        run_id: The pipeline run's id (lineage).
        **thresholds: The fields of :class:`GateConfig`.

    Returns:
        The decision. ``blessing.metadata[keys.META_BLESSED]`` holds ``decision.blessed``: the
        component returns it as the boolean the pipeline branches on.

    Raises:
        ConfigError: a threshold or slice column is invalid.
        DataReadError / DataError: the splits or the leaderboard cannot be read, or the test
            rows lack the target.
    """
    started = time.perf_counter()
    config = GateConfig(**thresholds)
    board = read_leaderboard(leaderboard)
    test, test_path = read_test_split(splits)
    champion_uri = champion_uri.strip()
    challenger_name = board.get(keys.LEADERBOARD_CHALLENGER)
    board_row = _board_row(board, challenger_name, keys.ROLE_CANDIDATE)

    bundle: Bundle | None = None
    load_error: BundleError | None = None
    try:
        bundle = load_bundle(challenger.path)
    except BundleError as exc:
        load_error = exc
    target = (
        (bundle.schema.target, bundle.schema.positive_label)
        if bundle
        else _target_of(challenger.path)
    )
    if target is None:
        raise DataError(
            f"challenger bundle {challenger.path!r}: cannot read its target from "
            f"{keys.MANIFEST_FILE} ({load_error})"
        )
    y = test_labels(test, *target)
    positives = int(y.sum())
    guard = [sample_guard(len(y), positives, config)]
    infra_reasons = [
        infra.sha256_reason(load_error, bundle.manifest[keys.MANIFEST_FILES] if bundle else None)
    ]

    champion: Bundle | None = None
    p_champion: np.ndarray | None = None
    if champion_uri:
        champion, p_champion, problem = _load_champion(champion_uri, bundle, test)
        if problem is not None:
            guard.append(problem)

    evidence: Evidence | None = None
    serving_diff = 0.0
    if bundle is not None:
        p_challenger = bundle.predict_proba_frame(test)
        try:
            recomputed = classification_metrics(y, p_challenger, what="test split, challenger")
        except DataError:
            recomputed = {}
        infra_reasons.append(
            infra.leaderboard_reason(recomputed, board_row.get("test") if board_row else None)
        )
        if len(test):
            served, serving_diff = infra.serving_reasons(
                challenger.path,
                test,
                p_challenger,
                sample=config.infra_sample_rows,
                seed=config.seed,
            )
            infra_reasons += served
        if all(r.passed for r in guard):
            evidence = compute_evidence(y, p_challenger, p_champion, test, config)

    decision = decide(config=config, guard=guard, infra=infra_reasons, evidence=evidence)
    decided_at = datetime.now(UTC).isoformat(timespec="seconds")
    test_info = {
        "uri": str(getattr(splits, "uri", "") or splits.path) + "/" + keys.split_file(keys.TEST),
        "sha256": sha256_file(test_path),
        "rows": len(y),
        "positives": positives,
    }
    champion_name = (champion.name or "champion") if champion else (champion_uri or None)

    sealed: dict[str, Any] | None = None
    if bundle is not None:
        card = (Path(challenger.path) / keys.MODEL_CARD_FILE).read_text(encoding="utf-8")
        section = report.model_card_section(
            decision=decision,
            evidence=evidence,
            config=config,
            champion=champion_name,
            test=test_info,
            decided_at=decided_at,
        )
        sealed = copy_with_model_card(
            challenger.path, blessed_bundle.path, report.complete_model_card(card, section)
        )
        load_bundle(blessed_bundle.path)  # the sealed copy must load exactly as serving will
        blessed_bundle.metadata.update(
            {
                keys.META_FAMILY: bundle.family,
                keys.META_CANDIDATE: bundle.name,
                keys.META_BUNDLE_FORMAT: BUNDLE_FORMAT,
                keys.META_CONTENT_SHA256: sha256_file(
                    Path(blessed_bundle.path) / keys.MANIFEST_FILE
                ),
            }
        )
    blessed_bundle.metadata.update(
        {
            keys.META_BLESSED: decision.blessed,
            keys.META_VERDICT: decision.verdict,
            keys.META_RULE_VERSION: decision.rule_version,
        }
    )

    challenger_info = {
        "name": bundle.name if bundle else challenger_name,
        "family": bundle.family if bundle else None,
        "uri": challenger.uri or challenger.path,
        "manifest_sha256": _manifest_sha256(challenger.path),
        "files": bundle.manifest[keys.MANIFEST_FILES] if bundle else None,
    }
    champion_info = (
        {
            "name": champion_name,
            "family": champion.family if champion else None,
            "uri": champion_uri,
            "manifest_sha256": _manifest_sha256(champion_uri),
        }
        if champion_uri
        else None
    )
    infra_details = {
        "serving_max_abs_diff": serving_diff,
        "tolerance": infra.PARITY_TOLERANCE,
    }
    _json_file(
        blessing.path,
        {
            keys.BLESSING_BLESSED: decision.blessed,
            keys.BLESSING_VERDICT: decision.verdict,
            keys.BLESSING_RULE_VERSION: decision.rule_version,
            keys.BLESSING_SUMMARY: decision.summary(),
            "decided_at": decided_at,
            keys.BLESSING_CHALLENGER: challenger_info,
            keys.BLESSING_CHAMPION: champion_info,
            keys.BLESSING_BUNDLE_URI: (blessed_bundle.uri or blessed_bundle.path)
            if sealed
            else None,
            keys.LINEAGE_TEST_SPLIT: test_info,
            keys.BLESSING_THRESHOLDS: config.to_dict(),
            keys.BLESSING_REASONS: [r.to_dict() for r in decision.reasons],
            keys.BLESSING_EVIDENCE: evidence.to_dict() if evidence else None,
            keys.BLESSING_INFRA: infra_details,
        },
    )
    write_text_atomic(
        rationale.path,
        report.rationale(
            decision=decision,
            evidence=evidence,
            config=config,
            challenger=str(challenger_info["name"]),
            champion=champion_name,
            test_rows=len(y),
            positives=positives,
        ),
    )
    source = bundle.manifest.get(keys.MANIFEST_TRAINING_DATA, {}) if bundle else {}
    _json_file(
        lineage_record.path,
        lineage.record(
            run={"name": run_name, "id": run_id},
            data=(source or {}).get("source"),
            test_split=test_info,
            board=board,
            leaderboard_uri=leaderboard.uri or leaderboard.path,
            leaderboard_sha256=sha256_file(leaderboard.path),
            challenger=challenger_info,
            champion=champion_info,
            config=config,
            decision=decision,
            blessed_bundle=(
                {
                    "uri": blessed_bundle.uri or blessed_bundle.path,
                    "manifest_sha256": blessed_bundle.metadata.get(keys.META_CONTENT_SHA256),
                }
                if sealed
                else None
            ),
        ),
    )
    _log_metrics(metrics, decision, evidence, serving_diff)
    metrics.log_metric(keys.METRIC_GATE_SECONDS, time.perf_counter() - started)

    for artifact in (blessing, rationale, metrics, lineage_record):
        artifact.metadata[keys.META_BLESSED] = decision.blessed
        artifact.metadata[keys.META_VERDICT] = decision.verdict
        artifact.metadata[keys.META_RULE_VERSION] = decision.rule_version
    name = str(challenger_info["name"])
    set_display_name(blessing, f"blessing: {decision.verdict}")
    set_display_name(rationale, "gate rationale")
    set_display_name(metrics, "gate")
    set_display_name(lineage_record, "lineage record")
    set_display_name(blessed_bundle, f"{decision.verdict} {name}")
    return decision
