"""The leaderboard as the UI shows it: a Markdown table and a small self-contained HTML page.

Both render the leaderboard JSON (``keys.LEADERBOARD_*``) that compare writes, row for row.
"""

from __future__ import annotations

import html
from typing import Any

from components._shared import keys
from components._shared.artifacts import markdown_table


def evaluation_sentence(board: dict[str, Any]) -> str:
    """Which evaluation ranked the bundles and what the gate will judge."""
    evaluation = board.get(keys.LEADERBOARD_EVALUATION, keys.EVALUATION_HOLDOUT)
    if evaluation == keys.EVALUATION_HOLDOUT:
        return (
            "Evaluation: holdout (the valid split ranks; the test split, which nothing before "
            "the gate has seen, is for the gate)."
        )
    return (
        f"Evaluation: {evaluation} (too few rows for a test split the gate could judge). Each "
        "candidate is ranked on its out-of-fold predictions over every row, each made by a "
        "model fitted, featurizer included, without that row's fold; the gate judges the "
        "challenger's same predictions. The champion is scored on the same rows. The bundles "
        "are refit on every row."
    )


def ensemble_sentence(board: dict[str, Any]) -> str:
    """What the ensemble row combines, or why there is none ("" for older leaderboards)."""
    note = board.get("ensemble")
    if not isinstance(note, dict):
        return ""
    if "skipped" in note:
        return f"Ensemble: none ({note['skipped']})."
    weights = ", ".join(
        f"{name} {weight:.3f}"
        for name, weight in zip(note["members"], note["weights"], strict=True)
    )
    dropped = note.get("zero_weight") or []
    left_out = f" ({', '.join(dropped)}: weight 0, left out)" if dropped else ""
    return (
        f"Ensemble: {note['name']} is the weighted mean of the probabilities of {weights}"
        f"{left_out}, the weights fitted on {note['fitted_on']}. Its valid metrics reuse the rows "
        "that early-stopped and ranked its members, as every candidate's do; the test split "
        "judges."
    )


def _split_names(board: dict[str, Any]) -> tuple[str, str]:
    """Column prefixes of the ranking and the judged metrics."""
    if board.get(keys.LEADERBOARD_EVALUATION, keys.EVALUATION_HOLDOUT) == keys.EVALUATION_HOLDOUT:
        return "valid", "test"
    return "out-of-fold", "judged"


def render_markdown(board: dict[str, Any], primary_metric: str) -> str:
    """The leaderboard as Markdown: rank, name, family, role, metrics, single-row latency."""
    rows = board[keys.LEADERBOARD_ROWS]
    ranked, judged = _split_names(board)
    header = ["rank", "name", "family", "role", f"{ranked} {primary_metric}"]
    header += [f"{judged} {primary_metric}"]
    header += [f"{ranked} {m}" for m in keys.CLASSIFICATION_METRICS if m != primary_metric]
    header += ["1-row ms"]
    table = [
        [
            r["rank"],
            r["name"],
            r["family"],
            r["role"],
            r["valid"][primary_metric],
            r["test"][primary_metric],
        ]
        + [r["valid"][m] for m in keys.CLASSIFICATION_METRICS if m != primary_metric]
        + [r[keys.METRIC_PREDICT_LATENCY_MS]]
        for r in rows
    ]
    lines = [
        "# Leaderboard",
        "",
        f"Ranked by **{primary_metric}** on the {ranked} predictions "
        f"({'lower' if primary_metric in keys.LOWER_IS_BETTER else 'higher'} is better); "
        f"{judged} metrics are for the gate. Ties go to the lower single-row latency.",
        "",
        evaluation_sentence(board),
        "",
        *([ensemble_sentence(board), ""] if ensemble_sentence(board) else []),
        markdown_table(header, table),
        f"Challenger: **{board[keys.LEADERBOARD_CHALLENGER]}**.",
    ]
    if board[keys.LEADERBOARD_CHAMPION_AHEAD]:
        lines.append(
            "The champion ranks ahead of every candidate: the gate decides whether to replace it."
        )
    return "\n".join(lines) + "\n"


def render_html(board: dict[str, Any], primary_metric: str) -> str:
    """The leaderboard as one HTML page (challenger and champion rows highlighted)."""
    metrics = list(keys.CLASSIFICATION_METRICS)
    ranked, judged = _split_names(board)
    head = "".join(f"<th>{html.escape(h)}</th>" for h in ["rank", "name", "family", "role"])
    head += "".join(f"<th>{ranked} {html.escape(m)}</th>" for m in metrics)
    head += f"<th>{judged} {html.escape(primary_metric)}</th><th>1-row ms</th>"
    body = []
    for r in board[keys.LEADERBOARD_ROWS]:
        style = (
            ' class="challenger"'
            if r["name"] == board[keys.LEADERBOARD_CHALLENGER] and r["role"] == keys.ROLE_CANDIDATE
            else ""
        )
        style = ' class="champion"' if r["role"] == keys.ROLE_CHAMPION else style
        cells = [str(r["rank"]), r["name"], r["family"], r["role"]]
        cells += [f"{r['valid'][m]:.4f}" for m in metrics]
        cells += [f"{r['test'][primary_metric]:.4f}", f"{r[keys.METRIC_PREDICT_LATENCY_MS]:.3f}"]
        body.append(f"<tr{style}>" + "".join(f"<td>{html.escape(c)}</td>" for c in cells) + "</tr>")
    note = (
        "<p><b>The champion ranks ahead of every candidate.</b> The gate decides.</p>"
        if board[keys.LEADERBOARD_CHAMPION_AHEAD]
        else ""
    )
    return (
        '<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>Leaderboard</title><style>'
        "body{font-family:sans-serif;margin:1em}table{border-collapse:collapse}"
        "th,td{border:1px solid #ccc;padding:4px 8px;text-align:right}"
        "th{background:#f4f4f4}td:nth-child(2),td:nth-child(3),td:nth-child(4){text-align:left}"
        "tr.challenger{background:#e8f5e9}tr.champion{background:#e3f2fd}"
        "</style></head><body>"
        f"<h2>Leaderboard: {html.escape(primary_metric)} on {ranked}</h2>"
        f"<p>{html.escape(evaluation_sentence(board))}</p>"
        f"<p>{html.escape(ensemble_sentence(board))}</p>"
        f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
        f"<p>Challenger: <b>{html.escape(board[keys.LEADERBOARD_CHALLENGER])}</b>. "
        "Ties go to the lower single-row latency.</p>"
        f"{note}</body></html>\n"
    )
