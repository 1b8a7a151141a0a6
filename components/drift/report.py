"""What people read about a drift run: Evidently's report on the samples, and the Markdown summary.

:func:`render_report` runs Evidently (through :mod:`components.drift.evidently_adapter`, the one
module that imports it) on the current sample and a reference sample drawn from the profile,
with the same test and threshold per column as the verdicts. :func:`render_markdown` writes the
summary the KFP UI shows, from the ``drift.json`` result.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pandas as pd

from components._shared.artifacts import markdown_table
from components.drift.samples import reference_sample
from components.drift.verdicts import NUMERIC_KINDS, ColumnDrift

if TYPE_CHECKING:
    from components.drift.analysis import Analysis


@dataclass(frozen=True)
class EvidentlyPages:
    """Evidently's rendering of the samples."""

    html: str  # the standalone report, with a banner stating the sample sizes
    snapshot_json: str
    info: dict[str, Any]  # the "evidently" entry of drift.json
    current_rows: int  # sampled current rows the report ran on


def render_report(analysis: Analysis, sample_rows: int) -> EvidentlyPages:
    """Evidently's HTML and snapshot JSON on bounded samples, with the same test per column."""
    from components.drift.evidently_adapter import render_drift_report

    tested = {c.column: c for c in analysis.result.tested}
    current = _current_sample(analysis.sample, analysis.kinds, tested)
    usable = {c: analysis.kinds[c] for c in current.columns}
    reference = reference_sample(analysis.profile, usable, sample_rows)
    numeric = [c for c, k in usable.items() if k in NUMERIC_KINDS]
    report = render_drift_report(
        reference,
        current,
        numeric=numeric,
        categorical=[c for c in usable if c not in numeric],
        methods={c: tested[c].method for c in usable},
        thresholds={c: tested[c].threshold for c in usable},
        drift_share=analysis.result.drift_share,
    )
    info = {
        "evidently_version": report.version,
        "reference_sample_rows": len(reference),
        "current_sample_rows": len(current),
        "columns": len(usable),
        "html_bytes": len(report.html.encode("utf-8")),
        "scores_on_sample": {c: {"method": m, "score": s} for c, (m, s) in report.scores.items()},
    }
    banner = _banner(len(current), len(reference), analysis.result.current_rows)
    html = report.html.replace("<body>", "<body>" + banner, 1)
    return EvidentlyPages(html, report.snapshot_json, info, len(current))


def _current_sample(
    sample: pd.DataFrame, kinds: Mapping[str, str], tested: Mapping[str, ColumnDrift]
) -> pd.DataFrame:
    """The sampled current rows of the tested columns Evidently can test, booleans as text."""
    usable = [c for c in kinds if c in tested and c in sample.columns]
    current = sample[usable].copy()
    for name in usable:
        if kinds[name] == "boolean":
            current[name] = current[name].map({True: "True", False: "False"})
    # Columns Evidently cannot test on the sample (all null there) stay out of the report.
    return current[[c for c in usable if current[c].notna().any()]]


def _banner(current_rows: int, reference_rows: int, all_rows: int) -> str:
    return (
        '<div style="font-family:sans-serif;padding:8px;background:#fff8e1;border:1px solid #ccc">'
        f"<b>Sample:</b> this Evidently report runs on {current_rows} sampled current rows and "
        f"{reference_rows} reference rows drawn from the bundle profile. The verdicts in the "
        f"metrics and the Markdown summary use all {all_rows} current rows.</div>"
    )


# --- the Markdown summary ---------------------------------------------------------------------


def render_markdown(result: Mapping[str, Any]) -> str:
    """Verdict, per-column table, prediction and performance drift, what was read and skipped."""
    lines = [
        *_headline(result),
        *_columns(result),
        *_prediction(result["prediction"]),
        *_performance(result["performance"]),
        *_input(result["read"]),
        *_retrain(result.get("retrain") or {}),
    ]
    return "\n".join(lines) + "\n"


