"""The batch_predict step: score a CSV or Parquet file with a bundle, through the serving scorer.

``main`` is what the KFP component calls; ``run(inputs, outputs, config)`` loads the bundle
(sha256 verified), opens the rows (:mod:`.reader`), scores them chunk by chunk
(:func:`score_rows`, the pure part: chunks in, scored chunks and counts out, :mod:`.rows`) into
two temporary tables (:mod:`.writers`), and ``write`` puts both in place and logs the metadata
and metrics, last. Rows that cannot be scored are reported one by one in ``errors`` (row,
column, reason); when more than ``max_error_fraction`` of the rows cannot be scored the step
fails, naming the first of them, and nothing is written.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import pyarrow as pa

from components._shared import keys
from components._shared.artifacts import ArtifactLike, MetricsLike, set_display_name
from components._shared.bundle import load_bundle
from components._shared.entry import sort_arguments
from components._shared.errors import ConfigError, DataError, expected_got
from components._shared.schema import Schema
from components._shared.tables import DEFAULT_NULL_TOKENS
from components.batch_predict.config import BatchPredictConfig
from components.batch_predict.reader import RawChunk, RowError, Rows, open_rows
from components.batch_predict.rows import ChunkScorer, ScoredChunk
from components.batch_predict.writers import TableWriter
from serving.scoring import Scorer

MODEL_NAME: Final = "batch_predict"
ROW: Final = "row"
PROBABILITY: Final = "probability"
LABEL: Final = "label"
ERROR_COLUMNS: Final = ("row", "column", "reason")
LISTED_ERRORS: Final = 10

# Told after every chunk: rows read, rows scored, rows refused, seconds since the start.
Progress = Callable[[int, int, int, float], None]


@dataclass(frozen=True)
class BatchPredictInputs:
    """The bundle to score with, when it comes as an artifact (else ``bundle_uri``)."""

    bundle: ArtifactLike | None = None


@dataclass(frozen=True)
class BatchPredictOutputs:
    """The predictions, the rows that could not be scored, and the counts."""

    predictions: ArtifactLike
    errors: ArtifactLike
    metrics: MetricsLike


@dataclass
class BatchResult:
    """What scoring a file gave (counts; the rows themselves are in the two tables)."""

    rows: int = 0
    scored: int = 0
    positive: int = 0
    errors: int = 0
    first_errors: list[RowError] = field(default_factory=list)
    unseen: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    read_as: str = ""
    bundle: str = ""
    candidate: str = ""


def main(arguments: dict[str, Any]) -> BatchResult:
    """The component's entry: its arguments sorted into inputs, outputs and config."""
    return run(
        *sort_arguments(arguments, BatchPredictInputs, BatchPredictOutputs, BatchPredictConfig)
    )


def run(
    inputs: BatchPredictInputs,
    outputs: BatchPredictOutputs,
    config: BatchPredictConfig,
    *,
    progress: Progress | None = None,
) -> BatchResult:
    """Score ``config.data_uri`` with the bundle; write the predictions and the errors.

    Raises:
        ConfigError: the bundle given twice or not at all, or a bad parameter.
        BundleError: the bundle fails verification, naming the file.
        DataReadError / DataError: the file cannot be read, lacks model columns, or more than
            ``max_error_fraction`` of its rows cannot be scored (nothing is written then).
    """
    bundle = load_bundle(bundle_location(inputs, config))
    result = BatchResult(bundle=bundle.uri, candidate=bundle.name)
    scorer = Scorer(
        bundle, name=MODEL_NAME, threshold=config.threshold, observer=result_unseen(result)
    )
    tokens = null_tokens(bundle.schema)
    chunk_scorer = ChunkScorer(scorer, tokens, engine_rows=config.chunk_rows)
    inputs_needed = list(chunk_scorer.codec.inputs)
    keep = list(config.keep_columns) or [c for c in bundle.schema.id_columns]
    with open_rows(
        config.data_uri,
        wanted=[*inputs_needed, *keep],
        null_tokens=tokens,
        encoding=config.encoding,
        delimiter=config.delimiter,
        chunk_rows=config.chunk_rows,
        decimal=config.decimal,
    ) as rows:
        chunk_scorer.decimal = rows.table_format.decimal
        keep = check_columns(rows, inputs_needed, keep, explicit=bool(config.keep_columns))
        result.read_as = rows.table_format.describe()
        sinks = _writers(outputs, config, rows, keep)
        try:
            score_rows(
                rows.chunks(),
                rows.malformed,
                chunk_scorer,
                keep,
                sinks,
                result,
                progress or _stderr,
            )
            _check_error_share(result, config)
            for sink in sinks:
                sink.commit()
        except BaseException:
            for sink in sinks:
                sink.discard()
            raise
    write(result, outputs, config)
    return result


def bundle_location(inputs: BatchPredictInputs, config: BatchPredictConfig) -> str:
    """The bundle artifact's path or ``bundle_uri``: exactly one of them."""
    if inputs.bundle is not None and config.bundle_uri:
        raise ConfigError("bundle and bundle_uri are both set; give the bundle once")
    if inputs.bundle is None and not config.bundle_uri:
        raise ConfigError(expected_got("bundle", "a bundle artifact or bundle_uri", "neither"))
    return inputs.bundle.path if inputs.bundle is not None else config.bundle_uri


def null_tokens(schema: Schema) -> tuple[str, ...]:
    """The contract's null tokens; the reader's default for contracts that predate them."""
    return tuple(schema.null_tokens) if schema.null_tokens is not None else DEFAULT_NULL_TOKENS


