"""Infra validation: will the serving runtime load this bundle and give the same answers?

Three checks, each a :class:`Reason`:

1. ``sha256``: the bundle loads with every sha256 in its manifest verified (``load_bundle``).
2. ``leaderboard``: the gate's own test metrics of the challenger equal the ones compare wrote
   (tolerance 1e-6). compare does not persist per-row predictions; equal metrics on the same
   rows are the evidence that the gate scores the bundle compare ranked, on the rows it ranked.
3. ``serving_v2`` / ``serving_v1``: a sample of raw test rows, as JSON records, sent through the
   serving runtime's own request path (:mod:`serving.selfcheck`: request bytes -> decode ->
   featurize -> predict -> response bytes, no HTTP) give the evaluation path's probabilities
   within 1e-6.

Under cross-validation (small data) the judged predictions are the challenger's out-of-fold
ones: ``out_of_fold`` checks that they were made for this very bundle (the manifest digest train
wrote beside them), check 2 compares the metrics compare ranked with the ones recomputed from
them, and check 3 compares the served predictions with the refit bundle's (the deployed model).

When :mod:`serving.selfcheck` is not installed, :func:`fallback_records_path` checks the
bundle's records path (``Bundle.predict_proba_records``, the function the runtime's featurize
step calls) instead, and the reason says so.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final

import numpy as np
import pandas as pd

from components._shared import keys
from components._shared.bundle import json_record, load_bundle
from components.gate.decision import CHECK_INFRA, Reason

PARITY_TOLERANCE: Final = 1e-6
SELFCHECK_MODULE: Final = "serving.selfcheck"
PATH_V2: Final = "serving.selfcheck.predict_via_v2"
PATH_V1: Final = "serving.selfcheck.predict_via_v1"
PATH_FALLBACK: Final = "fallback: components._shared.bundle.Bundle.predict_proba_records"

Predict = Callable[[str, Sequence[Mapping[str, Any]]], np.ndarray]


def fallback_records_path(bundle_dir: str, records: Sequence[Mapping[str, Any]]) -> np.ndarray:
    """P(positive) of JSON records through the bundle's records path (no serving package)."""
    return load_bundle(bundle_dir).predict_proba_records(records)


def serving_paths() -> tuple[dict[str, Predict], str]:
    """The serving runtime's predict paths, or the clearly named fallback when it is absent.

    Returns:
        ``({path name: predict}, note)``. Only a missing ``serving.selfcheck`` module selects
        the fallback; any other import error propagates, because a serving package that does
        not import is itself an infra failure.
    """
    try:
        selfcheck = importlib.import_module(SELFCHECK_MODULE)
    except ModuleNotFoundError as exc:
        if exc.name not in ("serving", SELFCHECK_MODULE):
            raise
        return {PATH_FALLBACK: fallback_records_path}, (
            f"{SELFCHECK_MODULE} is not installed: checked {PATH_FALLBACK} instead"
        )
    return {
        PATH_V2: selfcheck.predict_via_v2,
        PATH_V1: selfcheck.predict_via_v1,
    }, f"checked through {SELFCHECK_MODULE} (the runtime's decode -> featurize -> predict code)"


def sample_rows(rows: int, size: int, seed: int) -> np.ndarray:
    """Sorted row positions of a seeded sample without replacement."""
    if rows <= size:
        return np.arange(rows)
    return np.sort(np.random.default_rng(seed).choice(rows, size=size, replace=False))


def sha256_reason(error: Exception | None, files: Mapping[str, str] | None) -> Reason:
    """The verification outcome of loading the challenger."""
    if error is not None:
        return Reason(
            CHECK_INFRA,
            "sha256",
            False,
            f"challenger bundle refused by load_bundle: {error}",
            {"error": str(error)},
        )
    names = sorted(files or {})
    return Reason(
        CHECK_INFRA,
        "sha256",
        True,
        f"every sha256 in {keys.MANIFEST_FILE} verified ({len(names)} files: {', '.join(names)})",
        {"files": dict(files or {})},
    )


def oof_reason(predicted_for: str | None, challenger: Mapping[str, Any]) -> Reason:
    """The out-of-fold predictions belong to the challenger bundle (its manifest sha256)."""
    digest = challenger.get("manifest_sha256")
    ok = predicted_for is not None and predicted_for == digest
    numbers = {"predictions_for": predicted_for, "challenger_manifest_sha256": digest}
    if ok:
        message = (
            "the out-of-fold predictions judged were made for this challenger bundle "
            f"(manifest sha256 {str(digest)[:12]}...)"
        )
    else:
        message = (
            "the out-of-fold predictions judged were made for another bundle: "
            + f"manifest sha256 {predicted_for!r}, the challenger's is {digest!r}"
        )
    return Reason(CHECK_INFRA, "out_of_fold", ok, message, numbers)