def _headline(result: Mapping[str, Any]) -> list[str]:
    verdict = "**DRIFT**" if result["drift_detected"] else "no drift"
    report = result.get("evidently", {})
    tested = sum(1 for c in result["columns"] if c["status"] in ("tested", "all_null"))
    all_null = result.get("all_null_columns") or []
    return [
        f"# Drift: {verdict}",
        "",
        f"- Dataset drift: **{result['dataset_drift']}**: {len(result['drifted_columns'])} of "
        f"{tested} columns drifted "
        f"(share {result['drifted_share']:.3f}, threshold {result['drift_share_threshold']}).",
        *(
            [f"- **All current values null** (flagged as drift): {', '.join(all_null)}."]
            if all_null
            else []
        ),
        f"- Current rows: {result['current_rows']} in window {result['window']}; verdicts use "
        "every row.",
        f"- Evidently report: {report.get('current_sample_rows', 0)} sampled current rows vs "
        f"{report.get('reference_sample_rows', 0)} reference rows drawn from the profile "
        f"(HTML {report.get('html_bytes', 0) / 1e6:.2f} MB).",
        "",
    ]


def _columns(result: Mapping[str, Any]) -> list[str]:
    rows = []
    for c in result["columns"]:
        score = "n/a" if c["score"] is None else f"{c['score']:.4g}"
        exact = "exact" if c["exact"] else f"±{c['error_bound']:.2g}"
        unseen = ", ".join(f"{k} ({v})" for k, v in list(c["unseen"].items())[:5])
        rows.append([c["column"], c["kind"], c["method"], score, c["threshold"],
                     "yes" if c["drifted"] else "no", exact, c["current_nulls"], unseen or ""])  # fmt: skip
    lines = ["## Columns", "", markdown_table(
        ["column", "kind", "test", "score", "threshold", "drift", "exactness", "nulls", "unseen values"],
        rows,
    )]  # fmt: skip
    notes = [f"- `{c['column']}`: {c['note']}" for c in result["columns"] if c["note"]]
    if notes:
        lines += ["Approximations and notes:", "", *notes, ""]
    if result["missing_columns"]:
        lines += [f"Missing from the current data (not tested): {result['missing_columns']}", ""]
    return lines


def _prediction(prediction: Mapping[str, Any]) -> list[str]:
    if not prediction.get("available"):
        return ["## Prediction drift", "", f"Not available: {prediction.get('reason')}."]
    return [
        "## Prediction drift",
        "",
        f"Model scores: {prediction['method']} = {prediction['score']:.4g} (threshold "
        f"{prediction['threshold']}), drift **{prediction['drifted']}**; reference: "
        f"{prediction['reference']}.",
    ]


def _performance(performance: Mapping[str, Any]) -> list[str]:
    head = ["", "## Performance drift", ""]
    if not performance.get("available"):
        return [*head, f"Not available: {performance.get('reason')}."]
    return [
        *head,
        f"{performance['labelled_rows']} labelled rows: AUC {performance['current']['auc']:.4f} "
        f"vs {performance['reference']['auc']:.4f} at training ({performance['reference_split']}); "
        f"drop {performance['auc_drop']:.4f} (max {performance['max_auc_drop']}), "
        f"drift **{performance['drifted']}**.",
    ]


def _input(read: Mapping[str, Any]) -> list[str]:
    unreadable = list(read["malformed_files"].items())[:5]
    lines = [
        "",
        "## Input",
        "",
        f"- Source: {read['source_kind']}, {read['files']} file(s), {read['events']} event(s) "
        f"({read['response_events']} responses skipped, {read['events_outside_window']} outside "
        f"the window, {read['malformed_events']} malformed, "
        f"{read.get('undecodable_events', 0)} of them not UTF-8), "
        f"{read['rows_outside_window']} batched rows outside the window, "
        f"{read.get('undecodable_rows', 0)} batched rows skipped as not UTF-8.",
        f"- Unreadable files: {len(read['malformed_files'])}"
        + (f" ({'; '.join(f'{k}: {v}' for k, v in unreadable)})" if unreadable else ""),
        f"- Cells not readable as their schema kind (now null): {read['coerced_cells'] or 0}",
    ]
    if read["unwindowed_files"]:
        lines.append(
            f"- Batched files without a `time` column (window not applied): {read['unwindowed_files']}"
        )
    return lines


def _retrain(retrain: Mapping[str, Any]) -> list[str]:
    if retrain.get("submitted"):
        text = f"Submitted train_and_rollout run `{retrain['run_id']}`: {retrain['url']}"
    else:
        text = f"Not submitted: {retrain.get('reason', 'n/a')}."
    return ["", "## Retrain", "", text]
