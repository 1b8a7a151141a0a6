"""Markdown for people: the gate's rationale (KFP UI) and the completed model card section."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Final

from components._shared import keys
from components._shared.artifacts import markdown_table
from components._shared.stats import Interval
from components.gate.config import GateConfig
from components.gate.decision import Decision
from components.gate.evidence import Evidence

GATE_SECTION: Final = "## Gate decision"
_VERDICT_TEXT: Final = {
    keys.VERDICT_BLESSED: "Blessed",
    keys.VERDICT_REFUSED: "Refused",
    keys.VERDICT_CANNOT_DECIDE: "Cannot decide (refused)",
}


def _f(value: float | None, digits: int = 4) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def _ci(interval: Interval | None) -> str:
    return "n/a" if interval is None else f"[{interval.low:.4f}, {interval.high:.4f}]"


def _p(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3g}"


def metrics_table(evidence: Evidence) -> str:
    """Challenger and champion test metrics with intervals, differences and p-values."""
    header = [
        "metric",
        "challenger",
        f"{evidence.auc.confidence:.0%} interval",
        "champion",
        "challenger - champion",
        "interval",
        "p-value",
    ]
    return markdown_table(header, [*_interval_rows(evidence), *_point_rows(evidence)])


def _interval_rows(evidence: Evidence) -> list[list[Any]]:
    """AUC by DeLong and by bootstrap, log loss and accuracy by bootstrap, with intervals."""
    boot = evidence.bootstrap
    d, m = evidence.delong, evidence.mcnemar
    champ = evidence.champion or {}
    auc_diff = Interval(d.difference, d.low, d.high, d.confidence) if d else None
    boot_diff = boot[keys.METRIC_AUC].difference
    rows = [
        [
            "auc (DeLong)",
            _f(evidence.auc.estimate),
            _ci(evidence.auc),
            _f(champ.get(keys.METRIC_AUC)),
            _f(auc_diff.estimate if auc_diff else None),
            _ci(auc_diff),
            f"{_p(d.p_value)} (DeLong)" if d else "n/a",
        ],
        [
            "auc (bootstrap)",
            _f(boot[keys.METRIC_AUC].a.estimate),
            _ci(boot[keys.METRIC_AUC].a),
            _f(champ.get(keys.METRIC_AUC)),
            _f(boot_diff.estimate if boot_diff else None),
            _ci(boot[keys.METRIC_AUC].difference),
            "",
        ],
    ]
    for metric in (keys.METRIC_LOG_LOSS, keys.METRIC_ACCURACY):
        result = boot[metric]
        rows.append(
            [
                f"{metric} (bootstrap)",
                _f(result.a.estimate),
                _ci(result.a),
                _f(champ.get(metric)),
                _f(result.difference.estimate if result.difference else None),
                _ci(result.difference),
                f"{_p(m.p_value)} (McNemar)" if m and metric == keys.METRIC_ACCURACY else "",
            ]
        )
    return rows


def _point_rows(evidence: Evidence) -> list[list[Any]]:
    """Precision, recall and F1 at 0.5: point estimates only."""
    champ = evidence.champion or {}
    rows = []
    for metric in (keys.METRIC_PRECISION, keys.METRIC_RECALL, keys.METRIC_F1):
        value = evidence.challenger[metric]
        other = champ.get(metric)
        rows.append(
            [
                metric,
                _f(value),
                "",
                _f(other),
                _f(value - other if other is not None else None),
                "",
                "",
            ]
        )
    return rows


def slices_table(evidence: Evidence) -> str:
    """One row per slice value: size, AUCs, paired difference and its corrected interval."""
    if not evidence.slices:
        return "No slice columns configured.\n"
    header = [
        "slice",
        "rows",
        "positives",
        "challenger auc",
        "champion auc",
        "difference",
        "interval",
        "note",
    ]
    rows = []
    for s in evidence.slices:
        v = s.versus
        rows.append(
            [
                f"{s.column}={s.value}",
                s.rows,
                s.positives,
                _f(s.challenger.estimate) if s.challenger else "",
                _f(v.auc_b) if v else "",
                _f(v.difference) if v else "",
                _ci(Interval(v.difference, v.low, v.high, v.confidence)) if v else "",
                s.note,
            ]
        )
    return (
        f"Slice intervals at {evidence.slice_confidence:.4%} (Bonferroni over the judged slices).\n\n"
        + markdown_table(header, rows)
    )


def reasons_list(decision: Decision) -> str:
    """Failed reasons first, each with its sentence."""
    ordered = sorted(decision.reasons, key=lambda r: r.passed)
    return (
        "\n".join(
            f"- {'PASS' if r.passed else 'FAIL'} `{r.check}/{r.name}`: {r.message}" for r in ordered
        )
        + "\n"
    )


def rationale(
    *,
    decision: Decision,
    evidence: Evidence | None,
    config: GateConfig,
    challenger: str,
    champion: str | None,
    test_rows: int,
    positives: int,
    evaluation: str = keys.EVALUATION_HOLDOUT,
) -> str:
    """The Markdown rationale artifact: verdict, reasons, metrics with intervals, slices.

    ``evaluation`` is "holdout" (the test rows are judged) or the cross-validation whose
    out-of-fold predictions are.
    """
    holdout = evaluation == keys.EVALUATION_HOLDOUT
    rows_text = (
        f"{test_rows} test rows ({positives} positive)"
        if holdout
        else f"the out-of-fold predictions of {evaluation} ({positives} positive); the "
        "deployed bundle is refit on every row"
    )
    lines = [
        f"# Gate: {_VERDICT_TEXT[decision.verdict]}",
        "",
        f"Challenger **{challenger}** versus "
        + (
            f"champion **{champion}**"
            if champion
            else "no champion (first deployment: floors only)"
        )
        + f", on {rows_text}. Rule `{decision.rule_version}`, "
        f"confidence {config.confidence:.0%}, {config.bootstrap_resamples} paired bootstrap "
        f"resamples (seed {config.seed}).",
        "",
        f"**{decision.summary()}**",
        "",
        "## Reasons",
        "",
        reasons_list(decision),
    ]
    if evidence is not None:
        lines += [
            "## Test metrics" if holdout else "## Out-of-fold metrics",
            "",
            metrics_table(evidence),
            "## Slices",
            "",
            slices_table(evidence),
        ]
    lines += [
        "## Thresholds",
        "",
        markdown_table(["parameter", "value"], [[k, v] for k, v in config.thresholds().items()]),
    ]
    return "\n".join(lines)


def model_card_section(
    *,
    decision: Decision,
    evidence: Evidence | None,
    config: GateConfig,
    champion: str | None,
    test: Mapping[str, Any],
    decided_at: str,
) -> str:
    """The ``## Gate decision`` section of the completed model card."""
    evaluation = str(test.get(keys.META_EVALUATION, keys.EVALUATION_HOLDOUT))
    holdout = evaluation == keys.EVALUATION_HOLDOUT
    data = (
        f"- Test data: `{test.get('uri', 'n/a')}` (sha256 `{test.get('sha256', 'n/a')}`), "
        f"{test.get('rows', 'n/a')} rows, {test.get('positives', 'n/a')} positive; never used "
        "for training or selection."
        if holdout
        else f"- Evaluation: {evaluation} (too few rows for a test split). Data: "
        f"`{test.get('uri', 'n/a')}` (sha256 `{test.get('sha256', 'n/a')}`), "
        f"{test.get('rows', 'n/a')} rows, {test.get('positives', 'n/a')} positive. Each row was "
        "predicted by a model fitted, featurizer included, without its fold; those out-of-fold "
        "predictions also chose the challenger among the candidates. This bundle is refit on "
        "every row."
    )
    lines = [
        GATE_SECTION,
        "",
        f"**{_VERDICT_TEXT[decision.verdict]}** by the gate on {decided_at} (rule "
        f"`{decision.rule_version}`): {decision.summary()}.",
        "",
        data,
        "- Compared with "
        + (
            f"the champion `{champion}` on the same rows."
            if champion
            else "no champion (first deployment)."
        ),
        f"- Intervals: {config.confidence:.0%} two-sided; AUC by DeLong, log loss and accuracy by "
        f"{config.bootstrap_resamples} paired, stratified bootstrap resamples.",
        "",
    ]
    if evidence is not None:
        heading = "Test metrics" if holdout else "Out-of-fold metrics"
        lines += [f"### {heading} (threshold 0.5)", "", metrics_table(evidence)]
        lines += ["### Slices", "", slices_table(evidence)]
    lines += ["### Checks", "", reasons_list(decision)]
    return "\n".join(lines)


def complete_model_card(card: str, section: str) -> str:
    """Replace the card's ``## Gate decision`` section (up to the next ``## ``) with ``section``;
    append it when the card has none."""
    pattern = re.compile(rf"^{re.escape(GATE_SECTION)}\s*$.*?(?=^## |\Z)", re.MULTILINE | re.DOTALL)
    replacement = section.rstrip("\n") + "\n\n"
    if pattern.search(card):
        return pattern.sub(lambda _: replacement, card, count=1)
    return card.rstrip("\n") + "\n\n" + replacement
