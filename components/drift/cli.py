"""``kfp-tabular drift``: the drift job outside KFP (the CronJob), the same executor.

Writes ``report.html``, ``snapshot.json``, ``drift.json``, ``summary.md`` and ``metrics.json``
into ``--output`` (a local folder or gs:// prefix). Exit codes: 0 done (no drift, or drift
without ``--fail-on-drift``), 1 drift found with ``--fail-on-drift``, 2 bad input or
configuration (the message names what was wrong).

The drift options are :class:`~components.drift.config.DriftConfig`'s parameters, one
``--<parameter>`` each with the config's default and meaning (``--bundle-uri``,
``--current-uri``, ``--per-column-method '{"tenure": "psi"}'``, ...); the shorter spellings
they had before (``--bundle``, ``--current``, ``--format``, ``--reference-data``,
``--retrain-pipeline``) still work, and ``--columns`` still takes names separated by spaces.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from components._shared import io, keys
from components._shared.config import Parameter, add_arguments, values_from_namespace
from components._shared.errors import KfpTabularError
from components.drift.config import DriftConfig

if TYPE_CHECKING:
    from components.drift.executor import DriftOutcome

EXIT_DRIFT = 1
EXIT_BAD_INPUT = 2
OUTPUT_FILES: Final = (
    keys.DRIFT_REPORT_HTML_FILE,
    keys.DRIFT_SNAPSHOT_FILE,
    keys.DRIFT_RESULT_FILE,
    keys.DRIFT_SUMMARY_FILE,
    keys.DRIFT_METRICS_FILE,
)
# The spellings these options had before they were generated from the config; both work.
ALIASES: Final = {
    "bundle_uri": "--bundle",
    "current_uri": "--current",
    "current_format": "--format",
    "reference_data_uri": "--reference-data",
    "retrain_pipeline_uri": "--retrain-pipeline",
}
# Read as words (``--columns tenure Contract``), as before, rather than as a JSON list.
WORDS: Final = "columns"


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


def build_parser() -> argparse.ArgumentParser:
    """The argument parser: one option per config parameter, and the job's own options."""
    p = argparse.ArgumentParser(prog="kfp-tabular drift", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    p.add_argument("--output", required=True, help="folder or gs:// prefix for the outputs")
    p.add_argument("--last-hours", type=float, default=0.0,
                   help="window = the last N hours up to now (instead of --window-start/-end)")  # fmt: skip
    p.add_argument("--fail-on-drift", action="store_true", help=f"exit {EXIT_DRIFT} on drift")
    options = p.add_argument_group("drift parameters (components/drift/config.py)")
    parameters = DriftConfig.parameters()
    words = next(q for q in parameters if q.name == WORDS)
    before = [q.name for q in parameters[: parameters.index(words)]]
    after = [q.name for q in parameters[parameters.index(words) + 1 :]]
    add_arguments(options, DriftConfig, before, aliases=ALIASES)
    _add_words(options, words)
    add_arguments(options, DriftConfig, after, aliases=ALIASES)
    return p


def _add_words(parser: argparse._ArgumentGroup, parameter: Parameter) -> None:
    flag = "--" + parameter.name.replace("_", "-")
    help_text = f"{parameter.help} Names separated by spaces (default: all)."
    parser.add_argument(flag, dest=parameter.name, nargs="*", default=parameter.default,
                        help=help_text)  # fmt: skip


def main(argv: Sequence[str] | None = None) -> int:
    """Run the drift job; print the summary path and verdict; return the exit code."""
    args = build_parser().parse_args(argv)
    values = values_from_namespace(args, DriftConfig)
    if args.last_hours:
        now = datetime.now(UTC)
        values["window_start"] = (now - timedelta(hours=args.last_hours)).isoformat()
        values["window_end"] = now.isoformat()
    try:
        config = DriftConfig.from_parameters(values)
        with tempfile.TemporaryDirectory(prefix="drift-") as tmp:
            outcome = _run_into(Path(tmp), args.output, config)
    except KfpTabularError as exc:
        print(f"kfp-tabular drift: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    result = outcome.analysis.result
    verdict = "DRIFT" if outcome.drift_detected else "no drift"
    print(
        f"{verdict}: {len(result.drifted_columns)}/{len(result.tested)} columns drifted on "
        f"{result.current_rows} rows; summary: {io.join(args.output, keys.DRIFT_SUMMARY_FILE)}"
    )
    return EXIT_DRIFT if outcome.drift_detected and args.fail_on_drift else 0


def _run_into(folder: Path, output: str, config: DriftConfig) -> DriftOutcome:
    """Run the executor into ``folder``, then copy every output file to ``output``."""
    from components.drift.executor import DriftInputs, DriftOutputs, run

    files = {name: _Artifact(folder / name) for name in OUTPUT_FILES}
    metrics = files[keys.DRIFT_METRICS_FILE]
    outputs = DriftOutputs(
        metrics=metrics,
        report_html=files[keys.DRIFT_REPORT_HTML_FILE],
        snapshot=files[keys.DRIFT_SNAPSHOT_FILE],
        result=files[keys.DRIFT_RESULT_FILE],
        summary=files[keys.DRIFT_SUMMARY_FILE],
        drift_detected=str(folder / "drift_detected"),
    )
    outcome = run(DriftInputs(), outputs, config)
    (folder / keys.DRIFT_METRICS_FILE).write_text(
        json.dumps(metrics.metrics, indent=2) + "\n", encoding="utf-8"
    )
    for name in files:
        io.write_bytes(io.join(output, name), (folder / name).read_bytes())
    return outcome


if __name__ == "__main__":
    sys.exit(main())
