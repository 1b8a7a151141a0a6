"""Compiled tree evaluation: the same trees, evaluated without the booster's per-call overhead.

A tree ensemble's booster spends most of a one-row call on its own machinery (xgboost's
``inplace_predict`` about 110-150 us for 2 us of tree walking; scikit-learn's random forest
several milliseconds). Two engines evaluate the very trees of the bundle's model file faster,
and neither writes or loads a native file from the bundle:

- ``lleaves`` (LightGBM): the model text compiled to machine code in this process by LLVM
  (llvmlite), no C compiler; about 1-3 s at load for the Telco models (about 50 s for 300
  trees of 63 leaves on the loaded development box); bit-identical to the booster;
- ``treelite-gtil`` (xgboost, scikit-learn random forest and histogram gradient boosting):
  treelite's tree interpreter in C++ on the model imported in memory; nothing is compiled.

Measured on this project's box (loaded, one core), one row / 32 rows, Telco default matrix:
lightgbm booster 23-25 / 108-166 us, lleaves 7-8 / 54-77 us; xgboost ``inplace_predict``
105-109 / 130-144 us, GTIL 11-17 / 159-366 us (so xgboost requests of more than
:data:`XGBOOST_GTIL_MAX_ROWS` rows stay with the booster); HGB 353 / 373 us, GTIL 10 / 142 us;
random forest 3,491 / 3,963 us, GTIL 26 / 502 us. tl2cgen (treelite's C code generator) was
28 us against GTIL's Python wrapper's 54 us on the benchmark's 300-tree xgboost model, but
needs a C compiler on the serving machine (or a native library shipped in the bundle) and its
wheel carries treelite 4.1.2; it is not used. Logistic regression has no trees: its booster
path stays.

A compiled form is only ever used where it matches the model: :func:`build_check` runs at
bundle write on the valid split's feature rows (within :data:`TOLERANCE`) and stores rows for
:func:`choose`, which the serving runtime calls at load to check again before switching; any
failure (parity, an engine that cannot load) leaves the booster in place and says why.

Inputs are cast as the library casts them before comparing with its thresholds: float32 for
xgboost and random forests (their trees compare float32 values), float64 for LightGBM and HGB.
Each row's result depends on that row alone (no batch effect), and which evaluation serves a
request depends on that request's size only (:meth:`Evaluation.for_rows`: compiled xgboost up to
:data:`XGBOOST_GTIL_MAX_ROWS` rows, the booster above), so a request's predictions do not change
with the requests it is micro-batched with.
"""

from __future__ import annotations

import json
import logging
import math
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import numpy as np

from components._shared.families import Predictor, available_cores

TOLERANCE: Final = 1e-6
# The bundle file with the feature rows the runtime re-checks parity on, and the manifest key
# recording the build-time check.
PARITY_FILE: Final = "parity_rows.json"
MANIFEST_KEY: Final = "compiled_evaluation"
# Rows stored for the load-time check (the build-time check uses every valid row).
PARITY_ROWS: Final = 256
# Below this many rows one thread answers faster than starting a pool.
SINGLE_THREAD_ROWS: Final = 64
# xgboost requests of more rows go to inplace_predict: GTIL costs 10-25 us a row, the booster
# ~110-150 us a call plus ~3 us a row (the two cross at 6-20 rows on the models measured).
XGBOOST_GTIL_MAX_ROWS: Final = 8

PASSED, FAILED, UNAVAILABLE = "passed", "failed", "unavailable"
PATH_COMPILED, PATH_BOOSTER = "compiled", "booster"

logger = logging.getLogger(__name__)

PredictFn = Callable[[np.ndarray], np.ndarray]


class CompileUnavailable(Exception):
    """The model has no compiled form here (no trees, the engine missing or failing)."""


