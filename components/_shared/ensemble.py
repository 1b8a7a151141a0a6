"""Ensemble bundles: the top candidates' bundles in one bundle, their probabilities combined.

The combiner is a weighted mean of the members' P(positive), the weights convex (>= 0, summing
to 1) and fitted by minimising log loss on validation predictions only (:func:`fit_weights`);
never on test rows. Why weights and not a stacked logistic regression: the mixture stays a
probability on the members' own scale (no new calibration to trust), it has k - 1 free
parameters against the stacker's k + 1 (less to overfit on the validation rows that already
early-stopped and chose the members), and it is linear in the members' probabilities, so the
serving runtime's compiled trees, each within ``compiled.TOLERANCE`` of its booster, keep the
ensemble within the same tolerance (a stacker on logits multiplies those differences near 0 and
1). Equal weights (the plain mean) are one point of the search.

The ensemble's own validation score is cross-fitted (:func:`cross_fit`): each validation row is
predicted with weights fitted on the other folds, so it is an estimate, not a memory of the
weights. It still reuses rows that early-stopped the members and ranked them into the top k, as
every single candidate's validation score does; the test split judges.

Layout of an ensemble bundle (family ``ensemble``)::

    manifest.json     family "ensemble", the members (name, family, path, manifest sha256), the
                      combiner (weights as JSON numbers), the shared schema, and the sha256 of
                      every other file, member files included by their relative path
    members/<name>/   each member's own bundle, unchanged (its featurizer, model, manifest)
    profile.json      the training data's reference statistics (the members share the data)
    model_card.md     what the ensemble is: members, weights, metrics, limits

:func:`load` (called by ``bundle.load_bundle`` once every listed sha256 verified) loads each
member with its recorded manifest digest, and returns a :class:`~bundle.Bundle` whose
featurizer applies every member's featurizer (:class:`MemberFeatures`) and whose predictor
combines the members (:class:`EnsemblePredictor`): gate, compare and serving use the ensemble
through the same ``Bundle`` API. :func:`choose` is the serving runtime's evaluation (each
member's compiled trees where they pass their own parity check).
"""

from __future__ import annotations

import json
import math
import re
import shutil
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

import numpy as np
import pandas as pd

import components
from components._shared import compiled, keys
from components._shared.artifacts import atomic_dir
from components._shared.bundle import (
    BUNDLE_FORMAT,
    ENSEMBLE_FAMILY,
    Bundle,
    load_bundle,
    sha256_file,
    verify_files,
)
from components._shared.errors import BundleError, ConfigError, expected_got
from components._shared.featurizer import Featurizer
from components._shared.schema import Schema

FAMILY: Final = ENSEMBLE_FAMILY
MEMBERS_DIR: Final = "members"
MANIFEST_MEMBERS: Final = "members"
MANIFEST_COMBINER: Final = "combiner"
COMBINER: Final = "weighted_mean"
CROSS_FIT_FOLDS: Final = 5
CROSS_FIT_SEED: Final = 0
# Probabilities are clipped this far from 0 and 1 inside the log loss the weights minimise.
_EPS: Final = 1e-12
WEIGHT_TOLERANCE: Final = 1e-6

PredictFn = Callable[[np.ndarray], np.ndarray]

__all__ = [
    "COMBINER",
    "FAMILY",
    "EnsemblePredictor",
    "MemberFeatures",
    "assemble",
    "choose",
    "combine",
    "cross_fit",
    "fit_weights",
    "load",
    "write",
]


# --- the combiner --------------------------------------------------------------------------------
def combine(weights: np.ndarray, parts: Sequence[np.ndarray]) -> np.ndarray:
    """The weighted mean of the members' P(positive) (one array per member), in [0, 1].

    The one implementation: compare, the gate and serving all combine through it.
    """
    total = np.zeros_like(np.asarray(parts[0], dtype=np.float64))
    for weight, part in zip(weights, parts, strict=True):
        total += float(weight) * np.asarray(part, dtype=np.float64)
    return np.clip(total, 0.0, 1.0)


