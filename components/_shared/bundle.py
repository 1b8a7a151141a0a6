"""The model bundle: one directory that holds everything needed to serve and audit a model.

Layout (the same on disk, in gs:// and in KServe's /mnt/models)::

    manifest.json    format, family, candidate, params, library versions, schema, target,
                     labels, valid metrics, training data fingerprint, code version,
                     created_at, and the sha256 of every other file
    featurizer.json  the fitted feature transform (pure JSON)
    model.*          the model in its library's own safe format (keys.MODEL_FILES)
    profile.json     reference statistics of the training data (drift, skew)
    model_card.md    what the model is, its data, metrics and limits
    parity_rows.json valid-split feature rows and the model's predictions on them, for the
                     serving runtime's compiled-evaluation parity check (tree families)

:func:`load_bundle` checks the manifest against the directory before it parses anything else:
every listed file must exist with its sha256, and no file may be there that the manifest does
not list. A bundle that fails is refused with a :class:`BundleError` naming the file.

An ensemble bundle (family ``ensemble``, :mod:`components._shared.ensemble`) holds its members'
bundles under ``members/<name>/``: its manifest lists every member file by its relative path, so
the same rule covers them (a changed member file is refused, naming its path), and
:func:`load_bundle` hands it to :func:`components._shared.ensemble.load` after verification.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import statistics
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final, Protocol

import numpy as np
import pandas as pd

import components
from components._shared import compiled, families, io, keys
from components._shared.artifacts import atomic_dir
from components._shared.errors import BundleError, KfpTabularError, expected_got
from components._shared.families import Predictor
from components._shared.featurizer import Featurizer
from components._shared.schema import Schema

BUNDLE_FORMAT: Final = 1
# The family of a bundle whose members are bundles (components._shared.ensemble).
ENSEMBLE_FAMILY: Final = "ensemble"
_CHUNK = 1 << 20


class FeatureTransform(Protocol):
    """Raw columns to a feature matrix: a :class:`Featurizer`, or an ensemble's members'
    featurizers side by side (:class:`components._shared.ensemble.MemberFeatures`)."""

    @property
    def input_columns_(self) -> list[str]: ...

    def transform(
        self, columns: Mapping[str, Any], *, unseen: dict[str, int] | None = None
    ) -> np.ndarray: ...

    def transform_frame(
        self, frame: pd.DataFrame, *, unseen: dict[str, int] | None = None
    ) -> np.ndarray: ...

    def transform_records(
        self, records: Sequence[Mapping[str, object]], *, unseen: dict[str, int] | None = None
    ) -> np.ndarray: ...


def sha256_file(path: str | Path) -> str:
    """Hex sha256 of a local file, read in chunks (model files can be large)."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _json_text(obj: Any) -> str:
    return json.dumps(obj, indent=2, sort_keys=False, allow_nan=False) + "\n"


