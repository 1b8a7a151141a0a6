"""Run ``train_and_rollout`` on this machine with ``kfp.local`` (the ``make run`` job).

Every task runs as a real subprocess of this Python (``SubprocessRunner(use_venv=False)``), so
the same component code that runs in the cluster image runs here. At the end a short summary is
printed: rows checked and issues found, the leaderboard, the challenger, and where each artifact
is; the same facts are written to ``<output>/last_run.json`` for later commands (``make serve``).

    kfp-tabular run                      # bundled Telco churn data
    kfp-tabular run --preset adult       # bundled Adult data
    kfp-tabular run --data my.csv --target y --positive-label 1
    kfp-tabular run -f churn.yaml --param gate_min_auc=0.8   # the parameters submit takes

Parameters come from the same places as ``kfp-tabular submit``'s, checked against the
pipeline's declared types the same way (kfp_tabular/params.py): a YAML/JSON file (-f), this
command's options, then --param KEY=VALUE; the preset fills in the data when none is named.
"""

from __future__ import annotations

import argparse
import contextlib
import inspect
import io
import json
import os
import re
import sys
import threading
import time
import warnings
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

from kfp import local

from components._shared import keys
from kfp_tabular import champion, package, params, verdict
from kfp_tabular.docker_runner import (
    RUNNERS,
    DockerUnavailable,
    absolute_paths,
    docker_runner,
)
from kfp_tabular.errors import CliError
from pipelines.train_and_rollout import train_and_rollout

ROOT = Path(__file__).resolve().parents[1]

PRESETS: dict[str, dict[str, Any]] = {
    "telco": {
        "data_uri": str(ROOT / "data" / "telco_churn" / "Telco-Customer-Churn.csv"),
        "target": "Churn",
        "positive_label": "Yes",
        "id_columns": ["customerID"],
    },
    "adult": {
        "data_uri": str(ROOT / "data" / "adult" / "adult.csv"),
        "target": "income",
        "positive_label": ">50K",
        "id_columns": [],
    },
}

_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_STAMP = re.compile(r"\[KFP Executor (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+) ")
_OPEN = re.compile(r"Looking for component `([\w-]+)`")
_CLOSE = re.compile(r"Wrote executor output file")


class StepClock(io.TextIOBase):
    """A stdout stand-in that times each task's executor from the task's own log lines.

    kfp.local prints every task subprocess's output line by line on ``sys.stdout``, one reader
    thread per running task, so the lines of one task arrive in order on one thread. Its own
    "Executing task"/"finished" log lines are not reliable here: with a ParallelFor, its threads
    reset the shared root logger and lines get lost. The executor's lines are: each begins with
    a timestamp, "Looking for component `NAME`" opens a task and "Wrote executor output file"
    closes it. The time between them is the executor's work; the subprocess's Python start-up
    (about a second) is not included. Tasks of one ParallelFor share a name; their seconds are
    summed. Text is passed on to ``sink`` (the terminal, or a log file with ``--quiet``).
    """

    def __init__(self, sink: TextIO | io.TextIOBase) -> None:
        self.sink = sink
        self.seconds: dict[str, float] = {}
        self.runs: dict[str, int] = {}
        self._lock = threading.Lock()
        self._thread = threading.local()  # the partial line and the open task, per reader

    def write(self, text: str) -> int:
        with self._lock:
            # kfp.local leaves a logging handler on this stream after the run: once the run's
            # log is closed, a caller's later log lines are dropped here, not raised as
            # "I/O operation on closed file" tracebacks in its output.
            if not getattr(self.sink, "closed", False):
                self.sink.write(text)
        state = self._thread
        *lines, state.partial = (getattr(state, "partial", "") + text).split("\n")
        for line in lines:
            self._observe(_ANSI.sub("", line))
        return len(text)

    def flush(self) -> None:
        with self._lock:
            if not getattr(self.sink, "closed", False):
                self.sink.flush()

    def _observe(self, line: str) -> None:
        stamp = _STAMP.search(line)
        if not stamp:
            return
        at = datetime.strptime(stamp.group(1), "%Y-%m-%d %H:%M:%S,%f").timestamp()
        state = self._thread
        if match := _OPEN.search(line):
            state.task = (match.group(1), at)
        elif _CLOSE.search(line) and getattr(state, "task", None):
            name, began = state.task
            state.task = None
            with self._lock:
                self.seconds[name] = self.seconds.get(name, 0.0) + at - began
                self.runs[name] = self.runs.get(name, 0) + 1