def _log_loss_and_gradient(
    weights: np.ndarray, labels: np.ndarray, proba: np.ndarray
) -> tuple[float, np.ndarray]:
    p = np.clip(proba @ weights, _EPS, 1.0 - _EPS)
    loss = -np.mean(labels * np.log(p) + (1 - labels) * np.log1p(-p))
    slope = -(labels / p - (1 - labels) / (1.0 - p))
    return float(loss), proba.T @ slope / len(labels)


def fit_weights(labels: np.ndarray, proba: np.ndarray) -> np.ndarray:
    """Convex weights (>= 0, sum 1) minimising the log loss of ``proba @ weights``.

    Args:
        labels: 0/1 labels of the rows (validation rows only: never test rows).
        proba: (rows, members) P(positive) of each member.

    Returns:
        The weights; equal weights when the optimiser does not improve on them.
    """
    from scipy.optimize import minimize

    labels = np.asarray(labels, dtype=np.float64)
    proba = np.asarray(proba, dtype=np.float64)
    k = proba.shape[1]
    equal = np.full(k, 1.0 / k)
    result = minimize(
        _log_loss_and_gradient,
        equal,
        args=(labels, proba),
        jac=True,
        method="SLSQP",
        bounds=[(0.0, 1.0)] * k,
        constraints=[{"type": "eq", "fun": lambda w: float(np.sum(w) - 1.0)}],
        options={"maxiter": 200, "ftol": 1e-12},
    )
    weights = np.clip(np.asarray(result.x, dtype=np.float64), 0.0, None)
    if not np.isfinite(weights).all() or weights.sum() <= 0:
        return equal
    weights = weights / weights.sum()
    loss = _log_loss_and_gradient(weights, labels, proba)[0]
    return weights if loss <= _log_loss_and_gradient(equal, labels, proba)[0] else equal


def cross_fit(
    labels: np.ndarray,
    proba: np.ndarray,
    *,
    folds: int = CROSS_FIT_FOLDS,
    seed: int = CROSS_FIT_SEED,
) -> np.ndarray:
    """The ensemble's P(positive) of every row, each from weights fitted without its fold.

    The rows are dealt into ``folds`` folds by a seeded permutation; the result is the
    validation prediction compare ranks the ensemble on (an estimate of the weights' quality,
    not a memory of them).
    """
    labels = np.asarray(labels)
    proba = np.asarray(proba, dtype=np.float64)
    rows = len(labels)
    folds = max(2, min(folds, rows))
    assignment = np.random.default_rng(seed).permutation(rows) % folds
    out = np.empty(rows, dtype=np.float64)
    for fold in range(folds):
        held = assignment == fold
        weights = fit_weights(labels[~held], proba[~held])
        out[held] = combine(weights, list(proba[held].T))
    return out


# --- the loaded ensemble: featurizers side by side, members combined -----------------------------
class MemberFeatures:
    """Every member's featurizer applied to the same raw rows, their matrices side by side.

    Members with the same fitted featurizer (the same JSON) share one block: a featurizer runs
    once per request however many members read it. ``slices[i]`` is member i's block.
    """

    def __init__(self, featurizers: Sequence[Featurizer], schema_columns: Sequence[str]) -> None:
        self.featurizers: list[Featurizer] = []
        self.slices: list[slice] = []
        blocks: dict[str, slice] = {}
        start = 0
        for featurizer in featurizers:
            key = featurizer.to_json()
            if key not in blocks:
                width = len(featurizer.feature_names_)
                blocks[key] = slice(start, start + width)
                start += width
                self.featurizers.append(featurizer)
            self.slices.append(blocks[key])
        wanted = {c for f in self.featurizers for c in f.input_columns_}
        ordered = [c for c in schema_columns if c in wanted]
        self._inputs = ordered + sorted(wanted - set(ordered))

    @property
    def input_columns_(self) -> list[str]:
        """Raw columns any member reads, in schema order."""
        return list(self._inputs)

    def _side_by_side(
        self, transform: Callable[[Featurizer, dict[str, int] | None], np.ndarray], unseen: Any
    ) -> np.ndarray:
        blocks = []
        for featurizer in self.featurizers:
            counts: dict[str, int] | None = None if unseen is None else {}
            blocks.append(transform(featurizer, counts))
            for name, count in (counts or {}).items():  # a value unseen by any member, once
                unseen[name] = max(unseen.get(name, 0), count)
        return blocks[0] if len(blocks) == 1 else np.hstack(blocks)

    def transform(
        self, columns: Mapping[str, Any], *, unseen: dict[str, int] | None = None
    ) -> np.ndarray:
        """Every member featurizer's :meth:`Featurizer.transform`, side by side."""
        return self._side_by_side(lambda f, u: f.transform(columns, unseen=u), unseen)

    def transform_frame(
        self, frame: pd.DataFrame, *, unseen: dict[str, int] | None = None
    ) -> np.ndarray:
        """Every member featurizer's :meth:`Featurizer.transform_frame`, side by side."""
        return self._side_by_side(lambda f, u: f.transform_frame(frame, unseen=u), unseen)

    def transform_records(
        self, records: Sequence[Mapping[str, object]], *, unseen: dict[str, int] | None = None
    ) -> np.ndarray:
        """Every member featurizer's :meth:`Featurizer.transform_records`, side by side."""
        return self._side_by_side(lambda f, u: f.transform_records(records, unseen=u), unseen)