def write_bundle(
    out_dir: str | Path,
    *,
    family: str,
    model: Predictor,
    featurizer: Featurizer,
    schema: Schema,
    profile: dict[str, Any],
    candidate: dict[str, Any],
    metrics: dict[str, float],
    training_data: dict[str, Any],
    model_card: str,
    parity_features: np.ndarray | None = None,
) -> dict[str, Any]:
    """Write a bundle directory at ``out_dir`` atomically and return its manifest.

    Args:
        out_dir: Directory to create (replaced if it exists; nothing is left on failure).
        family: Model family (``keys.FAMILIES``); must be ``model``'s family.
        model: The trained predictor (:func:`families.fit`).
        featurizer: The fitted featurizer the model was trained on.
        schema: The data contract; recorded in the manifest.
        profile: Reference statistics of the training data (profile JSON).
        candidate: ``{"name", "family", "params"}`` as checked by ``train.matrix.check_candidate``.
        metrics: Validation metrics ``{name: value}``.
        training_data: ``source`` ({uri, sha256, rows} or None), ``train_rows``,
            ``train_features_sha256`` and anything else worth recording.
        model_card: Markdown text of ``model_card.md`` (:func:`render_model_card`).
        parity_features: Valid-split feature rows on which the compiled evaluation must match
            the model (:func:`compiled.build_check`); default the model's
            ``validation_features`` (kept by :func:`families.fit`). The result is recorded in
            the manifest (``compiled_evaluation``) and a sample of the rows in
            ``parity_rows.json`` for the runtime's check at load.

    Returns:
        The manifest, as written to ``manifest.json``.
    """
    if getattr(model, "family", family) != family:
        raise BundleError(expected_got("model family", family, model.family))
    model_name = families.model_file(family)
    if parity_features is None:
        parity_features = getattr(model, "validation_features", None)
    parity_record, parity_rows = compiled.build_check(model, parity_features)
    with atomic_dir(out_dir) as tmp:
        (tmp / keys.FEATURIZER_FILE).write_text(featurizer.to_json(), encoding="utf-8")
        (tmp / keys.PROFILE_FILE).write_text(_json_text(profile), encoding="utf-8")
        (tmp / keys.MODEL_CARD_FILE).write_text(model_card, encoding="utf-8")
        written = model.save(tmp)
        if written != model_name:
            raise BundleError(expected_got(f"{family} model file", model_name, written))
        if parity_rows is not None:
            text = compiled.parity_text(parity_rows)
            (tmp / compiled.PARITY_FILE).write_text(text, encoding="utf-8")
        files = {p.name: sha256_file(p) for p in sorted(tmp.iterdir()) if p.is_file()}
        manifest = {
            keys.MANIFEST_BUNDLE_FORMAT: BUNDLE_FORMAT,
            keys.MANIFEST_FAMILY: family,
            keys.MANIFEST_CANDIDATE: candidate.get(keys.CANDIDATE_NAME),
            keys.MANIFEST_PARAMS: dict(candidate.get(keys.CANDIDATE_PARAMS) or {}),
            keys.MANIFEST_LIBRARY_VERSIONS: families.library_versions(family),
            keys.MANIFEST_SCHEMA: schema.to_dict(),
            keys.MANIFEST_TARGET: schema.target,
            keys.MANIFEST_POSITIVE_LABEL: schema.positive_label,
            keys.MANIFEST_CLASS_LABELS: list(schema.class_labels),
            keys.MANIFEST_METRICS: {k: float(v) for k, v in metrics.items()},
            keys.MANIFEST_TRAINING_DATA: training_data,
            keys.MANIFEST_CODE_VERSION: components.__version__,
            keys.MANIFEST_CREATED_AT: datetime.now(UTC).isoformat(timespec="seconds"),
            compiled.MANIFEST_KEY: parity_record,
            keys.MANIFEST_FILES: files,
        }
        (tmp / keys.MANIFEST_FILE).write_text(_json_text(manifest), encoding="utf-8")
    return manifest


@dataclass
class Bundle:
    """A loaded, verified bundle: raw columns in, P(positive) out.

    Attributes:
        manifest: The parsed ``manifest.json``.
        schema: The data contract the model was trained under.
        featurizer: The fitted featurizer (an ensemble's: its members' side by side).
        family: Model family (``ensemble`` for an ensemble bundle).
        predictor: The loaded model (:class:`families.Predictor`).
        uri: Where the bundle was loaded from.
        manifest_sha256: sha256 of ``manifest.json`` itself: the bundle's one digest, recorded
            by the gate, deploy and the InferenceService annotation, and exported by serving.
        parity_rows: The feature rows of ``parity_rows.json`` (None when the bundle has none):
            where serving checks the compiled evaluation against the model at load.
    """

    manifest: dict[str, Any]
    schema: Schema
    featurizer: FeatureTransform
    family: str
    predictor: Predictor
    uri: str = ""
    manifest_sha256: str = ""
    parity_rows: np.ndarray | None = None

    @property
    def name(self) -> str:
        """The candidate name recorded at training time."""
        return str(self.manifest.get(keys.MANIFEST_CANDIDATE) or "")

    def predict_features(self, features: np.ndarray) -> np.ndarray:
        """P(positive) for an already featurized float64 matrix."""
        return self.predictor.predict_proba(features)

    def predict_proba(self, columns: Mapping[str, np.ndarray]) -> np.ndarray:
        """P(positive) for raw columns ``{name: values}`` (the serving path)."""
        return self.predictor.predict_proba(self.featurizer.transform(columns))

    def predict_proba_frame(self, frame: pd.DataFrame) -> np.ndarray:
        """P(positive) for a raw typed frame (splits, evaluation)."""
        return self.predictor.predict_proba(self.featurizer.transform_frame(frame))

    def predict_proba_records(self, records: Sequence[Mapping[str, object]]) -> np.ndarray:
        """P(positive) for raw records (JSON-like dicts, as a request carries them)."""
        return self.predictor.predict_proba(self.featurizer.transform_records(records))