# Options that set a pipeline parameter: option -> (parameter, type, choices, help). Their
# defaults are the pipeline's own (read from its signature, which reads the component configs),
# so a default is written once; an option left out is not passed at all.
PIPELINE_OPTIONS: dict[str, tuple[str, type, tuple[str, ...] | None, str]] = {
    "--time-column": ("time_column", str, None, "column that orders rows in time"),
    "--champion-uri": ("champion_uri", str, None, "bundle now serving, local or gs://"),
    "--seed": ("seed", int, None, "seed of the split and the learners"),
    "--deploy-target": (
        "deploy_target",
        str,
        keys.DEPLOY_TARGETS,
        "render: manifests only; local: serving processes on localhost, rolled out by replaying "
        "the test split (stop them with `make stop`); kubernetes: apply",
    ),
    "--deploy-strategy": ("deploy_strategy", str, keys.DEPLOY_STRATEGIES, "how to deploy"),
    "--rollout-requests": (
        "rollout_window_requests",
        int,
        None,
        "canary requests analysed per rollout step",
    ),
}


def pipeline_defaults() -> dict[str, Any]:
    """The defaults of ``train_and_rollout``'s parameters, from its signature."""
    signature = inspect.signature(train_and_rollout.pipeline_func)
    return {name: p.default for name, p in signature.parameters.items() if p.default is not p.empty}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options; a preset fills every data option not given explicitly."""
    parser = argparse.ArgumentParser(
        prog="kfp-tabular run",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--preset", choices=sorted(PRESETS), default="telco")
    parser.add_argument("--data", dest="data_uri", help="CSV or Parquet, local path or gs://")
    parser.add_argument("--target")
    parser.add_argument("--positive-label")
    parser.add_argument("--id-columns", help="comma-separated identifier columns")
    parser.add_argument("--matrix", help="JSON file with the model matrix (list of candidates)")
    params.add_arguments(parser)  # -f/--params-file and --param KEY=VALUE, as submit takes them
    defaults = pipeline_defaults()
    for option, (name, kind, choices, help_text) in PIPELINE_OPTIONS.items():
        parser.add_argument(
            option,
            dest=name,
            type=kind,
            choices=choices,
            help=f"{help_text} (default: {defaults[name]!r})",
        )
    parser.add_argument(
        "--output",
        default=str(ROOT / "local_outputs"),
        help="pipeline root for the run's artifacts",
    )
    parser.add_argument(
        "--verbose",
        action="store_true",
        help="stream the tasks' logs here too (they always go to <output>/run.log)",
    )
    parser.add_argument(
        "--quiet", action="store_true", help="the default: the tasks' logs only in run.log"
    )
    parser.add_argument(
        "--runner",
        choices=RUNNERS,
        default="subprocess",
        help="subprocess: each task a Python process here; docker: each task in the component "
        "image (kfp.local.DockerRunner; `make images` first)",
    )
    return parser.parse_args(argv)


def load_matrix(path: str | None) -> list[dict[str, Any]] | None:
    """The model matrix from a JSON file, or None for the pipeline's default."""
    if path is None:
        return None
    try:
        matrix = json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise SystemExit(f"--matrix {path}: cannot read a JSON list of candidates: {exc}") from None
    if not isinstance(matrix, list) or not all(isinstance(c, dict) for c in matrix):
        raise SystemExit(f"--matrix {path}: expected a JSON list of candidate objects")
    return matrix


