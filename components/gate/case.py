"""What the gate is asked to judge: the leaderboard, the test rows, the challenger, the champion.

:func:`read` reads them into a :class:`GateCase` (not yet scored): compare's leaderboard JSON,
featurize's raw test split and its 0/1 labels, the challenger bundle (verified; a tampered one is
kept as the error ``score`` reports) and the champion bundle (or the reason it cannot be judged).

Under cross-validation (the leaderboard's evaluation is not "holdout": small data) the test split
holds every row, and the challenger is judged on its out-of-fold predictions over them
(compare's ``challenger_oof``), read here in row order with the manifest digest they belong to.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from components._shared import io, keys
from components._shared import oof as oof_io
from components._shared.artifacts import ArtifactLike
from components._shared.bundle import Bundle, load_bundle, sha256_file
from components._shared.errors import (
    BundleError,
    DataError,
    DataReadError,
    KfpTabularError,
    expected_got,
)
from components.gate.config import GateConfig
from components.gate.decision import CHECK_CHAMPION, Reason

if TYPE_CHECKING:
    from components.gate.executor import GateInputs

__all__ = [
    "GateCase",
    "champion_name",
    "read",
    "read_leaderboard",
    "read_test_split",
    "schema_target",
    "test_labels",
]


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
    evaluation: str = keys.EVALUATION_HOLDOUT
    oof: np.ndarray | None = None  # under cross-validation: the challenger's P(positive) per row
    oof_bundle_sha256: str | None = None  # the manifest digest the predictions were made for

    @property
    def judged(self) -> str:
        """What the judged rows are, for people: the test split or the out-of-fold predictions."""
        if self.oof is None:
            return "the test split"
        return f"the out-of-fold predictions ({self.evaluation})"

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


def read(inputs: GateInputs, config: GateConfig) -> GateCase:
    """Read the leaderboard, the test rows, the challenger and the champion (not yet scored)."""
    board = read_leaderboard(inputs.leaderboard)
    test, test_path = read_test_split(inputs.splits)
    champion_uri = config.champion_uri.strip()
    bundle, error = _load_challenger(inputs.challenger.path)
    target = _target_of(inputs.challenger.path) if bundle is None else schema_target(bundle)
    if target is None:
        raise DataError(
            f"challenger bundle {inputs.challenger.path!r}: cannot read its target from "
            f"{keys.MANIFEST_FILE} ({error})"
        )
    labels = test_labels(test, *target)
    champion, problem = _load_champion(champion_uri) if champion_uri else (None, None)
    splits = inputs.splits
    evaluation = str(board.get(keys.LEADERBOARD_EVALUATION, keys.EVALUATION_HOLDOUT))
    oof = None
    if evaluation != keys.EVALUATION_HOLDOUT:
        oof = read_oof(inputs.challenger_oof, labels)
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
            keys.META_EVALUATION: evaluation,
        },
        challenger=bundle,
        challenger_error=error,
        challenger_info=_challenger_info(inputs.challenger, bundle, board),
        champion_uri=champion_uri,
        champion=champion,
        champion_problem=problem,
        champion_info=_champion_info(champion_uri, champion),
        evaluation=evaluation,
        oof=None if oof is None else oof.proba,
        oof_bundle_sha256=None if oof is None else str(oof.info.get(keys.OOF_BUNDLE_SHA256)),
    )


def read_oof(artifact: ArtifactLike | None, labels: np.ndarray) -> oof_io.OutOfFold:
    """The challenger's out-of-fold predictions, over the test split's rows and labels.

    Raises:
        DataReadError / DataError: none given, unreadable, or over other rows or labels.
    """
    if artifact is None:
        raise DataError(
            "the leaderboard ranks out-of-fold predictions (cross-validation), but the gate "
            "was given no challenger_oof to judge"
        )
    table = oof_io.read(artifact)
    if table.rows != labels.size or not np.array_equal(table.labels, labels):
        raise DataError(
            expected_got(
                f"out-of-fold predictions {artifact.path!r}",
                f"one per row of the test split ({labels.size} rows, same labels)",
                f"{table.rows} rows" + ("" if table.rows != labels.size else " with other labels"),
            )
        )
    return table


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


def schema_target(bundle: Bundle) -> tuple[str, str]:
    """The bundle's target column and positive label."""
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