def _read_manifest(directory: Path) -> dict[str, Any]:
    path = directory / keys.MANIFEST_FILE
    if not path.is_file():
        raise BundleError(f"{keys.MANIFEST_FILE}: missing from bundle {directory}")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BundleError(f"{keys.MANIFEST_FILE}: not valid JSON: {exc}") from None
    if not isinstance(manifest, dict):
        raise BundleError(
            expected_got(keys.MANIFEST_FILE, "a JSON object", type(manifest).__name__)
        )
    version = manifest.get(keys.MANIFEST_BUNDLE_FORMAT)
    if not isinstance(version, int) or not 1 <= version <= BUNDLE_FORMAT:
        raise BundleError(
            expected_got(
                f"{keys.MANIFEST_FILE} {keys.MANIFEST_BUNDLE_FORMAT}",
                f"1..{BUNDLE_FORMAT}",
                repr(version),
            )
        )
    files = manifest.get(keys.MANIFEST_FILES)
    if not isinstance(files, dict) or not files:
        raise BundleError(
            f"{keys.MANIFEST_FILE}: '{keys.MANIFEST_FILES}' must map file names to sha256"
        )
    return manifest


def verify_files(directory: str | Path, manifest: Mapping[str, Any]) -> None:
    """Check the directory against ``manifest["files"]``: BundleError naming the first bad file.

    Every listed file must exist with its sha256, and every file present must be listed (an
    unlisted model file is exactly what a tampered bundle would add).
    """
    directory = Path(directory)
    files: Mapping[str, str] = manifest[keys.MANIFEST_FILES]
    for name, expected in sorted(files.items()):
        path = directory / _inside(name, manifest)
        if not path.is_file():
            raise BundleError(f"{name}: listed in {keys.MANIFEST_FILE} but missing from the bundle")
        actual = sha256_file(path)
        if actual != expected:
            raise BundleError(f"{name}: sha256 mismatch (expected {expected}, actual {actual})")
    present = {
        p.relative_to(directory).as_posix()
        for p in directory.rglob("*")
        if p.is_file() or p.is_symlink()
    }
    unlisted = sorted(present - set(files) - {keys.MANIFEST_FILE})
    if unlisted:
        raise BundleError(
            f"{unlisted[0]}: present in the bundle but not listed in {keys.MANIFEST_FILE} (unlisted: {unlisted})"
        )


def _inside(name: str, manifest: Mapping[str, Any]) -> str:
    """``name`` if it is a plain file name, or, in an ensemble bundle, a relative path of plain
    parts (``members/<member>/<file>``): a manifest may not point outside its bundle."""
    parts = name.split("/")
    nested = manifest.get(keys.MANIFEST_FAMILY) == ENSEMBLE_FAMILY
    plain = all(p not in ("", ".", "..") and Path(p).name == p and "\\" not in p for p in parts)
    if not plain or (len(parts) > 1 and not nested):
        raise BundleError(f"{name}: manifest lists a path, expected a plain file name")
    return name


def _load_dir(directory: Path, uri: str, expected_manifest_sha256: str | None) -> Bundle:
    if not directory.is_dir():
        raise BundleError(f"bundle {uri!r} is not a directory")
    manifest = _read_manifest(directory)
    digest = sha256_file(directory / keys.MANIFEST_FILE)
    if expected_manifest_sha256 and digest != expected_manifest_sha256.strip().lower():
        # The manifest lists every other file's sha256 but cannot list its own: a digest
        # recorded elsewhere (the blessing, deploy's record) is what protects it.
        raise BundleError(
            expected_got(
                f"{keys.MANIFEST_FILE} sha256 of bundle {uri!r}",
                f"{expected_manifest_sha256} (the digest recorded when it was blessed and deployed)",
                f"{digest}: the manifest was changed, refusing to load it",
            )
        )
    verify_files(directory, manifest)
    family = manifest.get(keys.MANIFEST_FAMILY)
    if family == ENSEMBLE_FAMILY:
        from components._shared import ensemble  # it builds on this module

        return ensemble.load(directory, manifest, uri=uri, manifest_sha256=digest)
    if family not in families.FAMILIES:
        raise BundleError(
            expected_got(
                f"{keys.MANIFEST_FILE} family",
                [*families.FAMILIES, ENSEMBLE_FAMILY],
                repr(family),
            )
        )
    files = manifest[keys.MANIFEST_FILES]
    for required in (keys.FEATURIZER_FILE, families.model_file(family)):
        if required not in files:
            raise BundleError(
                f"{required}: not listed in {keys.MANIFEST_FILE} of a {family} bundle"
            )
    try:
        schema = Schema.from_dict(manifest[keys.MANIFEST_SCHEMA])
        featurizer = Featurizer.from_json(
            (directory / keys.FEATURIZER_FILE).read_text(encoding="utf-8")
        )
    except (KeyError, KfpTabularError, ValueError) as exc:
        raise BundleError(
            f"{keys.MANIFEST_FILE}/{keys.FEATURIZER_FILE}: cannot parse: {exc}"
        ) from exc
    predictor = families.load(family, directory)
    return Bundle(
        manifest=manifest,
        schema=schema,
        featurizer=featurizer,
        family=family,
        predictor=predictor,
        uri=uri,
        manifest_sha256=digest,
        parity_rows=_parity_rows(directory, files),
    )