def pipeline_arguments(args: argparse.Namespace) -> dict[str, Any]:
    """Arguments of ``train_and_rollout``, checked against its spec as ``submit`` checks them.

    The same sources as ``submit`` (``-f`` file, ``--param``), plus this command's options
    (``--data``, ``--seed``, ...) between the two, and the preset's data when nothing else names
    ``data_uri``.

    Raises:
        CliError: an unknown parameter, a value of the wrong type, a required one missing.
    """
    given: dict[str, tuple[str, Any]] = {}
    for option in ("data_uri", "target", "positive_label"):
        if getattr(args, option) is not None:
            flag = "--data" if option == "data_uri" else "--" + option.replace("_", "-")
            given[option] = (flag, getattr(args, option))
    if args.id_columns is not None:
        columns = [c.strip() for c in args.id_columns.split(",") if c.strip()]
        given["id_columns"] = ("--id-columns", columns)
    for option, (name, *_) in PIPELINE_OPTIONS.items():
        if getattr(args, name) is not None:
            given[name] = (option, getattr(args, name))
    if (matrix := load_matrix(args.matrix)) is not None:
        given["model_matrix"] = ("--matrix", matrix)
    return params.build(
        package.from_registry("train_and_rollout"),
        args.params_file,
        args.param,
        given=given,
        preset=PRESETS[args.preset],
        options={"data_uri": "--data", "target": "--target", "positive_label": "--positive-label"},
    )


def collect_artifacts(run_dir: Path) -> dict[str, dict[str, dict[str, Any]]]:
    """``{task: {output: {"uri", "metadata"}}}`` read from each task's executor_output.json."""
    found: dict[str, dict[str, dict[str, Any]]] = {}
    for output_file in sorted(run_dir.rglob("executor_output.json")):
        task = output_file.parent.name
        if output_file.parent.parent != run_dir:  # a ParallelFor iteration: name it by candidate
            bundle = json.loads(output_file.read_text()).get("artifacts", {}).get("bundle", {})
            candidate = (bundle.get("artifacts") or [{}])[0].get("metadata", {}).get("candidate")
            task = f"{task}[{candidate or output_file.parent.parent.name}]"
        outputs = json.loads(output_file.read_text()).get("artifacts", {})
        for name, entry in outputs.items():
            for artifact in entry.get("artifacts", []):
                found.setdefault(task, {})[name] = {
                    "uri": artifact["uri"],
                    "metadata": artifact.get("metadata", {}),
                }
    return found


def newest_run_dir(pipeline_root: Path, since: float) -> Path:
    """The run folder kfp.local created for this run (named after the pipeline)."""
    runs = [
        p
        for p in pipeline_root.iterdir()
        if p.is_dir() and p.name.startswith("train-and-rollout") and p.stat().st_mtime >= since - 1
    ]
    if not runs:
        raise SystemExit(f"no run folder found under {pipeline_root}")
    return max(runs, key=lambda p: p.stat().st_mtime)


def summary_lines(record: dict[str, Any]) -> list[str]:
    """The short human summary printed at the end of ``make run``."""
    artifacts = record["artifacts"]
    lines = [f"data        {record['arguments']['data_uri']}", _validate_line(artifacts)]
    evaluation = record.get("evaluation", keys.EVALUATION_HOLDOUT)
    if found := record.get("champion"):
        lines.append(
            f"champion    {found['source']}" + (f" -> {found['uri']}" if found["uri"] else "")
        )
    lines += _leaderboard_lines(
        record.get("leaderboard") or [], record.get("primary_metric", "auc"), evaluation
    )
    challenger = artifacts.get("compare", {}).get("challenger", {})
    if challenger:
        lines.append(
            f"challenger  {challenger['metadata'].get('candidate', '?')} -> {challenger['uri']}"
        )
    lines += (
        _gate_lines(artifacts, record.get("leaderboard") or [], evaluation)
        + _deploy_lines(artifacts)
        + _shadow_lines(artifacts)
    )
    lines.append("artifacts")
    for task, outputs in sorted(artifacts.items()):
        for name, artifact in sorted(outputs.items()):
            lines.append(f"  {task + '.' + name:<32} {artifact['uri']}")
    return lines + _timing_lines(record)