@dataclass(frozen=True)
class Engine:
    """A compiled evaluation of one model: P(positive) of a float64 feature matrix.

    ``max_rows``: the largest request it is used for (None: every size); larger requests go to
    the booster, which is faster there (xgboost's per-call cost is fixed, GTIL's per row).
    """

    name: str
    predict: PredictFn
    max_rows: int | None = None


def engine_name(family: str) -> str | None:
    """The engine a family's model compiles to (with its version), None where there is none."""
    if family == "lightgbm":
        return f"lleaves {_version('lleaves')}"
    if family in ("xgboost", "sklearn_rf", "sklearn_hgb"):
        return f"treelite-gtil {_version('treelite')}"
    return None


def _version(package: str) -> str:
    from importlib import metadata

    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "missing"


def compile_model(predictor: Predictor) -> Engine:
    """The compiled evaluation of ``predictor``; CompileUnavailable naming why there is none."""
    family = predictor.family
    name = engine_name(family)
    if name is None:
        raise CompileUnavailable(f"{family}: no tree ensemble to compile")
    model: Any = predictor
    try:
        if family == "lightgbm":
            return Engine(name, _lleaves(model.booster.model_to_string()))
        import treelite

        if family == "xgboost":
            imported = treelite.frontend.from_xgboost(model.booster)
            return Engine(name, _gtil(imported, np.float32), XGBOOST_GTIL_MAX_ROWS)
        imported = treelite.sklearn.import_model(model.estimator)
        dtype = np.float32 if family == "sklearn_rf" else np.float64
        return Engine(name, _gtil(imported, dtype))
    except Exception as exc:  # an engine missing or refusing the model: the booster stays
        raise CompileUnavailable(f"{name}: {type(exc).__name__}: {exc}") from exc


def _gtil(model: Any, dtype: type[np.floating[Any]]) -> PredictFn:
    """GTIL's prediction through its C API, its configuration parsed once.

    ``treelite.gtil.predict`` re-creates and parses a JSON configuration, queries the model's
    types and its output shape on every call: about 50 us of Python around a few microseconds of
    tree walking. This calls the same C functions (``TreeliteGTILPredict``, treelite 4.8.1)
    with what does not change prepared at load; the parity check proves it on the stored rows.
    """
    import ctypes

    from treelite.core import _LIB, _check_call
    from treelite.gtil.gtil import GTILConfig
    from treelite.util import typestr_to_numpy_type

    input_type, output_type = model.input_type, model.output_type
    in_dtype, out_dtype = typestr_to_numpy_type(input_type), typestr_to_numpy_type(output_type)
    # nthread 1 for a request of a few rows; -1: the OpenMP threads this process may use.
    configs = {threads: GTILConfig(predict_type="default", nthread=threads) for threads in (1, -1)}
    shape = ctypes.POINTER(ctypes.c_uint64)()
    ndim = ctypes.c_uint64()
    _check_call(
        _LIB.TreeliteGTILGetOutputShape(
            model.handle,
            ctypes.c_uint64(1),
            configs[1].handle,
            ctypes.byref(shape),
            ctypes.byref(ndim),
        )
    )
    # (rows, targets, classes): the binary models give one column, forests both classes.
    per_row = tuple(int(v) for v in np.ctypeslib.as_array(shape, shape=(ndim.value,))[1:])
    features_expected = model.num_feature
    type_name = ctypes.c_char_p(input_type.encode())

    def predict(features: np.ndarray) -> np.ndarray:
        # Rounded as the library rounds (float32 for xgboost and forests), then as GTIL reads.
        matrix = np.ascontiguousarray(np.asarray(features, dtype=dtype), dtype=in_dtype)
        rows = matrix.shape[0]
        if matrix.ndim != 2 or matrix.shape[1] != features_expected:
            raise ValueError(f"expected {features_expected} features, got shape {matrix.shape}")
        out = np.zeros((rows, *per_row), dtype=out_dtype)
        config = configs[1 if rows < SINGLE_THREAD_ROWS else -1]
        _check_call(
            _LIB.TreeliteGTILPredict(
                model.handle,
                ctypes.c_void_p(matrix.ctypes.data),
                type_name,
                ctypes.c_uint64(rows),
                ctypes.c_void_p(out.ctypes.data),
                config.handle,
            )
        )
        return out.reshape(rows, -1)[:, -1].astype(np.float64)

    predict.model = model  # type: ignore[attr-defined]  # the treelite model stays alive with it
    return predict