class EnsemblePredictor:
    """The members' predictors on their blocks of :class:`MemberFeatures`, combined."""

    family: str = FAMILY

    def __init__(
        self, members: Sequence[Bundle], slices: Sequence[slice], weights: np.ndarray
    ) -> None:
        self.members = list(members)
        self.slices = list(slices)
        self.weights = np.asarray(weights, dtype=np.float64)
        self.validation_features: np.ndarray | None = None

    def combined(self, predicts: Sequence[PredictFn]) -> PredictFn:
        """P(positive) of the side-by-side matrix from one predict function per member."""
        pairs = list(zip(predicts, self.slices, strict=True))
        weights = self.weights

        def predict(features: np.ndarray) -> np.ndarray:
            parts = [p(np.ascontiguousarray(features[:, s])) for p, s in pairs]
            return combine(weights, parts)

        return predict

    def predict_proba(self, features: np.ndarray) -> np.ndarray:
        """P(positive) through every member's booster (the evaluation path)."""
        return self.combined([m.predictor.predict_proba for m in self.members])(features)

    def save(self, directory: Path) -> str:
        """Not how an ensemble is written: :func:`write` copies the members' bundles."""
        raise BundleError(
            f"an ensemble is written by {__name__}.write (its members' bundles), not saved"
        )

    def info(self) -> dict[str, Any]:
        """The members and their weights."""
        return {"members": [m.name for m in self.members], "weights": self.weights.tolist()}


def assemble(
    members: Sequence[Bundle],
    weights: Sequence[float] | np.ndarray,
    *,
    manifest: dict[str, Any],
    uri: str = "",
    manifest_sha256: str = "",
) -> Bundle:
    """An ensemble :class:`Bundle` of loaded member bundles (in memory: compare's; or loaded).

    Raises:
        BundleError: fewer than two members, a member that is itself an ensemble, members under
            different schemas, or weights that are not one convex weight per member.
    """
    if len(members) < 2:
        raise BundleError(expected_got("ensemble members", "at least 2", len(members)))
    schema = members[0].schema
    featurizers = []
    for member in members:
        if not isinstance(member.featurizer, Featurizer):
            raise BundleError(f"member {member.name!r}: an ensemble cannot be a member")
        if member.schema.to_dict() != schema.to_dict():
            raise BundleError(
                f"member {member.name!r}: its schema differs from member "
                f"{members[0].name!r}'s; ensemble members share one data contract"
            )
        featurizers.append(member.featurizer)
    checked = check_weights(weights, len(members))
    features = MemberFeatures(featurizers, schema.column_names)
    return Bundle(
        manifest=manifest,
        schema=schema,
        featurizer=features,
        family=FAMILY,
        predictor=EnsemblePredictor(members, features.slices, checked),
        uri=uri,
        manifest_sha256=manifest_sha256,
    )