def _validate_line(artifacts: dict[str, Any]) -> str:
    checked = artifacts.get("validate", {}).get("metrics", {}).get("metadata", {})
    if not checked:
        return "validate    (no metrics found)"
    return (
        "validate    {rows:,.0f} rows x {columns:.0f} columns checked: {errors:.0f} errors, "
        "{warnings:.0f} warnings, {coerced_cells:.0f} cells coerced, "
        "{duplicate_rows:.0f} duplicate rows, positive rate {positive_rate:.1%}".format(**checked)
    )


def _leaderboard_lines(
    board: list[dict[str, Any]], metric: str, evaluation: str = keys.EVALUATION_HOLDOUT
) -> list[str]:
    if not board:
        return []
    if evaluation != keys.EVALUATION_HOLDOUT:  # one set of predictions: out of fold
        return [
            f"leaderboard (ranked by out-of-fold {metric} of {evaluation}; the gate judges the "
            "same predictions)",
            f"  {'#':>2}  {'candidate':<22} {'family':<15} {'oof':>7} {'1-row ms':>8}",
            *(
                f"  {row.get('rank', '-'):>2}  {_row_name(row):<22} {row['family']:<15} "
                f"{row['test'][metric]:>7.4f} "
                f"{row.get('single_row_predict_ms', float('nan')):>8.3f}"
                for row in board
            ),
        ]
    lines = [
        f"leaderboard (ranked by valid {metric}; test is the gate's judge)",
        f"  {'#':>2}  {'candidate':<22} {'family':<15} {'valid':>7} {'test':>7} {'1-row ms':>8}",
    ]
    for row in board:
        lines.append(
            f"  {row.get('rank', '-'):>2}  {_row_name(row):<22} {row['family']:<15} "
            f"{row['valid'][metric]:>7.4f} {row['test'][metric]:>7.4f} "
            f"{row.get('single_row_predict_ms', float('nan')):>8.3f}"
        )
    return lines


def _row_name(row: dict[str, Any]) -> str:
    """The candidate's name; the champion's (often a candidate's name too) says it is."""
    return f"{row['name']} (champion)" if row.get("role") == keys.ROLE_CHAMPION else row["name"]


def _gate_lines(
    artifacts: dict[str, Any],
    board: list[dict[str, Any]],
    evaluation: str = keys.EVALUATION_HOLDOUT,
) -> list[str]:
    gate = artifacts.get("gate", {}).get("metrics", {}).get("metadata", {})
    if not gate:
        return []
    metric = "test_auc"  # the gate's name for the AUC it judged: out of fold under cv
    label = "test AUC" if evaluation == keys.EVALUATION_HOLDOUT else "out-of-fold AUC"
    if metric in gate:
        judged = f"{label} {gate[metric]:.4f}"
        if metric + "_low" in gate:
            judged += f" [{gate[metric + '_low']:.4f}, {gate[metric + '_high']:.4f}]"
    else:
        # The gate did not compute its evidence (it could not decide): the leaderboard's
        # challenger row still has the test AUC, without an interval.
        row = next((r for r in board if r.get("rank") == 1), None)
        auc = (row or {}).get("test", {}).get("auc")
        judged = f"{label} {auc:.4f} (leaderboard; no interval)" if auc is not None else "no AUC"
    return [
        f"gate        {gate.get('verdict', '?')} ({gate.get('rule_version', '?')}): {judged}; "
        f"reasons in {artifacts['gate'].get('rationale', {}).get('uri', '?')}"
    ]


def _deploy_lines(artifacts: dict[str, Any]) -> list[str]:
    deployed = artifacts.get("deploy", {})
    if not deployed:
        return []
    deployment = deployed.get("deployment", {}).get("metadata", {})
    where = deployed.get("manifests", {}).get("uri", "?")
    decision = artifacts.get("rollout", {}).get("trail", {}).get("metadata", {})
    return [
        f"deploy      {deployment.get('strategy', '?')} ({deployment.get('target', '?')}, "
        f"{deployment.get('mode', '?')}): manifests in {where}; "
        f"rollout decision: {decision.get('decision', '?')}",
        *_ab_line(artifacts.get("rollout", {}).get("trail", {}).get("uri")),
        *_registry_lines(artifacts),
    ]