def _lleaves(model_text: str) -> PredictFn:
    import lleaves

    with tempfile.TemporaryDirectory(prefix="kfp-tabular-lleaves-") as tmp:
        path = Path(tmp) / "model.txt"
        path.write_text(model_text, encoding="utf-8")
        compiled = lleaves.Model(model_file=str(path))
        # fblocksize=1: trees summed one after the other, as LightGBM sums them, so every
        # probability is bit-identical to the booster's (the default cache blocking of 34 trees
        # changes the order of the additions: ~1e-15 apart; 1 row costs about the same).
        compiled.compile(fblocksize=1)
    cores = available_cores()

    def predict(features: np.ndarray) -> np.ndarray:
        matrix = np.ascontiguousarray(features, dtype=np.float64)
        threads = 1 if matrix.shape[0] < SINGLE_THREAD_ROWS else cores
        return np.asarray(compiled.predict(matrix, n_jobs=threads), dtype=np.float64)

    return predict


def max_abs_diff(engine: Engine, predictor: Predictor, features: np.ndarray) -> float:
    """Largest |compiled - booster| probability over the rows (inf where either is not finite,
    or where the engine fails on them)."""
    reference = predictor.predict_proba(features)
    try:
        compiled = engine.predict(features)
    except Exception:  # an engine that cannot evaluate these rows does not match
        logger.exception("compiled evaluation (%s) failed on the parity rows", engine.name)
        return math.inf
    if compiled.shape != reference.shape:
        return math.inf
    diff = np.abs(compiled - reference)
    return float(np.max(diff)) if diff.size and np.isfinite(diff).all() else math.inf


