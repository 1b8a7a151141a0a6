"""Record the decision: write every gate output, each atomically, with its metadata.

:func:`write` writes the blessing (JSON: the verdict, every reason, the evidence), the rationale
(Markdown, :mod:`components.gate.report`), the metrics, a copy of the challenger whose model card
holds the decision (re-sealed), and the lineage record (:mod:`components.gate.lineage`); then the
verdict on every output's metadata and the display names for the KFP UI.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from components._shared import keys
from components._shared.artifacts import (
    ArtifactLike,
    ClassificationMetricsLike,
    MetricsLike,
    atomic_file,
    set_display_name,
    write_text_atomic,
)
from components._shared.bundle import BUNDLE_FORMAT, copy_with_model_card, load_bundle, sha256_file
from components._shared.metrics import confusion_matrix, roc_points
from components.gate import infra, lineage, report
from components.gate.config import GateConfig
from components.gate.decision import Decision
from components.gate.evidence import Evidence

if TYPE_CHECKING:
    from components.gate.executor import Gated, GateInputs, GateOutputs

__all__ = ["blessing_record", "write"]


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
    digest = outputs.blessed_bundle.metadata.get(keys.META_CONTENT_SHA256) if sealed else None
    record = blessing_record(result, config, decided_at, bundle_uri)
    # deploy checks that it deploys exactly this manifest, and hands the digest to the runtime.
    record[keys.BLESSING_BUNDLE_MANIFEST_SHA256] = digest
    _json_file(outputs.blessing.path, record)
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
            evaluation=case.evaluation,
        ),
    )
    blessed_bundle = (
        {
            "uri": bundle_uri,
            "manifest_sha256": digest,
        }
        if sealed
        else None
    )
    _json_file(outputs.lineage.path, _lineage_record(result, config, blessed_bundle))
    _log_metrics(outputs.metrics, decision, result.evidence, result.scores.serving_max_abs_diff)
    outputs.metrics.log_metric(keys.METRIC_GATE_SECONDS, time.perf_counter() - started)
    _log_roc(outputs.roc, result)
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
        keys.BLESSING_EVALUATION: case.evaluation,
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


def _log_roc(roc: ClassificationMetricsLike, result: Gated) -> None:
    """The challenger's ROC curve and confusion matrix on the test rows, for the KFP UI; left
    empty when there are no predictions (a bundle that failed verification) or one class only."""
    labels, scores = result.case.labels, result.scores.challenger
    if scores is None or len(set(labels.tolist())) < 2:
        return
    fpr, tpr, thresholds = roc_points(labels, scores, what="test split, challenger")
    roc.log_roc_curve(fpr, tpr, thresholds)
    schema = result.case.challenger.schema if result.case.challenger else None
    classes = ["negative", "positive"]
    if schema is not None and len(schema.class_labels) == 2:
        classes = [str(c) for c in schema.class_labels]
    elif schema is not None:
        classes = [f"not {schema.positive_label}", str(schema.positive_label)]
    roc.log_confusion_matrix(classes, confusion_matrix(labels, scores))


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
    set_display_name(outputs.roc, "test split ROC and confusion")
    set_display_name(outputs.blessed_bundle, f"{decision.verdict} {challenger}")
