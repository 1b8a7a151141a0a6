"""Decide whether compare's challenger may replace the champion, and record why.

``main`` is what the KFP component calls; ``run(inputs, outputs, config)`` has four parts:

- :func:`components.gate.case.read`: the leaderboard, the raw test rows, the challenger and the
  champion bundles;
- :func:`score`: both bundles' predictions on the test rows, and the infra checks that run the
  challenger (sha256, leaderboard parity, the serving runtime's request path:
  :mod:`components.gate.infra`);
- :func:`judge`, the pure part: labels, predictions and checks in, the statistics
  (:mod:`components.gate.evidence`) and the decision (:mod:`components.gate.decision`,
  README.md) out;
- :func:`components.gate.record.write`: the blessing (JSON), the rationale (Markdown), metrics,
  a copy of the challenger whose model card holds the decision (re-sealed), the lineage record,
  each atomically.

``main`` returns the boolean the pipeline branches on: the blessing's own ``blessed`` flag.

Under cross-validation (small data) the judged predictions are the challenger's out-of-fold
predictions over every row (compare's ``challenger_oof``), with the same statistics, guards,
champion comparison and slices; the serving check compares the served predictions with the
refit bundle's own, since that bundle is what is deployed.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from components._shared import keys, tracking
from components._shared.artifacts import ArtifactLike, ClassificationMetricsLike, MetricsLike
from components._shared.entry import sort_arguments
from components._shared.errors import DataError, KfpTabularError, expected_got
from components._shared.metrics import classification_metrics
from components.gate import infra
from components.gate.case import GateCase, read, schema_target
from components.gate.config import GateConfig
from components.gate.decision import CHECK_CHAMPION, Decision, Reason, decide, sample_guard
from components.gate.evidence import Evidence, compute_evidence
from components.gate.record import write

__all__ = [
    "GateInputs",
    "GateOutputs",
    "Gated",
    "Scores",
    "judge",
    "main",
    "run",
    "score",
]


@dataclass(frozen=True)
class GateInputs:
    """compare's challenger and leaderboard, and featurize's raw splits (the test rows judge)."""

    challenger: ArtifactLike
    splits: ArtifactLike
    leaderboard: ArtifactLike
    challenger_oof: ArtifactLike | None = None


@dataclass(frozen=True)
class GateOutputs:
    """The blessing, the rationale, the metrics, the blessed bundle, the lineage record and the
    test split's ROC curve and confusion matrix."""

    blessing: ArtifactLike
    rationale: ArtifactLike
    metrics: MetricsLike
    blessed_bundle: ArtifactLike
    lineage: ArtifactLike
    roc: ClassificationMetricsLike


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
    evidence, decision = judge(case.labels, case.test, scores, config, judged=case.judged)
    result = Gated(case, scores, evidence, decision)
    write(result, inputs, outputs, config, started=started)
    tracking.record_gate(
        outputs.blessing,
        outputs.blessed_bundle,
        outputs.lineage,
        configured_uri=config.tracking_uri,
        kfp_run_id=config.run_id,
        kfp_run_name=config.run_name,
        registered_model_name=config.registered_model_name,
    )
    return result


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
    p_bundle = bundle.predict_proba_frame(case.test)
    p_challenger = p_bundle if case.oof is None else case.oof
    if case.oof is not None:
        checks.append(infra.oof_reason(case.oof_bundle_sha256, case.challenger_info))
    try:
        recomputed = classification_metrics(
            case.labels, p_challenger, what=f"{case.judged}, challenger"
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
            p_bundle,
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
    if challenger is not None and schema_target(champion) != schema_target(challenger):
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
    labels: np.ndarray,
    test: pd.DataFrame,
    scores: Scores,
    config: GateConfig,
    *,
    judged: str = "the test split",
) -> tuple[Evidence | None, Decision]:
    """The statistics and the decision from the labels, the predictions and the infra checks.

    The statistics are computed only when the challenger verified and the guards passed (enough
    rows of each class, a champion that could be scored): without them there is nothing to
    decide on. ``judged`` names the rows for people ("the test split", or the out-of-fold
    predictions under cross-validation).

    Raises:
        ConfigError: a slice column is not in ``test``, or has too many values to be a slice.
    """
    guard = [sample_guard(len(labels), int(labels.sum()), config, judged=judged)]
    if scores.champion_problem is not None:
        guard.append(scores.champion_problem)
    evidence = None
    if scores.challenger is not None and all(r.passed for r in guard):
        evidence = compute_evidence(labels, scores.challenger, scores.champion, test, config)
    return evidence, decide(config=config, guard=guard, infra=scores.infra, evidence=evidence)
