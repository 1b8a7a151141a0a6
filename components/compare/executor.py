"""Rank every candidate bundle, and the serving champion, on the same raw valid and test rows.

Each bundle is loaded with its sha256 verified and scores the raw rows through its *own*
featurizer, so a champion trained with an older featurizer is judged fairly. Selection uses the
valid split only; test metrics are reported for the gate. Ties on the primary metric go to the
bundle with the lower single-row latency, measured the same way for every bundle.

The best *candidate* is copied as the challenger, even when the champion ranks first: that case
is flagged (``champion_ahead``) and left to the gate to decide.
"""

from __future__ import annotations

import html
import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from components._shared import keys
from components._shared.artifacts import (
    ArtifactLike,
    MetricsLike,
    atomic_dir,
    atomic_file,
    markdown_table,
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
from components._shared.errors import (
    ConfigError,
    ContractMismatch,
    DataError,
    DataReadError,
    expected_got,
)
from components._shared.metrics import classification_metrics

LATENCY_ROWS = 200
LATENCY_CALLS = 200
# Metrics closer than this are a tie (floating-point noise between equivalent models).
TIE_TOLERANCE = 1e-9


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


def _read_split(directory: str, split: str) -> pd.DataFrame:
    path = Path(directory) / keys.split_file(split)
    try:
        return pd.read_parquet(path)
    except (OSError, ValueError) as exc:
        raise DataReadError(f"cannot read the {split} split {str(path)!r}: {exc}") from None


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


def _rank(entries: list[Entry], primary_metric: str) -> list[Entry]:
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
    return {
        "rank": entry.rank,
        "name": entry.name,
        "family": entry.family,
        "role": entry.role,
        "bundle_uri": entry.uri,
        "valid": entry.valid,
        "test": entry.test,
        keys.METRIC_PREDICT_LATENCY_MS: entry.latency_ms,
    }


def _markdown(board: dict[str, Any], primary_metric: str) -> str:
    rows = board[keys.LEADERBOARD_ROWS]
    header = ["rank", "name", "family", "role", f"valid {primary_metric}", f"test {primary_metric}"]
    header += [f"valid {m}" for m in keys.CLASSIFICATION_METRICS if m != primary_metric]
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
        f"Ranked by **{primary_metric}** on the valid split "
        f"({'lower' if primary_metric in keys.LOWER_IS_BETTER else 'higher'} is better); "
        "test metrics are for the gate. Ties go to the lower single-row latency.",
        "",
        markdown_table(header, table),
        f"Challenger: **{board[keys.LEADERBOARD_CHALLENGER]}**.",
    ]
    if board[keys.LEADERBOARD_CHAMPION_AHEAD]:
        lines.append(
            "The champion ranks ahead of every candidate: the gate decides whether to replace it."
        )
    return "\n".join(lines) + "\n"


def _html(board: dict[str, Any], primary_metric: str) -> str:
    metrics = list(keys.CLASSIFICATION_METRICS)
    head = "".join(f"<th>{html.escape(h)}</th>" for h in ["rank", "name", "family", "role"])
    head += "".join(f"<th>valid {html.escape(m)}</th>" for m in metrics)
    head += f"<th>test {html.escape(primary_metric)}</th><th>1-row ms</th>"
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
        f"<h2>Leaderboard: {html.escape(primary_metric)} on valid</h2>"
        f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
        f"<p>Challenger: <b>{html.escape(board[keys.LEADERBOARD_CHALLENGER])}</b>. "
        "Ties go to the lower single-row latency.</p>"
        f"{note}</body></html>\n"
    )


