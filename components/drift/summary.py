"""The Markdown summary of a drift run (the KFP UI renders Markdown artifacts)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from components._shared.artifacts import markdown_table


def render_markdown(result: Mapping[str, Any]) -> str:
    """Verdict, per-column table, prediction and performance drift, what was read and skipped."""
    verdict = "**DRIFT**" if result["drift_detected"] else "no drift"
    report = result.get("evidently", {})
    lines = [
        f"# Drift: {verdict}",
        "",
        f"- Dataset drift: **{result['dataset_drift']}**: {len(result['drifted_columns'])} of "
        f"{sum(1 for c in result['columns'] if c['status'] == 'tested')} columns drifted "
        f"(share {result['drifted_share']:.3f}, threshold {result['drift_share_threshold']}).",
        f"- Current rows: {result['current_rows']} in window {result['window']}; verdicts use "
        "every row.",
        f"- Evidently report: {report.get('current_sample_rows', 0)} sampled current rows vs "
        f"{report.get('reference_sample_rows', 0)} reference rows drawn from the profile "
        f"(HTML {report.get('html_bytes', 0) / 1e6:.2f} MB).",
        "",
        "## Columns",
        "",
    ]
    rows = []
    for c in result["columns"]:
        score = "n/a" if c["score"] is None else f"{c['score']:.4g}"
        exact = "exact" if c["exact"] else f"±{c['error_bound']:.2g}"
        unseen = ", ".join(f"{k} ({v})" for k, v in list(c["unseen"].items())[:5])
        rows.append([c["column"], c["kind"], c["method"], score, c["threshold"],
                     "yes" if c["drifted"] else "no", exact, c["current_nulls"], unseen or ""])  # fmt: skip
    lines.append(markdown_table(
        ["column", "kind", "test", "score", "threshold", "drift", "exactness", "nulls", "unseen values"],
        rows,
    ))  # fmt: skip
    notes = [f"- `{c['column']}`: {c['note']}" for c in result["columns"] if c["note"]]
    if notes:
        lines += ["Approximations and notes:", "", *notes, ""]
    if result["missing_columns"]:
        lines += [f"Missing from the current data (not tested): {result['missing_columns']}", ""]
    prediction, performance = result["prediction"], result["performance"]
    lines += ["## Prediction drift", ""]
    if prediction.get("available"):
        lines.append(
            f"Model scores: {prediction['method']} = {prediction['score']:.4g} (threshold "
            f"{prediction['threshold']}), drift **{prediction['drifted']}**; reference: "
            f"{prediction['reference']}."
        )
    else:
        lines.append(f"Not available: {prediction.get('reason')}.")
    lines += ["", "## Performance drift", ""]
    if performance.get("available"):
        lines.append(
            f"{performance['labelled_rows']} labelled rows: AUC {performance['current']['auc']:.4f} "
            f"vs {performance['reference']['auc']:.4f} at training ({performance['reference_split']}); "
            f"drop {performance['auc_drop']:.4f} (max {performance['max_auc_drop']}), "
            f"drift **{performance['drifted']}**."
        )
    else:
        lines.append(f"Not available: {performance.get('reason')}.")
    read = result["read"]
    lines += [
        "",
        "## Input",
        "",
        f"- Source: {read['source_kind']}, {read['files']} file(s), {read['events']} event(s) "
        f"({read['response_events']} responses skipped, {read['events_outside_window']} outside "
        f"the window, {read['malformed_events']} malformed), {read['rows_outside_window']} "
        "batched rows outside the window.",
        f"- Unreadable files: {len(read['malformed_files'])}"
        + (
            f" ({'; '.join(f'{k}: {v}' for k, v in list(read['malformed_files'].items())[:5])})"
            if read["malformed_files"]
            else ""
        ),
        f"- Cells not readable as their schema kind (now null): {read['coerced_cells'] or 0}",
    ]
    if read["unwindowed_files"]:
        lines.append(
            f"- Batched files without a `time` column (window not applied): {read['unwindowed_files']}"
        )
    retrain = result.get("retrain") or {}
    lines += ["", "## Retrain", ""]
    if retrain.get("submitted"):
        lines.append(f"Submitted train_and_rollout run `{retrain['run_id']}`: {retrain['url']}")
    else:
        lines.append(f"Not submitted: {retrain.get('reason', 'n/a')}.")
    return "\n".join(lines) + "\n"