def _parity_rows(directory: Path, files: Mapping[str, str]) -> np.ndarray | None:
    """The verified parity rows of the bundle, None when it has none (bundles before them)."""
    if compiled.PARITY_FILE not in files:
        return None
    try:
        return compiled.read_parity_rows(
            (directory / compiled.PARITY_FILE).read_text(encoding="utf-8")
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise BundleError(f"{compiled.PARITY_FILE}: cannot parse: {exc}") from None


def load_bundle(path_or_uri: str | Path, *, manifest_sha256: str | None = None) -> Bundle:
    """Load a bundle from a local directory, ``file://`` or ``gs://`` prefix, verified.

    Args:
        path_or_uri: The bundle.
        manifest_sha256: When given, ``manifest.json`` itself must have this sha256 (the digest
            deploy recorded): every other file is protected by the manifest, the manifest by it.

    Raises:
        BundleError: naming the file that is missing, unlisted, unparsable or whose sha256 does
            not match (with the expected and the actual digest).
    """
    uri = str(path_or_uri)
    if io.is_gcs(uri):
        # Verification runs on the downloaded copy, and every file is read into memory before
        # the temporary copy goes away.
        with io.local_copy(uri) as local:
            return _load_dir(Path(local), uri, manifest_sha256)
    return _load_dir(io.local_path(uri), uri, manifest_sha256)


def copy_with_model_card(
    source: str | Path, out_dir: str | Path, model_card: str
) -> dict[str, Any]:
    """Copy a local bundle to ``out_dir`` with a new ``model_card.md``, re-sealed, atomically.

    The source is verified, and the copied files again *after* copying, so what gets sealed is
    what was verified; then the card is replaced and the manifest's sha256 of
    ``model_card.md`` updated. Every other manifest field is kept as it was. The gate uses this
    to complete the card of the bundle it blesses.

    Returns:
        The new manifest.

    Raises:
        BundleError: the source bundle does not verify (naming the file).
    """
    source = Path(source)
    manifest = _read_manifest(source)
    verify_files(source, manifest)  # also refuses files the manifest does not list
    with atomic_dir(out_dir) as tmp:
        for name in manifest[keys.MANIFEST_FILES]:
            if (source / _inside(name, manifest)).is_file():
                (tmp / name).parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(source / name, tmp / name)
        (tmp / keys.MANIFEST_FILE).write_text(_json_text(manifest), encoding="utf-8")
        verify_files(tmp, manifest)
        (tmp / keys.MODEL_CARD_FILE).write_text(model_card, encoding="utf-8")
        files = dict(manifest[keys.MANIFEST_FILES])
        files[keys.MODEL_CARD_FILE] = sha256_file(tmp / keys.MODEL_CARD_FILE)
        sealed = {**manifest, keys.MANIFEST_FILES: files}
        (tmp / keys.MANIFEST_FILE).write_text(_json_text(sealed), encoding="utf-8")
        verify_files(tmp, sealed)
    return sealed


def json_record(row: Mapping[str, Any]) -> dict[str, Any]:
    """A raw typed row as a request carries it: nulls as None, times as ISO text, numbers as
    Python numbers."""
    out: dict[str, Any] = {}
    for name, value in row.items():
        if value is None or (not isinstance(value, str) and pd.isna(value)):
            out[name] = None
        elif isinstance(value, pd.Timestamp | datetime):
            out[name] = value.isoformat()
        elif isinstance(value, np.generic):
            out[name] = value.item()
        else:
            out[name] = value
    return out


def single_row_latency_ms(
    bundle: Bundle, records: Sequence[Mapping[str, Any]], *, calls: int = 200
) -> float:
    """Median milliseconds of one single-row prediction from raw values, featurizer included.

    Cycles through ``records`` (JSON-like dicts, see :func:`json_record`), one row per call: the
    path a one-row serving request takes. Train and compare measure every bundle this way, so
    their latencies compare.
    """
    if not records:
        raise BundleError("single_row_latency_ms needs at least one record")
    bundle.predict_proba_records([records[0]])  # warm caches and lazy library state
    times = []
    for i in range(calls):
        row = [records[i % len(records)]]
        start = time.perf_counter()
        bundle.predict_proba_records(row)
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e3


def bundle_bytes(directory: str | Path) -> int:
    """Total size of the files in a local bundle directory."""
    return sum(p.stat().st_size for p in Path(directory).rglob("*") if p.is_file())


def _evaluation_text(evaluation: str) -> tuple[str, str]:
    """The model card's metrics heading and the limit that says where its metrics come from."""
    if evaluation == keys.EVALUATION_HOLDOUT:
        return (
            "## Metrics (valid split, threshold 0.5)",
            "- Metrics are measured on the valid split, which also chose the early-stopping "
            "round; the test split (reported by compare and gate) is the unbiased estimate.",
        )
    return (
        f"## Metrics (out-of-fold predictions of {evaluation}, threshold 0.5)",
        f"- Evaluation: {evaluation}. Each row is predicted by a model (featurizer included) "
        "fitted without its fold; this bundle is refit on every row, so the metrics estimate "
        "the fold models', from the same data that chose among the candidates.",
    )


def _importance_lines(entry: Mapping[str, Any] | None, top: int = 10) -> list[str]:
    """The model card's feature importance section: the largest column shares."""
    if not entry or not entry.get("columns"):
        return []
    from components._shared.importance import describe

    columns = list(entry["columns"].items())[:top]
    return [
        "## Feature importance",
        "",
        f"Share of {describe(str(entry.get('method')))}, per input column "
        f"(top {len(columns)} of {entry.get('of_columns', len(entry['columns']))}).",
        "",
        "| column | share |",
        "|---|---|",
        *(f"| `{name}` | {float(share):.1%} |" for name, share in columns),
        "",
    ]


def render_model_card(
    *,
    family: str,
    candidate: Mapping[str, Any],
    schema: Schema,
    metrics: Mapping[str, float],
    training_data: Mapping[str, Any],
    n_features: int,
    model_info: Mapping[str, Any] | None = None,
    evaluation: str = keys.EVALUATION_HOLDOUT,
    importance: Mapping[str, Any] | None = None,
) -> str:
    """The Markdown text of ``model_card.md``: what it is, data, metrics and limits.

    ``evaluation`` is "holdout" or the cross-validation (``keys.cv_evaluation``) whose
    out-of-fold predictions the metrics come from. ``importance`` is the manifest's feature
    importance entry (``importance.manifest_entry``): method and column shares.
    """
    metrics_heading, metrics_limit = _evaluation_text(evaluation)
    source = training_data.get("source") or {}
    params = candidate.get(keys.CANDIDATE_PARAMS) or {}
    positive_rate = training_data.get("positive_rate")
    rate = f"{positive_rate:.2%}" if isinstance(positive_rate, float) else "n/a"
    lines = [
        f"# Model card: {candidate.get(keys.CANDIDATE_NAME)}",
        "",
        "## What it is",
        "",
        f"- Binary classifier predicting P({schema.target} = {schema.positive_label!r}).",
        f"- Family: `{family}`; candidate `{candidate.get(keys.CANDIDATE_NAME)}`.",
        f"- Parameters: `{json.dumps(params, sort_keys=True)}`.",
    ]
    if model_info:
        lines.append(f"- Learnt: `{json.dumps(dict(model_info), sort_keys=True)}`.")
    lines += [
        f"- Inputs: {len(schema.feature_columns)} raw columns, {n_features} features after the featurizer.",
        f"- Code version {components.__version__}.",
        "",
        "## Data",
        "",
        f"- Source: `{source.get('uri', 'n/a')}` (sha256 `{source.get('sha256', 'n/a')}`, {source.get('rows', 'n/a')} rows).",
        f"- Train rows: {training_data.get('train_rows', 'n/a')}; positive rate {rate}.",
        f"- Target `{schema.target}`, positive label `{schema.positive_label}`, classes {list(schema.class_labels)}.",
        "",
        metrics_heading,
        "",
        "| metric | value |",
        "|---|---|",
        *(f"| {name} | {float(value):.4f} |" for name, value in metrics.items()),
        "",
        *_importance_lines(importance),
        "## Gate decision",
        "",
        "Gate decision: pending (gate runs after compare)",
        "",
        "## Limits",
        "",
        metrics_limit,
        "- Valid only for data that matches the schema in manifest.json; categories not seen in "
        "training go to an unknown bucket and shift predictions.",
        "- Predicted probabilities are not calibrated beyond what the family's loss gives; "
        "the 0.5 threshold is not tuned to any cost of errors.",
        "- Not checked for fairness across groups; read slice metrics in the gate report before use.",
        "",
    ]
    return "\n".join(lines)