def _registry_lines(artifacts: dict[str, Any]) -> list[str]:
    """The registered version deployed, its approval, and whether it became the champion."""
    entries = []
    for task, output in (("deploy", "deployment"), ("rollout", "trail")):
        uri = artifacts.get(task, {}).get(output, {}).get("uri")
        if uri and Path(uri).is_file():
            entries.append(json.loads(Path(uri).read_text()).get(keys.LINEAGE_REGISTRY) or {})
    deployed = entries[0] if entries else {}
    if not deployed:
        return []
    line = f"registry    model {deployed['model']} version {deployed['version']}"
    if approval := deployed.get("approval"):
        line += f", {approval['decision']} ({approval['detail']})"
    moved = deployed.get("promotion") or (entries[1] if len(entries) > 1 else {})
    if moved.get("event") == "promoted":
        was = moved.get("previous_champion_version")
        line += f": now the champion (was {'version ' + was if was else 'none'})"
    elif moved.get("event") == "rolled_back":
        line += ": rolled back, the champion stays"
    else:
        line += ": the champion did not move (nothing serving was promoted)"
    return [line]


def _ab_line(trail_uri: str | None) -> list[str]:
    """The rollout's last A/B test on labelled outcomes (``feedback_uri``), when it ran."""
    if not trail_uri or not Path(trail_uri).is_file():
        return []
    checks = [
        c for step in json.loads(Path(trail_uri).read_text())["steps"] for c in step["checks"]
    ]
    tests = [c for c in checks if c["name"] == "ab_test"]
    if not tests:
        return []
    last = tests[-1]
    verdict = {True: "pass", False: "FAIL", None: "not run"}[last["passed"]]
    return [f"A/B test    {verdict}: {last['reason']}"]


def _shadow_lines(artifacts: dict[str, Any]) -> list[str]:
    """The shadow comparison's verdict and numbers, when the run had one."""
    result_uri = artifacts.get("shadow", {}).get("result", {}).get("uri")
    if not result_uri or not Path(result_uri).is_file():
        return []
    result = json.loads(Path(result_uri).read_text())
    n = result["numbers"]
    return [
        f"shadow      {'PASS' if result['passed'] else 'FAIL'}: "
        f"{n.get('paired_requests', 0)} paired requests, label agreement "
        f"{n.get('label_agreement', float('nan')):.3f}, mean |diff| "
        f"{n.get('mean_abs_diff', float('nan')):.4f}, p95 |diff| "
        f"{n.get('p95_abs_diff', float('nan')):.4f} ({n.get('challenger_source', '')})"
    ]


def _timing_lines(record: dict[str, Any]) -> list[str]:
    runs = record["step_runs"]
    steps = ", ".join(
        f"{task} {sec:.1f}s" + (f" summed over {runs[task]} tasks" if runs.get(task, 1) > 1 else "")
        for task, sec in record["step_seconds"].items()
    )
    return [
        f"wall time   {record['seconds']:.1f}s",
        f"executors   {steps} (each task's Python start-up not included)",
    ]


def make_runner(args: argparse.Namespace, arguments: dict[str, Any], pipeline_root: Path) -> Any:
    """The kfp.local runner ``--runner`` names; SystemExit naming what is missing for docker."""
    if args.runner == "subprocess":
        return local.SubprocessRunner(use_venv=False)
    if arguments.get("deploy_target") == "local":
        raise SystemExit("--runner docker: --deploy-target local would start servers inside a "
                         "task's container, which ends with the task; use render")  # fmt: skip
    arguments.update(absolute_paths(arguments))  # the containers see host paths as they are
    try:
        return docker_runner(arguments, pipeline_root)
    except DockerUnavailable as exc:
        raise SystemExit(str(exc)) from None