def check_weights(weights: object, members: int) -> np.ndarray:
    """The combiner's weights as an array: one finite weight >= 0 per member, summing to 1."""
    try:
        values = np.asarray(weights, dtype=np.float64)
    except (TypeError, ValueError):
        values = None
    if (
        values is None
        or values.shape != (members,)
        or not np.isfinite(values).all()
        or (values < 0).any()
        or abs(float(values.sum()) - 1.0) > WEIGHT_TOLERANCE
    ):
        raise BundleError(
            expected_got(
                f"{MANIFEST_COMBINER} weights",
                f"{members} finite weights >= 0 summing to 1",
                repr(weights),
            )
        )
    return values


# --- write and load ------------------------------------------------------------------------------
def member_dir_names(members: Sequence[Bundle]) -> list[str]:
    """Directory names under ``members/``: each candidate name made a safe, unique file name."""
    names: list[str] = []
    for i, member in enumerate(members, start=1):
        name = re.sub(r"[^A-Za-z0-9_.-]", "_", member.name) or f"member{i}"
        names.append(name if name not in names and name not in (".", "..") else f"{i}_{name}")
    return names


def write(
    out_dir: str | Path,
    members: Sequence[tuple[Path, Bundle]],
    weights: np.ndarray,
    *,
    name: str,
    metrics: Mapping[str, float],
    fitting: Mapping[str, Any],
) -> dict[str, Any]:
    """Write an ensemble bundle at ``out_dir`` atomically: the members' bundles copied inside
    (each verified after the copy), profile, card and the manifest sealing every file.

    Args:
        out_dir: Directory to create (replaced if it exists; nothing is left on failure).
        members: (bundle directory, its loaded bundle) of each member, best first.
        weights: The combiner's weights, one per member.
        name: The ensemble's name (its leaderboard row and ``candidate``).
        metrics: Its validation metrics (cross-fitted).
        fitting: How the weights were fitted (recorded in the manifest's combiner).

    Returns:
        The manifest, as written.
    """
    bundles = [bundle for _, bundle in members]
    checked = check_weights(weights, len(bundles))
    assemble(bundles, checked, manifest={})  # the same checks as loading: one data contract
    names = member_dir_names(bundles)
    first_dir, first = members[0]
    with atomic_dir(out_dir) as tmp:
        entries = [
            _copy_member(source, bundle, tmp, member_name)
            for (source, bundle), member_name in zip(members, names, strict=True)
        ]
        if (Path(first_dir) / keys.PROFILE_FILE).is_file():
            shutil.copyfile(Path(first_dir) / keys.PROFILE_FILE, tmp / keys.PROFILE_FILE)
        card = render_model_card(name, bundles, checked, metrics, fitting)
        (tmp / keys.MODEL_CARD_FILE).write_text(card, encoding="utf-8")
        files = {
            p.relative_to(tmp).as_posix(): sha256_file(p)
            for p in sorted(tmp.rglob("*"))
            if p.is_file()
        }
        manifest = _manifest(first, bundles, name, metrics, entries, checked, fitting, files)
        text = json.dumps(manifest, indent=2, allow_nan=False) + "\n"
        (tmp / keys.MANIFEST_FILE).write_text(text, encoding="utf-8")
        verify_files(tmp, manifest)
    return manifest


def _copy_member(source: Path, bundle: Bundle, root: Path, name: str) -> dict[str, Any]:
    """Copy one member's bundle under ``members/<name>``, verified after the copy."""
    target = root / MEMBERS_DIR / name
    shutil.copytree(source, target)
    verify_files(target, bundle.manifest)
    digest = sha256_file(target / keys.MANIFEST_FILE)
    if bundle.manifest_sha256 and digest != bundle.manifest_sha256:
        raise BundleError(
            expected_got(
                f"{MEMBERS_DIR}/{name}/{keys.MANIFEST_FILE} sha256",
                f"{bundle.manifest_sha256} (the bundle compare scored)",
                digest,
            )
        )
    return {
        "name": bundle.name,
        "family": bundle.family,
        "path": f"{MEMBERS_DIR}/{name}",
        "manifest_sha256": digest,
    }


