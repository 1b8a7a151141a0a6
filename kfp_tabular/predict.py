"""``kfp-tabular predict``: score a file with a bundle, the batch_predict step on this machine.

    kfp-tabular predict --bundle runs/bundle --data new.csv --output scores.parquet

The same executor as the ``batch_predict`` component: the bundle is verified, the rows go in
chunks through the serving scorer (scores equal the KServe runtime's, V1 and V2), and the rows
that cannot be scored are written one per line (row, column, reason) to ``--errors`` (default:
beside the output, ``<name>.errors.csv``). Inputs and outputs are local paths or gs:// URIs; the
output format follows its extension (``.parquet``/``.pq`` or ``.csv``). Progress goes to stderr.

Exit codes: 0 scored (refused rows, if any, are in the errors file); 1 more than
``--max-error-fraction`` of the rows could not be scored (nothing written); 2 usage or bad
input (the message names what was wrong).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import PurePosixPath
from typing import Any

from components._shared.config import add_arguments, values_from_namespace
from components._shared.errors import DataError, KfpTabularError
from kfp_tabular.errors import EXIT_OK, EXIT_RUN_FAILED, EXIT_USAGE

FORMATS = {".parquet": "parquet", ".pq": "parquet", ".csv": "csv"}
OPTIONS = (
    "encoding",
    "delimiter",
    "decimal",
    "keep_columns",
    "threshold",
    "chunk_rows",
    "max_error_fraction",
)
TOO_MANY = "rows cannot be scored"


class _Output:
    """A plain output (``path`` may be a gs:// URI: the writers handle both), with metadata."""

    def __init__(self, uri: str) -> None:
        self.uri = uri
        self.metadata: dict[str, Any] = {}

    @property
    def path(self) -> str:
        return self.uri

    def log_metric(self, metric: str, value: float) -> None:
        self.metadata[metric] = value


def build_parser() -> argparse.ArgumentParser:
    """The options: where things are, and the batch_predict parameters from its config."""
    from components.batch_predict.config import BatchPredictConfig

    parser = argparse.ArgumentParser(
        prog="kfp-tabular predict",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--bundle", required=True, help="model bundle folder or gs:// prefix")
    parser.add_argument("--data", required=True, help="CSV or Parquet file to score")
    parser.add_argument("--output", required=True, help="predictions file (.parquet or .csv)")
    parser.add_argument("--errors", default="", help="errors CSV (default: <output>.errors.csv)")
    parser.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    group = parser.add_argument_group(
        "batch_predict parameters (components/batch_predict/config.py)"
    )
    add_arguments(group, BatchPredictConfig, OPTIONS)
    return parser


def output_format(uri: str) -> str:
    """``parquet`` or ``csv`` from the output's extension; ValueError naming it otherwise."""
    suffix = PurePosixPath(uri).suffix.lower()
    if suffix not in FORMATS:
        raise ValueError(
            f"--output {uri!r}: expected a name ending in {', '.join(FORMATS)} (the format "
            "follows the extension)"
        )
    return FORMATS[suffix]


def errors_uri(output: str) -> str:
    """``scores.parquet`` -> ``scores.errors.csv``, in the same folder or prefix."""
    path = PurePosixPath(output)
    name = path.name[: -len(path.suffix)] if path.suffix else path.name
    return output[: len(output) - len(path.name)] + f"{name}.errors.csv"


def main(argv: list[str] | None = None) -> int:
    """Parse, score, report; the exit code (module docstring)."""
    args = build_parser().parse_args(argv)
    from components.batch_predict import executor
    from components.batch_predict.config import BatchPredictConfig

    try:
        fmt = output_format(args.output)
    except ValueError as exc:
        print(f"kfp-tabular predict: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    errors = args.errors or errors_uri(args.output)
    outputs = executor.BatchPredictOutputs(_Output(args.output), _Output(errors), _Output(""))
    try:
        config = BatchPredictConfig(
            data_uri=args.data,
            bundle_uri=args.bundle,
            output_format=fmt,
            **values_from_namespace(args, BatchPredictConfig, OPTIONS),
        )
        progress = (lambda *_: None) if args.quiet else _progress
        result = executor.run(executor.BatchPredictInputs(), outputs, config, progress=progress)
    except KfpTabularError as exc:
        print(f"kfp-tabular predict: error: {exc}", file=sys.stderr)
        too_many = isinstance(exc, DataError) and TOO_MANY in str(exc)
        return EXIT_RUN_FAILED if too_many else EXIT_USAGE
    print(
        f"scored {result.scored:,} of {result.rows:,} rows ({result.positive:,} positive) -> "
        f"{args.output}; {result.errors:,} refused -> {errors}",
        file=sys.stderr,
    )
    return EXIT_OK


def _progress(rows: int, scored: int, refused: int, seconds: float) -> None:
    print(
        f"kfp-tabular predict: {rows:,} rows read, {scored:,} scored, {refused:,} refused "
        f"({seconds:.1f} s)",
        file=sys.stderr,
        flush=True,
    )