def result_unseen(result: BatchResult) -> Callable[[Any, Any], None]:
    """The scorer's observer: adds each request's unseen-value counts per column."""

    def observe(_: Any, unseen: Any) -> None:
        for name, count in unseen.items():
            if count:
                result.unseen[name] = result.unseen.get(name, 0) + int(count)

    return observe


def check_columns(
    rows: Rows, needed: Sequence[str], keep: list[str], *, explicit: bool
) -> list[str]:
    """Every model input present (else a DataError naming the missing ones and the header);
    declared keep columns present too; implicit ones (the schema's ids) only if there."""
    header = set(rows.columns)
    missing = [c for c in needed if c not in header]
    if explicit:
        missing += [c for c in keep if c not in header and c not in missing]
    if missing:
        hint = f"; hint: {rows.table_format.hint}" if rows.table_format.hint else ""
        raise DataError(
            f"{rows.uri!r}: missing column(s) {missing}: the model reads {list(needed)}"
            f"{' and keep_columns names ' + str(keep) if explicit else ''}; the file has "
            f"{rows.columns}{hint}"
        )
    return [c for c in keep if c in header]


def score_rows(
    chunks: Iterable[RawChunk],
    malformed: list[RowError],
    scorer: Callable[[RawChunk, Sequence[str]], ScoredChunk],
    keep: Sequence[str],
    sinks: Sequence[TableWriter],
    result: BatchResult,
    progress: Progress,
) -> None:
    """The pure loop: score each chunk, append its predictions and errors, count, tell progress.

    ``malformed`` fills while the reader reads (rows with the wrong number of fields); they are
    written as errors with the chunk they fell in.
    """
    predictions, errors = sinks
    start = time.perf_counter()
    taken = 0
    for chunk in chunks:
        scored = scorer(chunk, keep)
        broken = malformed[taken:]
        taken += len(broken)
        refused = sorted([*broken, *scored.errors], key=lambda e: e.row)
        predictions.write(
            {ROW: scored.rows, **scored.kept, PROBABILITY: scored.probability, LABEL: scored.labels}
        )
        errors.write(_error_columns(refused))
        _count(result, len(chunk.rows) + len(broken), scored, refused)
        result.seconds = time.perf_counter() - start
        progress(result.rows, result.scored, result.errors, result.seconds)
    late = malformed[taken:]  # rows refused after the last chunk (the file's end)
    if late:
        errors.write(_error_columns(late))
        _count(result, len(late), ScoredChunk(), late)


def _count(result: BatchResult, records: int, scored: ScoredChunk, refused: list[RowError]) -> None:
    """Add a chunk's counts: ``records`` data rows read (malformed ones included)."""
    result.rows += records
    result.scored += len(scored.rows)
    result.positive += scored.positives
    result.errors += len(refused)
    room = LISTED_ERRORS - len(result.first_errors)
    result.first_errors += refused[: max(room, 0)]


def _error_columns(errors: Sequence[RowError]) -> dict[str, list[Any]]:
    return {
        "row": [e.row for e in errors],
        "column": [e.column for e in errors],
        "reason": [e.reason for e in errors],
    }


def _check_error_share(result: BatchResult, config: BatchPredictConfig) -> None:
    if result.rows and result.errors / result.rows > config.max_error_fraction:
        listed = "; ".join(
            f"row {e.row} {e.column or '(row)'}: {e.reason}" for e in result.first_errors
        )
        raise DataError(
            f"{config.data_uri!r}: {result.errors} of {result.rows} rows cannot be scored "
            f"({result.errors / result.rows:.1%}, max_error_fraction {config.max_error_fraction}); "
            f"first: {listed}"
        )


def _writers(
    outputs: BatchPredictOutputs, config: BatchPredictConfig, rows: Rows, keep: Sequence[str]
) -> list[TableWriter]:
    prediction_schema = pa.schema(
        [
            (ROW, pa.int64()),
            *[(name, rows.types.get(name, pa.string())) for name in keep],
            (PROBABILITY, pa.float64()),
            (LABEL, pa.string()),
        ]
    )
    error_schema = pa.schema(
        [("row", pa.int64()), ("column", pa.string()), ("reason", pa.string())]
    )
    return [
        TableWriter(outputs.predictions.path, config.output_format, prediction_schema),
        TableWriter(outputs.errors.path, "csv", error_schema),
    ]


def _stderr(rows: int, scored: int, errors: int, seconds: float) -> None:
    print(
        f"batch_predict: {rows:,} rows read, {scored:,} scored, {errors:,} refused ({seconds:.1f} s)",
        file=sys.stderr,
        flush=True,
    )


def write(result: BatchResult, outputs: BatchPredictOutputs, config: BatchPredictConfig) -> None:
    """Display names, metadata and metrics (the two tables are in place already)."""
    set_display_name(outputs.predictions, "predictions")
    outputs.predictions.metadata.update(
        {
            keys.META_ROWS: result.scored,
            keys.META_SOURCE_URI: config.data_uri,
            keys.META_CANDIDATE: result.candidate,
            "bundle_uri": result.bundle,
            "read_as": result.read_as,
            "format": config.output_format,
        }
    )
    set_display_name(outputs.errors, "rows that could not be scored")
    outputs.errors.metadata.update({keys.META_ROWS: result.errors, "format": "csv"})
    set_display_name(outputs.metrics, "batch scoring metrics")
    values = {
        keys.METRIC_ROWS: result.rows,
        keys.METRIC_SCORED_ROWS: result.scored,
        keys.METRIC_ERROR_ROWS: result.errors,
        keys.METRIC_POSITIVE_ROWS: result.positive,
        **{f"{keys.METRIC_UNSEEN_PREFIX}{name}": n for name, n in sorted(result.unseen.items())},
    }
    for name, value in values.items():
        outputs.metrics.log_metric(name, float(value))