# --- bundle write ------------------------------------------------------------------------------
def build_check(
    predictor: Predictor, features: np.ndarray | None
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """The manifest record of the build-time check and the parity rows to store (or None).

    ``features`` are the valid split's feature rows (None: nothing to check on, the runtime then
    keeps the booster). The record holds the engine, the result, the largest difference, the
    tolerance and the rows checked.
    """
    engine = engine_name(predictor.family)
    record: dict[str, Any] = {"engine": engine, "tolerance": TOLERANCE}
    if engine is None:
        return {**record, "result": UNAVAILABLE, "reason": "no tree ensemble"}, None
    if features is None or len(features) == 0:
        return {**record, "result": UNAVAILABLE, "reason": "no validation rows given"}, None
    matrix = np.ascontiguousarray(features, dtype=np.float64)
    try:
        compiled = compile_model(predictor)
    except CompileUnavailable as exc:
        return {**record, "result": UNAVAILABLE, "reason": str(exc)}, None
    diff = max_abs_diff(compiled, predictor, matrix)
    result = PASSED if diff <= TOLERANCE else FAILED
    record.update(
        result=result,
        max_abs_diff=diff if math.isfinite(diff) else None,
        rows_checked=int(matrix.shape[0]),
        rows_file=PARITY_FILE,
    )
    rows = matrix[:PARITY_ROWS]
    payload = {
        "features": [[None if math.isnan(v) else v for v in row] for row in rows.tolist()],
        "booster": predictor.predict_proba(rows).tolist(),
    }
    return record, payload


def parity_text(payload: Mapping[str, Any]) -> str:
    """The parity rows file's text (JSON; NaN written as null)."""
    return json.dumps(payload, allow_nan=False) + "\n"


def read_parity_rows(text: str) -> np.ndarray:
    """The stored feature rows as a float64 matrix (null back to NaN); ValueError if malformed."""
    payload = json.loads(text)
    rows = payload["features"] if isinstance(payload, dict) else None
    if not isinstance(rows, list) or not rows:
        raise ValueError(f"{PARITY_FILE}: expected a non-empty 'features' list")
    return np.array([[math.nan if v is None else v for v in row] for row in rows], dtype=np.float64)


# --- serving load ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Evaluation:
    """What the runtime evaluates the trees with, and why.

    Attributes:
        predict: P(positive) of a feature matrix (the compiled engine's or the booster's).
        path: ``compiled`` or ``booster``.
        engine: The compiled engine checked (None where the family has none).
        reason: Why this path: the parity figures, or why the compiled form is not used.
        max_abs_diff: The load-time parity figure, when one was measured.
    """

    predict: PredictFn
    path: str
    engine: str | None
    reason: str
    max_abs_diff: float | None = None
    booster: PredictFn | None = None
    max_rows: int | None = None

    def for_rows(self, rows: int) -> PredictFn:
        """The evaluation for a request of ``rows`` rows: compiled up to ``max_rows``, else the
        booster. Chosen by the request's own size, so a micro-batch changes no answer."""
        if self.booster is None or self.max_rows is None or rows <= self.max_rows:
            return self.predict
        return self.booster

    def describe(self) -> str:
        """One line for the log and the model metadata."""
        sizes = (
            ""
            if self.max_rows is None or self.path != PATH_COMPILED
            else (f", for requests of up to {self.max_rows} rows (the booster above)")
        )
        return f"{self.path} ({self.engine or 'no compiled engine'}{sizes}): {self.reason}"


def choose(
    predictor: Predictor,
    manifest: Mapping[str, Any],
    parity_rows: np.ndarray | None,
    *,
    enabled: bool = True,
    tolerance: float = TOLERANCE,
    compile_fn: Callable[[Predictor], Engine] = compile_model,
) -> Evaluation:
    """The compiled engine where the bundle's build check passed and it matches again here.

    Falls back to the booster, saying why, when compiled evaluation is off, the family has no
    engine, the build-time check did not pass, the bundle has no parity rows, the engine cannot
    be built here, or its predictions on the stored rows differ from the booster's by more than
    ``tolerance``.
    """
    booster = predictor.predict_proba
    engine = engine_name(predictor.family)
    recorded = manifest.get(MANIFEST_KEY)
    built: Mapping[str, Any] = recorded if isinstance(recorded, dict) else {}
    refusal = _refusal(engine, built, parity_rows, enabled)
    if refusal is not None:
        return Evaluation(booster, PATH_BOOSTER, engine, refusal)
    assert parity_rows is not None
    try:
        compiled = compile_fn(predictor)
    except CompileUnavailable as exc:
        return Evaluation(booster, PATH_BOOSTER, engine, f"compiled form unavailable: {exc}")
    diff = max_abs_diff(compiled, predictor, parity_rows)
    figures = f"max |compiled - booster| {diff:.3g} on {len(parity_rows)} stored rows"
    if not diff <= tolerance:
        return Evaluation(
            booster, PATH_BOOSTER, compiled.name, f"parity failed: {figures} > {tolerance:g}", diff
        )
    return Evaluation(
        compiled.predict,
        PATH_COMPILED,
        compiled.name,
        f"parity passed: {figures} <= {tolerance:g} (build: {built.get('max_abs_diff')} on "
        f"{built.get('rows_checked')} valid rows)",
        diff,
        booster,
        compiled.max_rows,
    )


def _refusal(
    engine: str | None, built: Mapping[str, Any], rows: np.ndarray | None, enabled: bool
) -> str | None:
    if not enabled:
        return "compiled evaluation turned off"
    if engine is None:
        return "the family has no tree ensemble to compile"
    if built.get("result") != PASSED:
        why = built.get("reason") or f"result {built.get('result', 'not recorded')!r}"
        return f"the bundle's build-time parity check did not pass ({why})"
    if rows is None:
        return f"the bundle has no {PARITY_FILE}"
    return None