def run(
    *,
    candidates: list[ArtifactLike],
    splits: ArtifactLike,
    primary_metric: str,
    champion_uri: str,
    challenger: ArtifactLike,
    leaderboard: ArtifactLike,
    leaderboard_md: ArtifactLike,
    leaderboard_html: ArtifactLike,
    metrics: MetricsLike,
) -> None:
    """Score, rank, and copy the best candidate bundle as the challenger.

    Args:
        candidates: Candidate bundle artifacts (``.path`` is the bundle directory).
        splits: Directory of the raw typed rows of each split.
        primary_metric: One of ``keys.CLASSIFICATION_METRICS``.
        champion_uri: The serving champion's bundle (local or gs://), "" for none.
        challenger: Output directory: a copy of the best candidate's bundle.
        leaderboard: Output JSON file of every row.
        leaderboard_md: Output Markdown file.
        leaderboard_html: Output HTML file.
        metrics: The challenger's (and champion's) primary metric on valid and test.

    Raises:
        ConfigError: an unknown primary metric or no candidates.
        BundleError: a bundle fails its sha256 verification (naming the file).
        ContractMismatch: the champion cannot be scored on the current data (naming columns).
    """
    if primary_metric not in keys.CLASSIFICATION_METRICS:
        raise ConfigError(
            expected_got(
                "primary_metric",
                f"one of {list(keys.CLASSIFICATION_METRICS)}",
                repr(primary_metric),
            )
        )
    if not candidates:
        raise ConfigError("compare needs at least one candidate bundle, got none")

    entries = []
    for artifact in candidates:
        bundle = load_bundle(artifact.path)
        entries.append(
            Entry(
                name=bundle.name,
                family=bundle.family,
                role=keys.ROLE_CANDIDATE,
                uri=artifact.uri or artifact.path,
                bundle=bundle,
                local_dir=Path(artifact.path),
            )
        )
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

    valid = _read_split(splits.path, keys.VALID)
    test = _read_split(splits.path, keys.TEST)
    champion_uri = champion_uri.strip()
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

    target, positive = reference.schema.target, reference.schema.positive_label
    y_valid = _labels(valid, target, positive, keys.VALID)
    y_test = _labels(test, target, positive, keys.TEST)
    records = [
        json_record({str(k): v for k, v in r.items()})
        for r in valid.head(LATENCY_ROWS).to_dict("records")
    ]
    for entry in entries:
        what = f"{entry.role} {entry.name!r}"
        entry.valid = classification_metrics(
            y_valid, entry.bundle.predict_proba_frame(valid), what=f"valid split, {what}"
        )
        entry.test = classification_metrics(
            y_test, entry.bundle.predict_proba_frame(test), what=f"test split, {what}"
        )
    for entry in entries:
        entry.latency_ms = single_row_latency_ms(entry.bundle, records, calls=LATENCY_CALLS)

    ordered = _rank(entries, primary_metric)
    best = next(e for e in ordered if e.role == keys.ROLE_CANDIDATE)
    champion_entry = next((e for e in ordered if e.role == keys.ROLE_CHAMPION), None)
    champion_ahead = champion_entry is not None and champion_entry.rank < best.rank

    assert best.local_dir is not None  # candidates always have one
    with atomic_dir(challenger.path) as tmp:
        shutil.copytree(best.local_dir, tmp, dirs_exist_ok=True)
        verify_files(tmp, best.bundle.manifest)

    board = {
        keys.LEADERBOARD_PRIMARY_METRIC: primary_metric,
        "higher_is_better": primary_metric not in keys.LOWER_IS_BETTER,
        "selection_split": keys.VALID,
        "valid_rows": len(y_valid),
        "test_rows": len(y_test),
        keys.LEADERBOARD_CHALLENGER: best.name,
        keys.LEADERBOARD_CHAMPION_AHEAD: champion_ahead,
        keys.LEADERBOARD_ROWS: [_row(e) for e in ordered],
    }
    with atomic_file(leaderboard.path) as tmp_file:
        tmp_file.write_text(json.dumps(board, indent=2, allow_nan=False) + "\n", encoding="utf-8")
    write_text_atomic(leaderboard_md.path, _markdown(board, primary_metric))
    write_text_atomic(leaderboard_html.path, _html(board, primary_metric))

    metrics.log_metric(f"challenger_valid_{primary_metric}", best.valid[primary_metric])
    metrics.log_metric(f"challenger_test_{primary_metric}", best.test[primary_metric])
    if champion_entry is not None:
        metrics.log_metric(f"champion_valid_{primary_metric}", champion_entry.valid[primary_metric])
        metrics.log_metric(f"champion_test_{primary_metric}", champion_entry.test[primary_metric])
    metrics.log_metric(keys.METRIC_CANDIDATES, len(candidates))
    metrics.log_metric(keys.METRIC_CHAMPION_AHEAD, float(champion_ahead))

    challenger.metadata.update(
        {
            keys.META_FAMILY: best.family,
            keys.META_CANDIDATE: best.name,
            keys.META_PRIMARY_METRIC: primary_metric,
            keys.META_CHAMPION_AHEAD: champion_ahead,
            keys.META_BUNDLE_FORMAT: BUNDLE_FORMAT,
            keys.META_CONTENT_SHA256: sha256_file(Path(challenger.path) / keys.MANIFEST_FILE),
        }
    )
    for artifact in (leaderboard, leaderboard_md, leaderboard_html, metrics):
        artifact.metadata[keys.META_PRIMARY_METRIC] = primary_metric
        artifact.metadata[keys.META_CANDIDATE] = best.name
    set_display_name(challenger, f"challenger {best.name}")
    set_display_name(leaderboard, "leaderboard")
    set_display_name(leaderboard_md, "leaderboard")
    set_display_name(leaderboard_html, "leaderboard")
    set_display_name(metrics, f"compare ({primary_metric})")