def main(argv: list[str] | None = None) -> int:
    """Run the pipeline locally and print the summary."""
    args = parse_args(argv)
    try:
        arguments, resolved = champion.apply(pipeline_arguments(args), pipeline_defaults())
    except CliError as error:
        print(f"kfp-tabular run: error: {error}", file=sys.stderr)
        return error.exit_code
    pipeline_root = Path(args.output).resolve()
    pipeline_root.mkdir(parents=True, exist_ok=True)
    runner = make_runner(args, arguments, pipeline_root)

    # The ParallelFor runs two train tasks at once here; OpenMP's default busy-waiting makes two
    # multi-threaded boosters on two cores starve each other (seen: 10-20x slower fits).
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    # kfp.local warns when an image name lacks "python"; ours is a Python image by construction.
    warnings.filterwarnings("ignore", message=".*non-Python base image", category=RuntimeWarning)
    # ... and that task display names do nothing locally; they are for the Kubeflow UI.
    warnings.filterwarnings("ignore", message=".*have no effect in the current local runner")
    log_path = pipeline_root / "run.log"
    log = log_path.open("w", encoding="utf-8")
    clock = StepClock(Tee(log, sys.stdout) if args.verbose else log)
    local.init(runner=runner, pipeline_root=str(pipeline_root))
    started = time.time()
    try:
        with contextlib.redirect_stdout(clock):
            train_and_rollout(**arguments)
    except RuntimeError as raised:
        log.close()
        return report_failure(str(raised), log_path)
    finally:
        log.close()
    seconds = time.time() - started

    run_dir = newest_run_dir(pipeline_root, started)
    artifacts = collect_artifacts(run_dir)
    leaderboard_uri = artifacts.get("compare", {}).get("leaderboard", {}).get("uri")
    leaderboard = json.loads(Path(leaderboard_uri).read_text()) if leaderboard_uri else {}
    record = {
        "run_dir": str(run_dir),
        "runner": args.runner,
        "arguments": {**pipeline_defaults(), **arguments},
        "seconds": seconds,
        "step_seconds": clock.seconds,
        "step_runs": clock.runs,
        "primary_metric": leaderboard.get("primary_metric", "auc"),
        "evaluation": leaderboard.get(keys.LEADERBOARD_EVALUATION, keys.EVALUATION_HOLDOUT),
        "champion": {"uri": resolved.uri, "source": resolved.source},
        "leaderboard": leaderboard.get("rows", []),
        "artifacts": artifacts,
    }
    (pipeline_root / "last_run.json").write_text(json.dumps(record, indent=2, default=str) + "\n")
    # sys.stdout.write, not print: kfp.local swaps builtins.print for an indenting one while a
    # task runs, and its parallel threads can leave the swap behind.
    sys.stdout.write("\n" + "\n".join(summary_lines(record)) + "\n")
    sys.stdout.write(f"run record  {pipeline_root / 'last_run.json'}\n")
    return verdict.exit_code(artifacts)


def report_failure(raised: str, log_path: Path) -> int:
    """Print the failed step's own message and the log's path; the exit code (2 or 1)."""
    failed = verdict.failure(raised, log_path.read_text(encoding="utf-8", errors="replace"))
    kind = "bad input" if failed.bad_input else "error"
    what = f"{failed.error}: " if failed.error else ""
    sys.stderr.write(
        f"\nrun failed at step {failed.step} ({kind}): {what}{failed.message}\n"
        f"(the tasks' log: {log_path})\n"
    )
    return failed.exit_code


class Tee(io.TextIOBase):
    """Text written to a log file and to the terminal (``--verbose``)."""

    def __init__(self, *sinks: TextIO) -> None:
        self.sinks = sinks

    def write(self, text: str) -> int:
        for sink in self.sinks:
            sink.write(text)
        return len(text)

    def flush(self) -> None:
        for sink in self.sinks:
            sink.flush()


if __name__ == "__main__":
    sys.exit(main())
