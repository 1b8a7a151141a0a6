"""``kfp-tabular drift``: the drift job outside KFP (the CronJob), the same executor.

Writes ``report.html``, ``snapshot.json``, ``drift.json``, ``summary.md`` and ``metrics.json``
into ``--output`` (a local folder or gs:// prefix). Exit codes: 0 done (no drift, or drift
without ``--fail-on-drift``), 1 drift found with ``--fail-on-drift``, 2 bad input or
configuration (the message names what was wrong).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from components._shared import io, keys
from components._shared.errors import KfpTabularError
from components.drift import current

EXIT_DRIFT = 1
EXIT_BAD_INPUT = 2


class _Artifact:
    """A plain local artifact (``path``, ``uri``, ``metadata``) for the executor."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self.uri = str(path)
        self.metadata: dict[str, Any] = {}
        self.metrics: dict[str, float] = {}

    @property
    def path(self) -> str:
        return str(self._path)

    def log_metric(self, metric: str, value: float) -> None:
        self.metrics[metric] = value


def _json_arg(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise argparse.ArgumentTypeError(f"expected a JSON object, got {text!r}: {exc}") from None
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError(f"expected a JSON object, got {text!r}")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (one flag per component parameter)."""
    p = argparse.ArgumentParser(prog="kfp-tabular drift", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    p.add_argument("--bundle", required=True, help="deployed model bundle (local or gs://)")
    p.add_argument("--current", required=True, help="dataset file/folder or payload-logger prefix")
    p.add_argument("--output", required=True, help="folder or gs:// prefix for the outputs")
    p.add_argument("--format", default=current.AUTO, choices=current.SOURCE_KINDS)
    p.add_argument("--window-start", default="", help="ISO 8601; events at or after it")
    p.add_argument("--window-end", default="", help="ISO 8601; events before it")
    p.add_argument("--last-hours", type=float, default=0.0,
                   help="window = the last N hours up to now (instead of --window-start/-end)")  # fmt: skip
    p.add_argument("--columns", nargs="*", default=[], help="columns to test (default: all)")
    p.add_argument("--num-method", default="")
    p.add_argument("--cat-method", default="")
    p.add_argument("--num-threshold", type=float, default=0.0)
    p.add_argument("--cat-threshold", type=float, default=0.0)
    p.add_argument("--per-column-method", type=_json_arg, default={}, help='JSON {"col": "psi"}')
    p.add_argument("--per-column-threshold", type=_json_arg, default={}, help='JSON {"col": 0.2}')
    p.add_argument("--drift-share", type=float, default=0.5)
    p.add_argument("--missing-columns", default="error", choices=["error", "report"])
    p.add_argument("--sample-rows", type=int, default=2000)
    p.add_argument("--chunk-rows", type=int, default=current.DEFAULT_CHUNK_ROWS)
    p.add_argument("--reference-data", default="")
    p.add_argument("--max-auc-drop", type=float, default=0.05)
    p.add_argument("--kfp-host", default="", help="submit a retrain run here when drift is found")
    p.add_argument("--retrain-pipeline", default="")
    p.add_argument("--retrain-experiment", default="drift-retrain")
    p.add_argument("--kfp-namespace", default="")
    p.add_argument("--fail-on-drift", action="store_true", help=f"exit {EXIT_DRIFT} on drift")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Run the drift job; print the summary path and verdict; return the exit code."""
    from datetime import UTC, datetime, timedelta

    from components.drift.executor import make_config, run

    args = build_parser().parse_args(argv)
    start, end = args.window_start, args.window_end
    if args.last_hours:
        now = datetime.now(UTC)
        start, end = (now - timedelta(hours=args.last_hours)).isoformat(), now.isoformat()
    try:
        config = make_config(
            bundle_uri=args.bundle, current_uri=args.current, current_format=args.format,
            window_start=start, window_end=end, columns=args.columns,
            num_method=args.num_method, cat_method=args.cat_method,
            num_threshold=args.num_threshold, cat_threshold=args.cat_threshold,
            per_column_method=args.per_column_method,
            per_column_threshold=args.per_column_threshold, drift_share=args.drift_share,
            missing_columns=args.missing_columns, sample_rows=args.sample_rows,
            chunk_rows=args.chunk_rows, reference_data_uri=args.reference_data,
            max_auc_drop=args.max_auc_drop, kfp_host=args.kfp_host,
            retrain_pipeline_uri=args.retrain_pipeline,
            retrain_experiment=args.retrain_experiment, kfp_namespace=args.kfp_namespace,
        )  # fmt: skip
        with tempfile.TemporaryDirectory(prefix="drift-") as tmp:
            folder = Path(tmp)
            outputs = {
                name: _Artifact(folder / name)
                for name in (keys.DRIFT_REPORT_HTML_FILE, keys.DRIFT_SNAPSHOT_FILE,
                             keys.DRIFT_RESULT_FILE, keys.DRIFT_SUMMARY_FILE, keys.DRIFT_METRICS_FILE)
            }  # fmt: skip
            metrics = outputs[keys.DRIFT_METRICS_FILE]
            outcome = run(
                config=config,
                metrics=metrics,
                report_html=outputs[keys.DRIFT_REPORT_HTML_FILE],
                snapshot=outputs[keys.DRIFT_SNAPSHOT_FILE],
                result=outputs[keys.DRIFT_RESULT_FILE],
                summary=outputs[keys.DRIFT_SUMMARY_FILE],
                drift_detected_path=str(folder / "drift_detected"),
            )
            (folder / keys.DRIFT_METRICS_FILE).write_text(
                json.dumps(metrics.metrics, indent=2) + "\n", encoding="utf-8"
            )
            for name in outputs:
                io.write_bytes(io.join(args.output, name), (folder / name).read_bytes())
    except KfpTabularError as exc:
        print(f"kfp-tabular drift: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    verdict = "DRIFT" if outcome.drift_detected else "no drift"
    print(
        f"{verdict}: {len(outcome.result.drifted_columns)}/{len(outcome.result.tested)} columns "
        f"drifted on {outcome.result.current_rows} rows; summary: "
        f"{io.join(args.output, keys.DRIFT_SUMMARY_FILE)}"
    )
    return EXIT_DRIFT if outcome.drift_detected and args.fail_on_drift else 0


if __name__ == "__main__":
    sys.exit(main())