def _manifest(
    first: Bundle,
    members: Sequence[Bundle],
    name: str,
    metrics: Mapping[str, float],
    entries: list[dict[str, Any]],
    weights: np.ndarray,
    fitting: Mapping[str, Any],
    files: dict[str, str],
) -> dict[str, Any]:
    versions: dict[str, str] = {}
    for member in members:
        versions.update(member.manifest.get(keys.MANIFEST_LIBRARY_VERSIONS) or {})
    return {
        keys.MANIFEST_BUNDLE_FORMAT: BUNDLE_FORMAT,
        keys.MANIFEST_FAMILY: FAMILY,
        keys.MANIFEST_CANDIDATE: name,
        keys.MANIFEST_PARAMS: {"members": [m.name for m in members], "combiner": COMBINER},
        keys.MANIFEST_LIBRARY_VERSIONS: versions,
        keys.MANIFEST_SCHEMA: first.schema.to_dict(),
        keys.MANIFEST_TARGET: first.schema.target,
        keys.MANIFEST_POSITIVE_LABEL: first.schema.positive_label,
        keys.MANIFEST_CLASS_LABELS: list(first.schema.class_labels),
        keys.MANIFEST_METRICS: {k: float(v) for k, v in metrics.items()},
        keys.MANIFEST_TRAINING_DATA: first.manifest.get(keys.MANIFEST_TRAINING_DATA),
        keys.MANIFEST_CODE_VERSION: components.__version__,
        keys.MANIFEST_CREATED_AT: datetime.now(UTC).isoformat(timespec="seconds"),
        MANIFEST_MEMBERS: entries,
        MANIFEST_COMBINER: {"kind": COMBINER, "weights": weights.tolist(), **fitting},
        keys.MANIFEST_FILES: files,
    }


def load(directory: Path, manifest: dict[str, Any], *, uri: str, manifest_sha256: str) -> Bundle:
    """The ensemble bundle at ``directory``, whose files ``bundle.load_bundle`` verified.

    Each member is loaded as a bundle of its own, its ``manifest.json`` required to have the
    digest the ensemble's manifest records.

    Raises:
        BundleError: a member missing, changed or not loadable (naming its path), members
            under different schemas, or a malformed combiner.
    """
    entries = manifest.get(MANIFEST_MEMBERS)
    if not isinstance(entries, list) or len(entries) < 2:
        raise BundleError(
            f"{keys.MANIFEST_FILE}: an ensemble lists its '{MANIFEST_MEMBERS}' (2 or more)"
        )
    members = [_load_member(directory, entry, manifest) for entry in entries]
    combiner = manifest.get(MANIFEST_COMBINER)
    if not isinstance(combiner, dict) or combiner.get("kind") != COMBINER:
        raise BundleError(
            expected_got(f"{keys.MANIFEST_FILE} {MANIFEST_COMBINER}", COMBINER, repr(combiner))
        )
    try:
        schema = Schema.from_dict(manifest[keys.MANIFEST_SCHEMA])
    except (KeyError, ValueError, ConfigError) as exc:
        raise BundleError(f"{keys.MANIFEST_FILE}: cannot parse the schema: {exc}") from None
    if schema.to_dict() != members[0].schema.to_dict():
        raise BundleError(f"{keys.MANIFEST_FILE}: its schema differs from its members'")
    return assemble(
        members,
        check_weights(combiner.get("weights"), len(members)),
        manifest=manifest,
        uri=uri,
        manifest_sha256=manifest_sha256,
    )


