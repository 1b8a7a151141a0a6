"""Out-of-fold predictions (train's ``oof_predictions``, compare's ``challenger_oof``).

Under cross-validation (small data) compare ranks, and the gate judges, each candidate's
out-of-fold predictions over every row instead of its predictions on a valid or test split.
Train writes them (:func:`write`) with the manifest sha256 of the bundle they belong to;
:func:`read` reads them back in row order, :func:`for_bundles` pairs each with its candidate by
that digest, so a prediction table is never judged for another bundle. Under holdout evaluation
the directory holds no rows (:func:`write_empty`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from components._shared import keys
from components._shared.artifacts import ArtifactLike, atomic_dir
from components._shared.errors import DataError, DataReadError, expected_got

__all__ = ["OutOfFold", "for_bundles", "read", "read_all", "write", "write_empty"]


@dataclass(frozen=True)
class OutOfFold:
    """One candidate's out-of-fold predictions, in row order, and what they belong to."""

    path: Path
    info: dict[str, Any]  # candidate, evaluation, folds, rows, bundle_manifest_sha256
    labels: np.ndarray  # 0/1 per row
    proba: np.ndarray  # P(positive) per row
    folds: np.ndarray

    @property
    def rows(self) -> int:
        """How many rows were predicted (0 under holdout evaluation)."""
        return int(self.proba.size)

    @property
    def evaluation(self) -> str:
        """How the candidate was evaluated ("holdout" or the cross-validation)."""
        return str(self.info.get(keys.META_EVALUATION, keys.EVALUATION_HOLDOUT))


def read(artifact: ArtifactLike) -> OutOfFold:
    """One ``oof_predictions`` directory, its rows put in order and checked to be 0..n-1.

    Raises:
        DataReadError: unreadable; DataError: rows missing, repeated or out of range.
    """
    path = Path(artifact.path)
    try:
        info = json.loads((path / keys.OOF_INFO).read_text(encoding="utf-8"))
        table = pd.read_parquet(path / keys.OOF_FILE)
    except (OSError, ValueError) as exc:
        raise DataReadError(
            f"cannot read the out-of-fold predictions {str(path)!r}: {exc}"
        ) from None
    missing = [
        c
        for c in (keys.OOF_ROW, keys.FOLD_COLUMN, keys.LABEL_COLUMN, keys.OOF_PROBA)
        if c not in table.columns
    ]
    if missing or not isinstance(info, dict):
        raise DataReadError(f"out-of-fold predictions {str(path)!r}: columns {missing} missing")
    table = table.sort_values(keys.OOF_ROW, kind="stable")
    rows = table[keys.OOF_ROW].to_numpy()
    if not np.array_equal(rows, np.arange(len(table))):
        raise DataError(
            f"out-of-fold predictions {str(path)!r}: rows must be 0..{len(table) - 1}, each once"
        )
    proba = table[keys.OOF_PROBA].to_numpy(np.float64)
    if not np.isfinite(proba).all():
        raise DataError(f"out-of-fold predictions {str(path)!r}: a row has no prediction")
    return OutOfFold(
        path,
        info,
        table[keys.LABEL_COLUMN].to_numpy(np.int8),
        proba,
        table[keys.FOLD_COLUMN].to_numpy(np.int8),
    )


def read_all(artifacts: Sequence[ArtifactLike] | None) -> list[OutOfFold]:
    """Every candidate's out-of-fold predictions; [] when none were given."""
    return [read(a) for a in artifacts or []]


def for_bundles(
    tables: list[OutOfFold], digests: dict[str, str], labels: np.ndarray
) -> dict[str, OutOfFold]:
    """Candidate name -> its out-of-fold predictions, paired by the bundle's manifest sha256.

    Args:
        tables: What :func:`read_all` read.
        digests: Candidate name -> the sha256 of its bundle's manifest.json.
        labels: The 0/1 labels of every row of the train split (the rows predicted).

    Raises:
        DataError: a candidate without predictions, or predictions over other rows or labels.
    """
    by_digest = {str(t.info.get(keys.OOF_BUNDLE_SHA256)): t for t in tables}
    paired = {}
    for name, digest in digests.items():
        table = by_digest.get(digest)
        if table is None:
            raise DataError(
                expected_got(
                    f"out-of-fold predictions of candidate {name!r}",
                    f"a table for its bundle (manifest sha256 {digest[:12]}...)",
                    f"tables for {sorted(str(t.info.get(keys.META_CANDIDATE)) for t in tables)}",
                )
            )
        if table.rows != labels.size or not np.array_equal(table.labels, labels):
            raise DataError(
                f"out-of-fold predictions of candidate {name!r} ({table.rows} rows) are not over "
                f"the {labels.size} rows of the train split with their labels"
            )
        paired[name] = table
    return paired


def write(
    artifact: ArtifactLike,
    info: dict[str, Any],
    *,
    labels: np.ndarray,
    proba: np.ndarray,
    folds: np.ndarray,
) -> None:
    """The predictions of rows 0..n-1 and ``info`` (plus their row count), atomically."""
    table = pd.DataFrame(
        {
            keys.OOF_ROW: np.arange(proba.size, dtype=np.int64),
            keys.FOLD_COLUMN: np.asarray(folds).astype(np.int8),
            keys.LABEL_COLUMN: np.asarray(labels).astype(np.int8),
            keys.OOF_PROBA: np.asarray(proba).astype(np.float64),
        }
    )
    info = {**info, keys.META_ROWS: int(proba.size)}
    with atomic_dir(artifact.path) as tmp:
        table.to_parquet(tmp / keys.OOF_FILE, index=False)
        (tmp / keys.OOF_INFO).write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
    artifact.metadata.update(info)


def write_empty(artifact: ArtifactLike, info: dict[str, Any]) -> None:
    """An out-of-fold directory with no rows (holdout evaluation), and ``info``."""
    empty = np.zeros(0)
    write(artifact, info, labels=empty, proba=empty, folds=empty)
