"""``kfp-tabular <command>``: one entry point for the suite's command-line tasks.

    kfp-tabular compile [--check]      pipelines/compiled/*.yaml from the pipeline functions
    kfp-tabular docs [--check]         the component READMEs' parameter tables from config.py
    kfp-tabular run [--preset adult]   train_and_rollout with kfp.local on this machine
    kfp-tabular submit [PIPELINE]      one run on Kubeflow Pipelines (kfp.Client), --wait to follow
    kfp-tabular schedule --cron ...    a recurring run on Kubeflow Pipelines
    kfp-tabular serve --model_dir ...  the KServe model server for a bundle (python -m serving)
    kfp-tabular drift ...              the drift check on logged requests
    kfp-tabular render-examples        manifests/examples/: every platform, mode and strategy
    kfp-tabular approve --model M --version V [--reject]   approve a registered version

Each subcommand keeps its own options (``kfp-tabular submit --help``).
Exit codes: 0 ok, 1 a run failed, 2 usage or configuration error.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable

from kfp_tabular.errors import EXIT_USAGE

# name -> ("module:function" under kfp_tabular, help). Imported only when chosen: compile and
# run import every pipeline and component (the ML libraries, seconds), which `submit` of a
# compiled file, `schedule` and `--help` do not need.
COMMANDS: dict[str, tuple[str, str]] = {
    "compile": ("compile:main", "compile every pipeline to pipelines/compiled/"),
    "docs": ("docs:main", "write each component README's parameter table from its config.py"),
    "run": ("local_run:main", "run train_and_rollout locally with kfp.local"),
    "submit": ("submit:main", "create a run on Kubeflow Pipelines; --wait follows it"),
    "schedule": ("schedule:main", "create a recurring (cron) run on Kubeflow Pipelines"),
    "serve": ("delegated:serve", "serve a model bundle with the KServe runtime"),
    "drift": ("delegated:drift", "check logged requests for drift against a bundle's profile"),
    "predict": ("predict:main", "score a CSV or Parquet file with a bundle (batch scoring)"),
    "approve": (
        "approve:main",
        "approve or reject a registered model version for deploy (MLflow registry)",
    ),
    "render-examples": (
        "render_examples:main",
        "write manifests/examples/ from what deploy renders (--check: fail if stale)",
    ),
}


def handler(command: str) -> Callable[[list[str] | None], int]:
    """The ``main(argv)`` function of a subcommand, imported now."""
    module, function = COMMANDS[command][0].split(":")
    return getattr(importlib.import_module(f"kfp_tabular.{module}"), function)


def usage() -> str:
    """The top-level help text."""
    lines = ["usage: kfp-tabular <command> [options]", "", "commands:"]
    lines += [f"  {name:<10} {help_text}" for name, (_, help_text) in COMMANDS.items()]
    lines += [
        "",
        "`kfp-tabular <command> --help` for each command's options.",
        "exit codes: 0 ok, 1 a run failed, 2 usage or configuration error",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Dispatch to a subcommand; unknown commands exit 2 with the list of known ones.

    A subcommand's ``SystemExit`` (argparse's ``--help`` and usage errors) becomes the return
    value, so ``main(argv)`` always returns an exit code, for tests and for callers.
    """
    args = sys.argv[1:] if argv is None else argv
    if not args or args[0] in {"-h", "--help"}:
        print(usage())
        return 0 if args else EXIT_USAGE
    command, rest = args[0], args[1:]
    if command not in COMMANDS:
        print(
            f"kfp-tabular: unknown command {command!r}; expected one of {sorted(COMMANDS)}",
            file=sys.stderr,
        )
        return EXIT_USAGE
    try:
        return handler(command)(rest)
    except SystemExit as exit_:
        if exit_.code is None or isinstance(exit_.code, int):
            return exit_.code or 0
        print(exit_.code, file=sys.stderr)  # SystemExit("message"), as Python itself would
        return 1