def _load_member(directory: Path, entry: object, manifest: Mapping[str, Any]) -> Bundle:
    path = entry.get("path") if isinstance(entry, dict) else None
    digest = entry.get("manifest_sha256") if isinstance(entry, dict) else None
    parts = str(path).split("/")
    listed = f"{path}/{keys.MANIFEST_FILE}" in manifest[keys.MANIFEST_FILES]
    if len(parts) != 2 or parts[0] != MEMBERS_DIR or not listed or not isinstance(digest, str):
        raise BundleError(
            expected_got(
                f"{keys.MANIFEST_FILE} {MANIFEST_MEMBERS} entry",
                f"{{path: '{MEMBERS_DIR}/<name>' with a listed manifest, manifest_sha256}}",
                repr(entry),
            )
        )
    try:
        member = load_bundle(directory / str(path), manifest_sha256=digest)
    except BundleError as exc:
        raise BundleError(f"{path}/{exc}") from None
    if member.family == FAMILY:
        raise BundleError(f"{path}: an ensemble cannot be a member of an ensemble")
    return member


# --- serving ---------------------------------------------------------------------------------------
def choose(bundle: Bundle, *, enabled: bool, tolerance: float) -> compiled.Evaluation:
    """The serving evaluation of an ensemble: each member's :func:`compiled.choose` (its compiled
    trees where they pass its own parity check), combined with the ensemble's weights.

    Compiled xgboost members hand requests above their row limit to their booster; the ensemble
    does the same for every member at the smallest limit, so which evaluation a request gets
    still depends on its own size only.
    """
    predictor = bundle.predictor
    if not isinstance(predictor, EnsemblePredictor):
        raise BundleError(expected_got("ensemble bundle predictor", FAMILY, bundle.family))
    members = predictor.members
    chosen = [
        compiled.choose(
            m.predictor, m.manifest, m.parity_rows, enabled=enabled, tolerance=tolerance
        )
        for m in members
    ]
    limits = [e.max_rows for e in chosen if e.booster is not None and e.max_rows is not None]
    max_rows = min(limits) if limits else None
    paths = {e.path for e in chosen}
    diffs = [e.max_abs_diff for e in chosen if e.max_abs_diff is not None]
    return compiled.Evaluation(
        predict=predictor.combined([e.predict for e in chosen]),
        path=paths.pop() if len(paths) == 1 else "mixed",
        engine="; ".join(
            f"{m.name}: {e.engine or 'none'}" for m, e in zip(members, chosen, strict=True)
        ),
        reason="; ".join(f"{m.name}: {e.describe()}" for m, e in zip(members, chosen, strict=True)),
        max_abs_diff=max(diffs) if diffs else None,
        booster=None
        if max_rows is None
        else predictor.combined([e.for_rows(max_rows + 1) for e in chosen]),
        max_rows=max_rows,
    )


# --- model card ------------------------------------------------------------------------------------
def render_model_card(
    name: str,
    members: Sequence[Bundle],
    weights: np.ndarray,
    metrics: Mapping[str, float],
    fitting: Mapping[str, Any],
) -> str:
    """The Markdown of an ensemble's ``model_card.md``."""
    schema = members[0].schema
    rows = [f"| {m.name} | `{m.family}` | {w:.4f} |" for m, w in zip(members, weights, strict=True)]
    lines = [
        f"# Model card: {name}",
        "",
        "## What it is",
        "",
        f"- Ensemble predicting P({schema.target} = {schema.positive_label!r}): the weighted "
        f"mean of {len(members)} member bundles' probabilities, each through its own featurizer.",
        f"- Weights fitted by minimising log loss on {fitting.get('fitted_on', 'validation rows')}.",
        f"- Code version {components.__version__}.",
        "",
        "| member | family | weight |",
        "|---|---|---|",
        *rows,
        "",
        "## Metrics (valid split, weights cross-fitted, threshold 0.5)",
        "",
        "| metric | value |",
        "|---|---|",
        *(f"| {k} | {float(v):.4f} |" for k, v in metrics.items() if math.isfinite(float(v))),
        "",
        "## Gate decision",
        "",
        "Gate decision: pending (gate runs after compare)",
        "",
        "## Limits",
        "",
        "- The validation rows that fitted the weights also early-stopped the members and "
        "ranked them into the top; the weights' own fit is cross-fitted, the rest is not. The "
        "test split (compare and gate) is the unbiased estimate.",
        f"- Serving runs every member: about {len(members)}x a single model's latency.",
        "- Each member's own model card (under members/) describes its data and limits.",
        "",
    ]
    return "\n".join(lines)
