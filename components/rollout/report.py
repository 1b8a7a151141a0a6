"""The decision trail as Markdown for the Kubeflow UI: the decision first, then every step."""

from __future__ import annotations

from typing import Any

from components._shared.artifacts import markdown_table


def _mark(passed: bool | None) -> str:
    return "pass" if passed else "not run" if passed is None else "**FAIL**"


def render(trail: dict[str, Any]) -> str:
    """Markdown of a rollout's decision trail (:func:`components.rollout.executor.roll_out`)."""
    lines = [
        f"# Rollout of `{trail.get('name')}`: {trail['decision']}",
        "",
        f"Target `{trail.get('target')}`, strategy `{trail.get('strategy')}`, "
        f"mode `{trail.get('mode')}`; {len(trail['steps'])} step(s) analysed in "
        f"{trail['seconds']:.1f} s.",
        "",
        "## Reasons",
        "",
        *[f"- {reason}" for reason in trail["reasons"]],
        "",
        f"**Action:** {trail['action'].get('kind')}",
        "",
    ]
    for step in trail["steps"]:
        lines += [f"## Step {step['percent']}% ({'passed' if step['passed'] else 'failed'})", ""]
        rows = [
            [
                side,
                w["requests"],
                w["errors"],
                w["error_rate"],
                w["latency_p95_ms"],
                w["scored_rows"],
                w.get("mean_score"),
            ]
            for side, w in (
                ("stable", step["stable"]),
                ("stable (baseline)", step["stable_baseline"]),
                ("canary", step["canary"]),
            )
        ]
        lines.append(
            markdown_table(
                ["side", "requests", "errors", "error rate", "p95 ms", "scored", "mean score"], rows
            )
        )
        checks = [[c["name"], _mark(c["passed"]), c["reason"]] for c in step["checks"]]
        lines += [markdown_table(["check", "result", "numbers"], checks), ""]
    return "\n".join(lines)