def leaderboard_reason(
    recomputed: Mapping[str, float], reported: Mapping[str, float] | None
) -> Reason:
    """The challenger's test metrics as the gate computes them versus compare's leaderboard."""
    if reported is None:
        return Reason(
            CHECK_INFRA,
            "leaderboard",
            False,
            "the leaderboard has no test metrics for the challenger: it is not compare's "
            "leaderboard of this challenger",
            {},
        )
    names = [m for m in keys.CLASSIFICATION_METRICS if m in reported and m in recomputed]
    gaps = {m: abs(float(recomputed[m]) - float(reported[m])) for m in names}
    worst = max(gaps.values(), default=float("inf"))
    ok = bool(names) and worst <= PARITY_TOLERANCE
    numbers = {
        "max_abs_diff": worst,
        "tolerance": PARITY_TOLERANCE,
        "gate": {m: recomputed[m] for m in names},
        "compare": {m: reported[m] for m in names},
    }
    if ok:
        message = (
            f"test metrics recomputed from the bundle equal compare's leaderboard "
            f"(max |diff| {worst:.2g} <= {PARITY_TOLERANCE:g} over {', '.join(names)})"
        )
    else:
        metric = max(gaps, key=lambda m: gaps[m]) if gaps else "(none)"
        message = (
            f"test metrics differ from compare's leaderboard: {metric} "
            f"{recomputed.get(metric, float('nan')):.6f} here vs "
            f"{reported.get(metric, float('nan')):.6f} in the leaderboard (tolerance "
            f"{PARITY_TOLERANCE:g}): the bundle or the test rows are not the ones compare scored"
        )
    return Reason(CHECK_INFRA, "leaderboard", ok, message, numbers)


def serving_reasons(
    bundle_dir: str,
    frame: pd.DataFrame,
    expected: np.ndarray,
    *,
    sample: int,
    seed: int,
) -> tuple[list[Reason], float]:
    """Send sampled raw test rows through each serving path; compare with ``expected``.

    Args:
        bundle_dir: The challenger bundle directory (the runtime loads it itself, verified).
        frame: The raw typed test rows.
        expected: P(positive) of every test row through the evaluation path
            (``Bundle.predict_proba_frame``), the numbers the metrics were computed from.
        sample: How many rows to send.
        seed: Seed of the sample.

    Returns:
        The reasons, and the largest absolute difference seen on any path.
    """
    positions = sample_rows(len(frame), sample, seed)
    records = [
        json_record({str(k): v for k, v in row.items()})
        for row in frame.iloc[positions].to_dict("records")
    ]
    paths, note = serving_paths()
    reasons, worst_all = [], 0.0
    for name, predict in paths.items():
        reason, worst = _path_reason(
            name, predict, bundle_dir, records, expected[positions], positions, note
        )
        reasons.append(reason)
        worst_all = max(worst_all, worst)
    return reasons, worst_all


def _path_reason(
    name: str,
    predict: Predict,
    bundle_dir: str,
    records: Sequence[Mapping[str, Any]],
    want: np.ndarray,
    positions: np.ndarray,
    note: str,
) -> tuple[Reason, float]:
    """One serving path's parity with the evaluation path on the sampled rows (and its largest
    absolute difference; 0 when it failed or answered for another number of rows)."""
    check = "serving_" + ("v2" if name == PATH_V2 else "v1" if name == PATH_V1 else "records")
    numbers: dict[str, Any] = {"path": name, "rows": len(records)}
    try:
        got = np.asarray(predict(bundle_dir, records), dtype=np.float64).reshape(-1)
    except Exception as exc:  # any failure of the serving path is the finding
        message = f"{name} failed on {len(records)} raw test rows: {type(exc).__name__}: {exc}"
        return Reason(
            CHECK_INFRA, check, False, message, {**numbers, "error": str(exc), "note": note}
        ), 0.0
    if got.shape != want.shape:
        message = f"{name} returned {got.size} probabilities for {want.size} rows"
        return Reason(CHECK_INFRA, check, False, message, {**numbers, "note": note}), 0.0
    gaps = np.abs(got - want)
    worst = float(gaps.max()) if gaps.size else 0.0
    ok = bool(np.isfinite(gaps).all()) and worst <= PARITY_TOLERANCE
    at = int(np.argmax(gaps)) if gaps.size else -1
    row = int(positions[at]) if gaps.size else -1
    message = (
        f"{name}: {len(records)} raw test rows give the evaluation path's probabilities "
        f"(max |diff| {worst:.2g} <= {PARITY_TOLERANCE:g}); {note}"
        if ok
        else f"{name}: test row {row} gives {got[at]:.8f} through serving "
        f"but {want[at]:.8f} through evaluation (max |diff| {worst:.3g} > "
        f"{PARITY_TOLERANCE:g}); {note}"
    )
    numbers.update(
        {"max_abs_diff": worst, "tolerance": PARITY_TOLERANCE, "worst_row": row, "note": note}
    )
    return Reason(CHECK_INFRA, check, ok, message, numbers), worst
